//! The province's reference data: parks (with the official 2020 baseline)
//! and the top-100 list with its candidates.

use serde_json::json;

use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(parks_are_created_and_changed_by_the_province, the_top100_list_and_its_candidates);

async fn parks_are_created_and_changed_by_the_province(app: TestApp) {
    let body = json!({"code": "changde", "name": "常德产业园", "focus_industries": ["new_materials"], "baseline_output_2020_cny": 800});
    assert_eq!(app.as_(Who::ParkAdmin).post("/api/v1/parks", &body).await.status, 403);
    let made = app.post("/api/v1/parks", &body).await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.header("location").as_deref(), Some("/api/v1/parks/changde"));
    assert_eq!(made.body["name_en"], "常德产业园", "name_en defaults to the name");
    assert_eq!(made.body["active"], true);
    app.post("/api/v1/parks", &body).await.assert_problem(409, "code", "taken");
    app.post("/api/v1/parks", &json!({"code": "Bad Code", "name": "x"})).await.assert_problem(422, "code", "format");
    app.post("/api/v1/parks", &json!({"code": "neg", "name": "x", "baseline_output_2020_cny": -1}))
        .await
        .assert_problem(422, "baseline_output_2020_cny", "range");

    let read = app.get("/api/v1/parks/yueyang").await;
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(read.body["baseline_output_2020_cny"], json!(null));
    assert_eq!(app.patch("/api/v1/parks/yueyang", None, &json!({"active": false})).await.status, 428);
    assert_eq!(app.as_(Who::ParkAdmin).patch("/api/v1/parks/yueyang", Some("\"1\""), &json!({"active": false})).await.status, 403);
    let changed = app.patch("/api/v1/parks/yueyang", Some("\"1\""), &json!({"baseline_output_2020_cny": 12_500_000_000_i64})).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["baseline_output_2020_cny"], 12_500_000_000_i64);
    assert_eq!(app.patch("/api/v1/parks/yueyang", Some("\"1\""), &json!({"active": false})).await.status, 412);
    let cleared = app.patch("/api/v1/parks/yueyang", Some("\"2\""), &json!({"baseline_output_2020_cny": null})).await;
    assert_eq!(cleared.body["baseline_output_2020_cny"], json!(null));
    app.patch("/api/v1/parks/yueyang", Some("*"), &json!({"focus_industries": ["other", "other"]}))
        .await
        .assert_problem(422, "focus_industries[1]", "duplicate");
    assert_eq!(app.patch("/api/v1/parks/shenzhen", Some("*"), &json!({"active": false})).await.status, 404);
    assert_eq!(app.get("/api/v1/parks").await.body.as_array().unwrap().len(), 4, "more parks than three");

    // Every caller can read how the reference data came to be, newest first.
    let history = app.as_(Who::OtherParkStaff).get("/api/v1/parks/yueyang/history").await;
    assert_eq!(history.status, 200, "{}", history.text);
    let events = history.body["items"].as_array().unwrap();
    assert_eq!(events.len(), 2, "the baseline set, then cleared; refused changes leave nothing: {}", history.text);
    let first = events.last().unwrap();
    assert_eq!((first["actor"].clone(), first["action"].clone()), (json!("admin"), json!("update")));
    let baseline = first["changes"].as_array().unwrap().iter().find(|c| c["field"] == "baseline_output_2020_cny").unwrap();
    assert_eq!((baseline["old"].clone(), baseline["new"].clone()), (json!(null), json!(12_500_000_000_i64)));
    let created = app.as_(Who::ParkViewer).get("/api/v1/parks/changde/history").await;
    assert_eq!(created.body["items"][0]["action"], "create");
    assert_eq!(app.get("/api/v1/parks/xiangtan/history").await.body["items"], json!([]), "a park of the first migration has no events yet");
    assert_eq!(app.get("/api/v1/parks/shenzhen/history").await.status, 404);
    app.get("/api/v1/parks/yueyang/history?limit=0").await.assert_problem(400, "limit", "range");
}

async fn the_top100_list_and_its_candidates(app: TestApp) {
    let group = json!({"rank": 7, "group_name": "示例電子集團（測試資料）", "group_name_en": "Example Electronics Group",
        "taiwan_business_id": "22099131", "member_names": ["示例精密工業股份有限公司", "示例光電"],
        "list_source": "中华征信所《台湾地区大型集团企业研究》", "list_year": 2024});
    assert_eq!(app.as_(Who::ParkStaff).post("/api/v1/top100", &group).await.status, 403);
    let made = app.post("/api/v1/top100", &group).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    app.post("/api/v1/top100", &group).await.assert_problem(409, "rank", "taken");
    let mut bad = group.clone();
    bad["rank"] = json!(8);
    bad["taiwan_business_id"] = json!("12345678");
    app.post("/api/v1/top100", &bad).await.assert_problem(422, "taiwan_business_id", "checksum");
    let list = app.as_(Who::ParkViewer).get("/api/v1/top100").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"][0]["group_name"], "示例電子集團（測試資料）");

    // Candidates: a member's name in the other script, the group's 統一編號, the English name.
    let by_name = app.create_investor(json!({"name": "示例精密工业有限公司", "taiwan_business_id": null})).await;
    let by_ubn = app.create_investor(json!({"name": "另一个名字", "taiwan_business_id": "22099131"})).await;
    let by_en = app.create_investor(json!({"name": "某公司", "name_en": "Example Electronics Group Co., Ltd."})).await;
    let other_park = app.create_investor(json!({"park_code": "xiangtan", "name": "示例光电股份有限公司"})).await;
    app.create_investor(json!({"name": "毫不相干"})).await;
    let names = |res: &crate::helpers::Response| -> Vec<String> {
        let mut v: Vec<String> = res.body["items"].as_array().unwrap().iter().map(|c| c["investor_id"].as_str().unwrap().to_owned()).collect();
        v.sort();
        v
    };
    let mut all = vec![by_name["id"].as_str().unwrap().to_owned(), by_ubn["id"].as_str().unwrap().to_owned(),
                       by_en["id"].as_str().unwrap().to_owned(), other_park["id"].as_str().unwrap().to_owned()];
    all.sort();
    let province = app.get(&format!("/api/v1/top100/{id}/candidates")).await;
    assert_eq!(names(&province), all, "{}", province.text);
    let park = app.as_(Who::ParkStaff).get(&format!("/api/v1/top100/{id}/candidates")).await;
    assert_eq!(names(&park).len(), 3, "only the caller's park: {}", park.text);
    assert!(park.body["items"].as_array().unwrap().iter().any(|c| c["matched_by"] == "taiwan_business_id"));

    // A linked investor is no candidate, and the group cannot go while linked.
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("UPDATE investors SET top100_id = '{id}' WHERE id = '{}'", by_name["id"].as_str().unwrap())),
        &mut **conn,
    )
    .unwrap();
    assert_eq!(names(&app.get(&format!("/api/v1/top100/{id}/candidates")).await).len(), 3);
    app.delete(&format!("/api/v1/top100/{id}"), None).await.assert_problem(409, "id", "linked");

    let patched = app.patch(&format!("/api/v1/top100/{id}"), Some("\"1\""), &json!({"rank": 3, "group_name_en": null})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["group_name_en"], json!(null));
    assert_eq!(patched.body["linked_investors"], 1);
    assert_eq!(app.as_(Who::ParkAdmin).delete(&format!("/api/v1/top100/{id}"), None).await.status, 403);

    let history = app.as_(Who::ParkViewer).get(&format!("/api/v1/top100/{id}/history")).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let actions: Vec<_> = history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions.first().map(String::as_str), Some("update"), "newest first: {}", history.text);
    assert_eq!(actions.last().map(String::as_str), Some("create"));
    assert_eq!(app.get("/api/v1/top100/01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b/history").await.status, 404);
}
