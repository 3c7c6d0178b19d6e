//! The committed OpenAPI document is the contract: it must be what the code
//! serves. Regenerate with `cargo run -- openapi > openapi/openapi.json`.

use crate::helpers::{Backend, TestApp, Who};

#[test]
fn committed_document_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json is committed");
    let generated = invest_registry::openapi::document_json();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the code; run `cargo run -- openapi > openapi/openapi.json` and review the diff"
    );
}

#[actix_web::test]
async fn served_document_and_docs_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let anonymous = app.as_(Who::Anonymous);
    let served = anonymous.get("/api-docs/openapi.json").await;
    assert_eq!(served.status, 200);
    let generated: serde_json::Value = serde_json::from_str(&invest_registry::openapi::document_json()).unwrap();
    assert_eq!(served.body, generated);
    let operations: Vec<&str> = served.body["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    for id in ["listProjects", "createProject", "getProject", "updateProject", "deleteProject", "getProjectHistory"] {
        assert!(operations.contains(&id), "{id} in {operations:?}");
    }

    assert!(served.body["components"]["securitySchemes"]["bearer"].is_object());
    let redirect = anonymous.get("/docs").await;
    assert_eq!(redirect.status, 308);
    let page = anonymous.get("/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger"), "{}", page.text);
    assert!(!page.text.contains("https://"), "the docs page loads nothing from outside: {}", page.text);
}

#[actix_web::test]
async fn cors_admits_configured_origins_only() {
    use actix_web::http::Method;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let anonymous = app.as_(Who::Anonymous);
    let preflight = |origin: &'static str| {
        let anonymous = &anonymous;
        async move {
            anonymous
                .send(Method::OPTIONS, "/api/v1/projects", &[("origin", origin), ("access-control-request-method", "PATCH"),
                      ("access-control-request-headers", "authorization, if-match, content-type")], None)
                .await
        }
    };
    let allowed = preflight("https://frontend.example").await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(allowed.header("access-control-allow-origin").as_deref(), Some("https://frontend.example"));
    let headers = allowed.header("access-control-allow-headers").unwrap_or_default().to_lowercase();
    assert!(headers.contains("if-match") && headers.contains("authorization"), "{headers}");
    let other = preflight("https://evil.example").await;
    assert!(other.header("access-control-allow-origin").is_none());

    let project = app.create_project(serde_json::json!({})).await;
    let read = app
        .as_(Who::ProvincialAdmin)
        .send(Method::GET, &format!("/api/v1/projects/{}", project["id"].as_str().unwrap()), &[("origin", "https://frontend.example")], None)
        .await;
    let exposed = read.header("access-control-expose-headers").unwrap_or_default().to_lowercase();
    assert!(exposed.contains("etag") && exposed.contains("location"), "{exposed}");
}

/// The document says what each list really takes and answers: statistics
/// take no paging parameters, and only the lists that count show `total`.
#[test]
fn lists_document_what_they_take_and_answer() {
    let doc: serde_json::Value = serde_json::from_str(&invest_registry::openapi::document_json()).unwrap();
    let params = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
    };
    for library in ["projects", "investors", "talents"] {
        let taken = params(&format!("/api/v1/stats/{library}"));
        assert!(taken.contains(&"q".to_owned()) && taken.contains(&"park".to_owned()), "{taken:?}");
        for list_only in ["limit", "cursor", "sort", "count", "format"] {
            assert!(!taken.iter().any(|p| p == list_only), "stats/{library} documents {list_only}");
        }
        assert!(params(&format!("/api/v1/{library}")).contains(&"count".to_owned()));
    }
    assert!(params("/api/v1/monitoring").contains(&"format".to_owned()));
    let schemas = &doc["components"]["schemas"];
    let total = |schema: &str| schemas[schema]["properties"].get("total").is_some();
    for counted in ["CountedPage_Project", "CountedPage_Investor", "CountedPage_Talent", "CountedPage_Claim"] {
        assert!(total(counted), "{counted}");
    }
    for uncounted in ["Page_User", "Page_AuditEvent", "Page_Top100", "Page_Webhook"] {
        assert!(schemas[uncounted].is_object() && !total(uncounted), "{uncounted}");
    }
}
