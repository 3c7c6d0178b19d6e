"""Helpers for bench/run.sh: logins, cursors, pgbench scripts, parsing, the report."""
import base64
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

# The columns of the service's row statement (`search_text` read as '', as the service reads it).
COLUMNS = ("id, park_code, name, summary, industry, chain_role, attraction_mode, stage, planned_investment_usd, "
           "actual_investment_usd, hq_type, high_tech, land_area_mu, first_contact_on, signed_on, started_on, "
           "operating_on, owner_id, tags, notes, '', created_at, updated_at, created_by, updated_by, version, deleted_at, "
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


# What the Directus reader may read: the three libraries and the parks, every
# field. Directus 12.4.0 refuses a narrower field list without a licence ("
# custom_permission_rules_enabled is a restricted resource"), so talents' personal
# data (phone, email, permit_no), masked in our lists, is in its answers in clear.
DIRECTUS_READS = ("projects", "investors", "talents", "parks")


def directus_reader(base, email, password):
    """A Directus user whose static token may read the collections of
    DIRECTUS_READS and nothing else. Idempotent: on a database where an earlier
    run made the reader, the missing read permissions are added."""
    admin = call(base, "/auth/login", body={"email": email, "password": password})["data"]["access_token"]
    token = "bench-directus-reader-token"
    q = lambda path, **filters: call(base, path + "?" + urllib.parse.urlencode(
        {f"filter[{k}][_eq]": v for k, v in filters.items()}), admin)["data"]
    policies = q("/policies", name="bench reader")
    policy = policies[0]["id"] if policies else call(base, "/policies", admin, {
        "name": "bench reader", "icon": "visibility", "admin_access": False, "app_access": False})["data"]["id"]
    granted = {p["collection"] for p in q("/permissions", policy=policy, action="read")}
    for collection in DIRECTUS_READS:
        if collection not in granted:
            call(base, "/permissions", admin, {"policy": policy, "collection": collection, "action": "read", "fields": ["*"]})
    roles = q("/roles", name="bench reader")
    role = roles[0]["id"] if roles else call(base, "/roles", admin, {"name": "bench reader"})["data"]["id"]
    if not q("/access", role=role, policy=policy):
        call(base, "/access", admin, {"role": role, "policy": policy})
    if not q("/users", email="reader@example.com"):
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

def mixed_record(results, label, phase, load, by_id_out, page_out, slow_out="", lane_out=""):
    """One phase: the two fast reads' figures (none when the slow work ran alone) and, when
    there was slow work, its own, with the share of the lane's samples (running borrowed)
    that had a request on a spare connection."""
    r = {"db": label, "phase": phase, "load": load,
         "by_id": parse_wrk(by_id_out) if by_id_out else None, "page": parse_wrk(page_out) if page_out else None}
    r["slow"] = parse_wrk(slow_out) if slow_out else None
    if lane_out:
        samples = [tuple(float(x) for x in line.split()) for line in open(lane_out) if len(line.split()) == 2]
        r["loans"] = {"samples": len(samples), "borrowed": sum(1 for _, b in samples if b > 0)}
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")


def mixed_report(results, out):
    rows = [json.loads(line) for line in open(results)]
    lines = ["## Mixed: 8 clients on slow work beside 56 fast readers (issue 16, item 6)", "",
             "Slow work: a CSV export (stage=operating), GET /targets, GET /stats/projects?group_by=park,stage, "
             "q=台積電 and q=量子, in turn, as the provincial administrator (wrk, 8 connections, 30 s timeout). "
             "Fast reads: get by id (28 connections) and the park's first page (28), as park staff. "
             "Target: the fast reads' p99 ≤ 50 ms. Load: the 1, 5 and 15 minute load averages before the phase.", "",
             "Loans: of the lane's gauges sampled every 0.2 s (/metrics), the samples with a slow request on a "
             "spare connection (`db_slow_lane_borrowed` > 0).", "",
             "| database | phase | load | by id req/s | by id p99 ms | first page req/s | first page p99 ms "
             "| fast p99 ms (worst) | fast non-2xx + errors | slow req/s | slow p99 ms | slow non-2xx | loans | target |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        by_id, page, slow = r["by_id"], r["page"], r.get("slow")
        loans = r.get("loans")
        loan_cell = f"{loans['borrowed']} of {loans['samples']}" if loans and loans["samples"] else "–"
        slow_cells = (f"{slow['rps']:.1f} | {slow['p99']:.0f} | {slow['non2xx'] + slow['errors']} | {loan_cell}"
                      if slow else "– | – | – | –")
        if by_id is None or page is None:
            lines.append(f"| {r['db']} | {r['phase']} | {r['load']} | – | – | – | – | – | – | {slow_cells} | – |")
            continue
        worst = max(by_id["p99"], page["p99"])
        fast_bad = by_id["non2xx"] + by_id["errors"] + page["non2xx"] + page["errors"]
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



# The peer grid (bench/peer-grid.sh, issue 16 item 5): the filter grid and the other documented
# reads, each against the service and against Directus on the same database.

def _day_after(day):
    import datetime
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()


def peer_filter(library, wanted, ctx):
    """Our filter `wanted` (k=v) in Directus's terms: (conditions, sort, search).
    Each condition is (field, operator, value). Raises KeyError for a filter
    Directus cannot say."""
    if not wanted:
        return [], None, None
    key, value = wanted.split("=", 1)
    same = {"projects": {"stage": "stage", "industry": "industry", "attraction_mode": "attraction_mode",
                         "chain_role": "chain_role", "high_tech": "high_tech"},
            "investors": {"kind": "kind", "origin": "origin", "region": "region", "status": "status"},
            "talents": {"status": "status", "specialty": "specialty", "education": "education",
                        "origin": "origin_region", "employer": "employer_id"}}[library]
    if key in same:
        return [(same[key], "_eq", value)], None, None
    if key == "q":
        return [], None, value
    if key == "sort":  # ties by id, in the same direction, as ours
        return [], f"{value},{'-' if value.startswith('-') else ''}id", None
    if key in ("created_from", "updated_from"):
        return [(key.split("_")[0] + "_at", "_gte", f"{value}T00:00:00")], None, None
    if key in ("created_to", "updated_to"):  # a date includes its whole day
        return [(key.split("_")[0] + "_at", "_lt", f"{_day_after(value)}T00:00:00")], None, None
    if library == "investors":
        if key == "industry":  # a JSON array in a text column, as our LIKE reads it
            return [("industries", "_contains", f'"{value}"')], None, None
        if key == "taiwan_top100":
            return [("top100_id", "_nnull" if value == "true" else "_null", "true")], None, None
        if key == "settled":
            return [("settled_on", "_nnull" if value == "true" else "_null", "true")], None, None
        if key == "settled_from":
            return [("settled_on", "_gte", value)], None, None
        if key == "settled_to":
            return [("settled_on", "_lte", value)], None, None
        if key == "follow_up_overdue" and value == "true":
            return [("follow_up_due_on", "_lt", ctx["today"])], None, None
    if library == "talents":
        if key == "youth" and value == "true":
            return [("birth_year", "_gte", str(ctx["youth_year"]))], None, None
        if key == "programme_status":
            return [("programmes", "_contains", f'"status":"{value}"')], None, None
    raise KeyError(wanted)


def peer_scope(parks, role):
    """The reader sees every park: the park scope of ours is a filter on its side."""
    if role != "provincial_admin" or parks == "one park":
        return [("park_code", "_eq", "yueyang")]
    if parks == "two parks":
        return [("park_code", "_in", "yueyang,xiangtan")]
    return []


def peer_path(library, conditions, sort="-created_at,-id", search=None, extra=()):
    params = [("limit", "20")] if not any(k == "limit" for k, _ in extra) else []
    if sort:
        params.append(("sort", sort))
    params.append(("filter[deleted_at][_null]", "true"))
    params += [(f"filter[{field}][{op}]", value) for field, op, value in conditions]
    if search:
        params.append(("search", search))
    params += list(extra)
    return f"/items/{library}?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def ours_path(library, query):
    pairs = [part.split("=", 1) for part in query.split("&") if part]
    return f"/api/v1/{library}?" + "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in pairs)


def peer_cases(context_file):
    """Tab-separated lines: library, read, parks, role, our target, the peer's
    target ("-" when it has none), a note. A target is a path, or
    ids:FILE:PREFIX for reads by random id."""
    ctx = json.load(open(context_file))
    out = []
    case = lambda *cells: out.append("\t".join(str(c) for c in cells))
    # The grid of item 2, as bench/filters.sh runs it.
    for library, filters in FILTERS.items():
        for wanted in filters:
            wanted = wanted.format(employer=ctx["employer"])
            conditions, sort, search = peer_filter(library, wanted, ctx)
            note = "search: substring in any readable text column, one script" if search else ""
            for parks, park_query in PARKS.items():
                for role in ("provincial_admin", "park_staff"):
                    query = "&".join(q for q in ("limit=20", wanted, park_query) if q)
                    case(library, wanted or "(none)", parks, role, ours_path(library, query),
                         peer_path(library, peer_scope(parks, role) + conditions, sort or "-created_at,-id", search), note)
    # The other reads the peer can serve.
    roles = {"park_staff": ("one park", "yueyang"), "provincial_admin": ("none", "all")}
    for library in ("projects", "investors", "talents"):
        for role, (parks, ids) in roles.items():
            note = "ours unmasked and audited (a write a read); the peer unmasked, unaudited" \
                if library == "talents" else ""
            case(library, "by id", parks, role, f"ids:{ctx['ids'][library][ids]}:/api/v1/{library}/",
                 f"ids:{ctx['ids'][library][ids]}:/items/{library}/", note)
        if library == "talents":
            case(library, "by id", "one park", "park_viewer", f"ids:{ctx['ids'][library]['yueyang']}:/api/v1/{library}/",
                 f"ids:{ctx['ids'][library]['yueyang']}:/items/{library}/", "ours as park_viewer: masked, not audited; the peer unmasked")
        for role, (parks, _) in roles.items():
            scope = peer_scope(parks, role)
            case(library, "second page (cursor vs page=2)", parks, role, ctx["second"][library][role],
                 peer_path(library, scope, extra=[("page", "2")]), "")
            park_query = "park=yueyang&" if parks == "one park" else ""
            case(library, "count=true vs meta=filter_count", parks, role,
                 ours_path(library, f"{park_query}limit=20&count=true"),
                 peer_path(library, scope, extra=[("meta", "filter_count")]), "")
    for role, (parks, _) in roles.items():
        scope = peer_scope(parks, role)
        park_query = "park=yueyang&" if parks == "one park" else ""
        case("projects", "count=true, stage=signed", parks, role,
             ours_path("projects", f"{park_query}limit=20&stage=signed&count=true"),
             peer_path("projects", scope + [("stage", "_eq", "signed")], extra=[("meta", "filter_count")]), "")
        for word in ("台積電", "量子"):
            case("projects", f"q={word}", parks, role, ours_path("projects", f"{park_query}limit=20&q={word}"),
                 peer_path("projects", scope, search=word), "search: substring in any readable text column, one script")
        for library, dims in (("projects", "park,stage"), ("investors", "park,status"), ("talents", "park,status")):
            columns = [d.replace("park", "park_code") for d in dims.split(",")]
            extra = [("aggregate[count]", "*")]
            if library == "projects":
                extra.append(("aggregate[sum]", "planned_investment_usd,contracted_investment_usd,actual_investment_usd"))
            extra += [("groupBy[]", c) for c in columns] + [("limit", "-1")]
            case(library, f"stats group_by={dims} vs aggregate+groupBy", parks, role,
                 f"/api/v1/stats/{library}?{park_query}group_by={dims}",
                 peer_path(library, scope, sort=None, extra=extra), "no labels on the peer's side")
    case("projects", f"deep page ({ctx['deep_pages']} in: cursor vs page={ctx['deep_pages'] + 1})", "one park", "park_staff",
         ctx["deep"], peer_path("projects", peer_scope("one park", "park_staff"), extra=[("page", str(ctx["deep_pages"] + 1))]), "")
    case("projects", "CSV, stage=operating", "one park", "park_staff",
         ours_path("projects", "park=yueyang&stage=operating&format=csv"),
         peer_path("projects", peer_scope("one park", "park_staff") + [("stage", "_eq", "operating")],
                   extra=[("limit", "-1"), ("export", "csv")]), "columns differ: ours labelled, the peer's raw")
    case("parks", "list", "none", "park_staff", "/api/v1/parks", "/items/parks?limit=-1", "")
    case("parks", "by code", "one park", "park_staff", "/api/v1/parks/yueyang", "/items/parks/yueyang", "")
    for library, what, ours, reason in NOT_SERVED:
        case(library, what, "–", "–", ours, "-", reason)
    print("\n".join(out))


NOT_SERVED = [
    ("projects", "targets, their items and series", "/api/v1/targets", "computed from dated facts across tables (crediting rules); no collection holds them"),
    ("projects", "monitoring (lights and reasons)", "/api/v1/monitoring", "the lights are computed per read from the rules and today; the peer has the stored days only"),
    ("projects", "stats/funnel", "/api/v1/stats/funnel", "per-cohort stage reach needs the stage history's JSON unpacked"),
    ("investors", "matches (撞单 check)", "/api/v1/investors/matches", "matching on folded names (both scripts) and identifiers across parks"),
    ("top100", "candidates", "/api/v1/top100/{id}/candidates", "matching on folded member names"),
    ("all", "q= folding Simplified and Traditional", "q=台積電", "search= is a case-insensitive substring: 台積電 does not find 台积电 (only what the stored search text holds)"),
    ("talents", "masked personal data; audited unmasked reads", "/api/v1/talents/{id}", "the peer records no read and cannot mask a field; a narrower field list needs its licence"),
    ("all", "cursor pages", "cursor=", "offset pages only (page=, offset=): a row inserted meanwhile shifts them"),
]


def pg_ticks(db, out=None):
    """utime + stime of every PostgreSQL backend on database `db`, by pid
    (JSON); with a file of an earlier snapshot, prints the ticks spent since."""
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            # "postgres: [cluster: ]user database host(port) state"
            if not re.match(rf"postgres: (\S+: )?postgres {re.escape(db)} ", open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")):
                continue
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])
        except OSError:
            continue
    if out is None:
        print(json.dumps(ticks))
    else:
        before = json.load(open(out))
        print(sum(t - before.get(pid, 0) for pid, t in ticks.items()))


def _fetch(base, token, target):
    if target.startswith("ids:"):
        _, ids, prefix = target.split(":", 2)
        target = prefix + open(ids).readline().strip()
    req = urllib.request.Request(base + target, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


def peer_same(ours_base, ours_token, ours_target, peer_base, peer_token, peer_target):
    """Do both answer the same rows? Lists: the ids in order (and the counts);
    one record: its id; CSV: the number of rows; anything else: '–'."""
    try:
        a, b = _fetch(ours_base, ours_token, ours_target), _fetch(peer_base, peer_token, peer_target)
    except Exception as e:  # noqa: BLE001 - a failed request is a finding, not a crash
        print(f"error: {e}"[:60])
        return
    if isinstance(a, str) and isinstance(b, str):  # CSV: records, not lines (a text may hold a line break)
        import csv
        import io
        na, nb = (sum(1 for _ in csv.reader(io.StringIO(t.lstrip("\ufeff")))) - 1 for t in (a, b))
        print("same rows" if na == nb else f"{na} vs {nb} rows")
        return
    if not isinstance(a, dict) or not isinstance(b, dict):
        print("–")
        return
    data = b.get("data")
    if "items" in a and isinstance(data, list):
        ia, ib = [r["id"] for r in a["items"]], [r.get("id") for r in data]
        verdict = "same rows" if ia == ib else f"differ ({len(ia)} vs {len(ib)}, {len(set(ia) & set(ib))} shared)"
        total_b = (b.get("meta") or {}).get("filter_count")
        if a.get("total") is not None and total_b is not None:
            verdict += ", same count" if int(a["total"]) == int(total_b) else f", count {a['total']} vs {total_b}"
        print(verdict)
    elif "id" in a and isinstance(data, dict):
        print("same row" if a["id"] == data.get("id") else "differ")
    elif "code" in a and isinstance(data, dict):
        print("same row" if a["code"] == data.get("code") else "differ")
    elif isinstance(a, list) and isinstance(data, list):
        print("same rows" if len(a) == len(data) else f"{len(a)} vs {len(data)}")
    elif "total" in a and isinstance(data, list):
        count_a = a["total"].get("count") if isinstance(a["total"], dict) else None
        count_b = sum(int(g["count"]) for g in data) if data and "count" in data[0] else None
        print("same total" if count_a is not None and count_a == count_b else f"total {count_a} vs {count_b}")
    else:
        print("–")


def peer_record(results, library, what, parks, role, who, note, p50_and_status, ticks0, ticks1, pg, wrk_out):
    p50, status = p50_and_status.split()
    r = parse_wrk(wrk_out)
    done = int(re.search(r"(\d+) requests in", open(wrk_out).read()).group(1))
    hz = os.sysconf("SC_CLK_TCK")
    # wrk's rate counts every answer; a 503 of a full slow lane is one too. Served: the 2xx.
    served = r["rps"] * (done - r["non2xx"]) / done if done else 0.0
    r.update(library=library, read=what, parks=parks, role=role, who=who, note=note, single_p50=float(p50),
             status=int(status), requests=done, served_rps=served,
             cpu_us=(int(ticks1) - int(ticks0)) * 1e6 / hz / done if done else float("nan"),
             pg_us=int(pg) * 1e6 / hz / done if done else float("nan"))
    with open(results, "a") as f:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{who}: {r['rps']:.0f} req/s ({served:.0f} 2xx), {r['non2xx']} non-2xx, p99 {r['p99']:.1f} ms, p50 (1 client) {r['single_p50']:.1f} ms, "
          f"CPU {r['cpu_us']:.0f} µs/req, PostgreSQL {r['pg_us']:.0f} µs/req, status {r['status']}")


DURATION_NOTE = "run"  # a side that answered nothing within the run: its p99 is past the run's length


def peer_report(results, same_file, out, title, load_before, load_after):
    """Pairs ours and the peer's run of each case; one table, ours ÷ peer ascending."""
    rows = [json.loads(line) for line in open(results)]
    same = {}
    if os.path.exists(same_file):
        for line in open(same_file):
            key, _, verdict = line.rstrip("\n").rpartition("\t")
            same[key] = verdict
    key = lambda r: (r["library"], r["read"], r["parks"], r["role"])
    ours = {key(r): r for r in rows if r["who"] == "ours"}
    peer = {key(r): r for r in rows if r["who"] == "peer"}
    pairs = [(ours[k], peer[k]) for k in ours if k in peer]
    ratio = lambda o, p: o["served_rps"] / p["served_rps"] if p["served_rps"] else float("inf")
    pairs.sort(key=lambda pair: ratio(*pair))
    head = ["| # | library | read | parks | ours as | ours 2xx/s | peer 2xx/s | **ours ÷ peer** | p99 ms ours | p99 ms peer "
            "| p50 ms 1 client ours / peer | CPU µs/req ours / peer | PostgreSQL µs/req ours / peer | non-2xx ours / peer | same answer |",
            "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    lines = []
    for n, (o, p) in enumerate(pairs, 1):
        served = lambda r: f"{r['served_rps']:.1f}" if r["served_rps"] < 10 else f"{r['served_rps']:.0f}"
        share = lambda r: f"{r['non2xx']} of {r['requests']}" if r["non2xx"] else "0"
        p99 = lambda r: f"{r['p99']:.0f}" if r["requests"] else f"> {DURATION_NOTE}"
        lines.append(f"| {n} | {o['library']} | {o['read']} | {o['parks']} | {o['role']} | {served(o)} | {served(p)} | "
                     f"**{ratio(o, p):.2f}** | {p99(o)} | {p99(p)} | {o['single_p50']:.1f} / {p['single_p50']:.1f} | "
                     f"{o['cpu_us']:.0f} / {p['cpu_us']:.0f} | {o['pg_us']:.0f} / {p['pg_us']:.0f} | {share(o)} / {share(p)} | "
                     f"{same.get(chr(9).join(key(o)), '–')} |")
    under = [pr for pr in pairs if ratio(*pr) < 50]
    statuses = {r["status"] for r in rows}
    text = "\n".join([f"## {title}", "",
                      f"Load average before: {load_before}; after: {load_after}. {len(pairs)} reads, "
                      f"{len(under)} under 50 ×; lowest {ratio(*pairs[0]):.1f} ×, median {ratio(*pairs[len(pairs) // 2]):.1f} ×, "
                      f"highest {ratio(*pairs[-1]):.0f} ×. Statuses seen: {sorted(statuses)}.", ""]
                     + head + lines) + "\n"
    print("\n".join([f"## {title}", ""] + head + lines[:10]))
    with open(out, "w") as f:
        f.write(text)

def _crate_of(dso, kind, sym):
    """The group a sampled function is counted in: the kernel, the C
    libraries, the allocator, or the Rust crate its path starts with."""
    if kind == "k":
        return "kernel"
    if dso.startswith("libc"):
        return "libc"
    if sym.startswith(("_mi_", "mi_")):
        return "mimalloc"
    if sym.startswith(("pq", "PQ")):
        return "libpq"
    path = sym.lstrip("<&*( ").removeprefix("mut ").removeprefix("dyn ")
    return re.split(r"::|<| ", path)[0] or sym[:20]


def perf_groups(cpu_us, *reports):
    """`perf report --no-children --sort dso,sym` of each server (NAME=FILE)
    and its CPU µs a request (NAME=µs, comma-separated): µs a request in each
    group, the largest first, side by side."""
    cpu = dict(pair.split("=") for pair in cpu_us.split(","))
    names, shares = [], {}
    for spec in reports:
        name, path = spec.split("=", 1)
        names.append(name)
        with open(path) as f:
            for line in f:
                m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
                if m:
                    key = _crate_of(m.group(2), m.group(3), m.group(4).strip())
                    shares.setdefault(key, {}).setdefault(name, 0.0)
                    shares[key][name] += float(m.group(1)) * float(cpu[name]) / 100
    rows = sorted(shares.items(), key=lambda kv: -max(kv[1].values()))
    print("| group | " + " | ".join(f"{n} µs" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    print("| **all** | " + " | ".join(f"**{float(cpu[n]):.1f}**" for n in names) + " |")
    for key, by in rows[:20]:
        print(f"| {key} | " + " | ".join(f"{by.get(n, 0):.1f}" for n in names) + " |")


if __name__ == "__main__":
    {"login": login, "deep-page": deep_page, "directus-reader": directus_reader, "pgbench": write_pgbench, "record": record, "report": report,
     "ledger-xlsx": ledger_xlsx, "mixed-record": mixed_record, "mixed-report": mixed_report,
     "cpu-ticks": cpu_ticks, "record-ceiling": record_ceiling, "report-ceiling": report_ceiling,
     "keep-alive": keep_alive, "filter-cases": filter_cases, "filter-p50": filter_p50, "filter-record": filter_record, "filter-report": filter_report,
     "peer-cases": peer_cases, "pg-ticks": pg_ticks, "peer-same": peer_same, "peer-record": peer_record, "peer-report": peer_report,
     "perf-groups": perf_groups}[sys.argv[1]](*sys.argv[2:])
