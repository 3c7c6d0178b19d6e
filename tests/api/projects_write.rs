//! `PATCH`, `DELETE` and `/history` of projects: versions, preconditions,
//! stage moves, soft deletion and the audit trail.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(
    patch_changes_only_the_given_fields_and_bumps_the_version,
    patch_needs_a_current_if_match,
    null_clears_an_optional_field,
    a_patch_that_changes_nothing_keeps_the_version,
    stages_move_forward_drop_and_reopen_with_history,
    patch_is_checked_as_a_whole_and_refused_whole,
    park_and_read_only_fields_cannot_be_patched,
    delete_is_soft_and_checks_if_match,
    history_lists_each_change_newest_first_in_pages,
    concurrent_patches_at_one_version_let_exactly_one_through,
    bad_ids_are_400_and_unknown_ids_404,
);

fn path(p: &Value) -> String {
    format!("/api/v1/projects/{}", p["id"].as_str().unwrap())
}

async fn patch_changes_only_the_given_fields_and_bumps_the_version(app: TestApp) {
    let p = app.create_project(json!({"tags": ["芯片"], "summary": "初稿"})).await;
    let res = app.patch(&path(&p), Some("\"1\""), &json!({"planned_investment_usd": 80_000_000, "tags": ["芯片", "封测"]})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    let q = &res.body;
    assert_eq!(q["version"], 2);
    assert_eq!(q["planned_investment_usd"], 80_000_000);
    assert_eq!(q["tags"], json!(["芯片", "封测"]));
    assert_eq!(q["summary"], "初稿", "untouched fields stay");
    assert_eq!(q["created_at"], p["created_at"]);
    assert!(q["updated_at"].as_str() > p["updated_at"].as_str());
    assert_eq!(app.get(&path(&p)).await.body, res.body, "the change is stored");
}

async fn patch_needs_a_current_if_match(app: TestApp) {
    let p = app.create_project(json!({})).await;
    let body = json!({"notes": "已电话沟通"});
    app.patch(&path(&p), None, &body).await.assert_problem(428, "If-Match", "required");
    app.patch(&path(&p), Some("\"one\""), &body).await.assert_problem(400, "If-Match", "etag");
    assert_eq!(app.patch(&path(&p), Some("\"1\""), &body).await.status, 200);
    // The version read before that change is stale now.
    let stale = app.patch(&path(&p), Some("\"1\""), &json!({"notes": "覆盖"})).await;
    stale.assert_problem(412, "If-Match", "stale_version");
    assert!(stale.body["detail"].as_str().unwrap().contains("version 2"));
    assert_eq!(app.get(&path(&p)).await.body["notes"], "已电话沟通", "a refused change changes nothing");
    // A weak tag never matches; `*` matches any version.
    assert_eq!(app.patch(&path(&p), Some("W/\"2\""), &body).await.status, 412);
    assert_eq!(app.patch(&path(&p), Some("*"), &json!({"notes": "任意版本"})).await.status, 200);
}

async fn null_clears_an_optional_field(app: TestApp) {
    let p = app.create_project(json!({"summary": "简介", "chain_role": "fill", "land_area_mu": 30})).await;
    let res = app.patch(&path(&p), Some("\"1\""), &json!({"summary": null, "chain_role": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["summary"], Value::Null);
    assert_eq!(res.body["chain_role"], Value::Null);
    assert_eq!(res.body["land_area_mu"], 30.0, "absent is not null");
    // A required field cannot be cleared.
    let res = app.patch(&path(&p), Some("\"2\""), &json!({"name": null})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.error_fields(), ["name"]);
}

async fn a_patch_that_changes_nothing_keeps_the_version(app: TestApp) {
    let p = app.create_project(json!({"name": "不变"})).await;
    let res = app.patch(&path(&p), Some("\"1\""), &json!({"name": "不变"})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["version"], 1);
    let history = app.get(&format!("{}/history", path(&p))).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 1, "only the creation");
}

async fn stages_move_forward_drop_and_reopen_with_history(app: TestApp) {
    let p = app.create_project(json!({"first_contact_on": "2026-01-05"})).await;
    let mut version = 1;
    let mut step = |body: Value, expected: u16| {
        let app = &app;
        let url = path(&p);
        let tag = format!("\"{version}\"");
        if expected == 200 {
            version += 1;
        }
        async move {
            let res = app.patch(&url, Some(&tag), &body).await;
            assert_eq!(res.status, expected, "{body}: {}", res.text);
            res
        }
    };
    step(json!({"stage": "signed", "signed_on": "2026-03-01"}), 200).await; // skips negotiating
    step(json!({"stage": "negotiating"}), 422).await.assert_problem(422, "stage", "transition");
    step(json!({"stage": "lead"}), 422).await;
    step(json!({"stage": "under_construction", "started_on": "2026-04-01"}), 200).await;
    step(json!({"stage": "dropped"}), 200).await;
    step(json!({"stage": "signed"}), 422).await.assert_problem(422, "stage", "transition");
    // Re-opening clears the milestones the project has not reached again.
    step(json!({"stage": "negotiating"}), 422).await.assert_problem(422, "signed_on", "stage_mismatch");
    let res = step(json!({"stage": "negotiating", "signed_on": null, "started_on": null}), 200).await;

    let history: Vec<(String, String)> = res.body["stage_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["stage"].as_str().unwrap().to_owned(), h["on"].as_str().unwrap().to_owned()))
        .collect();
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(
        history,
        vec![
            ("lead".into(), "2026-01-05".into()),
            ("signed".into(), "2026-03-01".into()),
            ("under_construction".into(), "2026-04-01".into()),
            ("dropped".into(), today),
            ("negotiating".into(), "2026-01-05".into()),
        ]
    );
    assert!(res.body["stage_history"].as_array().unwrap().iter().all(|h| h["by"] == res.body["updated_by"]));
}

async fn patch_is_checked_as_a_whole_and_refused_whole(app: TestApp) {
    let p = app.create_project(json!({"stage": "signed", "signed_on": "2026-03-01"})).await;
    // Valid alone, invalid against what is stored: first contact after signing.
    let res = app.patch(&path(&p), Some("\"1\""), &json!({"first_contact_on": "2026-05-01", "notes": "x"})).await;
    res.assert_problem(422, "signed_on", "date_order");
    let res = app.patch(&path(&p), Some("\"1\""), &json!({"name": "", "planned_investment_usd": -1, "tags": ["a", "a"]})).await;
    let mut fields = res.error_fields();
    fields.sort();
    assert_eq!(fields, ["name", "planned_investment_usd", "tags[1]"]);
    let unchanged = app.get(&path(&p)).await;
    assert_eq!(unchanged.body["version"], 1);
    assert_eq!(unchanged.body["notes"], Value::Null);
}

async fn park_and_read_only_fields_cannot_be_patched(app: TestApp) {
    let p = app.create_project(json!({})).await;
    for (field, value) in [("id", json!("x")), ("version", json!(9)), ("stage_history", json!([])), ("created_by", json!("me"))] {
        let res = app.patch(&path(&p), Some("\"1\""), &json!({ field: value })).await;
        res.assert_problem(422, field, "unknown_field");
    }
    let res = app.patch(&path(&p), Some("\"1\""), &json!({"park_code": "xiangtan"})).await;
    res.assert_problem(422, "park_code", "immutable");
}

async fn delete_is_soft_and_checks_if_match(app: TestApp) {
    let p = app.create_project(json!({})).await;
    app.delete(&path(&p), Some("\"7\"")).await.assert_problem(412, "If-Match", "stale_version");
    assert_eq!(app.get(&path(&p)).await.status, 200, "a refused delete deletes nothing");
    assert_eq!(app.delete(&path(&p), Some("\"1\"")).await.status, 204);
    for res in [
        app.get(&path(&p)).await,
        app.patch(&path(&p), Some("*"), &json!({"notes": "x"})).await,
        app.delete(&path(&p), None).await,
    ] {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
    }
    // The row is kept (soft deletion) with its trail.
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let row: Row = diesel::sql_query("SELECT version FROM projects WHERE deleted_at IS NOT NULL")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.version, 2);
}

async fn history_lists_each_change_newest_first_in_pages(app: TestApp) {
    let p = app.create_project(json!({"name": "旧名", "tags": ["a"]})).await;
    app.patch(&path(&p), Some("\"1\""), &json!({"name": "新名", "stage": "negotiating"})).await;
    app.patch(&path(&p), Some("\"2\""), &json!({"tags": ["a", "b"]})).await;
    let res = app.get(&format!("{}/history", path(&p))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let items = res.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "update", "create"]);
    assert_eq!(items[0]["changes"], json!([{"field": "tags", "old": ["a"], "new": ["a", "b"]}]));
    assert_eq!(
        items[1]["changes"],
        json!([{"field": "name", "old": "旧名", "new": "新名"}, {"field": "stage", "old": "lead", "new": "negotiating"}])
    );
    let created: Vec<&str> = items[2]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert!(created.contains(&"name") && created.contains(&"park_code"), "{created:?}");
    assert!(items.iter().all(|e| e["actor"] == p["created_by"] && e["at"].is_string()));

    // Paged one at a time, the same events in the same order.
    let mut walked = Vec::new();
    let mut url = format!("{}/history?limit=1", path(&p));
    loop {
        let page = app.get(&url).await;
        assert_eq!(page.status, 200, "{}", page.text);
        walked.extend(page.body["items"].as_array().unwrap().iter().map(|e| e["id"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(c) => url = format!("{}/history?limit=1&cursor={c}", path(&p)),
            None => break,
        }
    }
    assert_eq!(walked, items.iter().map(|e| e["id"].clone()).collect::<Vec<_>>());

    app.delete(&path(&p), None).await;
    let after = app.get(&format!("{}/history", path(&p))).await;
    assert_eq!(after.status, 200, "the province reviews a deleted record's history");
    assert_eq!(after.body["items"][0]["action"], "delete");
    let res = app.get(&format!("{}/history?limit=500", path(&p))).await;
    assert_eq!(res.status, 400);
}

async fn concurrent_patches_at_one_version_let_exactly_one_through(app: TestApp) {
    let p = app.create_project(json!({})).await;
    let url = path(&p);
    let patches = (0..6).map(|i| {
        let (app, url) = (&app, url.clone());
        async move { app.patch(&url, Some("\"1\""), &json!({"notes": format!("写入 {i}")})).await.status }
    });
    let mut statuses = futures_util::future::join_all(patches).await;
    statuses.sort();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412]);
    let history = app.get(&format!("{url}/history")).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2, "one create, one update");
}

async fn bad_ids_are_400_and_unknown_ids_404(app: TestApp) {
    app.get("/api/v1/projects/12345").await.assert_problem(400, "id", "uuid");
    app.patch("/api/v1/projects/12345", Some("*"), &json!({})).await.assert_problem(400, "id", "uuid");
    app.delete("/api/v1/projects/%E5%B2%B3", None).await.assert_problem(400, "id", "uuid");
    let unknown = "/api/v1/projects/01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b";
    for res in [app.get(unknown).await, app.get(&format!("{unknown}/history")).await, app.delete(unknown, None).await] {
        assert_eq!(res.status, 404, "{}", res.text);
    }
}
