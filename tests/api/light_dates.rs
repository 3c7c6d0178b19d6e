//! The stored light days (`amber_on`, `red_on`) that `GET /monitoring`
//! reads: every kind of write that changes a fact a light reads recomputes
//! them, a change of the rules recomputes all of them, and
//! `projects::lights::check` finds none that differs from the judgement.
//!
//! Before each write the days of the projects it touches are made wrong on
//! purpose: the check is clean afterwards only if that writer recomputed them.

use chrono::Duration;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{investor_body, Backend, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    every_writer_recomputes_the_light_days,
    a_rule_change_recomputes_every_project,
    monitoring_pages_by_light_and_agrees_with_project_reads,
    a_merge_settles_the_target_of_a_registered_project,
    settling_audits_only_what_it_changed,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn ago(days: i64) -> String {
    (chrono::Utc::now().date_naive() - Duration::days(days)).to_string()
}

fn connection(app: &TestApp) -> invest_registry::db::PooledConn {
    invest_registry::db::connect(&app.database_url, 1).unwrap().get().unwrap()
}

/// The projects whose stored days differ from the judgement of their facts.
fn mismatches(app: &TestApp) -> Vec<String> {
    invest_registry::projects::lights::check(&mut connection(app)).unwrap()
}

fn assert_clean(app: &TestApp, after: &str) {
    let found = mismatches(app);
    assert!(found.is_empty(), "after {after}:\n{}", found.join("\n"));
}

/// Makes the stored days of `projects` wrong, and checks that the check sees
/// it. The kept counts are dropped and counted again from the spoilt days
/// (by a `GET /monitoring`), so that the write must move them too.
async fn spoil(app: &TestApp, projects: &[&Value]) {
    let mut conn = connection(app);
    diesel::sql_query("DELETE FROM light_counts").execute(&mut **conn).unwrap();
    for project in projects {
        let sql = format!("UPDATE projects SET amber_on = '1999-01-01', red_on = NULL, last_follow_up_on = '1999-01-02' WHERE id = '{}'", id(project));
        diesel::sql_query(sql).execute(&mut **conn).unwrap();
    }
    assert_eq!(app.get("/api/v1/monitoring").await.status, 200);
    assert_eq!(mismatches(app).len(), projects.len(), "the check finds spoilt days: {:?}", mismatches(app));
}

async fn every_writer_recomputes_the_light_days(app: TestApp) {
    let investor = app.create_investor(json!({"name": "鸿海精密"})).await;
    let other = app.create_investor(json!({"name": "广达电脑"})).await;
    let lead = app.create_project(json!({"stage": "negotiating", "investor_ids": [id(&investor)]})).await;
    let signed = app.create_project(json!({"stage": "signed", "signed_on": ago(100), "contracted_investment_usd": 1_000_000,
        "investor_ids": [id(&other)]})).await;
    assert_clean(&app, "creating projects");

    spoil(&app, &[&lead]).await;
    let tag = app.get(&format!("/api/v1/projects/{}", id(&lead))).await.header("etag").unwrap();
    let moved = app.patch(&format!("/api/v1/projects/{}", id(&lead)), Some(&tag), &json!({"planned_start_on": ago(5)})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_clean(&app, "a project update");

    spoil(&app, &[&signed]).await;
    let funds = format!("/api/v1/projects/{}/funds", id(&signed));
    let fund = app.post(&funds, &json!({"received_on": ago(50), "amount_usd": 300_000, "evidence": "bank_receipt", "evidence_ref": "BR-1"})).await;
    assert_eq!(fund.status, 201, "{}", fund.text);
    assert_clean(&app, "a fund recorded");
    spoil(&app, &[&signed]).await;
    let verified = app.post(&format!("{funds}/{}/verification", id(&fund.body)), &json!({"decision": "verified"})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_clean(&app, "a fund verified");

    // A follow-up dated tomorrow is the lead's latest progress: its days move.
    let before = app.get(&format!("/api/v1/projects/{}", id(&lead))).await.body;
    spoil(&app, &[&lead]).await;
    let tomorrow = (chrono::Utc::now().date_naive() + Duration::days(1)).to_string();
    let follow_up = app.post(&format!("/api/v1/investors/{}/follow-ups", id(&investor)), &json!({"date": tomorrow, "channel": "visit", "summary": "拜访"})).await;
    assert_eq!(follow_up.status, 201, "{}", follow_up.text);
    assert_clean(&app, "a follow-up");
    let read = app.get(&format!("/api/v1/projects/{}", id(&lead))).await;
    assert_eq!(read.body["last_follow_up_on"], json!(tomorrow), "a read shows its investors' latest follow-up: {}", read.text);
    app.clock.set_today(chrono::Utc::now().date_naive() + Duration::days(61));
    let watched = app.get("/api/v1/monitoring?stage=negotiating").await;
    assert_eq!(watched.body["items"][0]["project_id"], lead["id"]);
    assert_eq!(before["light"], "amber", "the missed planned start");
    assert_eq!(watched.body["items"][0]["light_reasons"].as_array().unwrap().iter().filter(|r| r["code"] == "no_progress").count(), 0,
        "61 days after today is 60 after the follow-up: no no-progress yet");

    // Deleting an investor takes its follow-ups out of its projects' progress.
    spoil(&app, &[&lead]).await;
    let tag = app.get(&format!("/api/v1/investors/{}", id(&investor))).await.header("etag").unwrap();
    assert_eq!(app.delete(&format!("/api/v1/investors/{}", id(&investor)), Some(&tag)).await.status, 204);
    assert_clean(&app, "an investor deleted");
    let read = app.get(&format!("/api/v1/projects/{}", id(&lead))).await;
    assert_eq!(read.body["last_follow_up_on"], Value::Null, "a deleted investor's follow-ups leave its projects: {}", read.text);

    // A merge brings follow-ups and links.
    let keep = app.create_investor(json!({"name": "仁宝电脑"})).await;
    let gone = app.create_investor(investor_body(json!({"name": "仁寶電腦工業", "allow_same_name": true}))).await;
    app.post(&format!("/api/v1/investors/{}/follow-ups", id(&gone)), &json!({"date": tomorrow, "channel": "call", "summary": "电话"})).await;
    let linked = app.create_project(json!({"stage": "lead", "investor_ids": [id(&keep)]})).await;
    let moved = app.create_project(json!({"stage": "lead", "investor_ids": [id(&gone)]})).await;
    spoil(&app, &[&linked, &moved]).await;
    let tag = app.get(&format!("/api/v1/investors/{}", id(&keep))).await.header("etag").unwrap();
    let merged = app.as_(Who::ParkAdmin).send(actix_web::http::Method::POST, &format!("/api/v1/investors/{}/merge", id(&keep)),
        &[("content-type", "application/json"), ("if-match", &tag)], Some(json!({"from": id(&gone)}).to_string().into_bytes())).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_clean(&app, "a merge");
    let read = app.get(&format!("/api/v1/projects/{}", id(&linked))).await;
    assert_eq!(read.body["last_follow_up_on"], json!(tomorrow), "the follow-ups merged in count: {}", read.text);
    let created = app.create_project(json!({"stage": "lead", "investor_ids": [id(&keep)]})).await;
    assert_eq!(created["last_follow_up_on"], json!(tomorrow), "a new project's answer: {created}");
    let read = app.get(&format!("/api/v1/projects/{}", id(&created))).await;
    assert_eq!(read.body["last_follow_up_on"], json!(tomorrow), "a new project's row: {}", read.text);
    assert_clean(&app, "a project created linked to an investor followed up");

    // A deleted project is no longer watched, nor counted.
    spoil(&app, &[&signed]).await;
    let tag = app.get(&format!("/api/v1/projects/{}", id(&signed))).await.header("etag").unwrap();
    assert_eq!(app.delete(&format!("/api/v1/projects/{}", id(&signed)), Some(&tag)).await.status, 204);
    assert_clean(&app, "a project deleted");

    // An import goes through the same batch write as the API's creates.
    let csv = format!(
        "园区代码,项目名称,产业,招商方式,项目阶段,计划投资（美元）,签约日期,关联客商编号\n\
         yueyang,导入的签约项目,electronic_information,targeted,signed,1000000,{},\n\
         yueyang,导入的跟进项目,electronic_information,targeted,lead,1000000,,{}\n",
        ago(95),
        id(&keep)
    );
    let imported = crate::exchange::imports::import_into(&app, Who::ParkStaff, "projects", csv.as_bytes(), &[("dry_run", "false")]).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.body["created"], 2, "{}", imported.text);
    assert_clean(&app, "an import");
    let followed = app.get(&format!("/api/v1/projects?q={}", crate::helpers::enc("导入的跟进项目"))).await;
    assert_eq!(followed.body["items"][0]["last_follow_up_on"], json!(tomorrow), "an imported project's copy: {}", followed.text);
    let red = app.get("/api/v1/monitoring?light=red").await;
    assert!(red.text.contains("导入的签约项目"), "an imported project signed 95 days ago is red: {}", red.text);
}

async fn a_rule_change_recomputes_every_project(app: TestApp) {
    for days in [70, 80, 95] {
        app.create_project(json!({"stage": "signed", "signed_on": ago(days)})).await;
    }
    app.create_project(json!({"park_code": "xiangtan", "stage": "registered", "signed_on": ago(200), "registered_on": ago(170)})).await;
    let counts = |report: &Value| report["counts"].clone();
    let before = app.get("/api/v1/monitoring").await;
    assert_eq!(counts(&before.body), json!([
        {"park_code": "xiangtan", "green": 0, "amber": 1, "red": 0},
        {"park_code": "yueyang", "green": 1, "amber": 1, "red": 1},
    ]));
    let put = app.as_(Who::ProvincialAdmin).send(actix_web::http::Method::PUT, "/api/v1/monitoring/rules",
        &[("content-type", "application/json"), ("if-match", "\"1\"")],
        Some(json!({"signed_to_registered_days": 60, "registered_to_started_days": 400}).to_string().into_bytes())).await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_clean(&app, "a rule change");
    let after = app.get("/api/v1/monitoring").await;
    assert_eq!(counts(&after.body), json!([
        {"park_code": "xiangtan", "green": 1, "amber": 0, "red": 0},
        {"park_code": "yueyang", "green": 0, "amber": 0, "red": 3},
    ]), "every project judged by the new rules");
}

async fn monitoring_pages_by_light_and_agrees_with_project_reads(app: TestApp) {
    let mut made = Vec::new();
    for (park, body) in [
        ("yueyang", json!({"stage": "lead"})),
        ("yueyang", json!({"stage": "signed", "signed_on": ago(80)})),
        ("xiangtan", json!({"stage": "signed", "signed_on": ago(80)})),
        ("yueyang", json!({"stage": "signed", "signed_on": ago(120)})),
        ("xiangtan", json!({"stage": "signed", "signed_on": ago(120)})),
        ("chenzhou", json!({"stage": "negotiating", "planned_start_on": ago(10)})),
        ("xiangtan", json!({"stage": "lead"})),
        ("yueyang", json!({"stage": "dropped"})),
    ] {
        let mut body = body;
        body["park_code"] = json!(park);
        made.push(app.create_project(body).await);
    }
    let whole = app.get("/api/v1/monitoring?limit=200").await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    let whole: Vec<Value> = whole.body["items"].as_array().unwrap().clone();
    assert_eq!(whole.len(), 7, "the dropped project is not watched");
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/api/v1/monitoring?limit=2{cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        paged.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={}", crate::helpers::enc(next)),
            None => break,
        }
    }
    assert_eq!(paged, whole, "pages of two make up the whole list, in order");
    let rank = |l: &Value| match l.as_str() { Some("red") => 0, Some("amber") => 1, _ => 2 };
    let order: Vec<(i32, String, String)> = whole.iter().map(|i| (rank(&i["light"]), i["park_code"].as_str().unwrap().into(), id_of(i))).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "red, amber, green; then park and id");
    for item in &whole {
        let read = app.get(&format!("/api/v1/projects/{}", id_of(item))).await;
        assert_eq!((&read.body["light"], &read.body["light_reasons"]), (&item["light"], &item["light_reasons"]), "a read and /monitoring agree");
    }
    let amber = app.get("/api/v1/monitoring?light=amber&park=xiangtan&park=chenzhou").await;
    let ids: Vec<String> = amber.body["items"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids.len(), 2, "{}", amber.text);
    assert!(ids.contains(&id(&made[2])) && ids.contains(&id(&made[5])));
    let staff = app.as_(Who::ParkStaff).get("/api/v1/monitoring?park=xiangtan").await;
    assert_eq!(staff.body["items"].as_array().unwrap().len(), 0, "a park role sees its own park only: {}", staff.text);
    assert_eq!(staff.body["counts"], json!([]), "nor another park's counts");
    app.get("/api/v1/monitoring?cursor=red:yueyang:not-an-id").await.assert_problem(400, "cursor", "cursor");
}

fn id_of(item: &Value) -> String {
    item["project_id"].as_str().unwrap().to_owned()
}

/// A merge moving a link to a registered project settles the investor kept,
/// as the system's change (DESIGN "Duplicates").
async fn a_merge_settles_the_target_of_a_registered_project(app: TestApp) {
    let keep = app.create_investor(json!({"name": "台达电子", "status": "negotiating"})).await;
    let gone = app.create_investor(json!({"name": "台達電子工業", "status": "negotiating"})).await;
    app.create_project(json!({"stage": "registered", "signed_on": ago(40), "registered_on": ago(30), "investor_ids": [id(&gone)]})).await;
    let gone_read = app.get(&format!("/api/v1/investors/{}", id(&gone))).await;
    assert_eq!(gone_read.body["status"], "settled", "the project's own write settles its investor");
    let tag = app.get(&format!("/api/v1/investors/{}", id(&keep))).await.header("etag").unwrap();
    let merged = app.as_(Who::ParkAdmin).send(actix_web::http::Method::POST, &format!("/api/v1/investors/{}/merge", id(&keep)),
        &[("content-type", "application/json"), ("if-match", &tag)], Some(json!({"from": id(&gone)}).to_string().into_bytes())).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let kept = app.get(&format!("/api/v1/investors/{}", id(&keep))).await;
    assert_eq!(kept.body["status"], "settled", "{}", kept.text);
    assert_eq!(kept.body["settled_on"], ago(30));
    let history = app.get(&format!("/api/v1/investors/{}/history", id(&keep))).await;
    let settling: Vec<&Value> = history.body["items"].as_array().unwrap().iter()
        .filter(|e| e["changes"].as_array().is_some_and(|c| c.iter().any(|c| c["field"] == "status" && c["new"] == "settled")))
        .collect();
    assert_eq!(settling.len(), 1, "{}", history.text);
    assert_eq!(settling[0]["actor"], "system");
}

/// When the version-guarded update of a settling writes nothing (here a
/// trigger makes the database skip it, as a concurrent write would), no
/// event says the investor was settled.
async fn settling_audits_only_what_it_changed(app: TestApp) {
    let investor = app.create_investor(json!({"name": "南亚科技", "status": "negotiating"})).await;
    let statements: &[&str] = match app.backend {
        Backend::Sqlite => &["CREATE TRIGGER hold_settling BEFORE UPDATE OF status ON investors WHEN NEW.status = 'settled' BEGIN SELECT RAISE(IGNORE); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION hold_settling() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
            "CREATE TRIGGER hold_settling BEFORE UPDATE ON investors FOR EACH ROW WHEN (NEW.status = 'settled') EXECUTE FUNCTION hold_settling()",
        ],
    };
    let mut conn = connection(&app);
    for sql in statements {
        diesel::sql_query(*sql).execute(&mut **conn).unwrap();
    }
    let made = app.create_project(json!({"stage": "registered", "signed_on": ago(40), "registered_on": ago(30), "investor_ids": [id(&investor)]})).await;
    assert_eq!(made["stage"], "registered", "{made}");
    let read = app.get(&format!("/api/v1/investors/{}", id(&investor))).await;
    assert_eq!(read.body["status"], "negotiating", "the update was skipped");
    let history = app.get(&format!("/api/v1/investors/{}/history", id(&investor))).await;
    let settled = history.body["items"].as_array().unwrap().iter()
        .filter(|e| e["action"] == "update" && e["changes"].as_array().is_some_and(|c| c.iter().any(|c| c["field"] == "status")))
        .count();
    assert_eq!(settled, 0, "no event for a change not made: {}", history.text);
}
