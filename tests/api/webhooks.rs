//! Webhooks: deliveries signed and in order, retried until a 2xx, nothing
//! for a rolled-back change, no hooks to inside addresses unless listed, and
//! each park's hooks its own. A receiver in Python (tests/webhooks/receiver.py,
//! standard library) checks every signature with Python's hmac.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    a_project_moved_through_two_stages_reaches_the_receiver_signed_and_in_order,
    a_receiver_that_fails_three_times_gets_the_event_once_more,
    a_rolled_back_change_sends_nothing,
    hooks_to_inside_addresses_are_refused_unless_listed,
    each_park_manages_its_own_hooks,
    silent_receivers_of_one_park_do_not_delay_another_park,
    refusals_and_the_delivery_log_do_not_map_the_inside,
    a_hook_reads_back_from_its_location_and_an_empty_change_keeps_its_version,
    the_delivery_log_keeps_the_newest_attempts,
    lights_turning_with_the_days_reach_the_hooks_once,
    a_write_that_changes_a_light_sends_it,
);

/// The Python receiver, on a free port; stopped when dropped.
struct Receiver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Receiver {
    fn start(fail_first: u32) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "").unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--secret-file")
            .arg(dir.path().join("secret"))
            .arg("--log")
            .arg(dir.path().join("log.jsonl"))
            .arg("--fail-first")
            .arg(fail_first.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the receiver printed {line:?}"));
        Receiver { child, port, dir }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn set_secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).unwrap();
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("log.jsonl")
    }

    /// Every request so far.
    fn got(&self) -> Vec<Value> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (at most 20 s) until `n` requests came.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n || start.elapsed() > Duration::from_secs(20) {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a hook to `receiver` as `who` and hands the receiver its secret.
async fn hook(app: &TestApp, who: Who, receiver: &Receiver, body: Value) -> Value {
    let mut body = body;
    body["url"] = json!(receiver.url());
    let made = app.as_(who).post("/api/v1/webhooks", &body).await;
    assert_eq!(made.status, 201, "{}", made.text);
    receiver.set_secret(made.body["secret"].as_str().unwrap());
    made.body
}

async fn a_project_moved_through_two_stages_reaches_the_receiver_signed_and_in_order(app: TestApp) {
    let receiver = Receiver::start(0);
    let made = hook(&app, Who::ParkAdmin, &receiver, json!({"events": ["project.created", "project.stage_changed"]})).await;
    assert_eq!(made["park_code"], "yueyang", "a park's administrator's hook is for its park");
    assert!(made["secret"].as_str().unwrap().len() >= 32);

    // Another park's project and an event nobody subscribed to: not sent.
    app.create_project(json!({"park_code": "xiangtan", "name": "湘潭减速机项目"})).await;
    let project = app.create_project(json!({"name": "岳阳先进封装项目"})).await;
    let id = project["id"].as_str().unwrap();
    let path = format!("/api/v1/projects/{id}");
    let notes = app.patch(&path, Some("\"1\""), &json!({"notes": "只是备注"})).await;
    assert_eq!(notes.status, 200, "{}", notes.text);
    let moved = app.patch(&path, Some("\"2\""), &json!({"stage": "negotiating"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let moved = app.patch(&path, Some("\"3\""), &json!({"stage": "signed", "signed_on": "2026-11-20"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    let got = receiver.wait_for(3).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let got_after = receiver.got();
    assert_eq!(got_after.len(), 3, "three events, nothing else: {got_after:#?}");
    assert!(got.iter().all(|g| g["verified"] == true), "every signature checks out in Python: {got:#?}");
    let events: Vec<_> = got.iter().map(|g| g["body"]["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["project.created", "project.stage_changed", "project.stage_changed"]);
    let stages: Vec<_> = got[1..].iter().map(|g| g["body"]["data"]["stage"]["new"].clone()).collect();
    assert_eq!(stages, [json!("negotiating"), json!("signed")]);
    for g in &got {
        let body = &g["body"];
        assert_eq!(body["park_code"], "yueyang");
        assert_eq!(body["data"]["record_id"], id);
        assert!(body["id"].as_str().is_some() && body["occurred_at"].as_str().is_some(), "{body}");
        assert!(!body.to_string().contains("岳阳先进封装项目"), "names stay home: {body}");
        assert!(!body.to_string().contains("yy.") && !body.to_string().contains("admin"), "so does who changed it: {body}");
    }

    let deliveries = app.as_(Who::ParkAdmin).get(&format!("/api/v1/webhooks/{}/deliveries", made["id"].as_str().unwrap())).await;
    assert_eq!(deliveries.status, 200, "{}", deliveries.text);
    let items = deliveries.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|d| d["ok"] == true && d["status_code"] == 204 && d["attempt"] == 1), "{items:#?}");
}

async fn a_receiver_that_fails_three_times_gets_the_event_once_more(app: TestApp) {
    let receiver = Receiver::start(3);
    let made = hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["*"]})).await;
    assert_eq!(made["park_code"], Value::Null, "the province's hook without a park hears every park");
    let project = app.create_project(json!({"park_code": "chenzhou"})).await;

    let got = receiver.wait_for(4).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let got = if got.len() == 4 { receiver.got() } else { got };
    let statuses: Vec<_> = got.iter().map(|g| g["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [500, 500, 500, 204], "three failures, then once more: {got:#?}");
    assert!(got.iter().all(|g| g["body"]["id"] == got[0]["body"]["id"] && g["body"]["event"] == "project.created"));
    assert_eq!(got[0]["body"]["data"]["record_id"], project["id"]);

    let hooks = app.get("/api/v1/webhooks").await;
    let listed = &hooks.body["items"][0];
    assert_eq!(listed["last_error"], Value::Null, "a success clears the error: {listed}");
    assert!(listed.get("secret").is_none(), "the secret is shown once: {listed}");
    let deliveries = app.get(&format!("/api/v1/webhooks/{}/deliveries", made["id"].as_str().unwrap())).await;
    let attempts: Vec<_> = deliveries.body["items"].as_array().unwrap().iter().map(|d| (d["attempt"].clone(), d["ok"].clone(), d["status_code"].clone())).collect();
    assert_eq!(attempts, [(json!(4), json!(true), json!(204)), (json!(3), json!(false), json!(500)), (json!(2), json!(false), json!(500)), (json!(1), json!(false), json!(500))]);
}

async fn a_rolled_back_change_sends_nothing(app: TestApp) {
    use invest_registry::audit::{self, Action, NewEvent};
    use invest_registry::error::ApiError;
    let receiver = Receiver::start(0);
    hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["*"]})).await;

    // A change that writes its event and then fails: the transaction takes both back.
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let ghost = uuid::Uuid::now_v7().to_string();
    let failed = invest_registry::db::write_tx(&mut conn, |conn| {
        audit::record(conn, NewEvent { actor: "admin", action: Action::Create, entity_type: "project", entity_id: &ghost, park_code: Some("yueyang"), changes: vec![] })?;
        Err::<(), _>(ApiError::internal("the change fails after its event"))
    });
    assert!(failed.is_err());
    // A request refused inside its transaction (a stale version) writes nothing either.
    let project = app.create_project(json!({})).await;
    let stale = app.patch(&format!("/api/v1/projects/{}", project["id"].as_str().unwrap()), Some("\"7\""), &json!({"stage": "signed"})).await;
    assert_eq!(stale.status, 412, "{}", stale.text);

    receiver.wait_for(1).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.got();
    let ids: Vec<_> = got.iter().map(|g| g["body"]["data"]["record_id"].clone()).collect();
    assert_eq!(ids, [project["id"].clone()], "only the committed change: {got:#?}");
    drop(conn);
}

async fn hooks_to_inside_addresses_are_refused_unless_listed(app: TestApp) {
    let app = &app;
    let post = |body: Value| async move { app.post("/api/v1/webhooks", &body).await };
    // The tests list 127.0.0.1 only (WEBHOOK_ALLOWED_HOSTS).
    for inside in ["http://10.0.0.1/hook", "http://127.0.0.2:9/hook", "http://[::1]:9/hook", "http://169.254.169.254/latest", "http://0.0.0.0:9/"] {
        post(json!({"url": inside, "events": ["*"]})).await.assert_problem(422, "url", "forbidden_address");
    }
    post(json!({"url": "ftp://127.0.0.1/x", "events": ["*"]})).await.assert_problem(422, "url", "scheme");
    post(json!({"url": "http://127.0.0.1:9/x", "events": ["project.exploded"]})).await.assert_problem(422, "events[0]", "enum");
    post(json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "park_code": "atlantis"})).await.assert_problem(422, "park_code", "unknown");
    post(json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "secret": "mine"})).await.assert_problem(422, "secret", "unknown_field");
    let made = post(json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "active": false})).await;
    assert_eq!(made.status, 201, "127.0.0.1 is listed: {}", made.text);
    assert_eq!(made.header("cache-control").as_deref(), Some("no-store"));
    let path = format!("/api/v1/webhooks/{}", made.body["id"].as_str().unwrap());
    app.patch(&path, Some("\"1\""), &json!({"url": "http://10.0.0.1/x"})).await.assert_problem(422, "url", "forbidden_address");
    let missing = app.patch(&path, None, &json!({"active": true})).await;
    assert_eq!(missing.status, 428, "{}", missing.text);
    let resumed = app.patch(&path, Some("\"1\""), &json!({"active": true, "events": ["talent.created"]})).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!((resumed.body["active"].clone(), resumed.body["events"].clone(), resumed.body["version"].clone()), (json!(true), json!(["talent.created"]), json!(2)));
    assert!(resumed.body.get("secret").is_none());
    let stale = app.patch(&path, Some("\"1\""), &json!({"active": false})).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(app.delete(&path, Some("\"2\"")).await.status, 204);
    assert_eq!(app.patch(&path, Some("*"), &json!({"active": false})).await.status, 404, "a deleted hook is gone");
}

async fn each_park_manages_its_own_hooks(app: TestApp) {
    let body = |park: Option<&str>| json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "active": false, "park_code": park});
    let province = app.post("/api/v1/webhooks", &body(None)).await;
    let xiangtan = app.post("/api/v1/webhooks", &body(Some("xiangtan"))).await;
    let yueyang = app.as_(Who::ParkAdmin).post("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "active": false})).await;
    for made in [&province, &xiangtan, &yueyang] {
        assert_eq!(made.status, 201, "{}", made.text);
    }
    let id = |r: &crate::helpers::Response| r.body["id"].as_str().unwrap().to_owned();

    let mine = app.as_(Who::ParkAdmin).get("/api/v1/webhooks").await;
    let ids: Vec<_> = mine.body["items"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [id(&yueyang)], "a park's administrator sees its park's hooks only");
    let all = app.get("/api/v1/webhooks").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);

    for other in [&province, &xiangtan] {
        let path = format!("/api/v1/webhooks/{}", id(other));
        assert_eq!(app.as_(Who::ParkAdmin).patch(&path, Some("*"), &json!({"active": true})).await.status, 404);
        assert_eq!(app.as_(Who::ParkAdmin).get(&format!("{path}/deliveries")).await.status, 404);
        assert_eq!(app.as_(Who::ParkAdmin).delete(&path, None).await.status, 404);
    }
    let refused = app.as_(Who::ParkAdmin).post("/api/v1/webhooks", &body(Some("xiangtan"))).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    for who in [Who::ParkStaff, Who::ParkViewer, Who::ProvincialViewer] {
        assert_eq!(app.as_(who).get("/api/v1/webhooks").await.status, 403, "{who:?}");
        assert_eq!(app.as_(who).post("/api/v1/webhooks", &body(Some("yueyang"))).await.status, 403, "{who:?}");
    }
}

/// A receiver that accepts connections and never answers; stopped when dropped.
struct Tarpit {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Tarpit {
    fn start() -> Tarpit {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((socket, _)) => held.push(socket),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Tarpit { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }
}

impl Drop for Tarpit {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn silent_receivers_of_one_park_do_not_delay_another_park(app: TestApp) {
    // The tests give a receiver 2 s (WebhookOptions::timeout); eight places, four per park.
    let tarpit = Tarpit::start();
    let mut silent = Vec::new();
    for _ in 0..6 {
        let made = app.as_(Who::ParkAdmin).post("/api/v1/webhooks", &json!({"url": tarpit.url(), "events": ["*"]})).await;
        assert_eq!(made.status, 201, "{}", made.text);
        silent.push(made.body["id"].as_str().unwrap().to_owned());
    }
    let receiver = Receiver::start(0);
    hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["*"], "park_code": "xiangtan"})).await;

    // yueyang's six hooks hang on their first event; then xiangtan changes.
    app.create_project(json!({})).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    let project = app.create_project(json!({"park_code": "xiangtan"})).await;
    let got = receiver.wait_for(1).await;
    let took = start.elapsed();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["body"]["data"]["record_id"], project["id"]);
    assert!(took < Duration::from_millis(1500), "xiangtan's delivery waited {took:?} behind yueyang's silent receivers");

    // The silent hooks time out and are retried later; each logs its own attempt.
    let start = Instant::now();
    let mut logged: Vec<Vec<Value>> = Vec::new();
    while start.elapsed() < Duration::from_secs(15) {
        logged.clear();
        for id in &silent {
            let page = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
            logged.push(page.body["items"].as_array().unwrap().clone());
        }
        if logged.iter().all(|attempts| !attempts.is_empty()) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(logged.iter().all(|attempts| !attempts.is_empty()), "every silent hook logged an attempt: {logged:#?}");
    let attempts: Vec<&Value> = logged.iter().flatten().collect();
    assert!(attempts.iter().all(|d| d["ok"] == false && d["status_code"].is_null() && d["error"] == "timeout"), "{attempts:#?}");
}

/// Every hook's deliveries, newest first.
async fn deliveries_of(app: &TestApp, id: &str) -> Vec<Value> {
    let page = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["items"].as_array().unwrap().clone()
}

async fn refusals_and_the_delivery_log_do_not_map_the_inside(app: TestApp) {
    // A name that does not resolve and addresses inside get one answer, naming no address
    // (a name resolving inside gets it too: src/webhooks/target.rs's tests, with nothing listed).
    let mut details = Vec::new();
    for url in ["http://no-such-host.invalid/x", "http://127.0.0.2:9/x", "http://10.0.0.1/x", "http://[::1]:9/x"] {
        let refused = app.post("/api/v1/webhooks", &json!({"url": url, "events": ["*"]})).await;
        refused.assert_problem(422, "url", "forbidden_address");
        let text = refused.text.clone();
        for inside in ["127.0.0", "::1", "10.0.0.1", "no-such-host"] {
            assert!(!text.contains(inside), "{url}: {text}");
        }
        details.push(refused.body["errors"].clone());
    }
    assert!(details.windows(2).all(|pair| pair[0] == pair[1]), "{details:#?}");

    // A closed port and a receiver answering 500: the log keeps the class, not the error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let to_closed = app.post("/api/v1/webhooks", &json!({"url": format!("http://127.0.0.1:{closed}/x"), "events": ["*"]})).await;
    assert_eq!(to_closed.status, 201, "{}", to_closed.text);
    let failing = Receiver::start(1);
    let to_failing = hook(&app, Who::ProvincialAdmin, &failing, json!({"events": ["*"]})).await;
    app.create_project(json!({})).await;
    failing.wait_for(2).await;
    let id = to_closed.body["id"].as_str().unwrap();
    let start = Instant::now();
    while deliveries_of(&app, id).await.is_empty() && start.elapsed() < Duration::from_secs(10) {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let attempts = deliveries_of(&app, id).await;
    assert!(!attempts.is_empty() && attempts.iter().all(|d| d["error"] == "connect"), "{attempts:#?}");
    let listed = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(listed.body["last_error"], "connect", "{}", listed.text);
    // The worker logs an attempt after the receiver has answered it: wait for the second entry.
    let failing_id = to_failing["id"].as_str().unwrap();
    let start = Instant::now();
    while deliveries_of(&app, failing_id).await.len() < 2 && start.elapsed() < Duration::from_secs(10) {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = deliveries_of(&app, failing_id).await;
    let classes: Vec<_> = answered.iter().map(|d| (d["status_code"].clone(), d["error"].clone())).collect();
    assert_eq!(classes, [(json!(204), Value::Null), (json!(500), json!("http_status"))], "{answered:#?}");
}

async fn a_hook_reads_back_from_its_location_and_an_empty_change_keeps_its_version(app: TestApp) {
    app.post("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:0/x", "events": ["*"]})).await.assert_problem(422, "url", "port");
    let made = app.as_(Who::ParkAdmin).post("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "active": false})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let location = made.header("location").unwrap();
    let read = app.as_(Who::ParkAdmin).get(&location).await;
    assert_eq!(read.status, 200, "the Location answers: {}", read.text);
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(read.body["id"], made.body["id"]);
    assert!(read.body.get("secret").is_none(), "{}", read.text);
    assert_eq!(app.get(&location).await.status, 200, "the province sees every park's hooks");
    let other = app.post("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "active": false, "park_code": "xiangtan"})).await;
    let other_location = other.header("location").unwrap();
    assert_eq!(app.as_(Who::ParkAdmin).get(&other_location).await.status, 404, "another park's hook does not exist for it");
    assert_eq!(app.as_(Who::ParkStaff).get(&location).await.status, 403);

    for unchanged in [json!({}), json!({"active": false, "events": ["*"]})] {
        let same = app.as_(Who::ParkAdmin).patch(&location, Some("\"1\""), &unchanged).await;
        assert_eq!(same.status, 200, "{}", same.text);
        assert_eq!((same.body["version"].clone(), same.header("etag")), (json!(1), Some("\"1\"".to_owned())), "{unchanged}: no new version");
    }
    app.as_(Who::ParkAdmin).patch(&location, Some("\"1\""), &json!({"url": "http://127.0.0.1:0/x"})).await.assert_problem(422, "url", "port");
    let changed = app.as_(Who::ParkAdmin).patch(&location, Some("\"1\""), &json!({"events": ["project.created"]})).await;
    assert_eq!(changed.body["version"], 2, "{}", changed.text);
    assert_eq!(app.as_(Who::ParkAdmin).delete(&location, Some("\"1\"")).await.status, 412, "a stale delete");
    assert_eq!(app.as_(Who::ParkAdmin).delete(&location, Some("\"2\"")).await.status, 204);
    assert_eq!(app.as_(Who::ParkAdmin).get(&location).await.status, 404);
}

async fn the_delivery_log_keeps_the_newest_attempts(app: TestApp) {
    // The tests keep five attempts per hook (WebhookOptions::deliveries_kept).
    let receiver = Receiver::start(0);
    let made = hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["project.created"]})).await;
    let mut projects = Vec::new();
    for i in 0..8 {
        projects.push(app.create_project(json!({"name": format!("日志项目{i}")})).await["id"].clone());
    }
    assert_eq!(receiver.wait_for(8).await.len(), 8);
    let id = made["id"].as_str().unwrap();
    let start = Instant::now();
    let mut kept = deliveries_of(&app, id).await;
    while kept.len() > 5 && start.elapsed() < Duration::from_secs(10) {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        kept = deliveries_of(&app, id).await;
    }
    let events: Vec<_> = receiver.got().iter().map(|g| g["body"]["id"].clone()).collect();
    let newest: Vec<_> = events.iter().rev().take(5).cloned().collect();
    let logged: Vec<_> = kept.iter().map(|d| d["event_id"].clone()).collect();
    assert_eq!(logged, newest, "the five newest attempts stay, newest first");
    assert_eq!(projects.len(), 8);
}

async fn lights_turning_with_the_days_reach_the_hooks_once(app: TestApp) {
    let receiver = Receiver::start(0);
    hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["project.light_changed"]})).await;
    // A lead without progress: amber after 60 days, red after 90 (the default rules).
    let project = app.create_project(json!({"name": "灯变项目"})).await;
    let today = chrono::Utc::now().date_naive();
    app.clock.set_today(today + chrono::Duration::days(61));
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    app.clock.set_today(today + chrono::Duration::days(91));
    let got = receiver.wait_for(2).await;
    let lights: Vec<_> = got.iter().map(|g| (g["body"]["event"].clone(), g["body"]["data"]["light"].clone())).collect();
    assert_eq!(lights, [
        (json!("project.light_changed"), json!({"old": "green", "new": "amber"})),
        (json!("project.light_changed"), json!({"old": "amber", "new": "red"})),
    ]);
    for g in &got {
        assert_eq!(g["verified"], true);
        assert_eq!((g["body"]["park_code"].clone(), g["body"]["data"]["record_id"].clone()), (json!("yueyang"), project["id"].clone()));
        assert!(!g["body"].to_string().contains("灯变项目"), "{}", g["body"]);
    }
    // A pass of a day already passed (a restart) records nothing.
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let again = invest_registry::webhooks::light_days::pass_days(&mut conn, today + chrono::Duration::days(91));
    assert_eq!(again.ok(), Some(0));
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.got().len(), 2);
}

async fn a_write_that_changes_a_light_sends_it(app: TestApp) {
    let receiver = Receiver::start(0);
    hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["project.light_changed"]})).await;
    let today = chrono::Utc::now().date_naive();
    let signed = |days: i64| (today - chrono::Duration::days(days)).to_string();
    let project = app.create_project(json!({"stage": "signed", "signed_on": signed(10)})).await;
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap());
    let before = app.get(&path).await.body["light"].clone();
    // Signed 200 days ago and still not registered: past the 90 days.
    let moved = app.patch(&path, Some("\"1\""), &json!({"signed_on": signed(200)})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let after = app.get(&path).await.body["light"].clone();
    assert_ne!(before, after, "the write changes the light");
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["body"]["data"]["light"], json!({"old": before, "new": after}));
    assert_eq!(got[0]["body"]["data"]["record_id"], project["id"]);
}

/// Throughput and lag of deliveries (a figure for bench/RESULTS.md, not a check):
/// `cargo test --locked --test api webhook_throughput -- --ignored --nocapture`.
mod webhook_throughput {
    use super::*;

    async fn measure(app: TestApp) {
        const N: usize = 200;
        let receiver = Receiver::start(0);
        hook(&app, Who::ProvincialAdmin, &receiver, json!({"events": ["project.created"]})).await;
        let start = Instant::now();
        for i in 0..N {
            app.create_project(json!({"name": format!("吞吐项目{i}")})).await;
        }
        let written = start.elapsed();
        let got = receiver.wait_for(N).await;
        let done = start.elapsed();
        assert_eq!(got.len(), N);
        assert!(got.iter().all(|g| g["verified"] == true));
        println!(
            "{:?}: {N} projects written in {:.2} s; all delivered after {:.2} s ({:.0} deliveries/s overall), last one {:.0} ms after its commit",
            app.backend,
            written.as_secs_f64(),
            done.as_secs_f64(),
            N as f64 / done.as_secs_f64(),
            (done - written).as_secs_f64() * 1000.0
        );
    }

    #[actix_web::test]
    #[ignore]
    async fn sqlite() {
        measure(TestApp::spawn(crate::helpers::Backend::Sqlite).await).await
    }

    #[actix_web::test]
    #[ignore]
    async fn postgres() {
        measure(TestApp::spawn(crate::helpers::Backend::Postgres).await).await
    }
}
