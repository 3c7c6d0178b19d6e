//! Merging two investors of one company: every child and link moves, both
//! histories stay, and a merge across parks (404), by a non-administrator
//! (403) or on a stale version (412) is refused.

use serde_json::{json, Value};

use crate::helpers::{investor_body, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    a_merge_moves_everything_and_keeps_both_histories,
    merges_refuse_other_parks_roles_and_stale_versions,
    a_merge_moves_the_targets_with_it,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn merge(app: &TestApp, who: Who, into: &str, from: &str, tag: Option<&str>) -> crate::helpers::Response {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(tag) = tag {
        headers.push(("if-match", tag));
    }
    let body = json!({"from": from}).to_string().into_bytes();
    app.as_(who).send(actix_web::http::Method::POST, &format!("/api/v1/investors/{into}/merge"), &headers, Some(body)).await
}

async fn a_merge_moves_everything_and_keeps_both_histories(app: TestApp) {
    let keep = app.create_investor(json!({"name": "统一企业"})).await;
    let gone = app.create_investor(json!({"name": "統一企業股份有限公司"})).await;
    let (keep_id, gone_id) = (id(&keep), id(&gone));
    let contact = app.post(&format!("/api/v1/investors/{gone_id}/contacts"), &json!({"name": "林经理"})).await;
    let follow_up = app.post(&format!("/api/v1/investors/{gone_id}/follow-ups"), &json!({"date": "2026-10-01", "channel": "visit", "summary": "拜访"})).await;
    app.post(&format!("/api/v1/investors/{gone_id}/figures"), &json!({"year": 2024, "output_value_cny": 100})).await;
    app.post(&format!("/api/v1/investors/{keep_id}/figures"), &json!({"year": 2025, "output_value_cny": 200})).await;
    let only_gone = app.create_project(json!({"investor_ids": [gone_id]})).await;
    let both = app.create_project(json!({"investor_ids": [gone_id, keep_id]})).await;
    let talent = app.create_talent(json!({"employer_id": gone_id})).await;
    let referred = app.create_investor(json!({"name": "统一超商", "referred_by_id": gone_id})).await;

    let before = app.get(&format!("/api/v1/investors/{keep_id}")).await;
    let tag = before.header("etag").unwrap();
    let merged = merge(&app, Who::ParkAdmin, &keep_id, &gone_id, Some(&tag)).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(merged.body["version"], before.body["version"].as_i64().unwrap() + 1);
    assert_eq!(merged.body["last_follow_up_on"], "2026-10-01", "the follow-up arrived");

    let app = &app;
    let list = |path: String| async move { app.get(&path).await.body["items"].as_array().unwrap().iter().map(id).collect::<Vec<_>>() };
    assert_eq!(list(format!("/api/v1/investors/{keep_id}/contacts")).await, [id(&contact.body)]);
    assert_eq!(list(format!("/api/v1/investors/{keep_id}/follow-ups")).await, [id(&follow_up.body)]);
    assert_eq!(list(format!("/api/v1/investors/{keep_id}/figures")).await.len(), 2);
    for project in [&only_gone, &both] {
        let read = app.get(&format!("/api/v1/projects/{}", id(project))).await;
        assert_eq!(read.body["investor_ids"], json!([keep_id]), "one link, to the investor kept");
    }
    assert_eq!(app.get(&format!("/api/v1/talents/{}", id(&talent))).await.body["employer_id"], keep_id);
    assert_eq!(app.get(&format!("/api/v1/investors/{}", id(&referred))).await.body["referred_by_id"], keep_id);
    assert_eq!(app.get(&format!("/api/v1/investors/{gone_id}")).await.status, 404);

    let kept_history = app.get(&format!("/api/v1/investors/{keep_id}/history")).await;
    let latest = &kept_history.body["items"][0];
    assert_eq!(latest["actor"], "yy.admin");
    assert_eq!(latest["changes"][0], json!({"field": "merged_from", "old": null, "new": gone_id}));
    let gone_history = app.get(&format!("/api/v1/investors/{gone_id}/history")).await;
    assert_eq!(gone_history.status, 200, "the merged investor's history stays readable: {}", gone_history.text);
    let actions: Vec<&str> = gone_history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.first(), Some(&"delete"));
    assert_eq!(actions.last(), Some(&"create"));
    assert!(actions.len() >= 5, "its contact, follow-up and figure events stay: {actions:?}");
    assert_eq!(gone_history.body["items"][0]["changes"][0]["new"], keep_id);
}

async fn merges_refuse_other_parks_roles_and_stale_versions(app: TestApp) {
    let keep = id(&app.create_investor(json!({"name": "国巨"})).await);
    let gone = id(&app.create_investor(json!({"name": "國巨股份有限公司"})).await);
    let theirs = id(&app.create_investor(json!({"park_code": "xiangtan", "name": "国巨"})).await);
    assert_eq!(merge(&app, Who::ProvincialAdmin, &keep, &theirs, Some("\"1\"")).await.status, 404, "across parks");
    assert_eq!(merge(&app, Who::OtherParkStaff, &keep, &gone, Some("\"1\"")).await.status, 404);
    assert_eq!(merge(&app, Who::ParkStaff, &keep, &gone, Some("\"1\"")).await.status, 403);
    assert_eq!(merge(&app, Who::ParkAdmin, &keep, &gone, None).await.status, 428);
    assert_eq!(merge(&app, Who::ParkAdmin, &keep, &gone, Some("\"7\"")).await.status, 412);
    merge(&app, Who::ParkAdmin, &keep, &keep, Some("\"1\"")).await.assert_problem(422, "from", "self");

    for (investor, value) in [(&keep, 1), (&gone, 2)] {
        let res = app.post(&format!("/api/v1/investors/{investor}/figures"), &json!({"year": 2023, "output_value_cny": value})).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let clash = merge(&app, Who::ParkAdmin, &keep, &gone, Some("\"2\"")).await;
    clash.assert_problem(409, "from", "figure_conflict");
    assert_eq!(app.get(&format!("/api/v1/investors/{gone}")).await.status, 200, "nothing was half-done");
    let _ = investor_body(json!({}));
}

/// Two settled Taiwanese companies are two enterprises; merged, they are one,
/// in `/targets` (read from the summary) as in the facts.
async fn a_merge_moves_the_targets_with_it(app: TestApp) {
    let enterprises = |report: &serde_json::Value| {
        report["targets"].as_array().unwrap().iter().find(|t| t["key"] == "taiwan_funded_enterprises").unwrap()["value"].clone()
    };
    let keep = app.create_investor(json!({"name": "甲精密股份有限公司", "status": "settled", "settled_on": "2024-03-01"})).await;
    let gone = app.create_investor(json!({"name": "乙光电股份有限公司", "status": "settled", "settled_on": "2023-03-01"})).await;
    assert_eq!(enterprises(&app.get("/api/v1/targets?as_of=2025-06-30").await.body), json!(2));

    let tag = app.get(&format!("/api/v1/investors/{}", id(&keep))).await.header("etag").unwrap();
    assert_eq!(merge(&app, Who::ParkAdmin, &id(&keep), &id(&gone), Some(&tag)).await.status, 200);
    assert_eq!(enterprises(&app.get("/api/v1/targets?as_of=2025-06-30").await.body), json!(1));
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    let differences = invest_registry::targets::summary::check(&mut pool.get().unwrap(), as_of, None).unwrap();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
