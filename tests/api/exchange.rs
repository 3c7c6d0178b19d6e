//! Exchange with spreadsheets: every list exported as CSV or XLSX — every
//! row that matches the filters (not one page), Chinese headers and labels,
//! the caller's scope and the JSON list's masking, formulas neutralised,
//! and one audit event per export.

use std::collections::HashSet;

use serde_json::json;

use crate::helpers::{enc, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    csv_has_every_row_with_bom_and_chinese_headers,
    export_follows_filters_and_park_scope,
    talents_export_is_masked_like_the_list,
    formulas_are_neutralised_in_csv_and_xlsx,
    xlsx_is_a_workbook_with_every_row,
    each_export_is_an_audit_event_and_bad_filters_are_refused,
    claims_export_every_claim_in_scope,
    the_change_feed_exports_every_event_ready,
    target_rows_export_like_their_json_items,
    monitoring_exports_every_watched_project_in_scope,
    one_format_and_the_lists_own_limit,
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A download: status, content type and the raw bytes.
struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    bytes: Vec<u8>,
}

async fn download(app: &TestApp, who: Who, path: &str, accept: Option<&str>) -> Download {
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(120)).finish();
    let mut req = client.get(format!("{}{}", app.base, path));
    if let Some(token) = app.token(who) {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    if let Some(accept) = accept {
        req = req.insert_header(("accept", accept));
    }
    let mut res = req.send().await.expect("request sent");
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let bytes = res.body().limit(64 * 1024 * 1024).await.expect("body read").to_vec();
    Download { status: res.status().as_u16(), content_type, disposition, bytes }
}

/// The rows of a CSV export after checking its BOM; the header row first.
fn csv_rows(download: &Download) -> Vec<Vec<String>> {
    assert_eq!(download.status, 200, "{}", String::from_utf8_lossy(&download.bytes));
    assert_eq!(download.content_type, "text/csv; charset=utf-8");
    assert!(download.bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "CSV starts with a UTF-8 BOM");
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&download.bytes[3..]);
    reader.records().map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect()).collect()
}

fn column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let at = rows[0].iter().position(|h| h == header).unwrap_or_else(|| panic!("no column {header} in {:?}", rows[0]));
    rows[1..].iter().map(|r| r[at].clone()).collect()
}

/// Creates `n` projects from `body` (names numbered), all at once.
async fn projects(app: &TestApp, n: usize, body: serde_json::Value) {
    for i in 0..n {
        let mut body = body.clone();
        let name = format!("{} {i}", body["name"].as_str().unwrap_or("华芯先进封装项目"));
        body["name"] = json!(name);
        app.create_project(body).await;
    }
}

async fn audit_events(app: &TestApp, action: &str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        entity_type: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        changes: String,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    diesel::sql_query(format!("SELECT actor, entity_type, changes FROM audit_events WHERE action = '{action}' ORDER BY at, id"))
        .load::<Event>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.entity_type, e.changes))
        .collect()
}

async fn csv_has_every_row_with_bom_and_chinese_headers(app: TestApp) {
    projects(&app, 120, json!({"stage": "negotiating", "first_contact_on": "2026-03-02", "tags": ["半导体", "封装"]})).await;
    // `limit` is ignored: an export holds every row, over many pages of the list.
    let export = download(&app, Who::ProvincialAdmin, "/api/v1/projects?limit=5", Some("text/csv")).await;
    assert!(export.disposition.starts_with("attachment; filename=\"projects-") && export.disposition.ends_with(".csv\""), "{}", export.disposition);
    let rows = csv_rows(&export);
    assert_eq!(rows[0][..4], ["记录编号", "园区代码", "项目名称", "项目简介"]);
    assert_eq!(rows.len(), 121, "a header and 120 rows");
    let ids: HashSet<String> = column(&rows, "记录编号").into_iter().collect();
    assert_eq!(ids.len(), 120, "no row twice");
    assert!(column(&rows, "产业").iter().all(|v| v == "电子信息"), "enum values as their Chinese labels");
    assert!(column(&rows, "项目阶段").iter().all(|v| v == "洽谈"));
    assert!(column(&rows, "招商方式").iter().all(|v| v == "产业链招商"));
    assert!(column(&rows, "计划投资（美元）").iter().all(|v| v == "50000000"), "money as a plain number");
    assert!(column(&rows, "首次接触日期").iter().all(|v| v == "2026-03-02"), "ISO dates");
    assert!(column(&rows, "高精尖新").iter().all(|v| v == "否"));
    assert!(column(&rows, "标签").iter().all(|v| v == "半导体; 封装"));
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "a cell for every header");

    // The same with `format=csv`, and the JSON list is unchanged.
    let by_param = download(&app, Who::ProvincialAdmin, "/api/v1/projects?format=csv", None).await;
    assert_eq!(csv_rows(&by_param).len(), 121);
    let json = app.get("/api/v1/projects?limit=5").await;
    assert_eq!(json.status, 200);
    assert_eq!(json.body["items"].as_array().map(Vec::len), Some(5));
    let explicit = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, "/api/v1/projects?format=json&limit=5", &[], None).await;
    assert_eq!(explicit.body["items"].as_array().map(Vec::len), Some(5));
}

async fn export_follows_filters_and_park_scope(app: TestApp) {
    projects(&app, 3, json!({"name": "岳阳电子", "industry": "electronic_information"})).await;
    projects(&app, 2, json!({"name": "岳阳新能源", "industry": "new_energy", "high_tech": true})).await;
    projects(&app, 4, json!({"name": "湘潭电子", "park_code": "xiangtan"})).await;

    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/projects?format=csv&industry=new_energy", None).await);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(column(&rows, "产业").iter().all(|v| v == "新能源"));
    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, &format!("/api/v1/projects?format=csv&q={}", enc("湘潭")), None).await);
    assert_eq!(rows.len(), 5, "search applies: {rows:?}");
    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/projects?format=csv&park=xiangtan&park=yueyang&high_tech=true", None).await);
    assert_eq!(rows.len(), 3);

    // A park role exports its own park only, whatever it asks for.
    let rows = csv_rows(&download(&app, Who::ParkViewer, "/api/v1/projects?format=csv", None).await);
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(column(&rows, "园区代码").iter().all(|p| p == "yueyang"));
    let rows = csv_rows(&download(&app, Who::OtherParkStaff, "/api/v1/projects?format=csv&park=yueyang", None).await);
    assert_eq!(rows.len(), 1, "another park's rows are not there: {rows:?}");

    // Investors export too, with their labels.
    app.create_investor(json!({"industries": ["electronic_information", "new_energy"]})).await;
    let rows = csv_rows(&download(&app, Who::ParkStaff, "/api/v1/investors", Some("text/csv")).await);
    assert_eq!(rows.len(), 2);
    assert_eq!(column(&rows, "类型"), ["企业"]);
    assert_eq!(column(&rows, "来源"), ["台湾地区"]);
    assert_eq!(column(&rows, "产业"), ["电子信息; 新能源"]);
    assert_eq!(column(&rows, "台湾百大企业"), ["否"], "not linked to the top-100 list");
    let none = csv_rows(&download(&app, Who::OtherParkStaff, "/api/v1/investors", Some("text/csv")).await);
    assert_eq!(none.len(), 1, "only the header");
}

async fn talents_export_is_masked_like_the_list(app: TestApp) {
    app.create_talent(json!({"phone": "138 1234 5678", "email": "lin.yijun@example.com", "permit_no": "1234 5678",
                             "consent_on": "2026-10-12"})).await;
    // Even the roles that may read one talent unmasked get a masked export, as in the list.
    for who in [Who::ProvincialAdmin, Who::ParkStaff, Who::ParkViewer] {
        let export = download(&app, who, "/api/v1/talents?format=csv", None).await;
        let text = String::from_utf8_lossy(&export.bytes).into_owned();
        let rows = csv_rows(&export);
        assert_eq!(rows.len(), 2);
        // A masked phone starts with `+`, so it is neutralised like any formula-looking text.
        assert_eq!(column(&rows, "手机"), ["'+86*******5678"], "{who:?}");
        assert_eq!(column(&rows, "电子邮箱"), ["l***@example.com"]);
        assert_eq!(column(&rows, "台胞证号"), ["12****78"]);
        assert_eq!(column(&rows, "学历"), ["硕士"]);
        assert_eq!(column(&rows, "同意日期"), ["2026-10-12"]);
        assert!(!text.contains("13812345678") && !text.contains("lin.yijun") && !text.contains("12345678"), "{text}");
    }
    let xlsx = download(&app, Who::ParkAdmin, "/api/v1/talents?format=xlsx", None).await;
    let rows = xlsx_rows(&xlsx, "人才库");
    let phone = rows[0].iter().position(|h| h == "手机").unwrap();
    assert_eq!(rows[1][phone], "'+86*******5678");
}

async fn formulas_are_neutralised_in_csv_and_xlsx(app: TestApp) {
    let hostile = "=cmd|' /C calc'!A0";
    app.create_project(json!({"name": hostile, "summary": "@SUM(1+1)", "tags": ["-2+3", "+1", "安全"]})).await;
    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/projects?format=csv", None).await);
    assert_eq!(column(&rows, "项目名称"), [format!("'{hostile}")]);
    assert_eq!(column(&rows, "项目简介"), ["'@SUM(1+1)"]);
    assert_eq!(column(&rows, "标签"), ["'-2+3; +1; 安全"]);

    let rows = xlsx_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/projects?format=xlsx", None).await, "重大项目库");
    let name = rows[0].iter().position(|h| h == "项目名称").unwrap();
    assert_eq!(rows[1][name], format!("'{hostile}"));
}

/// The cells of a worksheet as text (numbers as Excel shows them, dates as ISO dates).
fn xlsx_rows(download: &Download, sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Data, Reader};
    assert_eq!(download.status, 200, "{}", String::from_utf8_lossy(&download.bytes));
    assert_eq!(download.content_type, XLSX);
    assert!(download.bytes.starts_with(b"PK"), "an XLSX file is a zip");
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(download.bytes.clone())).expect("calamine reads the workbook");
    let range = workbook.worksheet_range(sheet).expect("the worksheet");
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::DateTime(d) => {
                        let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
                        (epoch + chrono::Duration::days(d.as_f64() as i64)).to_string()
                    }
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

async fn xlsx_is_a_workbook_with_every_row(app: TestApp) {
    projects(&app, 205, json!({"signed_on": "2026-05-20", "stage": "signed", "first_contact_on": "2026-01-15",
                                "land_area_mu": 120.5})).await;
    let export = download(&app, Who::ProvincialAdmin, "/api/v1/projects?limit=1", Some(XLSX)).await;
    assert!(export.disposition.ends_with(".xlsx\""), "{}", export.disposition);
    let rows = xlsx_rows(&export, "重大项目库");
    assert_eq!(rows.len(), 206, "a header and 205 rows, over two pages of 200");
    assert_eq!(rows[0][..3], ["记录编号", "园区代码", "项目名称"]);
    let ids: HashSet<&String> = rows[1..].iter().map(|r| &r[0]).collect();
    assert_eq!(ids.len(), 205);
    let at = |header: &str| rows[0].iter().position(|h| h == header).unwrap();
    assert_eq!(rows[1][at("项目阶段")], "签约");
    assert_eq!(rows[1][at("签约日期")], "2026-05-20", "a date cell");
    assert_eq!(rows[1][at("计划投资（美元）")], "50000000", "a number cell");
    assert_eq!(rows[1][at("到位资金（美元）")], "", "no verified funds yet");
    assert_eq!(rows[1][at("用地面积（亩）")], "120.5");

    // Investors and talents come as workbooks too.
    app.create_investor(json!({})).await;
    assert_eq!(xlsx_rows(&download(&app, Who::ParkStaff, "/api/v1/investors?format=xlsx", None).await, "客商库").len(), 2);
    app.create_talent(json!({})).await;
    assert_eq!(xlsx_rows(&download(&app, Who::ParkStaff, "/api/v1/talents", Some(XLSX)).await, "人才库").len(), 2);
}

async fn each_export_is_an_audit_event_and_bad_filters_are_refused(app: TestApp) {
    app.create_project(json!({})).await;
    download(&app, Who::ParkStaff, "/api/v1/projects?format=csv&stage=lead&stage=negotiating&limit=7", None).await;
    download(&app, Who::ProvincialViewer, "/api/v1/talents?format=xlsx", None).await;
    let events = audit_events(&app, "export").await;
    assert_eq!(events.len(), 2, "{events:?}");
    let (actor, entity, changes) = &events[0];
    assert_eq!((actor.as_str(), entity.as_str()), ("yy.staff", "project"));
    let changes: serde_json::Value = serde_json::from_str(changes).unwrap();
    assert_eq!(changes, json!([
        {"field": "format", "old": null, "new": "csv"},
        {"field": "filter", "old": null, "new": {"stage": ["lead", "negotiating"]}},
    ]), "who exported which filter (paging is not part of it)");
    assert_eq!((events[1].0.as_str(), events[1].1.as_str()), ("analyst", "talent"));

    // A bad filter or format is a 400 before anything is exported or recorded.
    let bad = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, "/api/v1/projects?format=csv&stage=sleeping", &[], None).await;
    bad.assert_problem(400, "stage", "enum");
    let bad = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, "/api/v1/projects?format=pdf", &[], None).await;
    bad.assert_problem(400, "format", "enum");
    let bad = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, "/api/v1/projects?format=xlsx&sort=name", &[], None).await;
    bad.assert_problem(400, "sort", "enum");
    let bad = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, "/api/v1/talents?format=csv&limit=-5", &[], None).await;
    bad.assert_problem(400, "limit", "range");
    let anonymous = download(&app, Who::Anonymous, "/api/v1/projects?format=csv", None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(audit_events(&app, "export").await.len(), 2);
}

// ---- Exports of the lists that are not libraries --------------------------

/// A negotiating project of `who`'s park with an investor of its own, and
/// its first claim.
async fn claimed_project(app: &TestApp, who: Who, name: &str) -> serde_json::Value {
    let park = who.park().unwrap();
    let investor = app.as_(who).post("/api/v1/investors", &crate::helpers::investor_body(json!({"park_code": park, "name": name}))).await;
    assert_eq!(investor.status, 201, "{}", investor.text);
    let project = app.as_(who).post("/api/v1/projects", &crate::helpers::project_body(json!({
        "park_code": park, "name": format!("{name}项目"), "stage": "negotiating", "investor_ids": [investor.body["id"]]}))).await;
    assert_eq!(project.status, 201, "{}", project.text);
    let claim = app.as_(who).post("/api/v1/claims", &json!({"project_id": project.body["id"], "evidence": "intent_letter", "evidence_ref": "YX-001"})).await;
    assert_eq!(claim.status, 201, "{}", claim.text);
    claim.body
}

async fn claims_export_every_claim_in_scope(app: TestApp) {
    let mut ours = HashSet::new();
    for name in ["甲精密股份有限公司", "乙光电股份有限公司", "丙材料股份有限公司"] {
        ours.insert(claimed_project(&app, Who::ParkStaff, name).await["id"].as_str().unwrap().to_owned());
    }
    claimed_project(&app, Who::OtherParkStaff, "丁电池股份有限公司").await;

    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/claims?limit=1", Some("text/csv")).await);
    assert_eq!(rows.len(), 5, "a header and every claim of every park: {rows:?}");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "a cell for every header");
    let park_rows = csv_rows(&download(&app, Who::ParkStaff, "/api/v1/claims?format=csv", None).await);
    let ids: HashSet<String> = column(&park_rows, "记录编号").into_iter().collect();
    assert_eq!(ids, ours, "a park exports its own claims only");
    assert!(column(&park_rows, "状态").iter().all(|v| v == "有效"), "statuses as their Chinese labels");
    assert!(column(&park_rows, "凭证类型").iter().all(|v| !v.is_empty() && v != "intent_letter"));
    assert!(column(&park_rows, "名称").iter().any(|v| v.contains("甲精密")));
    assert!(!park_rows.concat().iter().any(|v| v == "丁电池股份有限公司" || v == "xiangtan"), "nothing of the other park");

    let filtered = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/claims?format=csv&park=xiangtan", None).await);
    assert_eq!(column(&filtered, "园区代码"), ["xiangtan"]);
    let workbook = xlsx_rows(&download(&app, Who::ParkStaff, "/api/v1/claims", Some(XLSX)).await, "首报首谈");
    assert_eq!(workbook.len(), 4);
    let events = audit_events(&app, "export").await;
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|(_, entity, _)| entity == "claim"), "{events:?}");
    assert!(events[2].2.contains("xiangtan"), "the event records the filter: {}", events[2].2);
    assert_eq!(download(&app, Who::ProvincialAdmin, "/api/v1/claims?format=csv&status=bogus", None).await.status, 400, "a bad filter is refused");
}

/// Every event of the JSON feed, page after page, as `who` sees it.
async fn feed_ids(app: &TestApp, who: Who) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.as_(who).get(&format!("/api/v1/changes?limit=200{cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        ids.extend(page.body["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        if page.body["more"] != json!(true) {
            return ids;
        }
        cursor = format!("&cursor={}", page.body["next_cursor"].as_str().unwrap());
    }
}

async fn the_change_feed_exports_every_event_ready(app: TestApp) {
    projects(&app, 3, json!({"stage": "negotiating"})).await;
    let other = app.as_(Who::OtherParkStaff).post("/api/v1/projects", &crate::helpers::project_body(json!({"park_code": "xiangtan"}))).await;
    assert_eq!(other.status, 201);
    // Past one page of the feed (200): an import of 250 rows is 250 creates.
    let mut csv = String::from("项目名称,产业,招商方式,计划投资（美元）\n");
    for i in 0..250 {
        csv.push_str(&format!("导入项目{i},电子信息,定向招商,1000\n"));
    }
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(120)).finish();
    let boundary = "----feed-export-boundary";
    let body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"library\"\r\n\r\nprojects\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\nfalse\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n{csv}\r\n--{boundary}--\r\n");
    let mut res = client.post(format!("{}/api/v1/imports", app.base))
        .insert_header(("content-type", format!("multipart/form-data; boundary={boundary}")))
        .insert_header(("authorization", format!("Bearer {}", app.token(Who::ParkStaff).unwrap())))
        .send_body(body).await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{:?}", res.body().await);

    let rows = csv_rows(&download(&app, Who::ParkStaff, "/api/v1/changes?format=csv&limit=3", None).await);
    assert_eq!(rows[0], ["事件编号", "时间", "操作人", "操作", "记录类型", "记录编号", "园区代码", "变更内容"]);
    let exported: Vec<String> = column(&rows, "事件编号");
    assert_eq!(exported, feed_ids(&app, Who::ParkStaff).await, "every event of the feed, in its order");
    assert!(exported.len() > 253, "past one page: {}", exported.len());
    assert!(column(&rows, "园区代码").iter().all(|p| p == "yueyang"), "a park sees its own events");
    let actions = column(&rows, "操作");
    assert!(actions.iter().all(|a| a == "新建" || a == "导入"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "导入").count(), 1, "the import itself is an event of the feed");
    assert!(column(&rows, "记录类型").iter().all(|a| a == "重大项目"));
    assert!(column(&rows, "变更内容").iter().any(|c| c.contains("name: 导入项目7")), "the changes of each event: {:?}", &rows[1..3]);
    let patched = app.patch(&format!("/api/v1/projects/{}", other.body["id"].as_str().unwrap()), Some("\"1\""), &json!({"stage": "signed"})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let rows = csv_rows(&download(&app, Who::OtherParkStaff, "/api/v1/changes?format=csv", None).await);
    assert_eq!(column(&rows, "变更内容").last().unwrap(), "stage: lead → signed", "an update shows old → new");

    let province = xlsx_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/changes", Some(XLSX)).await, "变更记录");
    let province_ids: Vec<String> = province[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(province_ids, feed_ids(&app, Who::ProvincialAdmin).await, "the province's feed, the other park's event too");
    assert!(province.iter().any(|r| r[6] == "xiangtan"));
    let since = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/changes?format=csv&since=2100-01-01", None).await);
    assert_eq!(since.len(), 1, "nothing since then: the header alone");
}

async fn target_rows_export_like_their_json_items(app: TestApp) {
    for name in ["甲精密股份有限公司", "乙光电股份有限公司", "丙材料股份有限公司"] {
        app.create_investor(json!({"name": name, "status": "settled", "settled_on": "2024-03-01"})).await;
    }
    let other = app.as_(Who::OtherParkStaff).post("/api/v1/investors", &crate::helpers::investor_body(json!({
        "park_code": "xiangtan", "name": "丁电池股份有限公司", "status": "settled", "settled_on": "2024-05-01"}))).await;
    assert_eq!(other.status, 201, "{}", other.text);

    let path = "/api/v1/targets/taiwan_funded_enterprises/items?as_of=2025-06-30";
    let json = app.get(path).await;
    assert_eq!(json.body["count"], 4, "{}", json.text);
    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, &format!("{path}&limit=1"), Some("text/csv")).await);
    assert_eq!(rows[0], ["企业标识", "企业名称", "园区", "计入日期", "客商", "计入值"]);
    assert_eq!(rows.len(), 5, "every row whatever the limit");
    let sum: f64 = column(&rows, "计入值").iter().map(|v| v.parse::<f64>().unwrap()).sum();
    assert_eq!(sum, json.body["value"].as_f64().unwrap(), "the rows add up to the value");
    let names: HashSet<String> = column(&rows, "企业名称").into_iter().collect();
    let json_names: HashSet<String> = json.body["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, json_names);

    let park = csv_rows(&download(&app, Who::ParkStaff, &format!("{path}&format=csv"), None).await);
    assert_eq!(park.len(), 4, "a park exports its own rows: {park:?}");
    assert!(column(&park, "园区").iter().all(|p| p == "yueyang"));
    let workbook = xlsx_rows(&download(&app, Who::ParkStaff, path, Some(XLSX)).await, "台资企业数量");
    assert_eq!(workbook.len(), 4);
    let funds = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/targets/new_taiwan_investment_usd/items?format=csv", None).await);
    assert_eq!(funds[0][..3], ["资金编号", "项目编号", "项目名称"]);
    assert_eq!(download(&app, Who::ProvincialAdmin, "/api/v1/targets/nope/items?format=csv", None).await.status, 404);
    assert_eq!(download(&app, Who::ProvincialAdmin, &format!("{path}&format=csv&park=nowhere"), None).await.status, 400);
    let events = audit_events(&app, "export").await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events[0].2.contains("taiwan_funded_enterprises"), "the event names the target: {}", events[0].2);
}

fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(n)).to_string()
}

/// Every watched project of the JSON list, page after page, as `who` sees it.
async fn monitoring_ids(app: &TestApp, who: Who, filters: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.as_(who).get(&format!("/api/v1/monitoring?limit=7&{filters}{cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        ids.extend(page.body["items"].as_array().unwrap().iter().map(|p| p["project_id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return ids,
        }
    }
}

async fn monitoring_exports_every_watched_project_in_scope(app: TestApp) {
    // Past one page of the export (200): two red, one amber, many green in Yueyang.
    projects(&app, 2, json!({"name": "红灯项目", "stage": "signed", "signed_on": days_ago(120)})).await;
    projects(&app, 1, json!({"name": "黄灯项目", "stage": "signed", "signed_on": days_ago(80)})).await;
    projects(&app, 201, json!({"name": "绿灯项目", "stage": "lead"})).await;
    projects(&app, 1, json!({"name": "运营项目", "stage": "operating", "operating_on": days_ago(1)})).await;
    let other = app.as_(Who::OtherParkStaff).post("/api/v1/projects", &crate::helpers::project_body(json!({
        "park_code": "xiangtan", "name": "湘潭红灯项目", "stage": "signed", "signed_on": days_ago(120)}))).await;
    assert_eq!(other.status, 201, "{}", other.text);

    let rows = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/monitoring?limit=1", Some("text/csv")).await);
    assert_eq!(rows[0], ["园区代码", "项目编号", "项目名称", "项目阶段", "灯号", "亮灯原因", "转黄日期", "转红日期"]);
    assert_eq!(rows.len(), 1 + 205, "every watched project of every park, over two pages; operating is not watched");
    assert_eq!(column(&rows, "项目编号"), monitoring_ids(&app, Who::ProvincialAdmin, "").await, "the JSON list's rows, in its order");
    let lights = column(&rows, "灯号");
    assert_eq!(lights[..4], ["红灯", "红灯", "红灯", "黄灯"], "red first: {:?}", &lights[..5]);
    assert!(lights[4..].iter().all(|l| l == "绿灯"));
    let first = &rows[1];
    assert!(first[5].contains("尚未注册落地"), "the reasons as their Chinese labels: {first:?}");
    assert_eq!(first[3], "签约");
    assert_eq!(first[6], days_ago(120 - 73), "amber from day 73 of 90");
    assert_eq!(first[7], days_ago(120 - 91), "red from day 91");
    assert!(column(&rows, "转红日期")[4..].iter().all(|d| !d.is_empty()), "a lead goes red after 90 days without progress");

    // A park exports its own park only, whatever it asks for; the filters apply.
    let park = csv_rows(&download(&app, Who::ParkStaff, "/api/v1/monitoring?format=csv", None).await);
    assert_eq!(park.len(), 1 + 204, "{:?}", &park[..3]);
    assert!(column(&park, "园区代码").iter().all(|p| p == "yueyang"));
    assert!(!park.concat().iter().any(|v| v.contains("湘潭")), "nothing of the other park");
    let elsewhere = csv_rows(&download(&app, Who::ParkStaff, "/api/v1/monitoring?format=csv&park=xiangtan", None).await);
    assert_eq!(elsewhere.len(), 1, "another park's projects are not there: {elsewhere:?}");
    let red = csv_rows(&download(&app, Who::ParkStaff, "/api/v1/monitoring?format=csv&light=red&light=amber", None).await);
    assert_eq!(column(&red, "项目名称"), ["红灯项目 0", "红灯项目 1", "黄灯项目 0"]);
    let leads = csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/monitoring?format=csv&stage=lead&park=yueyang", None).await);
    assert_eq!(leads.len(), 1 + 201);

    let workbook = xlsx_rows(&download(&app, Who::OtherParkStaff, "/api/v1/monitoring", Some(XLSX)).await, "红黄绿灯监测");
    assert_eq!(workbook.len(), 2, "{workbook:?}");
    assert_eq!(workbook[1][2], "湘潭红灯项目");
    assert_eq!(workbook[1][7], days_ago(120 - 91), "a date cell");

    let events = audit_events(&app, "export").await;
    assert_eq!(events.len(), 6, "{events:?}");
    assert!(events.iter().all(|(_, entity, _)| entity == "monitoring"), "{events:?}");
    assert!(events[3].2.contains("amber"), "the event records the filter: {}", events[3].2);
    for (query, field, code) in [("light=blue", "light", "enum"), ("limit=500", "limit", "range"), ("colour=red", "colour", "unknown_parameter")] {
        let bad = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, &format!("/api/v1/monitoring?format=csv&{query}"), &[], None).await;
        bad.assert_problem(400, field, code);
    }
    assert_eq!(audit_events(&app, "export").await.len(), 6, "a refused export is not recorded");
}

/// One answer has one format, and an export keeps the `limit` rule of its
/// list (it reads every row whatever the limit).
async fn one_format_and_the_lists_own_limit(app: TestApp) {
    app.create_investor(json!({"name": "甲精密股份有限公司", "status": "settled", "settled_on": "2024-03-01"})).await;
    let send = |path: &'static str| {
        let app = &app;
        async move { app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::GET, path, &[], None).await }
    };
    send("/api/v1/projects?format=csv&format=xlsx").await.assert_problem(400, "format", "repeated");
    send("/api/v1/projects?format=csv&format=csv").await.assert_problem(400, "format", "repeated");
    send("/api/v1/projects?limit=5&limit=6").await.assert_problem(400, "limit", "repeated");
    send("/api/v1/claims?format=csv&park=yueyang&park=xiangtan&limit=2&limit=3").await.assert_problem(400, "limit", "repeated");

    // The rows of a target page up to 10,000 in JSON: their export takes what the JSON takes.
    let path = "/api/v1/targets/taiwan_funded_enterprises/items?as_of=2025-06-30&format=csv";
    for limit in ["500", "10000", ""] {
        let rows = csv_rows(&download(&app, Who::ProvincialAdmin, &format!("{path}&limit={limit}"), None).await);
        assert_eq!(rows.len(), 2, "limit={limit}: every row");
    }
    send("/api/v1/targets/taiwan_funded_enterprises/items?format=csv&limit=10001").await.assert_problem(400, "limit", "range");
    send("/api/v1/targets/taiwan_funded_enterprises/items?format=csv&limit=0").await.assert_problem(400, "limit", "range");
    // The libraries' lists page up to 200, and so an empty limit is no limit there either.
    send("/api/v1/projects?format=csv&limit=201").await.assert_problem(400, "limit", "range");
    assert_eq!(csv_rows(&download(&app, Who::ProvincialAdmin, "/api/v1/investors?format=csv&limit=", None).await).len(), 2);

    // Lists that do not count say so by name (documented on each).
    for path in ["/api/v1/changes?count=true", "/api/v1/monitoring?count=true", "/api/v1/targets/taiwan_funded_enterprises/items?count=true"] {
        let res = app.get(path).await;
        assert_eq!((res.status, res.error_fields()), (400, vec!["count".to_owned()]), "{path}: {}", res.text);
    }
}

// ---- Imports -------------------------------------------------------------

pub(crate) mod imports {
    use serde_json::{json, Value};

    use super::{download, xlsx_rows, XLSX};
    use crate::helpers::{TestApp, Who};
    use crate::on_both_databases;

    on_both_databases!(
        a_dry_run_writes_nothing_and_a_commit_writes_every_row,
        bad_rows_are_listed_with_row_and_column_and_nothing_is_written,
        english_headers_codes_and_gbk_csv_are_read,
        an_exported_workbook_imports_back_and_formulas_are_refused,
        hostile_files_are_refused_cleanly,
        a_park_role_cannot_import_into_another_park,
        an_exported_list_imports_back_unchanged_by_external_ref,
        investors_and_talents_import_with_labels_and_refs,
        a_park_role_cannot_import_investors_or_talents_into_another_park,
        the_template_has_drop_downs_and_its_example_row_imports,
        the_command_line_imports_like_the_api,
        funds_import_onto_their_projects_by_external_ref,
        the_top100_list_imports_for_the_province_only,
        an_import_writes_what_the_api_writes_and_keeps_the_targets_summary,
    );

    /// A multipart/form-data body of `parts` (name, file name, bytes).
    fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
        let boundary = "----invest-registry-test-boundary";
        let mut body = Vec::new();
        for (name, file, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(file) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    async fn import(app: &TestApp, who: Who, file: &[u8], extra: &[(&str, &str)]) -> crate::helpers::Response {
        import_into(app, who, "projects", file, extra).await
    }

    pub(crate) async fn import_into(app: &TestApp, who: Who, library: &str, file: &[u8], extra: &[(&str, &str)]) -> crate::helpers::Response {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("library", None, library.as_bytes()), ("file", Some("ledger.csv"), file)];
        for (name, value) in extra {
            parts.push((name, None, value.as_bytes()));
        }
        let (content_type, body) = form(&parts);
        // A client of its own, patient and with no pooled connection: large
        // files take seconds on a loaded machine, longer than the service
        // keeps an idle connection and than the shared client waits.
        let client = awc::Client::builder().timeout(std::time::Duration::from_secs(120)).finish();
        let mut req = client.post(format!("{}/api/v1/imports", app.base)).insert_header(("content-type", content_type));
        if let Some(token) = app.token(who) {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        let mut res = req.send_body(body).await.expect("request sent");
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body read");
        crate::helpers::Response {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn project_count(app: &TestApp) -> usize {
        let rows = super::csv_rows(&download(app, Who::ProvincialAdmin, "/api/v1/projects?format=csv", None).await);
        rows.len() - 1
    }

    const HEADER: &str = "园区代码,项目名称,产业,招商方式,项目阶段,计划投资（美元）,首次接触日期,签约日期,高精尖新,标签\n";

    fn ledger(rows: usize) -> String {
        let mut csv = String::from(HEADER);
        for i in 0..rows {
            csv.push_str(&format!("yueyang,台账项目{i},电子信息,产业链招商,洽谈,\"12,000,000\",2026年3月2日,,是,半导体；封装\n"));
        }
        csv
    }

    async fn a_dry_run_writes_nothing_and_a_commit_writes_every_row(app: TestApp) {
        let mut csv = ledger(4);
        csv.push_str("yueyang,已签约项目,new_energy,targeted,签约,5000000,46083,2026/5/20,否,\n");
        let dry = import(&app, Who::ParkStaff, csv.as_bytes(), &[]).await;
        assert_eq!(dry.status, 200, "{}", dry.text);
        assert_eq!(dry.body, json!({"library": "projects", "dry_run": true, "rows": 5, "created": 5, "updated": 0, "unchanged": 0, "errors": []}),
                   "a dry run counts what a commit would do");
        assert_eq!(project_count(&app).await, 0, "a dry run writes nothing");

        let done = import(&app, Who::ParkStaff, csv.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(done.body["created"], 5, "{}", done.text);
        assert_eq!(done.body["errors"], json!([]));
        let list = app.get("/api/v1/projects?limit=10").await;
        let items = list.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        let signed = items.iter().find(|p| p["name"] == "已签约项目").unwrap();
        assert_eq!((signed["industry"].clone(), signed["stage"].clone(), signed["first_contact_on"].clone(), signed["signed_on"].clone()),
                   (json!("new_energy"), json!("signed"), json!("2026-03-02"), json!("2026-05-20")), "codes, labels and every date form");
        let ledger = items.iter().find(|p| p["name"] == "台账项目0").unwrap();
        assert_eq!((ledger["planned_investment_usd"].clone(), ledger["high_tech"].clone(), ledger["tags"].clone(), ledger["created_by"].clone()),
                   (json!(12_000_000), json!(true), json!(["半导体", "封装"]), json!("yy.staff")));
        // Each row is a create in its history, like an API write; the import is one event more.
        let history = app.get(&format!("/api/v1/projects/{}/history", ledger["id"].as_str().unwrap())).await;
        assert_eq!(history.body["items"][0]["action"], "create");
        assert_eq!(super::count_events(&app, "import").await, 1);
    }

    async fn bad_rows_are_listed_with_row_and_column_and_nothing_is_written(app: TestApp) {
        let mut lines: Vec<String> = ledger(40).lines().map(str::to_owned).collect();
        lines[6] = "yueyang,坏产业,芯片,产业链招商,洽谈,100,,,否,".into(); // row 7
        lines[12] = "yueyang,坏金额,电子信息,产业链招商,洽谈,很多,,,否,".into(); // row 13
        lines[20] = "yueyang,坏日期,电子信息,产业链招商,洽谈,100,2026-13-01,,否,".into(); // row 21
        lines[30] = "yueyang,,电子信息,产业链招商,洽谈,100,,,否,".into(); // row 31: no name
        lines[35] = "yueyang,早签约,电子信息,产业链招商,线索,100,,2026-01-01,否,".into(); // row 36: signed before its stage
        let csv = lines.join("\n");
        let res = import(&app, Who::ParkStaff, csv.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.body["rows"], 40);
        assert_eq!(res.body["created"], 0);
        let errors: Vec<(u64, String, String)> = res.body["errors"].as_array().unwrap().iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
            .collect();
        let rows: Vec<u64> = errors.iter().map(|e| e.0).collect();
        assert_eq!(rows, [7, 13, 21, 31, 36], "{errors:?}");
        assert_eq!(errors[0], (7, "产业".into(), "enum".into()));
        assert_eq!(errors[1], (13, "计划投资（美元）".into(), "type".into()));
        assert_eq!(errors[2], (21, "首次接触日期".into(), "date".into()));
        assert_eq!(errors[3].1, "项目名称");
        assert_eq!(errors[4].1, "签约日期");
        assert!(res.body["errors"].as_array().unwrap().iter().all(|e| !e["message"].as_str().unwrap().is_empty()));
        assert_eq!(project_count(&app).await, 0, "one bad row and nothing is written");
        assert_eq!(super::count_events(&app, "import").await, 0);
    }

    async fn english_headers_codes_and_gbk_csv_are_read(app: TestApp) {
        let english = "park_code,name,industry,attraction_mode,planned_investment_usd,first_contact_on\nxiangtan,Gear plant,intelligent_manufacturing,targeted,60000000,2026-03-02\n";
        let res = import(&app, Who::ProvincialAdmin, english.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(res.body["created"], 1, "{}", res.text);

        let (gbk, _, _) = encoding_rs::GBK.encode("项目名称,产业,招商方式,计划投资(美元)\n湘潭减速机项目,智能制造,定向招商,100\n");
        let res = import(&app, Who::ProvincialAdmin, &gbk, &[("dry_run", "false"), ("park_code", "xiangtan")]).await;
        assert_eq!(res.body["created"], 1, "{}", res.text);
        let list = app.get("/api/v1/projects?park=xiangtan").await;
        let names: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"湘潭减速机项目") && names.contains(&"Gear plant"), "{names:?}");

        // Unknown and missing columns are named at row 1.
        let res = import(&app, Who::ProvincialAdmin, "项目名称,颜色\n甲,红\n".as_bytes(), &[]).await;
        let columns: Vec<(&str, &str)> = res.body["errors"].as_array().unwrap().iter()
            .map(|e| (e["column"].as_str().unwrap(), e["code"].as_str().unwrap())).collect();
        assert!(columns.contains(&("颜色", "unknown_column")) && columns.contains(&("产业", "required")), "{columns:?}");
    }

    async fn an_exported_workbook_imports_back_and_formulas_are_refused(app: TestApp) {
        for i in 0..3 {
            app.create_project(json!({"name": format!("导出项目{i}"), "stage": "signed", "signed_on": "2026-05-20", "tags": ["甲", "乙"]})).await;
        }
        let export = download(&app, Who::ProvincialAdmin, "/api/v1/projects", Some(XLSX)).await;
        assert_eq!(xlsx_rows(&export, "重大项目库").len(), 4);
        let res = import(&app, Who::ParkAdmin, &export.bytes, &[]).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!((res.body["rows"].clone(), res.body["errors"].clone()), (json!(3), json!([])), "an export is a valid import");
        let res = import(&app, Who::ParkAdmin, &export.bytes, &[("dry_run", "false")]).await;
        assert_eq!(res.body["created"], 3, "{}", res.text);
        assert_eq!(project_count(&app).await, 6, "without an external_ref, a re-import adds rows");

        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for (c, h) in ["项目名称", "产业", "招商方式", "计划投资（美元）"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "公式项目").unwrap();
        sheet.write_string(1, 1, "电子信息").unwrap();
        sheet.write_string(1, 2, "定向招商").unwrap();
        sheet.write_formula(1, 3, "=1+1").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let res = import(&app, Who::ParkAdmin, &bytes, &[("dry_run", "false")]).await;
        assert_eq!(res.body["errors"], json!([{"row": 2, "column": "计划投资（美元）", "code": "formula",
                                              "message": "a formula cell is not imported; paste its value instead"}]), "{}", res.text);
        assert_eq!(project_count(&app).await, 6);
    }

    /// A valid two-row ledger whose sheet lists row 3 before row 2.
    fn ledger_with_rows_swapped() -> Vec<u8> {
        use std::io::{Read, Write};
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for (r, row) in [["项目名称", "产业", "招商方式", "计划投资（美元）"], ["甲", "其他", "定向招商", "1"], ["乙", "其他", "定向招商", "2"]]
            .iter()
            .enumerate()
        {
            for (c, value) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *value).unwrap();
            }
        }
        let bytes = workbook.save_to_buffer().unwrap();
        let mut packed = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..packed.len() {
            let mut entry = packed.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                let xml = String::from_utf8(content).unwrap();
                let row = |n: &str| {
                    let start = xml.find(&format!("<row r=\"{n}\"")).unwrap();
                    start..start + xml[start..].find("</row>").unwrap() + "</row>".len()
                };
                let (second, third) = (row("2"), row("3"));
                let swapped = format!("{}{}{}{}", &xml[..second.start], &xml[third.clone()], &xml[second], &xml[third.end..]);
                content = swapped.into_bytes();
            }
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(&content).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    async fn hostile_files_are_refused_cleanly(app: TestApp) {
        // A zip bomb: small packed, 201 MB unpacked. Made first: it takes seconds,
        // longer than the service keeps an idle connection open.
        let mut bomb = std::io::Cursor::new(Vec::new());
        {
            use std::io::Write;
            let mut zip = zip::ZipWriter::new(&mut bomb);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..201 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        let res = import(&app, Who::ParkStaff, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", &[]).await;
        res.assert_problem(422, "file", "format");
        let res = import(&app, Who::ParkStaff, b"PK\x03\x04 not really a zip", &[]).await;
        res.assert_problem(422, "file", "format");

        let res = import(&app, Who::ParkStaff, bomb.get_ref(), &[]).await;
        assert_eq!(res.status, 413, "{}", res.text);

        let mut many = String::from("项目名称,产业,招商方式,计划投资（美元）\n");
        for _ in 0..200_001 {
            many.push_str("a,other,targeted,1\n");
        }
        let res = import(&app, Who::ParkStaff, many.as_bytes(), &[]).await;
        assert_eq!(res.status, 413, "200,001 rows: {}", res.text);

        // Rows out of order in the sheet's XML would be split and misnumbered.
        let res = import(&app, Who::ParkStaff, &ledger_with_rows_swapped(), &[("dry_run", "false")]).await;
        res.assert_problem(422, "file", "format");
        assert!(res.text.contains("out of order"), "{}", res.text);

        let res = import(&app, Who::ParkStaff, "项目名称,产业,招商方式,计划投资（美元）\n台积电,其他,定向招商,1\n".as_bytes(), &[("library", "claims")]).await;
        res.assert_problem(422, "library", "enum");
        let res = import(&app, Who::ParkStaff, "项目名称,产业,招商方式,计划投资（美元）\n台积电,其他,定向招商,1\n".as_bytes(), &[("library", "talents")]).await;
        assert_eq!(res.body["errors"][0]["code"], "unknown_column", "a projects file is not a talents file: {}", res.text);
        let res = import(&app, Who::ParkStaff, b"a", &[("dry_run", "")]).await;
        res.assert_problem(422, "dry_run", "type");
        let res = import(&app, Who::ParkStaff, b"a", &[("park_code", "[]")]).await;
        res.assert_problem(422, "park_code", "format");
        let res = import(&app, Who::ParkStaff, b"a", &[("colour", "red")]).await;
        res.assert_problem(422, "colour", "unknown_field");
        let res = app.as_(Who::ParkStaff).post("/api/v1/imports", &json!({"library": "projects"})).await;
        res.assert_problem(400, "Content-Type", "multipart");
        assert_eq!(project_count(&app).await, 0);
        // Over 20 MB: the service answers 413 as soon as the limit is passed and
        // reads no further, so a client still sending may see the connection
        // cut instead of the answer (a fresh client: the test's pooled one
        // cannot be reused after that). Either way nothing is written.
        let (content_type, body) = form(&[("library", None, b"projects"), ("file", Some("big.csv"), &vec![b'a'; 20 * 1024 * 1024 + 1])]);
        let sent = awc::Client::default()
            .post(format!("{}/api/v1/imports", app.base))
            .insert_header(("authorization", format!("Bearer {}", app.token(Who::ParkStaff).unwrap())))
            .insert_header(("content-type", content_type))
            .send_body(body)
            .await;
        if let Ok(res) = sent {
            assert_eq!(res.status().as_u16(), 413);
        }
        assert_eq!(project_count(&app).await, 0);
    }

    async fn a_park_role_cannot_import_into_another_park(app: TestApp) {
        let csv = "园区代码,项目名称,产业,招商方式,计划投资（美元）\nyueyang,本园项目,其他,定向招商,1\nxiangtan,他园项目,其他,定向招商,1\n";
        let res = import(&app, Who::ParkStaff, csv.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(res.body["created"], 0, "{}", res.text);
        let errors: Vec<Value> = res.body["errors"].as_array().unwrap().clone();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0]["row"].clone(), errors[0]["column"].clone(), errors[0]["code"].clone()), (json!(3), json!("园区代码"), json!("forbidden")));
        // Without a park column, a park role's rows go to its own park.
        let own = "项目名称,产业,招商方式,计划投资（美元）\n本园项目,其他,定向招商,1\n";
        let res = import(&app, Who::ParkStaff, own.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(res.body["created"], 1, "{}", res.text);
        assert_eq!(app.get("/api/v1/projects?park=yueyang").await.body["items"].as_array().unwrap().len(), 1);
        // Viewers may not import at all.
        let res = import(&app, Who::ParkViewer, own.as_bytes(), &[]).await;
        assert_eq!(res.status, 403, "{}", res.text);
    }

    /// The import's counts as a tuple (created, updated, unchanged), after checking it had no errors.
    fn counts(res: &crate::helpers::Response) -> (u64, u64, u64) {
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.body["errors"], json!([]), "{}", res.text);
        let n = |k: &str| res.body[k].as_u64().unwrap();
        (n("created"), n("updated"), n("unchanged"))
    }

    /// A workbook of text cells (what Excel saves after an edit by hand).
    fn workbook(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(sheet).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate().filter(|(_, cell)| !cell.is_empty()) {
                worksheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
        workbook.save_to_buffer().unwrap()
    }

    async fn an_exported_list_imports_back_unchanged_by_external_ref(app: TestApp) {
        let csv = "外部编号,项目名称,产业,招商方式,项目阶段,计划投资（美元）,首次接触日期,标签\n\
                   YY-1,岳阳封装,电子信息,产业链招商,洽谈,50000000,2026/3/2,半导体；封装\n\
                   YY-2,岳阳电池,新能源,定向招商,洽谈,30000000,2026年4月1日,\n\
                   YY-3,岳阳线索甲,其他,定向招商,线索,1000,,\n\
                   YY-4,岳阳线索乙,其他,定向招商,线索,2000,,\n";
        assert_eq!(counts(&import(&app, Who::ParkStaff, csv.as_bytes(), &[("dry_run", "false")]).await), (4, 0, 0));
        assert_eq!(counts(&import(&app, Who::ParkStaff, csv.as_bytes(), &[("dry_run", "false")]).await), (0, 0, 4),
                   "the same ledger again: every row names its record");
        assert_eq!(project_count(&app).await, 4);

        // A filtered list, exported and imported back: nothing to do.
        let export = download(&app, Who::ParkStaff, "/api/v1/projects?stage=negotiating&format=xlsx", None).await;
        let rows = xlsx_rows(&export, "重大项目库");
        assert_eq!(rows.len(), 3, "{rows:?}");
        let at = |header: &str| rows[0].iter().position(|h| h == header).unwrap_or_else(|| panic!("no {header}"));
        let mut refs: Vec<&str> = rows[1..].iter().map(|r| r[at("外部编号")].as_str()).collect();
        refs.sort();
        assert_eq!(refs, ["YY-1", "YY-2"], "the export carries the external ref");
        assert_eq!(counts(&import(&app, Who::ParkStaff, &export.bytes, &[]).await), (0, 0, 2), "dry run");
        assert_eq!(counts(&import(&app, Who::ParkStaff, &export.bytes, &[("dry_run", "false")]).await), (0, 0, 2));
        let list = app.get("/api/v1/projects?limit=10").await;
        assert!(list.body["items"].as_array().unwrap().iter().all(|p| p["version"] == 1), "no record got a new version");

        // One cell changed: exactly one update, through the records core, with its audit diff.
        let mut edited = rows.clone();
        let row = edited.iter().position(|r| r[at("外部编号")] == "YY-2").unwrap();
        let id = edited[row][at("记录编号")].clone();
        edited[row][at("计划投资（美元）")] = "80,000,000".into();
        let edited = workbook("重大项目库", &edited);
        assert_eq!(counts(&import(&app, Who::ParkStaff, &edited, &[]).await), (0, 1, 1), "dry run");
        assert_eq!(app.get(&format!("/api/v1/projects/{id}")).await.body["version"], 1, "a dry run writes nothing");
        assert_eq!(counts(&import(&app, Who::ParkStaff, &edited, &[("dry_run", "false")]).await), (0, 1, 1));
        let project = app.get(&format!("/api/v1/projects/{id}")).await.body;
        assert_eq!((project["planned_investment_usd"].clone(), project["version"].clone(), project["updated_by"].clone()),
                   (json!(80_000_000), json!(2), json!("yy.staff")));
        let history = app.get(&format!("/api/v1/projects/{id}/history")).await;
        assert_eq!(history.body["items"][0]["action"], "update");
        assert_eq!(history.body["items"][0]["changes"], json!([{"field": "planned_investment_usd", "old": 30_000_000, "new": 80_000_000}]));
        assert_eq!(project_count(&app).await, 4);

        // The import itself is one audit event with its counts.
        let imports = super::audit_events(&app, "import").await;
        assert_eq!(imports.len(), 4, "{imports:?}");
        let last: Value = serde_json::from_str(&imports[3].2).unwrap();
        assert_eq!(last, json!([{"field": "rows", "old": null, "new": 2}, {"field": "created", "old": null, "new": 0},
                                {"field": "updated", "old": null, "new": 1}, {"field": "unchanged", "old": null, "new": 1}]));

        // A ref is unique per park, not across parks; twice in one file is a row error.
        let other = "园区代码,外部编号,项目名称,产业,招商方式,计划投资（美元）\nxiangtan,YY-1,湘潭同号项目,其他,定向招商,1\n";
        assert_eq!(counts(&import(&app, Who::ProvincialAdmin, other.as_bytes(), &[("dry_run", "false")]).await), (1, 0, 0));
        let twice = "外部编号,项目名称,产业,招商方式,计划投资（美元）\nNEW-1,甲,其他,定向招商,1\nNEW-1,乙,其他,定向招商,1\n";
        let res = import(&app, Who::ParkStaff, twice.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(res.body["errors"], json!([{"row": 3, "column": "外部编号", "code": "duplicate",
                                              "message": "the external ref \"NEW-1\" is on an earlier row of this file"}]), "{}", res.text);
        assert_eq!(project_count(&app).await, 5);
    }

    async fn investors_and_talents_import_with_labels_and_refs(app: TestApp) {
        let investors = "外部编号,类型,名称,来源,来源地区,产业,状态,落户日期\n\
                         KS-1,企业,鸿海精密,台湾地区,新北市,电子信息；新能源,已落户,2026年3月2日\n\
                         KS-2,company,Pegatron,taiwan,Taipei,electronic_information,prospect,\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(investors);
        let res = import_into(&app, Who::ParkStaff, "investors", &gbk, &[("dry_run", "false")]).await;
        assert_eq!(res.body["library"], "investors");
        assert_eq!(counts(&res), (2, 0, 0));
        let list = app.get("/api/v1/investors?limit=10").await;
        let hon = list.body["items"].as_array().unwrap().iter().find(|i| i["name"] == "鸿海精密").unwrap().clone();
        assert_eq!((hon["industries"].clone(), hon["status"].clone(), hon["settled_on"].clone(), hon["park_code"].clone()),
                   (json!(["electronic_information", "new_energy"]), json!("settled"), json!("2026-03-02"), json!("yueyang")));
        // Its own export imports back onto the same two records.
        let export = download(&app, Who::ParkStaff, "/api/v1/investors?format=xlsx", None).await;
        assert_eq!(counts(&import_into(&app, Who::ParkStaff, "investors", &export.bytes, &[("dry_run", "false")]).await), (0, 0, 2));

        let talents = "external_ref,full_name,birth_year,origin_region,education,specialty,phone,consent_on\n\
                       RC-1,林怡君,1988,台中市,硕士,电子信息,13812345678,2026-10-12\n";
        assert_eq!(counts(&import_into(&app, Who::ParkStaff, "talents", talents.as_bytes(), &[("dry_run", "false")]).await), (1, 0, 0));
        // The export masks the phone; imported back, the masked value leaves the real one alone.
        let export = download(&app, Who::ParkAdmin, "/api/v1/talents?format=csv", None).await;
        assert!(String::from_utf8_lossy(&export.bytes).contains("'+86*******5678"));
        assert_eq!(counts(&import_into(&app, Who::ParkStaff, "talents", &export.bytes, &[("dry_run", "false")]).await), (0, 0, 1));
        let id = app.get("/api/v1/talents").await.body["items"][0]["id"].as_str().unwrap().to_owned();
        let talent = app.as_(Who::ParkAdmin).send(actix_web::http::Method::GET, &format!("/api/v1/talents/{id}"), &[], None).await;
        assert_eq!((talent.body["phone"].clone(), talent.body["version"].clone()), (json!("+8613812345678"), json!(1)));

        // A talent's rule broken in a file is a row error naming the column.
        let bad = "姓名,出生年份,来源地区,学历,专业领域,手机\n陈志明,1990,高雄市,本科,其他,13900001111\n";
        let res = import_into(&app, Who::ParkStaff, "talents", bad.as_bytes(), &[("dry_run", "false")]).await;
        let errors = res.body["errors"].as_array().unwrap();
        assert!(errors.iter().any(|e| e["row"] == 2 && e["column"] == "consent_on"), "{}", res.text);
        assert_eq!(app.get("/api/v1/talents").await.body["items"].as_array().unwrap().len(), 1);
    }

    async fn a_park_role_cannot_import_investors_or_talents_into_another_park(app: TestApp) {
        let investors = "园区代码,外部编号,类型,名称,来源,来源地区\n\
                         yueyang,KS-1,企业,本园客商,台湾地区,台北\n\
                         xiangtan,KS-2,企业,他园客商,台湾地区,台北\n\
                         xiangtan,,企业,他园客商乙,台湾地区,台北\n";
        let res = import_into(&app, Who::ParkStaff, "investors", investors.as_bytes(), &[("dry_run", "false")]).await;
        let errors: Vec<(u64, String, String)> = res.body["errors"].as_array().unwrap().iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(errors, [(3, "园区代码".into(), "forbidden".into()), (4, "园区代码".into(), "forbidden".into())], "{}", res.text);
        assert_eq!(res.body["created"], 0);
        let talents = "姓名,出生年份,来源地区,学历,专业领域\n林怡君,1988,台中市,硕士,电子信息\n";
        let res = import_into(&app, Who::OtherParkStaff, "talents", talents.as_bytes(), &[("dry_run", "false"), ("park_code", "yueyang")]).await;
        assert_eq!(res.body["errors"][0]["code"], "forbidden", "{}", res.text);
        for library in ["investors", "talents"] {
            let rows = super::csv_rows(&download(&app, Who::ProvincialAdmin, &format!("/api/v1/{library}?format=csv"), None).await);
            assert_eq!(rows.len(), 1, "nothing written to {library}");
        }
    }

    async fn the_template_has_drop_downs_and_its_example_row_imports(app: TestApp) {
        for (library, sheet, enums) in [("projects", "重大项目库", 5), ("investors", "客商库", 4), ("talents", "人才库", 3),
                                        ("funds", "到位资金", 1), ("top100", "台湾地区前百大企业", 0)] {
            let template = download(&app, Who::ParkViewer, &format!("/api/v1/imports/template?library={library}&format=xlsx"), None).await;
            assert!(template.disposition.contains(&format!("{library}-template.xlsx")), "{}", template.disposition);
            if library == "funds" {
                // The example fund names the example project by its ref; sign that project first.
                let patch = json!({"stage": "signed", "signed_on": "2026-05-10", "contracted_investment_usd": 200_000_000});
                let id = app.get("/api/v1/projects").await.body["items"][0]["id"].as_str().unwrap().to_owned();
                let res = app.as_(Who::ParkStaff).send(actix_web::http::Method::PATCH, &format!("/api/v1/projects/{id}"),
                    &[("if-match", "*"), ("content-type", "application/json")], Some(patch.to_string().into_bytes())).await;
                assert_eq!(res.status, 200, "{}", res.text);
            }
            let rows = xlsx_rows(&template, sheet);
            assert_eq!(rows.len(), 2, "a header and an example row: {rows:?}");
            assert_eq!(rows[0].last().map(String::as_str), Some("外部编号"));
            assert!(!rows[0].iter().any(|h| h == "记录编号" || h == "创建时间"), "no read-only column: {:?}", rows[0]);
            // A drop-down per enum column, its values on the hidden sheet 选项.
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(template.bytes.clone())).unwrap();
            let mut xml = String::new();
            std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut xml).unwrap();
            assert_eq!(xml.matches("type=\"list\"").count(), enums, "{library}");
            assert_eq!(xml.contains("选项!$A$2"), enums > 0, "{library}");
            if library == "projects" {
                let options = xlsx_rows(&super::Download { status: 200, content_type: XLSX.into(), disposition: String::new(), bytes: template.bytes.clone() }, "选项");
                assert_eq!(options[0][0], "industry");
                assert!(options.iter().any(|row| row[0] == "电子信息"), "{options:?}");
            }
            // The example row is a valid import as it stands (a fund's needs its project first).
            let who = if library == "top100" { Who::ProvincialAdmin } else { Who::ParkStaff };
            let res = import_into(&app, who, library, &template.bytes, &[("dry_run", "false")]).await;
            assert_eq!(counts(&res), (1, 0, 0), "{library}");
        }
        let res = app.get("/api/v1/imports/template?library=claims").await;
        assert_eq!(res.status, 400, "{}", res.text.len());
        let anonymous = download(&app, Who::Anonymous, "/api/v1/imports/template?library=projects", None).await;
        assert_eq!(anonymous.status, 401);
    }

    async fn the_command_line_imports_like_the_api(app: TestApp) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ledger.csv");
        std::fs::write(&file, "外部编号,项目名称,产业,招商方式,计划投资（美元）\nCLI-1,命令行项目,其他,定向招商,100\n").unwrap();
        let run = |extra: &[&str]| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_invest-registry"));
            command.args(["import", "--library", "projects", "--park", "yueyang"]).arg(&file).args(extra);
            command.env("DATABASE_URL", &app.database_url).env("RUST_LOG", "error");
            command.output().unwrap()
        };
        let dry = run(&[]);
        assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
        let report: Value = serde_json::from_slice(&dry.stdout).unwrap();
        assert_eq!((report["dry_run"].clone(), report["created"].clone()), (json!(true), json!(1)));
        assert_eq!(project_count(&app).await, 0, "a dry run unless --commit");

        let done = run(&["--commit", "--actor", "ledger-sync"]);
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        let again = run(&["--commit", "--actor", "ledger-sync"]);
        let report: Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!((report["created"].clone(), report["unchanged"].clone()), (json!(0), json!(1)), "idempotent by external ref");
        let project = app.get("/api/v1/projects").await.body["items"][0].clone();
        assert_eq!((project["name"].clone(), project["created_by"].clone()), (json!("命令行项目"), json!("ledger-sync")));
        let imports = super::audit_events(&app, "import").await;
        assert_eq!(imports.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["ledger-sync", "ledger-sync"]);

        // A bad row: the command fails, names the row, writes nothing.
        std::fs::write(&file, "项目名称,产业,招商方式,计划投资（美元）\n坏行,芯片,定向招商,100\n").unwrap();
        let bad = run(&["--commit"]);
        assert!(!bad.status.success());
        let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
        assert_eq!((report["errors"][0]["row"].clone(), report["errors"][0]["column"].clone()), (json!(2), json!("产业")));
        assert_eq!(project_count(&app).await, 1);
    }

    async fn funds_import_onto_their_projects_by_external_ref(app: TestApp) {
        let projects = "外部编号,项目名称,产业,招商方式,项目阶段,计划投资（美元）,合同投资（美元）,签约日期\n\
                        XM-1,岳阳签约项目,电子信息,定向招商,签约,60000000,50000000,2026-01-10\n";
        assert_eq!(counts(&import(&app, Who::ParkStaff, projects.as_bytes(), &[("dry_run", "false")]).await), (1, 0, 0));
        let project = app.get("/api/v1/projects").await.body["items"][0].clone();
        assert_eq!(project["contracted_investment_usd"], 50_000_000);
        let id = project["id"].as_str().unwrap().to_owned();

        let header = "项目外部编号,到账日期,到位金额（美元）,凭证类型,凭证编号,外部编号\n";
        let good = "XM-1,2026-06-15,20000000,外汇登记凭证,湘外汇登字〔2026〕0315号,ZJ-1\n";
        let file = format!("{header}{good}XM-9,2026-06-15,1,bank_receipt,X-1,ZJ-2\n");
        let res = import_into(&app, Who::ParkStaff, "funds", file.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(res.body["errors"][0]["row"], 3, "{}", res.text);
        assert_eq!((res.body["errors"][0]["column"].clone(), res.body["errors"][0]["code"].clone()), (json!("项目外部编号"), json!("unknown")));
        assert_eq!(app.get(&format!("/api/v1/projects/{id}/funds")).await.body["items"], json!([]), "nothing written");

        let file = format!("{header}{good}");
        assert_eq!(counts(&import_into(&app, Who::ParkStaff, "funds", file.as_bytes(), &[("dry_run", "false")]).await), (1, 0, 0));
        assert_eq!(counts(&import_into(&app, Who::ParkStaff, "funds", file.as_bytes(), &[("dry_run", "false")]).await), (0, 0, 1));
        let changed = file.replace("20000000", "25000000");
        assert_eq!(counts(&import_into(&app, Who::ParkStaff, "funds", changed.as_bytes(), &[("dry_run", "false")]).await), (0, 1, 0));
        let funds = app.get(&format!("/api/v1/projects/{id}/funds")).await.body["items"].clone();
        assert_eq!((funds[0]["amount_usd"].clone(), funds[0]["status"].clone(), funds[0]["version"].clone()),
                   (json!(25_000_000), json!("pending"), json!(2)));
        // The fund's rules hold: more than the contracted amount is a row error.
        let over = format!("{header}XM-1,2026-07-01,40000000,银行进账单,X-2,ZJ-3\n");
        let res = import_into(&app, Who::ParkStaff, "funds", over.as_bytes(), &[]).await;
        assert_eq!(res.body["errors"][0]["column"], "到位金额（美元）", "{}", res.text);
        // Another park's project cannot be named, by ref or by id.
        let res = import_into(&app, Who::OtherParkStaff, "funds", file.replace("ZJ-1", "ZJ-9").as_bytes(), &[]).await;
        assert_eq!(res.body["errors"][0]["code"], "unknown", "{}", res.text);
        let by_id = format!("园区代码,项目编号,到账日期,到位金额（美元）,凭证类型,凭证编号\nyueyang,{id},2026-06-15,1,银行进账单,X-3\n");
        let res = import_into(&app, Who::OtherParkStaff, "funds", by_id.as_bytes(), &[]).await;
        assert_eq!((res.body["errors"][0]["column"].clone(), res.body["errors"][0]["code"].clone()), (json!("园区代码"), json!("forbidden")), "{}", res.text);
    }

    async fn the_top100_list_imports_for_the_province_only(app: TestApp) {
        let list = "榜单年份,排名,集团名称,成员企业,榜单来源,外部编号\n\
                    2024,1,示例电子集团,示例精密；示例电子,中华征信所,T-1\n\
                    2024,2,示例石化集团,,中华征信所,T-2\n";
        let res = import_into(&app, Who::ParkAdmin, "top100", list.as_bytes(), &[]).await;
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(counts(&import_into(&app, Who::ProvincialAdmin, "top100", list.as_bytes(), &[("dry_run", "false")]).await), (2, 0, 0));
        assert_eq!(counts(&import_into(&app, Who::ProvincialAdmin, "top100", list.as_bytes(), &[("dry_run", "false")]).await), (0, 0, 2));
        let groups = app.get("/api/v1/top100").await.body["items"].clone();
        assert_eq!(groups.as_array().unwrap().len(), 2);
        assert_eq!(groups[0]["member_names"], json!(["示例精密", "示例电子"]));
        // A rank taken twice is the list's own rule, reported on its row.
        let clash = "榜单年份,排名,集团名称,榜单来源\n2024,1,另一集团,中华征信所\n";
        let res = import_into(&app, Who::ProvincialAdmin, "top100", clash.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!((res.body["errors"][0]["row"].clone(), res.body["errors"][0]["column"].clone()), (json!(2), json!("排名")), "{}", res.text);
    }

    /// The fields of a project read back, less what differs between any
    /// two records (ids, times, versions of the moment).
    fn comparable(project: &Value) -> Value {
        let mut project = project.clone();
        let object = project.as_object_mut().unwrap();
        for field in ["id", "created_at", "updated_at"] {
            object.remove(field);
        }
        for entry in object["stage_history"].as_array_mut().unwrap() {
            entry.as_object_mut().unwrap().remove("recorded_at");
        }
        project
    }

    /// The changes of each event of a record's history, oldest first.
    async fn changes_of(app: &TestApp, id: &str) -> Vec<(String, String, Value)> {
        let history = app.as_(Who::ParkStaff).get(&format!("/api/v1/projects/{id}/history")).await;
        let mut events: Vec<(String, String, Value)> = history.body["items"].as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned(), e["changes"].clone()))
            .collect();
        events.reverse();
        events
    }

    async fn an_import_writes_what_the_api_writes_and_keeps_the_targets_summary(app: TestApp) {
        let investor = app.as_(Who::ParkStaff).post("/api/v1/investors", &crate::helpers::investor_body(json!({
            "name": "甲精密股份有限公司", "origin": "taiwan", "status": "negotiating"}))).await;
        assert_eq!(investor.status, 201, "{}", investor.text);
        let investor_id = investor.body["id"].as_str().unwrap().to_owned();
        // A lead with tags; a signed project with a contract; a registered one that settles its investor.
        let csv = format!("外部编号,项目名称,产业,招商方式,项目阶段,计划投资（美元）,合同投资（美元）,首次接触日期,签约日期,注册日期,关联客商编号,标签,备注\n\
                           A-1,线索项目,电子信息,产业链招商,线索,1000000,,2026-03-02,,,,半导体; 封装,\n\
                           A-2,签约项目,新能源,定向招商,签约,80000000,60000000,2025-01-02,2025-03-04,,,,已签约\n\
                           A-3,注册项目,智能制造,定向招商,注册落地,20000000,20000000,2024-01-02,2024-02-03,2024-05-06,{investor_id},,\n");
        let res = import(&app, Who::ParkStaff, csv.as_bytes(), &[("dry_run", "false")]).await;
        assert_eq!(counts(&res), (3, 0, 0));

        let bodies = [
            json!({"name": "线索项目", "industry": "electronic_information", "attraction_mode": "industrial_chain", "stage": "lead",
                   "planned_investment_usd": 1_000_000, "first_contact_on": "2026-03-02", "tags": ["半导体", "封装"]}),
            json!({"name": "签约项目", "industry": "new_energy", "attraction_mode": "targeted", "stage": "signed",
                   "planned_investment_usd": 80_000_000, "contracted_investment_usd": 60_000_000,
                   "first_contact_on": "2025-01-02", "signed_on": "2025-03-04", "notes": "已签约"}),
            json!({"name": "注册项目", "industry": "intelligent_manufacturing", "attraction_mode": "targeted", "stage": "registered",
                   "planned_investment_usd": 20_000_000, "contracted_investment_usd": 20_000_000, "first_contact_on": "2024-01-02",
                   "signed_on": "2024-02-03", "registered_on": "2024-05-06", "investor_ids": [investor_id]}),
        ];
        let imported = app.as_(Who::ParkStaff).get("/api/v1/projects?limit=10").await.body["items"].as_array().unwrap().clone();
        assert_eq!(imported.len(), 3);
        for body in bodies {
            let twin = app.as_(Who::ParkStaff).post("/api/v1/projects", &body).await;
            assert_eq!(twin.status, 201, "{}", twin.text);
            let row = imported.iter().find(|p| p["name"] == body["name"]).unwrap();
            let read = app.as_(Who::ParkStaff).get(&format!("/api/v1/projects/{}", row["id"].as_str().unwrap())).await;
            assert_eq!(comparable(&read.body), comparable(&twin.body), "an imported record reads like one the API created");
            let (by_import, by_api) = (changes_of(&app, row["id"].as_str().unwrap()).await, changes_of(&app, twin.body["id"].as_str().unwrap()).await);
            assert_eq!(by_import.len(), 1, "{by_import:?}");
            assert_eq!(by_import, by_api, "the same create event as the API writes");
        }
        let settled = app.as_(Who::ParkStaff).get(&format!("/api/v1/investors/{investor_id}")).await;
        assert_eq!((settled.body["status"].clone(), settled.body["settled_on"].clone()), (json!("settled"), json!("2024-05-06")),
                   "a registered project settles its investor, as through the API");

        // One create in the change feed per imported row (and per API twin).
        let feed = app.get("/api/v1/changes?library=project&limit=100").await;
        let creates = feed.body["items"].as_array().unwrap().iter().filter(|e| e["action"] == "create").count();
        assert_eq!(creates, 6, "{}", feed.text);

        let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
        for as_of in ["2024-12-31", "2025-06-30"] {
            let as_of: chrono::NaiveDate = as_of.parse().unwrap();
            let differences = invest_registry::targets::summary::check(&mut pool.get().unwrap(), as_of, None).unwrap();
            assert!(differences.is_empty(), "{}", differences.join("\n"));
        }
        let targets = app.get("/api/v1/targets?as_of=2025-06-30").await;
        assert_eq!(targets.status, 200, "{}", targets.text);
    }
}

async fn count_events(app: &TestApp, action: &str) -> usize {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let count: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'")).get_result(&mut conn).unwrap();
    count.n as usize
}
