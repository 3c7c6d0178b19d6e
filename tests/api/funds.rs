//! Funds in place (到位资金): recorded by the park, decided by the province,
//! the only source of a project's actual investment and of the money target.

use serde_json::{json, Value};

use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    a_fund_keeps_the_rules_of_design,
    only_the_province_decides_and_a_decided_fund_is_final,
    a_verified_fund_moves_the_project_and_the_target,
    investors_carry_third_place_recognition_and_the_top100_link,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn fund(received_on: &str, amount: i64) -> Value {
    json!({"received_on": received_on, "amount_usd": amount, "evidence": "bank_receipt", "evidence_ref": "BR-2025-001"})
}

/// A signed project of yueyang with a contract of 1,000,000.
async fn signed(app: &TestApp, investor_ids: Value) -> Value {
    app.create_project(json!({"stage": "signed", "signed_on": "2025-01-02", "contracted_investment_usd": 1_000_000,
                              "investor_ids": investor_ids}))
        .await
}

async fn a_fund_keeps_the_rules_of_design(app: TestApp) {
    let staff = app.as_(Who::ParkStaff);
    let lead = app.create_project(json!({})).await;
    staff.post(&format!("/api/v1/projects/{}/funds", id(&lead)), &fund("2025-02-01", 10)).await
        .assert_problem(422, "project.stage", "not_signed");
    let no_contract = app.create_project(json!({"stage": "signed", "signed_on": "2025-01-02"})).await;
    staff.post(&format!("/api/v1/projects/{}/funds", id(&no_contract)), &fund("2025-02-01", 10)).await
        .assert_problem(422, "project.contracted_investment_usd", "required");

    let project = signed(&app, json!([])).await;
    let funds = format!("/api/v1/projects/{}/funds", id(&project));
    staff.post(&funds, &fund("2025-01-01", 10)).await.assert_problem(422, "received_on", "before_signing");
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    staff.post(&funds, &fund(&tomorrow, 10)).await.assert_problem(422, "received_on", "future");
    staff.post(&funds, &fund("2025-02-01", 0)).await.assert_problem(422, "amount_usd", "range");
    staff.post(&funds, &fund("2025-02-01", 1_000_001)).await.assert_problem(422, "amount_usd", "above_contract");
    let mut unknown = fund("2025-02-01", 10);
    unknown["status"] = json!("verified");
    staff.post(&funds, &unknown).await.assert_problem(422, "status", "unknown_field");
    let mut bad = fund("2025-02-01", 10);
    bad["evidence"] = json!("handshake");
    staff.post(&funds, &bad).await.assert_problem(422, "evidence", "enum");

    let first = staff.post(&funds, &fund("2025-02-01", 600_000)).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["status"], "pending");
    assert_eq!(first.header("etag").as_deref(), Some("\"1\""));
    // Pending money counts toward the contract: 600,000 + 400,001 is too much.
    staff.post(&funds, &fund("2025-03-01", 400_001)).await.assert_problem(422, "amount_usd", "above_contract");
    let second = staff.post(&funds, &fund("2025-03-01", 400_000)).await;
    assert_eq!(second.status, 201, "{}", second.text);
    // The contract may not fall below what is recorded; money is never written directly.
    let current = app.get(&format!("/api/v1/projects/{}", id(&project))).await;
    let etag = current.header("etag").unwrap();
    app.patch(&format!("/api/v1/projects/{}", id(&project)), Some(&etag), &json!({"contracted_investment_usd": 999_999})).await
        .assert_problem(422, "contracted_investment_usd", "below_funds");
    // Nor may the signing day move past the first fund's day (2025-02-01):
    // the fund would break its own rule and could no longer be changed.
    app.patch(&format!("/api/v1/projects/{}", id(&project)), Some(&etag), &json!({"signed_on": "2025-02-02"})).await
        .assert_problem(422, "signed_on", "after_funds");
    app.patch(&format!("/api/v1/projects/{}", id(&project)), Some(&etag), &json!({"signed_on": null})).await
        .assert_problem(422, "signed_on", "required");
    app.patch(&format!("/api/v1/projects/{}", id(&project)), Some(&etag), &json!({"actual_investment_usd": 1})).await
        .assert_problem(422, "actual_investment_usd", "read_only");
    // 增资: raising the contract is a change like any other, in the history.
    let raised = app.patch(&format!("/api/v1/projects/{}", id(&project)), Some(&etag), &json!({"contracted_investment_usd": 1_500_000})).await;
    assert_eq!(raised.status, 200, "{}", raised.text);
    let history = app.get(&format!("/api/v1/projects/{}/history", id(&project))).await;
    assert!(history.body["items"][0]["changes"].as_array().unwrap().iter().any(|c| c["field"] == "contracted_investment_usd"
        && c["old"] == 1_000_000 && c["new"] == 1_500_000), "{}", history.text);
    // Up to the first fund's day, the signing day may move.
    let raised_etag = raised.header("etag").unwrap();
    let moved = app.patch(&format!("/api/v1/projects/{}", id(&project)), Some(&raised_etag), &json!({"signed_on": "2025-02-01"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    // A pending fund may be changed (at its version) and removed.
    let path = format!("{funds}/{}", id(&second.body));
    assert_eq!(staff.patch(&path, Some("\"7\""), &json!({"note": "x"})).await.status, 412);
    let noted = staff.patch(&path, Some("\"1\""), &json!({"note": "第二期"})).await;
    assert_eq!(noted.status, 200, "{}", noted.text);
    assert_eq!(noted.body["version"], 2);
    assert_eq!(staff.delete(&path, Some("\"2\"")).await.status, 204);
    assert_eq!(staff.get(&path).await.status, 404);
    let list = staff.get(&funds).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn only_the_province_decides_and_a_decided_fund_is_final(app: TestApp) {
    let project = signed(&app, json!([])).await;
    let funds = format!("/api/v1/projects/{}/funds", id(&project));
    let made = app.as_(Who::ParkStaff).post(&funds, &fund("2025-02-01", 300_000)).await;
    let path = format!("{funds}/{}", id(&made.body));
    let decide = format!("{path}/verification");
    for who in [Who::ParkStaff, Who::ParkAdmin, Who::ParkViewer, Who::ProvincialViewer] {
        assert_eq!(app.as_(who).post(&decide, &json!({"decision": "verified"})).await.status, 403, "{who:?}");
    }
    assert_eq!(app.as_(Who::OtherParkStaff).post(&decide, &json!({"decision": "verified"})).await.status, 404);
    app.post(&decide, &json!({"decision": "rejected"})).await.assert_problem(422, "reason", "required");
    app.post(&decide, &json!({"decision": "maybe"})).await.assert_problem(422, "decision", "enum");

    let rejected = app.post(&decide, &json!({"decision": "rejected", "reason": "进账单与外汇登记不符"})).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["decided_by"], "admin");
    assert!(rejected.body["decided_on"].is_string());
    // Final: no second decision, no edit, no removal.
    assert_eq!(app.post(&decide, &json!({"decision": "verified"})).await.status, 409);
    app.as_(Who::ParkStaff).patch(&path, Some("*"), &json!({"note": "再试"})).await.assert_problem(409, "status", "decided");
    app.as_(Who::ParkStaff).delete(&path, None).await.assert_problem(409, "status", "decided");
    // Rejected money leaves room in the contract.
    let full = app.as_(Who::ParkStaff).post(&funds, &fund("2025-02-02", 1_000_000)).await;
    assert_eq!(full.status, 201, "{}", full.text);
    let read = app.get(&format!("/api/v1/projects/{}", id(&project))).await;
    assert_eq!(read.body["actual_investment_usd"], json!(null), "nothing verified yet");
    // Nor does it hold the signing day: only the pending fund's day does.
    let etag = read.header("etag").unwrap();
    let project_path = format!("/api/v1/projects/{}", id(&project));
    app.patch(&project_path, Some(&etag), &json!({"signed_on": "2025-02-03"})).await.assert_problem(422, "signed_on", "after_funds");
    let moved = app.patch(&project_path, Some(&etag), &json!({"signed_on": "2025-02-02"})).await;
    assert_eq!(moved.status, 200, "past the rejected fund's day: {}", moved.text);
}

async fn a_verified_fund_moves_the_project_and_the_target(app: TestApp) {
    let investor = app.create_investor(json!({"origin": "taiwan"})).await;
    let project = signed(&app, json!([investor["id"]])).await;
    let funds = format!("/api/v1/projects/{}/funds", id(&project));
    let targets = || async {
        let report = app.get("/api/v1/targets?as_of=2025-06-30").await.body;
        report["targets"].as_array().unwrap().iter().find(|t| t["key"] == "new_taiwan_investment_usd").unwrap().clone()
    };
    let made = app.as_(Who::ParkStaff).post(&funds, &fund("2025-03-01", 250_000)).await;
    let pending = targets().await;
    assert_eq!(pending["value"], 0);
    assert_eq!(pending["detail"]["pending_usd"], 250_000);
    assert_eq!(pending["detail"]["contracted_usd"], 1_000_000);

    let before = app.get(&format!("/api/v1/projects/{}", id(&project))).await.body["version"].as_i64().unwrap();
    let verified = app.post(&format!("{funds}/{}/verification", id(&made.body)), &json!({"decision": "verified"})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let read = app.get(&format!("/api/v1/projects/{}", id(&project))).await.body;
    assert_eq!(read["actual_investment_usd"], 250_000);
    assert_eq!(read["version"].as_i64().unwrap(), before + 1, "a decision moves the project's version");
    let moved = targets().await;
    assert_eq!(moved["value"], 250_000);
    assert_eq!(moved["detail"]["pending_usd"], 0);
    let items = app.get(moved["items"].as_str().unwrap()).await.body;
    assert_eq!(items["items"][0]["fund_id"], made.body["id"]);
    assert_eq!(items["items"][0]["evidence_ref"], "BR-2025-001");
    let history = app.get(&format!("/api/v1/projects/{}/history", id(&project))).await.body;
    let fields: Vec<&str> = history["items"].as_array().unwrap().iter()
        .flat_map(|e| e["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap())).collect();
    assert!(fields.iter().filter(|f| f.starts_with("funds[")).count() >= 2, "recorded and verified: {fields:?}");
}

async fn investors_carry_third_place_recognition_and_the_top100_link(app: TestApp) {
    let group = app.post("/api/v1/top100", &json!({"rank": 5, "group_name": "示例集团（测试数据）", "list_source": "test", "list_year": 2024})).await;
    let made = app.create_investor(json!({"name": "萨摩亚控股", "origin": "third_place", "third_place_recognised_on": "2024-09-01",
                                          "top100_id": group.body["id"]})).await;
    assert_eq!(made["origin"], "third_place");
    assert_eq!(made["third_place_recognised_on"], "2024-09-01");
    assert_eq!(made["taiwan_top100"], true);
    let body = |overrides: Value| crate::helpers::investor_body(overrides);
    app.post("/api/v1/investors", &body(json!({"name": "甲", "origin": "taiwan", "third_place_recognised_on": "2024-09-01"}))).await
        .assert_problem(422, "third_place_recognised_on", "origin_mismatch");
    app.post("/api/v1/investors", &body(json!({"name": "乙", "taiwan_top100": true}))).await
        .assert_problem(422, "taiwan_top100", "read_only");
    app.post("/api/v1/investors", &body(json!({"name": "丙", "top100_id": "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8c"}))).await
        .assert_problem(422, "top100_id", "unknown");
    let unlinked = app.patch(&format!("/api/v1/investors/{}", id(&made)), Some("\"1\""), &json!({"top100_id": null})).await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.text);
    assert_eq!(unlinked.body["taiwan_top100"], false);
}
