"""Helpers for bench/run.sh: logins, cursors, pgbench scripts, parsing, the report."""
import base64
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

COLUMNS = ("id, park_code, name, summary, industry, chain_role, attraction_mode, stage, planned_investment_usd, "
           "actual_investment_usd, hq_type, high_tech, land_area_mu, first_contact_on, signed_on, started_on, "
           "operating_on, owner_id, tags, notes, search_text, created_at, updated_at, created_by, updated_by, version, deleted_at, "
           "investor_ids_json, stage_history_json")


def call(base, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def login(base, user, password):
    print(call(base, "/api/v1/auth/login", body={"username": user, "password": password})["access_token"])


def directus_reader(base, email, password):
    """A Directus user whose static token may read `projects` and nothing else."""
    admin = call(base, "/auth/login", body={"email": email, "password": password})["data"]["access_token"]
    token = "bench-directus-reader-token"
    if call(base, "/users?" + urllib.parse.urlencode({"filter[email][_eq]": "reader@example.com"}), admin)["data"]:
        print(token)
        return
    policy = call(base, "/policies", admin, {
        "name": "bench read projects", "icon": "visibility", "admin_access": False, "app_access": False,
        "permissions": [{"collection": "projects", "action": "read", "fields": ["*"]}]})["data"]["id"]
    role = call(base, "/roles", admin, {"name": "bench reader", "policies": [{"policy": policy}]})["data"]["id"]
    call(base, "/users", admin, {"email": "reader@example.com", "role": role, "token": token})
    print(token)


def deep_page(base, token, pages, park):
    """The path of the page `pages` pages in, and its cursor's (t, id)."""
    path = f"/api/v1/projects?park={park}&limit=20"
    cursor = None
    for _ in range(int(pages)):
        page = call(base, path if cursor is None else f"{path}&cursor={cursor}", token)
        cursor = page["next_cursor"]
        if cursor is None:
            sys.exit("not enough rows for the deep page")
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    print(f"{path}&cursor={cursor}")
    print(raw["t"].replace("T", " "))
    print(raw["i"])



def keep_alive(host, port, path, token, times):
    """GETs path `times` times on one keep-alive connection (bench/callgrind.sh); fails on a non-200."""
    import http.client
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    for _ in range(int(times)):
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"{path}: {r.status}")

def pgbench_script(kind, rows, park="yueyang", at=None, after=None):
    if kind == "get_by_id":
        return (f"\\set n random(0, {int(rows) - 1})\n"
                f"SELECT {COLUMNS} FROM projects WHERE deleted_at IS NULL "
                f"AND id = '00000000-0000-7000-8000-' || lpad(:n::text, 12, '0');\n")
    keyset = ""
    if kind == "deep_page":
        keyset = f"AND (created_at, id) < ('{at}', '{after}') "
    return (f"SELECT {COLUMNS} FROM projects WHERE deleted_at IS NULL AND park_code = '{park}' {keyset}"
            f"ORDER BY created_at DESC, id DESC LIMIT 21;\n")


def write_pgbench(kind, rows, out, *rest):
    with open(out, "w") as f:
        f.write(pgbench_script(kind, rows, *rest))


def parse_wrk(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    err = sum(int(x) for x in errors.groups()) if errors else 0
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": err}


def parse_pgbench(path):
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", open(path).read())
    return float(m.group(1)) if m else float("nan")


def record(results, scenario, rows, wrk_out, pgbench_out="", peer_of=""):
    """One scenario's figures; a peer's run names the scenario of ours it mirrors."""
    r = parse_wrk(wrk_out)
    r.update(scenario=scenario, rows=int(rows), peer_of=peer_of or None)
    r["ceiling"] = parse_pgbench(pgbench_out) if pgbench_out else None
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")


def report(results, out, title, rss_file):
    rows = [json.loads(line) for line in open(results)]
    ours = {(r["scenario"], r["rows"]): r for r in rows if not r.get("peer_of")}
    lines = [f"## {title}", "",
             "Ratio: ours ÷ the pgbench ceiling; on a peer's row, ours ÷ the peer (req/s, and p99 as peer ÷ ours).",
             "",
             "| scenario | rows | req/s | p50 ms | p99 ms | non-2xx | errors | ceiling req/s | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ceiling = f"{r['ceiling']:.0f}" if r.get("ceiling") else "–"
        ratio = f"{r['rps'] / r['ceiling']:.2f}" if r.get("ceiling") else "–"
        mine = ours.get((r.get("peer_of"), r["rows"]))
        if mine:
            ratio = f"{mine['rps'] / r['rps']:.1f}× req/s, {r['p99'] / mine['p99']:.1f}× lower p99"
        lines.append(f"| {r['scenario']} | {r['rows']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                     f"{r['non2xx']} | {r['errors']} | {ceiling} | {ratio} |")
    if os.path.exists(rss_file):
        lines += ["", "Peak RSS of the service (VmHWM) after each size's read scenarios:", ""]
        lines += [f"- {line.strip()}" for line in open(rss_file) if line.strip()]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(out, "a") as f:
        f.write(text + "\n")


# -- The HTTP ceiling (run.sh --ceiling): ours beside the thin server of bench/ceiling/ and pgbench.

def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (1/100 s here)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    print(int(fields[11]) + int(fields[12]))


def record_ceiling(results, scenario, rows, who, out, ticks_before="0", ticks_after="0"):
    """One run of a read: `who` is ours or http (wrk's output, with the server's
    CPU per request in µs from its ticks), or pgbench (its output)."""
    r = {"scenario": scenario, "rows": int(rows), "who": who}
    if who == "pgbench":
        r["rps"] = parse_pgbench(out)
    else:
        r.update(parse_wrk(out))
        done = int(re.search(r"(\d+) requests in", open(out).read()).group(1))
        ticks = int(ticks_after) - int(ticks_before)
        r.update(requests=done, cpu_us=ticks * 1e6 / os.sysconf("SC_CLK_TCK") / done if done else float("nan"))
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")


def report_ceiling(results, out, title, load_before, load_after):
    rows = [json.loads(line) for line in open(results)]
    http = {(r["scenario"], r["rows"]): r for r in rows if r["who"] == "http"}
    pgbench = {(r["scenario"], r["rows"]): r["rps"] for r in rows if r["who"] == "pgbench"}
    lines = [f"## {title}", "",
             f"Load average before: {load_before}; after: {load_after}.", "",
             "| scenario | rows | ours req/s | ours p99 ms | ours CPU µs/req | thin HTTP req/s | its p99 ms | "
             "its CPU µs/req | pgbench tps | ours ÷ HTTP | ours ÷ pgbench | non-2xx | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["who"] != "ours":
            continue
        h = http.get((r["scenario"], r["rows"]))
        pg = pgbench.get((r["scenario"], r["rows"]))
        lines.append(
            f"| {r['scenario']} | {r['rows']} | {r['rps']:.0f} | {r['p99']:.2f} | {r['cpu_us']:.0f} | "
            + (f"{h['rps']:.0f} | {h['p99']:.2f} | {h['cpu_us']:.0f} | " if h else "– | – | – | ")
            + (f"{pg:.0f} | " if pg else "– | ")
            + (f"{r['rps'] / h['rps']:.2f} | " if h else "– | ")
            + (f"{r['rps'] / pg:.2f} | " if pg else "– | ")
            + f"{r['non2xx'] + (h['non2xx'] if h else 0)} | {r['errors'] + (h['errors'] if h else 0)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(out, "a") as f:
        f.write(text + "\n")


def ledger_xlsx(rows, out):
    """A park ledger of `rows` projects as an XLSX workbook (inline strings and
    numbers, written with zipfile: no spreadsheet library is installed here),
    with the Chinese headers of the template and an external ref per row."""
    import zipfile
    from xml.sax.saxutils import escape
    header = ["外部编号", "园区代码", "项目名称", "产业", "招商方式", "项目阶段", "计划投资（美元）", "首次接触日期", "标签"]
    industries = ["电子信息", "新能源", "智能制造", "现代医疗器械", "新材料"]
    stages = ["线索", "洽谈"]

    def col(i):
        return chr(ord("A") + i)

    def row_xml(r, cells):
        parts = []
        for i, v in enumerate(cells):
            ref = f"{col(i)}{r}"
            if isinstance(v, int):
                parts.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
        return f'<row r="{r}">' + "".join(parts) + "</row>"

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="重大项目库" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            sheet.write(row_xml(1, header).encode())
            for i in range(int(rows)):
                cells = [f"TZ-{i:06d}", "yueyang", f"台账项目{i}", industries[i % 5], "定向招商", stages[i % 2],
                         1_000_000 + i, "2026-03-02", "半导体; 封装"]
                sheet.write(row_xml(i + 2, cells).encode())
            sheet.write(b"</sheetData></worksheet>")



# The mixed scenario (bench/mixed.sh): fast reads beside slow work, slow lane on and off.

def mixed_record(results, label, phase, load, by_id_out, page_out, slow_out=""):
    """One phase: the two fast reads' figures and, when there was slow work, its own."""
    r = {"db": label, "phase": phase, "load": load, "by_id": parse_wrk(by_id_out), "page": parse_wrk(page_out)}
    r["slow"] = parse_wrk(slow_out) if slow_out else None
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")


def mixed_report(results, out):
    rows = [json.loads(line) for line in open(results)]
    lines = ["## Mixed: 8 clients on slow work beside 56 fast readers (issue 16, item 6)", "",
             "Slow work: a CSV export (stage=operating), GET /targets, GET /stats/projects?group_by=park,stage, "
             "q=台積電 and q=量子, in turn, as the provincial administrator (wrk, 8 connections, 30 s timeout). "
             "Fast reads: get by id (28 connections) and the park's first page (28), as park staff. "
             "Target: the fast reads' p99 ≤ 50 ms. Load: the 1, 5 and 15 minute load averages before the phase.", "",
             "| database | phase | load | by id req/s | by id p99 ms | first page req/s | first page p99 ms "
             "| fast p99 ms (worst) | fast non-2xx + errors | slow req/s | slow p99 ms | slow non-2xx | target |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        by_id, page, slow = r["by_id"], r["page"], r.get("slow")
        worst = max(by_id["p99"], page["p99"])
        fast_bad = by_id["non2xx"] + by_id["errors"] + page["non2xx"] + page["errors"]
        slow_cells = (f"{slow['rps']:.1f} | {slow['p99']:.0f} | {slow['non2xx'] + slow['errors']}" if slow else "– | – | –")
        lines.append(f"| {r['db']} | {r['phase']} | {r['load']} | {by_id['rps']:.0f} | {by_id['p99']:.2f} | "
                     f"{page['rps']:.0f} | {page['p99']:.2f} | {worst:.2f} | {fast_bad} | {slow_cells} | "
                     f"{'met' if worst <= 50 and fast_bad == 0 else 'missed'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(out, "a") as f:
        f.write(text + "\n")


# The filter grid (bench/filters.sh, issue 16 item 2): every list filter alone and with one and two parks.

FILTERS = {
    "projects": ["", "stage=signed", "industry=new_energy", "attraction_mode=affinity", "chain_role=extend",
                 "high_tech=true", "created_from=2026-06-01", "created_to=2022-06-30", "updated_from=2026-06-01",
                 "updated_to=2022-06-30", "sort=updated_at", "q=芯片"],
    "investors": ["", "kind=association", "origin=third_place", "region=台北", "status=settled",
                  "industry=new_energy", "taiwan_top100=true", "settled=true", "settled_from=2024-01-01",
                  "settled_to=2023-12-31", "follow_up_overdue=true", "q=台积"],
    "talents": ["", "status=employed", "specialty=new_energy", "education=doctor", "origin=台北", "youth=true",
                "programme_status=approved", "employer={employer}", "q=逢甲大學"],
}
PARKS = {"none": "", "one park": "park=yueyang", "two parks": "park=yueyang&park=xiangtan"}


def filter_cases(employer):
    """Tab-separated lines: library, filter, parks, path (percent-encoded)."""
    for library, filters in FILTERS.items():
        for wanted in filters:
            wanted = wanted.format(employer=employer)
            for parks, park_query in PARKS.items():
                query = "&".join(q for q in ("limit=20", wanted, park_query) if q)
                pairs = [part.split("=", 1) for part in query.split("&")]
                encoded = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in pairs)
                print(f"{library}\t{wanted or '(none)'}\t{parks}\t/api/v1/{library}?{encoded}")


def filter_p50(base, token, path, times="7"):
    """The median of `times` sequential requests (ms) and the last status."""
    import statistics
    import time
    took, status = [], 0
    for _ in range(int(times)):
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        took.append((time.perf_counter() - start) * 1000)
    print(f"{statistics.median(took):.2f} {status}")


def filter_record(results, library, wanted, parks, role, p50_and_status, wrk_out):
    p50, status = p50_and_status.split()
    r = parse_wrk(wrk_out)
    if r["rps"] == 0:  # not one request done within the run: its p99 is past the run's length
        r["p99"] = float("inf")
    r.update(library=library, filter=wanted, parks=parks, role=role, single_p50=float(p50), status=int(status))
    with open(results, "a") as f:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"p50 {r['single_p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['rps']:.0f} req/s, status {r['status']}")


def filter_report(results, grid_out, title):
    """The worst ten (by how far the single p50 and the 64-connection p99 are
    from 5 and 50 ms) printed; the whole grid written to `grid_out`."""
    rows = [json.loads(line) for line in open(results)]
    miss = lambda r: max(r["single_p50"] / 5, r["p99"] / 50)
    head = ["| library | filter | parks | role | status | p50 ms (1 client) | p99 ms (64) | req/s (64) | non-2xx | target |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    line = lambda r: (f"| {r['library']} | {r['filter']} | {r['parks']} | {r['role']} | {r['status']} | {r['single_p50']:.1f} | "
                      f"{r['p99']:.1f} | {r['rps']:.0f} | {r['non2xx'] + r['errors']} | {'met' if miss(r) <= 1 else 'missed'} |")
    worst = sorted(rows, key=miss, reverse=True)[:10]
    missed = sum(1 for r in rows if miss(r) > 1)
    text = "\n".join([f"## {title}", "", f"{len(rows)} combinations, {missed} miss p50 ≤ 5 ms or p99 ≤ 50 ms. The worst ten:", ""]
                     + head + [line(r) for r in worst]) + "\n"
    print(text)
    with open(grid_out, "w") as f:
        f.write("\n".join([f"# {title}: the whole grid", ""] + head + [line(r) for r in rows]) + "\n")


if __name__ == "__main__":
    {"login": login, "deep-page": deep_page, "directus-reader": directus_reader, "pgbench": write_pgbench, "record": record, "report": report,
     "ledger-xlsx": ledger_xlsx, "mixed-record": mixed_record, "mixed-report": mixed_report,
     "cpu-ticks": cpu_ticks, "record-ceiling": record_ceiling, "report-ceiling": report_ceiling,
     "keep-alive": keep_alive, "filter-cases": filter_cases, "filter-p50": filter_p50, "filter-record": filter_record, "filter-report": filter_report}[sys.argv[1]](*sys.argv[2:])
