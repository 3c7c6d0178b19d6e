//! `POST /projects`: what is stored, what is refused, and that a refusal
//! leaves nothing behind.

use serde_json::{json, Value};

use crate::helpers::{project_body, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    create_answers_201_with_location_etag_and_the_record,
    create_fills_defaults_and_records_the_first_stage,
    create_in_a_later_stage_takes_its_milestone_date,
    each_bad_input_is_a_4xx_naming_the_field,
    wrong_media_type_empty_and_oversized_bodies_are_refused,
    a_refused_create_leaves_nothing_behind,
    text_is_trimmed_and_blank_optional_text_dropped,
    a_signed_project_with_money_answers_as_a_read_does,
    concurrent_creates_succeed_or_fail_each_alone,
);

async fn create_answers_201_with_location_etag_and_the_record(app: TestApp) {
    let investor_a = app.create_investor(json!({})).await["id"].clone();
    let investor_b = app.create_investor(json!({"name": "鴻海精密"})).await["id"].clone();
    let body = project_body(json!({
        "summary": "12 吋晶圆级封装",
        "chain_role": "strengthen",
        "hq_type": "regional_hq",
        "high_tech": true,
        "land_area_mu": 120.5,
        "first_contact_on": "2026-01-15",
        "owner_id": app.user_ids[&Who::ParkStaff],
        "investor_ids": [investor_a, investor_b],
        "tags": ["半导体", "先进封装"],
        "notes": "由台商协会引荐",
    }));
    let res = app.post("/api/v1/projects", &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    let id = res.body["id"].as_str().expect("id").to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()).ok(), Some(7), "ids are UUIDv7");
    let location = res.header("location").expect("Location");
    assert_eq!(location, format!("/api/v1/projects/{id}"));

    let p = &res.body;
    for field in ["park_code", "name", "summary", "industry", "chain_role", "attraction_mode", "hq_type",
                  "high_tech", "land_area_mu", "planned_investment_usd", "actual_investment_usd",
                  "first_contact_on", "owner_id", "investor_ids", "tags", "notes"] {
        assert_eq!(p[field], body[field], "field {field}");
    }
    assert_eq!(p["version"], 1);
    assert_eq!(p["created_by"], p["updated_by"]);
    assert_eq!(p["created_at"], p["updated_at"]);
    assert!(p["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "RFC 3339 UTC: {}", p["created_at"]);

    // The Location answers with the same record and ETag.
    let read = app.get(&location).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(read.body, res.body);
}

async fn create_fills_defaults_and_records_the_first_stage(app: TestApp) {
    let p = app.create_project(json!({})).await;
    assert_eq!(p["stage"], "lead");
    assert_eq!(p["high_tech"], false);
    assert_eq!(p["tags"], json!([]));
    assert_eq!(p["investor_ids"], json!([]));
    for optional in ["summary", "chain_role", "hq_type", "actual_investment_usd", "land_area_mu", "signed_on", "notes"] {
        assert_eq!(p[optional], Value::Null, "{optional} is null, not missing");
    }
    let history = p["stage_history"].as_array().expect("stage_history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["stage"], "lead");
    assert_eq!(history[0]["by"], p["created_by"]);
    assert_eq!(history[0]["on"], chrono::Utc::now().date_naive().to_string());
}

async fn create_in_a_later_stage_takes_its_milestone_date(app: TestApp) {
    let p = app
        .create_project(json!({"stage": "signed", "first_contact_on": "2025-03-01", "signed_on": "2025-06-30"}))
        .await;
    assert_eq!(p["stage"], "signed");
    assert_eq!(p["stage_history"][0]["stage"], "signed");
    assert_eq!(p["stage_history"][0]["on"], "2025-06-30");
}

async fn each_bad_input_is_a_4xx_naming_the_field(app: TestApp) {
    let long_name = "岳".repeat(201);
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        ("wrong type", json!({"planned_investment_usd": "lots"}), 422, "planned_investment_usd", "type"),
        ("float for integer", json!({"planned_investment_usd": 1.5}), 422, "planned_investment_usd", "type"),
        ("unknown field", json!({"colour": "red"}), 422, "colour", "unknown_field"),
        ("read-only field", json!({"version": 7}), 422, "version", "unknown_field"),
        ("missing field", json!({"-name": null}), 422, "name", "required"),
        ("bad enum", json!({"industry": "steel"}), 422, "industry", "enum"),
        ("bad stage", json!({"stage": "won"}), 422, "stage", "enum"),
        ("negative amount", json!({"planned_investment_usd": -1}), 422, "planned_investment_usd", "range"),
        ("huge amount", json!({"planned_investment_usd": 2_000_000_000_000_i64}), 422, "planned_investment_usd", "range"),
        ("money is recorded as funds", json!({"actual_investment_usd": 5}), 422, "actual_investment_usd", "read_only"),
        ("a contract before signing", json!({"contracted_investment_usd": 5}), 422, "contracted_investment_usd", "stage_mismatch"),
        ("registered before signing", json!({"stage": "registered", "signed_on": "2026-05-01", "registered_on": "2026-04-01"}), 422, "registered_on", "date_order"),
        ("planned dates in order", json!({"planned_start_on": "2027-05-01", "planned_operating_on": "2027-04-01"}), 422, "planned_operating_on", "date_order"),
        ("negative land", json!({"land_area_mu": -3}), 422, "land_area_mu", "range"),
        ("empty name", json!({"name": "   "}), 422, "name", "length"),
        ("long name", json!({"name": long_name}), 422, "name", "length"),
        ("control character", json!({"name": "a\u{0007}b"}), 422, "name", "characters"),
        ("bad date", json!({"first_contact_on": "2026-02-30"}), 422, "first_contact_on", "type"),
        ("date order", json!({"stage": "operating", "signed_on": "2026-05-01", "operating_on": "2026-01-01"}), 422, "operating_on", "date_order"),
        ("date ahead of stage", json!({"stage": "negotiating", "signed_on": "2026-05-01"}), 422, "signed_on", "stage_mismatch"),
        ("unknown park", json!({"park_code": "shenzhen"}), 422, "park_code", "unknown"),
        ("no park for provincial", json!({"-park_code": null}), 422, "park_code", "required"),
        ("bad investor id", json!({"investor_ids": ["not-a-uuid"]}), 422, "investor_ids[0]", "type"),
        ("unknown investor", json!({"investor_ids": ["01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8c"]}), 422, "investor_ids[0]", "unknown"),
        ("duplicate investor", json!({"investor_ids": ["01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8c", "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8c"]}), 422, "investor_ids[1]", "duplicate"),
        ("duplicate tag", json!({"tags": ["芯片", "芯片"]}), 422, "tags[1]", "duplicate"),
        ("empty tag", json!({"tags": ["芯片", " "]}), 422, "tags[1]", "length"),
        ("too many tags", json!({"tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}), 422, "tags", "length"),
        ("bad owner", json!({"owner_id": 42}), 422, "owner_id", "type"),
    ];
    for (what, overrides, status, field, code) in cases {
        let res = app.post("/api/v1/projects", &project_body(overrides)).await;
        assert_eq!(res.status, status, "{what}: {}", res.text);
        assert!(
            res.body["errors"].as_array().is_some_and(|e| e.iter().any(|e| e["field"] == field && e["code"] == code)),
            "{what}: expected {field}/{code} in {}",
            res.text
        );
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"), "{what}");
    }

    // Several broken rules are reported together.
    let res = app
        .post("/api/v1/projects", &project_body(json!({"name": "", "planned_investment_usd": -5, "park_code": "nowhere"})))
        .await;
    assert_eq!(res.status, 422);
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(fields, ["name", "park_code", "planned_investment_usd"]);
}

async fn wrong_media_type_empty_and_oversized_bodies_are_refused(app: TestApp) {
    use actix_web::http::Method;
    let json_ct = [("content-type", "application/json")];
    let body = serde_json::to_vec(&project_body(json!({}))).unwrap();

    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &[("content-type", "text/plain")], Some(body.clone())).await;
    res.assert_problem(415, "Content-Type", "media_type");
    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &[], Some(body)).await;
    res.assert_problem(415, "Content-Type", "media_type");

    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &json_ct, Some(vec![])).await;
    res.assert_problem(400, "body", "required");
    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &json_ct, Some(b"{\"name\": ".to_vec())).await;
    assert_eq!(res.status, 400, "{}", res.text);
    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &json_ct, Some(b"[1, 2]".to_vec())).await;
    assert_eq!(res.status, 422, "an array is not a project: {}", res.text);
    let mut trailing = serde_json::to_vec(&project_body(json!({}))).unwrap();
    trailing.extend_from_slice(b" {}");
    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &json_ct, Some(trailing)).await;
    assert_eq!(res.status, 400, "trailing data: {}", res.text);

    let huge = serde_json::to_vec(&project_body(json!({"notes": "x".repeat(300 * 1024)}))).unwrap();
    let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(Method::POST, "/api/v1/projects", &json_ct, Some(huge)).await;
    assert_eq!(res.status, 413, "{}", res.text);
    assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
}

async fn a_refused_create_leaves_nothing_behind(app: TestApp) {
    for overrides in [json!({"park_code": "nowhere"}), json!({"stage": "signed", "signed_on": "2026-13-01"})] {
        let res = app.post("/api/v1/projects", &project_body(overrides)).await;
        assert!(res.status >= 400 && res.status < 500, "{}", res.text);
    }
    let list = app.get("/api/v1/projects").await;
    assert_eq!(list.body["items"], json!([]));
    use diesel::prelude::*;
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let count = |table: &str, conn: &mut invest_registry::db::DbConnection| -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result::<N>(conn).unwrap().n
    };
    for table in ["projects", "project_stage_history", "project_investors", "audit_events WHERE entity_type = 'project'"] {
        assert_eq!(count(table, &mut conn), 0, "{table} is empty");
    }
}

async fn text_is_trimmed_and_blank_optional_text_dropped(app: TestApp) {
    let p = app.create_project(json!({"name": "  湘台合作项目 ", "summary": "   ", "tags": [" 芯片 "]})).await;
    assert_eq!(p["name"], "湘台合作项目");
    assert_eq!(p["summary"], Value::Null);
    assert_eq!(p["tags"], json!(["芯片"]));
}

/// A create writes its row whole and answers from memory: the answer must
/// be what a read gives, money, stage history, links and light included.
async fn a_signed_project_with_money_answers_as_a_read_does(app: TestApp) {
    let investor = app.create_investor(json!({})).await["id"].clone();
    let body = project_body(json!({
        "stage": "signed",
        "signed_on": "2026-03-01",
        "contracted_investment_usd": 5_000_000,
        "planned_start_on": "2026-09-01",
        "investor_ids": [investor],
    }));
    let res = app.post("/api/v1/projects", &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["contracted_investment_usd"], 5_000_000);
    assert_eq!(res.body["stage_history"].as_array().map(Vec::len), Some(1));
    assert!(res.body["light"].is_string(), "a signed project is watched: {}", res.text);
    let read = app.get(&format!("/api/v1/projects/{}", res.body["id"].as_str().unwrap())).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, res.body);
}

/// Concurrent creates (on SQLite they queue for the write lock): each
/// refused one leaves nothing, each stored one is whole, with its one audit
/// event.
async fn concurrent_creates_succeed_or_fail_each_alone(app: TestApp) {
    let elsewhere = app.create_investor(json!({"park_code": "xiangtan"})).await["id"].clone();
    let bodies: Vec<Value> = (0..16)
        .map(|n| match n % 2 {
            0 => project_body(json!({"name": format!("并发项目 {n}")})),
            _ => project_body(json!({"name": format!("并发项目 {n}"), "investor_ids": [elsewhere]})),
        })
        .collect();
    let answers = futures_util::future::join_all(bodies.iter().map(|body| app.post("/api/v1/projects", body))).await;
    for (n, res) in answers.iter().enumerate() {
        if n % 2 == 1 {
            res.assert_problem(422, "investor_ids[0]", "unknown");
            continue;
        }
        assert_eq!(res.status, 201, "{}", res.text);
        let url = format!("/api/v1/projects/{}", res.body["id"].as_str().unwrap());
        assert_eq!(app.get(&url).await.body, res.body);
        let history = app.get(&format!("{url}/history")).await;
        assert_eq!(history.body["items"].as_array().map(Vec::len), Some(1), "{}", history.text);
    }
    let listed = app.get("/api/v1/projects?count=true&limit=1").await;
    assert_eq!(listed.body["total"], 8, "{}", listed.text);
}
