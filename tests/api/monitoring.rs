//! Monitoring: each project read carries its light and reasons (each rule
//! at its boundary), `GET /monitoring` lists and counts them per park,
//! no-progress follows the service clock, and the rules are the province's.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    each_rule_lights_at_its_boundary,
    monitoring_lists_red_first_with_counts_per_park,
    no_progress_ages_with_the_service_clock,
    the_rules_are_the_provinces_to_change,
    rules_saved_by_another_instance_judge_the_next_read,
    notices_are_issued_by_the_province_and_answered_by_the_park,
);

fn ago(days: i64) -> String {
    (chrono::Utc::now().date_naive() - Duration::days(days)).to_string()
}

fn codes(project: &Value) -> Vec<String> {
    project["light_reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect()
}

async fn lit(app: &TestApp, body: Value) -> (Value, Vec<String>, Value) {
    let made = app.create_project(body).await;
    let read = app.get(&format!("/api/v1/projects/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(read.body["light"], made["light"], "a write answers the light a read does");
    (read.body["light"].clone(), codes(&read.body), read.body)
}

async fn each_rule_lights_at_its_boundary(app: TestApp) {
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (json!({"stage": "lead"}), json!("green"), vec![]),
        (json!({"stage": "signed", "signed_on": ago(72)}), json!("green"), vec![]),
        (json!({"stage": "signed", "signed_on": ago(73)}), json!("amber"), vec!["registration_overdue"]),
        (json!({"stage": "signed", "signed_on": ago(90)}), json!("amber"), vec!["registration_overdue"]),
        (json!({"stage": "signed", "signed_on": ago(91)}), json!("red"), vec!["registration_overdue"]),
        (json!({"stage": "registered", "signed_on": ago(200), "registered_on": ago(180)}), json!("amber"), vec!["construction_overdue"]),
        (json!({"stage": "registered", "signed_on": ago(200), "registered_on": ago(181)}), json!("red"), vec!["construction_overdue"]),
        (json!({"stage": "under_construction", "signed_on": ago(800), "started_on": ago(730)}), json!("amber"), vec!["operation_overdue"]),
        (json!({"stage": "under_construction", "signed_on": ago(800), "started_on": ago(731)}), json!("red"), vec!["operation_overdue"]),
        (json!({"stage": "negotiating", "planned_start_on": ago(0)}), json!("green"), vec![]),
        (json!({"stage": "negotiating", "planned_start_on": ago(90)}), json!("amber"), vec!["planned_start_missed"]),
        (json!({"stage": "negotiating", "planned_start_on": ago(91)}), json!("red"), vec!["planned_start_missed"]),
        (json!({"stage": "under_construction", "started_on": ago(1), "planned_start_on": ago(100), "planned_operating_on": ago(1)}),
            json!("amber"), vec!["planned_operating_missed"]),
        (json!({"stage": "registered", "signed_on": ago(90), "registered_on": ago(1), "contracted_investment_usd": 1_000_000}), json!("green"), vec![]),
        (json!({"stage": "registered", "signed_on": ago(91), "registered_on": ago(1), "contracted_investment_usd": 1_000_000}),
            json!("amber"), vec!["funds_below_contract"]),
        (json!({"stage": "operating", "signed_on": ago(900), "operating_on": ago(10)}), Value::Null, vec![]),
        (json!({"stage": "dropped", "signed_on": ago(900)}), Value::Null, vec![]),
    ];
    for (body, light, reasons) in cases {
        let (got, got_reasons, _) = lit(&app, body.clone()).await;
        assert_eq!((got, got_reasons), (light, reasons.iter().map(|r| r.to_string()).collect()), "{body}");
    }
    let (_, _, read) = lit(&app, json!({"stage": "signed", "signed_on": ago(95)})).await;
    assert_eq!(read["light_reasons"][0]["label"], "签约已95天，尚未注册落地（时限90天）");
    assert_eq!(read["light_reasons"][0]["days"], 95);
    let listed = app.get("/api/v1/projects?stage=signed&limit=200").await;
    assert!(listed.body["items"].as_array().unwrap().iter().all(|p| p["light"].is_string()), "lists carry lights too");
}

async fn monitoring_lists_red_first_with_counts_per_park(app: TestApp) {
    app.create_project(json!({"name": "绿灯项目", "stage": "lead"})).await;
    app.create_project(json!({"name": "黄灯项目", "stage": "signed", "signed_on": ago(80)})).await;
    app.create_project(json!({"name": "红灯项目", "stage": "signed", "signed_on": ago(120)})).await;
    app.create_project(json!({"park_code": "xiangtan", "name": "湘潭红灯", "stage": "signed", "signed_on": ago(120)})).await;
    app.create_project(json!({"name": "运营项目", "stage": "operating", "operating_on": ago(1)})).await;

    let all = app.get("/api/v1/monitoring").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let lights: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|i| i["light"].as_str().unwrap()).collect();
    assert_eq!(lights, ["red", "red", "amber", "green"], "red first; operating is not watched");
    assert_eq!(all.body["counts"], json!([
        {"park_code": "xiangtan", "green": 0, "amber": 0, "red": 1},
        {"park_code": "yueyang", "green": 1, "amber": 1, "red": 1},
    ]));

    let red = app.as_(Who::ParkStaff).get("/api/v1/monitoring?light=red").await;
    let items = red.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", red.text);
    assert_eq!(items[0]["name"], "红灯项目");
    assert!(items[0]["light_reasons"][0]["label"].as_str().unwrap().contains("尚未注册落地"), "{}", red.text);
    assert_eq!(red.body["counts"], json!([{"park_code": "yueyang", "green": 1, "amber": 1, "red": 1}]), "own park only");

    let page = app.get("/api/v1/monitoring?limit=3").await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 3);
    let next = page.body["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("/api/v1/monitoring?limit=3&cursor={next}")).await;
    assert_eq!(rest.body["items"][0]["light"], "green");
    assert_eq!(rest.body["next_cursor"], Value::Null);
    assert_eq!(app.get("/api/v1/monitoring?light=blue").await.status, 400);
    assert_eq!(app.get("/api/v1/monitoring?cursor=zz").await.status, 400);
}

async fn no_progress_ages_with_the_service_clock(app: TestApp) {
    let project = app.create_project(json!({"name": "久未推进", "stage": "negotiating"})).await;
    let today = chrono::Utc::now().date_naive();
    let watch = |n: i64| {
        let app = &app;
        async move {
            app.clock.set_today(today + Duration::days(n));
            let res = app.get("/api/v1/monitoring?stage=negotiating").await;
            assert_eq!(res.body["as_of"], (today + Duration::days(n)).to_string());
            let item = &res.body["items"][0];
            (item["light"].as_str().unwrap().to_owned(), codes(item))
        }
    };
    assert_eq!(watch(60).await, ("green".into(), vec![]));
    assert_eq!(watch(61).await, ("amber".into(), vec!["no_progress".into()]));
    assert_eq!(watch(91).await, ("red".into(), vec!["no_progress".into()]));
    let res = app.get("/api/v1/monitoring?light=red").await;
    assert_eq!(res.body["items"][0]["light_reasons"][0]["label"], "已连续91天无进展");
    assert_eq!(res.body["items"][0]["project_id"], project["id"]);
    let _: NaiveDate = today;
}

async fn the_rules_are_the_provinces_to_change(app: TestApp) {
    let read = app.as_(Who::ParkViewer).get("/api/v1/monitoring/rules").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(read.body["signed_to_registered_days"], 90);
    assert_eq!(read.body["claim_lapse_days"], 180);
    let body = json!({"signed_to_registered_days": 100});
    assert_eq!(app.as_(Who::ParkAdmin).send(actix_web::http::Method::PUT, "/api/v1/monitoring/rules",
        &[("content-type", "application/json"), ("if-match", "\"1\"")], Some(body.to_string().into_bytes())).await.status, 403);
    let put = |body: Value, tag: &'static str| {
        let app = &app;
        async move {
            app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::PUT, "/api/v1/monitoring/rules",
                &[("content-type", "application/json"), ("if-match", tag)], Some(body.to_string().into_bytes())).await
        }
    };
    put(json!({"claim_red_days": 200}), "\"1\"").await.assert_problem(422, "claim_lapse_days", "order");
    let project = app.create_project(json!({"stage": "signed", "signed_on": ago(91)})).await;
    assert_eq!(project["light"], "red");
    let changed = put(body.clone(), "\"1\"").await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(put(body, "\"1\"").await.status, 412);
    let read = app.get(&format!("/api/v1/projects/{}", project["id"].as_str().unwrap())).await;
    assert_eq!(read.body["light"], "amber", "91 days of 100 is in the last fifth");
    assert_eq!(read.body["light_reasons"][0]["label"], "签约已91天，尚未注册落地（时限100天）");
}

/// Reads keep the rules in memory (`monitoring::rules::as_seen`); a save by
/// another instance on the same database (here: written beside the service,
/// as that instance's `save` would) judges the very next read, by id and in
/// lists alike, on the instance that kept the old rules.
async fn rules_saved_by_another_instance_judge_the_next_read(app: TestApp) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let project = app.create_project(json!({"stage": "signed", "signed_on": ago(91)})).await;
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap());
    let read = app.get(&path).await;
    assert_eq!((read.status, read.body["light"].as_str()), (200, Some("red")), "{}", read.text);
    assert_eq!(app.get("/api/v1/projects").await.body["items"][0]["light"], "red");

    let save = "UPDATE monitoring_rules SET rules = '{\"signed_to_registered_days\": 97}', version = version + 1, \
                updated_at = CURRENT_TIMESTAMP, updated_by = 'elsewhere' WHERE id = 1";
    match app.backend {
        crate::helpers::Backend::Sqlite => diesel::SqliteConnection::establish(&app.database_url).unwrap().batch_execute(save).unwrap(),
        crate::helpers::Backend::Postgres => diesel::PgConnection::establish(&app.database_url).unwrap().batch_execute(save).unwrap(),
    }
    let read = app.get(&path).await;
    assert_eq!(read.body["light"], "amber", "91 days of 97 is in the last fifth: {}", read.text);
    assert_eq!(read.body["light_reasons"][0]["label"], "签约已91天，尚未注册落地（时限97天）");
    let listed = app.get("/api/v1/projects").await;
    assert_eq!(listed.body["items"][0]["light"], "amber", "{}", listed.text);
    assert_eq!(listed.body["items"][0]["light_reasons"], read.body["light_reasons"]);
}

async fn notices_are_issued_by_the_province_and_answered_by_the_park(app: TestApp) {
    let project = app.create_project(json!({"name": "督办项目", "stage": "signed", "signed_on": ago(100)})).await;
    let path = format!("/api/v1/projects/{}/notices", project["id"].as_str().unwrap());
    let today = chrono::Utc::now().date_naive();
    let body = json!({"due_on": (today + Duration::days(10)).to_string(), "text": "请说明未按期注册落地的原因"});
    assert_eq!(app.as_(Who::ParkAdmin).post(&path, &body).await.status, 403);
    assert_eq!(app.as_(Who::OtherParkStaff).post(&path, &body).await.status, 404);
    app.post(&path, &json!({"due_on": ago(1), "text": "过期"})).await.assert_problem(422, "due_on", "range");
    let issued = app.post(&path, &body).await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    assert_eq!(issued.body["open"], true);
    let notice = issued.body["id"].as_str().unwrap().to_owned();

    let listed = app.as_(Who::ParkStaff).get("/api/v1/monitoring").await;
    assert_eq!(listed.body["notices"][0]["id"], notice);
    assert_eq!(listed.body["notices"][0]["overdue"], false);
    app.clock.set_today(today + Duration::days(11));
    let overdue = app.as_(Who::ParkStaff).get("/api/v1/monitoring").await;
    assert_eq!(overdue.body["notices"][0]["overdue"], true, "{}", overdue.text);
    assert_eq!(app.as_(Who::OtherParkStaff).get("/api/v1/monitoring").await.body["notices"], json!([]));

    let answer = format!("{path}/{notice}/response");
    assert_eq!(app.as_(Who::ParkViewer).post(&answer, &json!({"text": "x"})).await.status, 403);
    let answered = app.as_(Who::ParkStaff).post(&answer, &json!({"text": "已提交注册材料，预计两周内完成"})).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!((answered.body["open"].clone(), answered.body["overdue"].clone()), (json!(false), json!(false)));
    app.as_(Who::ParkStaff).post(&answer, &json!({"text": "再答"})).await.assert_problem(409, "text", "answered");
    assert_eq!(app.get("/api/v1/monitoring").await.body["notices"], json!([]));
    let on_project = app.as_(Who::ParkViewer).get(&path).await;
    assert_eq!(on_project.body["items"][0]["responded_by"], "yy.staff");
    let history = app.get(&format!("/api/v1/projects/{}/history", project["id"].as_str().unwrap())).await;
    let fields: Vec<&str> = history.body["items"].as_array().unwrap().iter().take(2).map(|e| e["changes"][0]["field"].as_str().unwrap()).collect();
    assert_eq!(fields, [format!("notices[{notice}]"), format!("notices[{notice}]")]);
}
