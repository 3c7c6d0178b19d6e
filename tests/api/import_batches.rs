//! Investor, talent and project imports write their new records in batches:
//! the records and audit events must be those the API writes one create at
//! a time, and a row's rules must still see the rows above it. A projects
//! workbook is read on a thread of its own, which also builds each new
//! project's row and create event, and written a part at a time: every part
//! of one file is still one all-or-nothing import.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::exchange::imports::import_into;
use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    an_investor_import_writes_what_api_creates_write,
    a_talent_import_writes_what_api_creates_write,
    a_project_import_writes_what_api_creates_write,
    a_row_is_checked_against_the_new_rows_above_it,
    an_import_larger_than_a_batch_writes_every_row,
    a_projects_workbook_is_written_part_by_part_all_or_nothing,
    a_part_of_projects_with_many_investors_each_is_written,
);

/// The same rows as API bodies (in yueyang) and as a CSV (park xiangtan).
struct Rows {
    bodies: Vec<Value>,
    csv: String,
}

fn rows(fields: &[&str], values: &[Vec<Value>]) -> Rows {
    let mut csv = format!("park_code,{}\n", fields.join(","));
    let mut bodies = Vec::new();
    for row in values {
        let mut body = json!({"park_code": "yueyang"});
        let mut cells = vec!["xiangtan".to_owned()];
        for (field, value) in fields.iter().zip(row) {
            let cell = match value {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Array(items) => items.iter().map(|i| i.as_str().unwrap()).collect::<Vec<_>>().join(";"),
                other => other.to_string(),
            };
            cells.push(cell);
            if !value.is_null() {
                body[*field] = value.clone();
            }
        }
        csv.push_str(&cells.join(","));
        csv.push('\n');
        bodies.push(body);
    }
    Rows { bodies, csv }
}

/// A park's records as the list answers them, by name, without what differs
/// between two writes of the same fields (id, park, times, a project's stage
/// move's time).
async fn records_of(app: &TestApp, library: &str, park: &str, name: &str) -> BTreeMap<String, Value> {
    let list = app.as_(Who::ProvincialAdmin).get(&format!("/api/v1/{library}?park={park}&limit=100")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let mut item = item.clone();
            for field in ["id", "park_code", "created_at", "updated_at"] {
                item.as_object_mut().unwrap().remove(field);
            }
            for entry in item.get_mut("stage_history").and_then(Value::as_array_mut).into_iter().flatten() {
                entry.as_object_mut().unwrap().remove("recorded_at");
            }
            (item[name].as_str().unwrap().to_owned(), item)
        })
        .collect()
}

/// The create events of a library's records in `park`, by record name,
/// without the park's own change.
fn create_events(app: &TestApp, entity: &str, park: &str, names: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        entity_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        changes: String,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let sql = format!("SELECT actor, entity_id, changes FROM audit_events WHERE action = 'create' AND entity_type = '{entity}' AND park_code = '{park}'");
    diesel::sql_query(sql)
        .load::<Event>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|e| {
            let mut changes: Vec<Value> = serde_json::from_str(&e.changes).unwrap();
            changes.retain(|c| c["field"] != "park_code");
            let name = names.get(&e.entity_id).unwrap_or_else(|| panic!("an event of an unknown record {}", e.entity_id)).clone();
            (name, json!({"actor": e.actor, "changes": changes}))
        })
        .collect()
}

/// Record ids to names, in both parks.
async fn names_by_id(app: &TestApp, library: &str, name: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for park in ["yueyang", "xiangtan"] {
        let list = app.as_(Who::ProvincialAdmin).get(&format!("/api/v1/{library}?park={park}&limit=100")).await;
        for item in list.body["items"].as_array().unwrap() {
            names.insert(item["id"].as_str().unwrap().to_owned(), item[name].as_str().unwrap().to_owned());
        }
    }
    names
}

/// Creates every body through the API, imports the CSV, and compares the two parks.
async fn compare(app: &TestApp, library: &str, entity: &str, name: &str, rows: Rows) {
    for body in &rows.bodies {
        let res = app.as_(Who::ProvincialAdmin).post(&format!("/api/v1/{library}"), body).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let res = import_into(app, Who::ProvincialAdmin, library, rows.csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!((res.body["created"].clone(), res.body["errors"].clone()), (json!(rows.bodies.len()), json!([])), "{}", res.text);

    let by_api = records_of(app, library, "yueyang", name).await;
    let imported = records_of(app, library, "xiangtan", name).await;
    assert_eq!(by_api.len(), rows.bodies.len());
    assert_eq!(imported, by_api, "the imported records are those the API created");

    let names = names_by_id(app, library, name).await;
    let api_events = create_events(app, entity, "yueyang", &names);
    let import_events = create_events(app, entity, "xiangtan", &names);
    assert_eq!(api_events.len(), rows.bodies.len());
    assert_eq!(import_events, api_events, "each imported record has the create event of an API create");
}

async fn an_investor_import_writes_what_api_creates_write(app: TestApp) {
    let fields = ["kind", "name", "name_en", "origin", "region", "unified_social_credit_code", "industries", "status", "settled_on", "notes"];
    let mut values = vec![
        vec![json!("company"), json!("鸿海精密"), json!("Hon Hai"), json!("taiwan"), json!("新北市"), json!("91350100M000100Y43"),
             json!(["electronic_information", "new_energy"]), json!("settled"), json!("2026-03-02"), json!("首批")],
        vec![json!("company"), json!("和硕联合"), Value::Null, json!("taiwan"), json!("台北"), Value::Null,
             json!([]), json!("prospect"), Value::Null, Value::Null],
    ];
    for i in 0..10 {
        values.push(vec![json!("company"), json!(format!("台资企业{i}")), Value::Null, json!("taiwan"), json!("台中"), Value::Null,
                         json!(["electronic_information"]), json!("prospect"), Value::Null, json!(format!("备注 {i}"))]);
    }
    compare(&app, "investors", "investor", "name", rows(&fields, &values)).await;
}

async fn a_talent_import_writes_what_api_creates_write(app: TestApp) {
    let fields = ["full_name", "birth_year", "origin_region", "education", "specialty", "phone", "email", "consent_on", "notes"];
    let mut values = vec![vec![json!("林怡君"), json!(1988), json!("台中市"), json!("master"), json!("electronic_information"),
                               json!("13812345678"), json!("lin@example.com"), json!("2026-10-12"), json!("返乡")]];
    for i in 0..8 {
        values.push(vec![json!(format!("人才{i}")), json!(1990 + i), json!("高雄市"), json!("bachelor"), json!("electronic_information"),
                         Value::Null, Value::Null, Value::Null, Value::Null]);
    }
    compare(&app, "talents", "talent", "full_name", rows(&fields, &values)).await;
}

async fn a_project_import_writes_what_api_creates_write(app: TestApp) {
    let fields = ["name", "summary", "industry", "chain_role", "attraction_mode", "stage", "planned_investment_usd", "contracted_investment_usd",
                  "hq_type", "high_tech", "land_area_mu", "first_contact_on", "signed_on", "planned_start_on", "tags", "notes"];
    // Text the rules trim, a signed project with its money and milestone
    // dates (its light and stage move read them), and bare rows.
    let mut values = vec![
        vec![json!(" 台积电先进封装 "), json!("12 吋晶圆 "), json!("electronic_information"), json!("strengthen"), json!("industrial_chain"),
             json!("signed"), json!(120_000_000), json!(100_000_000), json!("china_hq"), json!(true), json!(85.5), json!("2026-03-02"),
             json!("2026-06-18"), json!("2026-09-01"), json!([" 半导体", "封装 "]), json!("首批")],
        vec![json!("宁德储能"), Value::Null, json!("new_energy"), Value::Null, json!("targeted"), json!("negotiating"), json!(5_000_000),
             Value::Null, Value::Null, json!(false), Value::Null, json!("2026-01-05"), Value::Null, Value::Null, json!([]), Value::Null],
    ];
    for i in 0..10 {
        values.push(vec![json!(format!("台账项目{i}")), Value::Null, json!("new_materials"), Value::Null, json!("affinity"), json!("lead"),
                         json!(1_000_000 + i), Value::Null, Value::Null, json!(false), Value::Null, Value::Null, Value::Null, Value::Null,
                         json!(["新材料"]), json!(format!("备注 {i}"))]);
    }
    compare(&app, "projects", "project", "name", rows(&fields, &values)).await;
}

async fn a_row_is_checked_against_the_new_rows_above_it(app: TestApp) {
    let header = "外部编号,类型,名称,来源,来源地区,统一社会信用代码\n";
    // The same registration code on rows 2 and 4: row 4 is refused as an
    // API create after row 2's would be.
    let csv = format!(
        "{header}KS-1,企业,甲公司,台湾地区,台北,91350100M000100Y43\nKS-2,企业,乙公司,台湾地区,台北,\nKS-3,企业,丙公司,台湾地区,台北,91350100M000100Y43\n"
    );
    let res = import_into(&app, Who::ParkStaff, "investors", csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let errors = row_errors(&res);
    assert_eq!(errors, [(4, "统一社会信用代码".to_owned(), "taken".to_owned())], "{}", res.text);

    // The same name twice: the second is the API's duplicate-name conflict.
    let csv = format!("{header}KS-1,企业,甲公司,台湾地区,台北,\nKS-2,企业,甲公司,台湾地区,台北,\n");
    let res = import_into(&app, Who::ParkStaff, "investors", csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!(res.status, 409, "{}", res.text);
    let list = app.as_(Who::ProvincialAdmin).get("/api/v1/investors").await;
    assert_eq!(list.body["items"], json!([]), "nothing was written");
}

async fn an_import_larger_than_a_batch_writes_every_row(app: TestApp) {
    // More rows than one INSERT carries (500), each with a ref.
    let mut csv = String::from("外部编号,类型,名称,来源,来源地区\n");
    for i in 0..1_100 {
        csv.push_str(&format!("KS-{i},企业,客商{i},台湾地区,台北\n"));
    }
    let res = import_into(&app, Who::ParkStaff, "investors", csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!((res.status, res.body["created"].clone()), (200, json!(1_100)), "{}", res.text);
    let res = import_into(&app, Who::ParkStaff, "investors", csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!((res.body["created"].clone(), res.body["unchanged"].clone()), (json!(0), json!(1_100)), "every ref was bound: {}", res.text);
    let creates = created_records(&app, "investor");
    assert_eq!(creates, 1_100, "one create event a record");
}

/// Records of `entity` that have a create event.
fn created_records(app: &TestApp, entity: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let sql = "SELECT COUNT(DISTINCT entity_id) AS n FROM audit_events WHERE action = 'create' AND entity_type = $1";
    diesel::sql_query(sql).bind::<diesel::sql_types::Text, _>(entity).get_result::<Count>(&mut conn).unwrap().n
}

/// A projects ledger as a workbook: `rows` projects, a blank line after the
/// 100th, a column left empty between two, and `bad` (a row number) with a
/// planned investment that is not a number.
fn projects_workbook(rows: u32, bad: Option<u32>) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, header) in ["外部编号", "项目名称", "产业", "", "招商方式", "计划投资（美元）", "首次接触日期"].iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    let mut sheet_row = 1;
    for i in 0..rows {
        if i == 100 {
            sheet_row += 1; // a blank line
        }
        sheet.write_string(sheet_row, 0, format!("XM-{i}")).unwrap();
        sheet.write_string(sheet_row, 1, format!("台账项目{i}")).unwrap();
        sheet.write_string(sheet_row, 2, "电子信息").unwrap();
        sheet.write_string(sheet_row, 4, "产业链招商").unwrap();
        if bad == Some(sheet_row + 1) {
            sheet.write_string(sheet_row, 5, "一千万").unwrap();
        } else {
            sheet.write_number(sheet_row, 5, 12_000_000.0 + f64::from(i)).unwrap();
        }
        sheet.write_string(sheet_row, 6, "2026年3月2日").unwrap();
        sheet_row += 1;
    }
    workbook.save_to_buffer().unwrap()
}

async fn a_projects_workbook_is_written_part_by_part_all_or_nothing(app: TestApp) {
    // More rows than a part (900): the bad row is in the second part, after
    // the first part's rows went in.
    let bad = projects_workbook(1_500, Some(1_400));
    let res = import_into(&app, Who::ParkStaff, "projects", &bad, &[("dry_run", "false")]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["rows"], json!(1_501), "the blank line is a row: {}", res.text);
    let errors = row_errors(&res);
    assert_eq!(errors, [(1_400, "计划投资（美元）".to_owned(), "type".to_owned())], "{}", res.text);
    assert_eq!(created_records(&app, "project"), 0, "nothing of the first part stays");

    let good = projects_workbook(1_500, None);
    let res = import_into(&app, Who::ParkStaff, "projects", &good, &[]).await;
    assert_eq!((res.status, res.body["created"].clone(), res.body["dry_run"].clone()), (200, json!(1_500), json!(true)), "{}", res.text);
    assert_eq!(created_records(&app, "project"), 0, "a dry run writes nothing");
    let res = import_into(&app, Who::ParkStaff, "projects", &good, &[("dry_run", "false")]).await;
    assert_eq!((res.status, res.body["created"].clone()), (200, json!(1_500)), "{}", res.text);
    assert_eq!(created_records(&app, "project"), 1_500, "one create event a project");
    let q: String = "台账项目1499".bytes().map(|b| format!("%{b:02X}")).collect();
    let list = app.as_(Who::ProvincialAdmin).get(&format!("/api/v1/projects?q={q}")).await;
    assert_eq!(list.body["items"][0]["planned_investment_usd"], json!(12_001_499), "{}", list.text);

    // Every ref was bound, across the parts: the same file again changes nothing.
    let res = import_into(&app, Who::ParkStaff, "projects", &good, &[("dry_run", "false")]).await;
    assert_eq!((res.body["created"].clone(), res.body["unchanged"].clone()), (json!(0), json!(1_500)), "{}", res.text);
}

/// An import report's errors as (row, column, code).
fn row_errors(res: &crate::helpers::Response) -> Vec<(u64, String, String)> {
    let errors = res.body["errors"].as_array().unwrap().iter();
    errors.map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned())).collect()
}

/// 900 projects (one part) linking 40 investors each: 36,000 links, more
/// values than one statement may carry on either database (a 500 once).
async fn a_part_of_projects_with_many_investors_each_is_written(app: TestApp) {
    let mut investors = Vec::new();
    for i in 0..40 {
        investors.push(app.create_investor(json!({"name": format!("多方客商{i}")})).await["id"].as_str().unwrap().to_owned());
    }
    let linked = investors.join("; ");
    let mut csv = String::from("项目名称,产业,招商方式,计划投资（美元）,关联客商编号\n");
    for i in 0..900 {
        csv.push_str(&format!("多方项目{i},电子信息,定向招商,1000,{linked}\n"));
    }
    let res = import_into(&app, Who::ParkStaff, "projects", csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!((res.status, res.body["created"].clone()), (200, json!(900)), "{}", res.text);
    let page = app.as_(Who::ParkStaff).get("/api/v1/projects?limit=200").await;
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 200, "{}", page.text);
    assert!(items.iter().all(|p| p["investor_ids"] == json!(investors)), "every project links the 40, in order");
}
