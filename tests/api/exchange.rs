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

async fn export_events(app: &TestApp) -> Vec<(String, String, String)> {
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
    diesel::sql_query("SELECT actor, entity_type, changes FROM audit_events WHERE action = 'export' ORDER BY at, id")
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
    let events = export_events(&app).await;
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
    assert_eq!(export_events(&app).await.len(), 2);
}

// ---- Imports -------------------------------------------------------------

mod imports {
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
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("library", None, b"projects"), ("file", Some("ledger.csv"), file)];
        for (name, value) in extra {
            parts.push((name, None, value.as_bytes()));
        }
        let (content_type, body) = form(&parts);
        app.as_(who).send(actix_web::http::Method::POST, "/api/v1/imports", &[("content-type", &content_type)], Some(body)).await
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
        assert_eq!(dry.body, json!({"library": "projects", "dry_run": true, "rows": 5, "created": 0, "updated": 0, "unchanged": 0, "errors": []}));
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
        assert_eq!(project_count(&app).await, 6, "no external_ref yet: a re-import adds rows");

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

    async fn hostile_files_are_refused_cleanly(app: TestApp) {
        let res = import(&app, Who::ParkStaff, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", &[]).await;
        res.assert_problem(422, "file", "format");
        let res = import(&app, Who::ParkStaff, b"PK\x03\x04 not really a zip", &[]).await;
        res.assert_problem(422, "file", "format");
        let res = import(&app, Who::ParkStaff, &vec![b'a'; 20 * 1024 * 1024 + 1], &[]).await;
        assert_eq!(res.status, 413, "{}", res.text);

        // A zip bomb: small packed, 201 MB unpacked.
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
        let res = import(&app, Who::ParkStaff, bomb.get_ref(), &[]).await;
        assert_eq!(res.status, 413, "{}", res.text);

        let mut many = String::from("项目名称,产业,招商方式,计划投资（美元）\n");
        for _ in 0..200_001 {
            many.push_str("a,other,targeted,1\n");
        }
        let res = import(&app, Who::ParkStaff, many.as_bytes(), &[]).await;
        assert_eq!(res.status, 413, "200,001 rows: {}", res.text);

        let res = import(&app, Who::ParkStaff, "项目名称,产业,招商方式,计划投资（美元）\n台积电,其他,定向招商,1\n".as_bytes(), &[("library", "talents")]).await;
        assert_eq!(res.status, 422, "{}", res.text);
        let res = import(&app, Who::ParkStaff, b"a", &[("dry_run", "")]).await;
        res.assert_problem(422, "dry_run", "type");
        let res = import(&app, Who::ParkStaff, b"a", &[("colour", "red")]).await;
        res.assert_problem(422, "colour", "unknown_field");
        let res = app.as_(Who::ParkStaff).post("/api/v1/imports", &json!({"library": "projects"})).await;
        res.assert_problem(400, "Content-Type", "multipart");
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
