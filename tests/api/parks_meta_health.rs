//! Parks, vocabularies, health probes and the fallbacks of the router.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(parks_come_from_the_first_migration, enums_carry_chinese_labels, health_probes, unknown_routes_are_problem_404, seed_demo_fills_every_library_once);

async fn parks_come_from_the_first_migration(app: TestApp) {
    let res = app.get("/api/v1/parks").await;
    assert_eq!(res.status, 200);
    let codes: Vec<&str> = res.body.as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["chenzhou", "xiangtan", "yueyang"]);
    let xiangtan = app.get("/api/v1/parks/xiangtan").await;
    assert_eq!(xiangtan.body["name"], "湘潭产业园（湘潭经济技术开发区）");
    assert_eq!(xiangtan.body["focus_industries"], json!(["intelligent_manufacturing", "medical_devices"]));
    assert_eq!(app.get("/api/v1/parks/shenzhen").await.status, 404);
}

async fn enums_carry_chinese_labels(app: TestApp) {
    let res = app.get("/api/v1/meta/enums").await;
    assert_eq!(res.status, 200);
    let stages = res.body["project_stage"].as_array().unwrap();
    assert_eq!(stages.len(), 7);
    assert_eq!(stages[2], json!({"value": "signed", "zh": "签约", "en": "Signed"}));
    assert!(res.body["industry"].as_array().unwrap().iter().any(|l| l["zh"] == "有色金属精深加工"));
    for vocabulary in ["attraction_mode", "chain_role", "hq_type"] {
        assert!(res.body[vocabulary].as_array().is_some_and(|v| !v.is_empty()), "{vocabulary}");
    }
}

async fn health_probes(app: TestApp) {
    assert_eq!(app.get("/api/v1/health/live").await.status, 200);
    let ready = app.get("/api/v1/health/ready").await;
    assert_eq!(ready.status, 200);
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Postgres => "postgres",
    };
    assert_eq!(ready.body["database"], expected);
}

async fn unknown_routes_are_problem_404(app: TestApp) {
    for path in ["/api/v1/nothing", "/api/v2/projects", "/"] {
        let res = app.get(path).await;
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
    }
}

async fn seed_demo_fills_every_library_once(app: TestApp) {
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    assert_eq!(invest_registry::demo::seed(&pool).unwrap(), 12);
    assert_eq!(invest_registry::demo::seed(&pool).unwrap(), 0, "a second run adds nothing");
    let count = |res: crate::helpers::Response| res.body["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(count(app.get("/api/v1/projects").await), 12);
    assert_eq!(count(app.get("/api/v1/investors").await), 6);
    assert_eq!(count(app.get("/api/v1/talents").await), 3);
    assert_eq!(count(app.get("/api/v1/claims").await), 3, "a first claim in each park");
    let monitoring = app.get("/api/v1/monitoring").await;
    assert_eq!(monitoring.body["notices"].as_array().map(Vec::len), Some(1), "{}", monitoring.text);
    let parks: std::collections::BTreeSet<String> = app.get("/api/v1/projects?stage=operating&stage=under_construction").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["park_code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(parks.len(), 2, "projects at several stages in several parks: {parks:?}");
}
