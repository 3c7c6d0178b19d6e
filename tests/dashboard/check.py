"""Drive the dashboard in headless Chromium as one user and compare what the
page shows with what the API answers that user.

    check.py BASE USERNAME PASSWORD SCREENSHOT

Fails (exit 1) when a target's figure on the page differs from GET
/api/v1/targets, when the page shows parks or red projects the API does not
give this user, when a panel failed to load, or when the browser reports a
Content-Security-Policy violation or a script error.
"""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

# How many decimals the page shows for each target (app.js, UNITS).
DIGITS = {
    "new_taiwan_investment_usd": 2,
    "taiwan_funded_enterprises": 0,
    "taiwan_top100_present": 0,
    "taiwan_funded_output_ratio": 4,
}


def api(base, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base}/api/v1{path}", data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--lang=zh-CN", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))


def wait_for(driver, condition, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def main(base, username, password, screenshot):
    failures = []
    token = api(base, "/auth/login", body={"username": username, "password": password})["access_token"]
    expected = api(base, "/targets", token)
    red = api(base, "/monitoring?light=red&limit=200", token)
    funnel = api(base, "/stats/funnel?cohort=year", token)
    if not any(t["value"] for t in expected["targets"]):
        failures.append("every target is 0 for this user: comparing the page with the API would prove nothing (was seed-demo run?)")

    driver = browser()
    try:
        driver.get(f"{base}/dashboard/")
        wait_for(driver, lambda: driver.find_element(By.ID, "username").is_displayed(), "the sign-in form")
        driver.find_element(By.ID, "username").send_keys(username)
        driver.find_element(By.ID, "password").send_keys(password)
        started = time.monotonic()
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
        ready = wait_for(driver, lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") in ("true", "partial")
                         and driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the board")
        signed_in_to_ready = time.monotonic() - started
        if ready != "true":
            errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error") if e.text]
            failures.append(f"a panel failed to load: {errors}")
        charts = wait_for(driver, lambda: driver.execute_script(
            "return ['progress-chart', 'park-chart'].every(id => echarts.getInstanceByDom(document.getElementById(id)))"
            " && document.querySelectorAll('#progress-chart canvas').length"), "the charts", 20)
        print(f"{username}: board ready {signed_in_to_ready:.2f} s after signing in, {charts} canvas in the progress chart")

        shown = {}
        for card in driver.find_elements(By.CSS_SELECTOR, "#targets article.target"):
            figure = card.find_element(By.CSS_SELECTOR, ".figure")
            shown[card.get_attribute("data-key")] = (figure.get_attribute("data-value"), figure.text)
        wanted = {t["key"]: t["value"] for t in expected["targets"]}
        if set(shown) != set(wanted) or len(wanted) != 4:
            failures.append(f"targets on the page {sorted(shown)} are not the API's {sorted(wanted)}")
        for key, value in wanted.items():
            if key not in shown:
                continue
            raw, text = shown[key]
            on_page = float(text.replace(",", ""))
            tolerance = 0.5 * 10 ** -DIGITS[key] + 1e-9
            same = float(raw) == float(value) and abs(on_page - float(value)) <= tolerance
            print(f"  {key}: API {value}, page {text} ({raw}) {'ok' if same else 'DIFFERENT'}")
            if not same:
                failures.append(f"{key}: the API says {value}, the page shows {text} (data-value {raw})")
        as_of = driver.find_element(By.ID, "as-of").text
        if expected["as_of"] not in as_of:
            failures.append(f"the as-of date {expected['as_of']} is not on the page: {as_of!r}")

        # Only what the API gives this user: its parks in the contributions, its red projects.
        parks = {p["park_code"] for t in expected["targets"] for p in t["by_park"]}
        rows = driver.find_elements(By.CSS_SELECTOR, "#by-park tbody tr")
        if len(rows) != len(parks):
            failures.append(f"{len(rows)} parks in the contributions, the API gives {sorted(parks)}")
        red_rows = driver.find_elements(By.CSS_SELECTOR, "#red-list tbody tr")
        if len(red_rows) != len(red["items"]):
            failures.append(f"{len(red_rows)} red projects on the page, the API gives {len(red['items'])}")
        print(f"  parks {sorted(parks)}, red projects {len(red_rows)}, open notices {len(red['notices'])}")

        # The funnel: one table per cohort of the API, each stage's reached count as the API says.
        cohorts = driver.find_elements(By.CSS_SELECTOR, "#funnel .cohort")
        if len(cohorts) != len(funnel["cohorts"]):
            failures.append(f"{len(cohorts)} cohorts in the funnel on the page, the API gives {len(funnel['cohorts'])}")
        for shown_cohort, cohort in zip(cohorts, funnel["cohorts"]):
            reached = [row.find_elements(By.TAG_NAME, "td")[1].text for row in shown_cohort.find_elements(By.CSS_SELECTOR, "tbody tr")]
            if reached != [str(s["reached"]) for s in cohort["stages"]]:
                failures.append(f"funnel {cohort['cohort']}: the page shows {reached}, the API {[s['reached'] for s in cohort['stages']]}")
        print(f"  funnel cohorts {[c['cohort'] for c in funnel['cohorts']]}")

        for entry in driver.get_log("browser"):
            message = entry.get("message", "")
            if entry.get("level") == "SEVERE" or "Content Security Policy" in message:
                failures.append(f"browser: {message}")

        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(max(height, 1000), 8000))
        time.sleep(0.5)
        driver.save_screenshot(screenshot)
        print(f"  screenshot: {screenshot}")
    finally:
        driver.quit()

    for failure in failures:
        print(f"FAIL {username}: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
