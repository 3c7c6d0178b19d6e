//! The change feed: what it carries, whom it shows what, and that its cursor
//! neither skips nor repeats while writers run side by side.

use std::collections::HashSet;

use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    the_feed_lists_every_change_oldest_first_and_resumes_where_it_stopped,
    each_caller_sees_the_changes_of_what_it_may_read,
    concurrent_writers_lose_and_repeat_nothing,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Reads the feed from `cursor` to its current end, a page of `limit` at a time.
async fn drain(app: &TestApp, who: Who, query: &str, cursor: &mut String, limit: u32) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let page = app.as_(who).get(&format!("/api/v1/changes?limit={limit}&cursor={cursor}{query}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        events.extend(page.body["items"].as_array().unwrap().iter().cloned());
        *cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
        if page.body["more"] == json!(false) {
            return events;
        }
    }
}

/// Waits until the feed shows every change committed so far. On PostgreSQL
/// the feed holds back what follows the oldest running transaction of the
/// cluster: parallel tests (migrating their own databases) delay it briefly.
async fn caught_up(app: &TestApp) {
    let written = change_events_in_the_audit_table(app, "1 = 1").len();
    for _ in 0..400 {
        if app.get("/api/v1/changes?limit=200&since=2000-01-01").await.body["items"].as_array().unwrap().len() == written {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the feed did not catch up with the audit table in 10 s");
}

fn summary(events: &[Value]) -> Vec<(String, String, String)> {
    events.iter().map(|e| (e["library"].as_str().unwrap().into(), e["action"].as_str().unwrap().into(), e["record_id"].as_str().unwrap().into())).collect()
}

async fn the_feed_lists_every_change_oldest_first_and_resumes_where_it_stopped(app: TestApp) {
    let mut cursor = String::new();
    assert!(drain(&app, Who::ProvincialAdmin, "", &mut cursor, 50).await.is_empty(), "a new registry has no changes; logins are not changes");

    let project = app.create_project(json!({})).await;
    let project_path = format!("/api/v1/projects/{}", id(&project));
    assert_eq!(app.patch(&project_path, Some("\"1\""), &json!({"stage": "negotiating"})).await.status, 200);
    let investor = app.create_investor(json!({})).await;
    let contact = app.post(&format!("/api/v1/investors/{}/contacts", id(&investor)), &json!({"name": "陈志明", "phone": "0912-345-678"})).await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    assert_eq!(app.get(&format!("/api/v1/investors/{}/contacts/{}", id(&investor), id(&contact.body))).await.status, 200, "an unmasked read");
    assert_eq!(app.delete(&project_path, None).await.status, 204);

    // Two at a time, so the cursor is used between every pair. On PostgreSQL
    // a page may still stop short while another transaction of the database
    // runs (the webhook worker's polls, say): what it holds back comes on the
    // next read from the same cursor, never skipped and never repeated.
    caught_up(&app).await;
    let mut events = Vec::new();
    for _ in 0..400 {
        events.extend(drain(&app, Who::ProvincialAdmin, "", &mut cursor, 2).await);
        if events.len() >= 5 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (p, i) = (id(&project), id(&investor));
    let expected = [("project", "create", &p), ("project", "update", &p), ("investor", "create", &i), ("investor", "update", &i), ("project", "delete", &p)];
    let expected: Vec<_> = expected.iter().map(|(l, a, r)| ((*l).to_owned(), (*a).to_owned(), (*r).clone())).collect();
    assert_eq!(summary(&events), expected, "the contact is a change of its investor; the unmasked read is not a change");
    let stage = &events[1]["changes"].as_array().unwrap().iter().find(|c| c["field"] == "stage").unwrap().clone();
    assert_eq!((stage["old"].clone(), stage["new"].clone()), (json!("lead"), json!("negotiating")));
    let contact_change = events[3]["changes"][0].clone();
    assert!(contact_change["field"].as_str().unwrap().starts_with("contacts["), "{contact_change}");
    assert!(!contact_change.to_string().contains("912345678"), "no personal data in the feed: {contact_change}");

    // Nothing new: the same cursor comes back, and a later change follows it.
    assert!(drain(&app, Who::ProvincialAdmin, "", &mut cursor, 2).await.is_empty());
    let talent = app.create_talent(json!({})).await;
    caught_up(&app).await;
    assert_eq!(summary(&drain(&app, Who::ProvincialAdmin, "", &mut cursor, 2).await), vec![("talent".into(), "create".into(), id(&talent))]);

    // `since` starts the feed at a time, `library` keeps some kinds.
    let all = app.get("/api/v1/changes?limit=200&since=2000-01-01").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 6);
    let future = app.get("/api/v1/changes?since=2100-01-01").await;
    assert_eq!(future.body["items"], json!([]));
    // Its cursor goes on from now, not from the start of the trail.
    let mut from_now = future.body["next_cursor"].as_str().unwrap().to_owned();
    let later = app.create_investor(json!({"name": "后来的客商"})).await;
    caught_up(&app).await;
    assert_eq!(summary(&drain(&app, Who::ProvincialAdmin, "", &mut from_now, 50).await), vec![("investor".into(), "create".into(), id(&later))]);
    let investors = app.get("/api/v1/changes?library=investor").await;
    assert_eq!(investors.body["items"].as_array().unwrap().len(), 3);

    app.get("/api/v1/changes?library=projects").await.assert_problem(400, "library", "enum");
    app.get("/api/v1/changes?cursor=not-a-cursor").await.assert_problem(400, "cursor", "cursor");
    app.get("/api/v1/changes?limit=0").await.assert_problem(400, "limit", "range");
    assert_eq!(app.as_(Who::Anonymous).get("/api/v1/changes").await.status, 401);
}

async fn each_caller_sees_the_changes_of_what_it_may_read(app: TestApp) {
    let yueyang = app.create_project(json!({})).await;
    let xiangtan = app.create_project(json!({"park_code": "xiangtan", "name": "湘潭精密模具项目"})).await;
    let group = json!({"rank": 3, "group_name": "示例集团（测试资料）", "list_source": "测试", "list_year": 2024});
    assert_eq!(app.post("/api/v1/top100", &group).await.status, 201);
    caught_up(&app).await;

    let seen = |events: Vec<Value>| events.iter().map(|e| e["record_id"].as_str().unwrap().to_owned()).collect::<HashSet<_>>();
    for who in [Who::ParkAdmin, Who::ParkStaff, Who::ParkViewer] {
        let mut cursor = String::new();
        let events = drain(&app, who, "", &mut cursor, 50).await;
        assert_eq!(seen(events), HashSet::from([id(&yueyang)]), "{who:?} sees its park only, not the province's list");
        let mut cursor = String::new();
        assert!(drain(&app, who, "&park=xiangtan", &mut cursor, 50).await.is_empty(), "{who:?} asking for another park");
    }
    let mut cursor = String::new();
    assert_eq!(seen(drain(&app, Who::OtherParkStaff, "", &mut cursor, 50).await), HashSet::from([id(&xiangtan)]));
    let mut cursor = String::new();
    let province = drain(&app, Who::ProvincialViewer, "", &mut cursor, 50).await;
    assert_eq!(province.len(), 3, "both parks' projects and the top-100 group");
    let mut cursor = String::new();
    assert_eq!(seen(drain(&app, Who::ProvincialViewer, "&park=xiangtan", &mut cursor, 50).await), HashSet::from([id(&xiangtan)]));
}

/// Writers and a reader run side by side; afterwards the reader has seen
/// every change event in the audit table exactly once.
async fn concurrent_writers_lose_and_repeat_nothing(app: TestApp) {
    let app = std::rc::Rc::new(app);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let app = app.clone();
            actix_web::rt::spawn(async move {
                for n in 0..8 {
                    let park = if (w + n) % 2 == 0 { "yueyang" } else { "xiangtan" };
                    let made = app.post("/api/v1/projects", &crate::helpers::project_body(json!({"park_code": park, "name": format!("并发项目 {w}-{n}")}))).await;
                    assert_eq!(made.status, 201, "{}", made.text);
                    let path = format!("/api/v1/projects/{}", made.body["id"].as_str().unwrap());
                    assert_eq!(app.patch(&path, Some("\"1\""), &json!({"stage": "negotiating"})).await.status, 200);
                }
            })
        })
        .collect();
    let mut cursor = String::new();
    let mut events = Vec::new();
    while !writers.iter().all(|w| w.is_finished()) {
        events.extend(drain(&app, Who::ProvincialViewer, "", &mut cursor, 7).await);
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let written = change_events_in_the_audit_table(&app, "entity_type = 'project'");
    assert_eq!(written.len(), 64);
    caught_up(&app).await;
    events.extend(drain(&app, Who::ProvincialViewer, "", &mut cursor, 7).await);
    let ids: Vec<String> = events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "an event came twice");
    assert_eq!(unique, written, "the feed and the audit table differ");
}

/// The ids of the audit table's change events that pass `condition`.
fn change_events_in_the_audit_table(app: &TestApp, condition: &str) -> HashSet<String> {
    #[derive(diesel::QueryableByName)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let changes = "action IN ('create', 'update', 'delete', 'purge') AND entity_type <> 'user'";
    diesel::sql_query(format!("SELECT id FROM audit_events WHERE {changes} AND {condition}"))
        .load::<Event>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// PostgreSQL only: on SQLite a writer holds the lock until it commits, so a
/// second writer cannot commit first. Here one can: a slow transaction takes
/// its place in the sequence, a fast one commits after it, and a reader
/// between the two must not move its cursor past the slow one's event.
mod a_slow_transaction_is_not_passed_over {
    use super::*;

    #[actix_web::test]
    async fn on_postgres() {
        let app = TestApp::spawn(Backend::Postgres).await;
        let mut cursor = String::new();
        drain(&app, Who::ProvincialAdmin, "", &mut cursor, 50).await;

        let mut slow = diesel::PgConnection::establish(&app.database_url).unwrap();
        slow.batch_execute(
            "BEGIN; INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, park_code, changes) \
             VALUES ('00000000-0000-7000-8000-000000000001', now(), 'slow', 'update', 'project', 'slow-one', 'yueyang', '[]')",
        )
        .unwrap();
        let fast = app.create_project(json!({})).await;
        let between = drain(&app, Who::ProvincialAdmin, "", &mut cursor, 50).await;
        assert!(between.is_empty(), "the fast change waits behind the running slow one: {between:?}");

        slow.batch_execute("COMMIT").unwrap();
        let mut after = Vec::new();
        for _ in 0..200 {
            after.extend(drain(&app, Who::ProvincialAdmin, "", &mut cursor, 50).await);
            if after.len() >= 2 {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let order: Vec<_> = after.iter().map(|e| e["record_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(order, vec!["slow-one".to_owned(), id(&fast)], "in commit-safe order, none skipped");
    }

    use diesel::connection::SimpleConnection;
}
