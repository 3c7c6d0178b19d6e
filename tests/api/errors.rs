//! Inputs no handler expects: every one is a 4xx problem, never a 500.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(hostile_inputs_never_cause_a_500);

async fn hostile_inputs_never_cause_a_500(app: TestApp) {
    let p = app.create_project(json!({})).await;
    let one = format!("/api/v1/projects/{}", p["id"].as_str().unwrap());
    let json_ct = ("content-type", "application/json");
    let bodies: [&[u8]; 13] = [
        b"{\"summary\": \"a\\u0000b\"}", b"{\"park_code\": \"\\u0000\"}", b"{\"tags\": [\"\\u0000\"]}",
        b"null", b"\"text\"", b"42", b"{\"name\": null}", b"{\"tags\": \"a\"}", b"{\"tags\": [1]}",
        b"{\"stage\": 3}", b"\xff\xfe", b"{\"name\": \"\\ud800\"}", b"{\"planned_investment_usd\": 1e400}",
    ];
    for body in bodies {
        for (method, path) in [(Method::POST, "/api/v1/projects"), (Method::PATCH, one.as_str())] {
            let res = app.as_(crate::helpers::Who::ProvincialAdmin).send(method.clone(), path, &[json_ct, ("if-match", "*")], Some(body.to_vec())).await;
            assert!((400..500).contains(&res.status), "{method} {:?}: {} {}", String::from_utf8_lossy(body), res.status, res.text);
            assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
        }
    }
    for query in ["limit=-1", "limit=99999999999999999999", "cursor=%FF", "q=%00", "park=%00", "cursor=eyJrIjoiY3JlYXRlZF9hdCIsIm8iOiJkZXNjIiwidCI6IjIwMjYtMDEtMDFUMDA6MDA6MDAiLCJpIjoiXHUwMDAwIn0", "park=%27%3B--", "sort=", "high_tech="] {
        let res = app.get(&format!("/api/v1/projects?{query}")).await;
        assert!(res.status == 200 || res.status == 400, "{query}: {} {}", res.status, res.text);
    }
    assert_eq!(app.get("/api/v1/projects/1").await.status, 400);
    assert_eq!(app.get("/api/v1/parks/%00").await.status, 404);
    assert_eq!(app.get("/api/v1/parks/YUEYANG").await.status, 404);
}
