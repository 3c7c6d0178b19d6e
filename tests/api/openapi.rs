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

/// Each schema's example fits the schemas of its properties (their type and
/// their enum). utoipa names a schema by its type's name alone, so two types
/// of one name leave one schema for both, and an example of the other no
/// longer fits: a client generated from the document could not call the route.
#[test]
fn schema_examples_fit_their_properties() {
    use serde_json::Value;
    let doc: Value = serde_json::from_str(&invest_registry::openapi::document_json()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    // A property's schema: a reference, or a nullable one (`oneOf` null and a reference).
    let resolve = |schema: &Value| -> Option<Value> {
        let reference = schema["$ref"].as_str().or_else(|| {
            schema["oneOf"].as_array()?.iter().find_map(|s| s["$ref"].as_str())
        });
        match reference {
            Some(r) => schemas.get(r.trim_start_matches("#/components/schemas/")).cloned(),
            None => Some(schema.clone()),
        }
    };
    let fits = |schema: &Value, value: &Value| -> bool {
        if value.is_null() {
            return true;
        }
        if let Some(allowed) = schema["enum"].as_array() {
            return allowed.contains(value);
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return true,
        };
        types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        })
    };
    let mut checked = 0;
    let mut misfits = Vec::new();
    for (name, schema) in schemas {
        let (Some(example), Some(properties)) = (schema["example"].as_object(), schema["properties"].as_object()) else { continue };
        for (field, value) in example {
            let Some(property) = properties.get(field).and_then(&resolve) else { continue };
            checked += 1;
            if !fits(&property, value) {
                misfits.push(format!("{name}.{field} = {value}"));
            }
        }
    }
    assert!(checked > 50, "only {checked} example fields were checked");
    // Two enums that once shared a name, without examples to show it.
    let import_library = resolve(&schemas["ImportReport"]["properties"]["library"]).unwrap();
    assert!(fits(&import_library, &serde_json::json!("funds")), "ImportReport.library: {import_library}");
    assert!(misfits.is_empty(), "examples that do not fit their schema: {misfits:?}");
}

/// A `PATCH` field that `null` cannot clear is documented as not nullable
/// (and, like every field of a patch, not required).
#[test]
fn patch_fields_that_null_cannot_clear_are_not_nullable() {
    let doc: serde_json::Value = serde_json::from_str(&invest_registry::openapi::document_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    for (schema, field, kind) in [("ParkPatch", "name", "string"), ("ParkPatch", "active", "boolean"), ("Top100Patch", "list_source", "string"),
                                  ("Top100Patch", "rank", "integer"), ("WebhookPatch", "url", "string"), ("WebhookPatch", "events", "array")] {
        let property = &schemas[schema]["properties"][field];
        assert_eq!(property["type"], kind, "{schema}.{field}: {property}");
        let required = schemas[schema]["required"].as_array().cloned().unwrap_or_default();
        assert!(!required.contains(&serde_json::json!(field)), "{schema}.{field} is required");
    }
    // The fields `null` does clear stay nullable.
    assert_eq!(schemas["ParkPatch"]["properties"]["baseline_output_2020_cny"]["type"], serde_json::json!(["integer", "null"]));
}
