//! The talent library: personal data masking per role, audited reads,
//! consent, purge, links and filters.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{enc, talent_body, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    personal_data_is_masked_except_for_a_writers_single_read,
    personal_data_needs_consent_and_valid_forms,
    a_purge_erases_personal_data_for_good_and_keeps_the_rest,
    filters_and_employer_links,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn personal() -> Value {
    json!({"phone": "138 1234 5678", "email": "lin.yijun@example.com", "permit_no": "1234 5678", "consent_on": "2026-10-12"})
}

async fn read_personal_events(app: &TestApp, talent: &str) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Actor {
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor: String,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    diesel::sql_query(format!("SELECT actor FROM audit_events WHERE action = 'read_personal' AND entity_id = '{talent}' ORDER BY at"))
        .load::<Actor>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|a| a.actor)
        .collect()
}

async fn personal_data_is_masked_except_for_a_writers_single_read(app: TestApp) {
    let created = app.create_talent(personal()).await;
    assert_eq!(created["masked"], true, "write answers are masked too");
    assert_eq!(created["phone"], "+86*******5678");
    let url = format!("/api/v1/talents/{}", id(&created));

    let staff = app.as_(Who::ParkStaff).get(&url).await;
    assert_eq!(staff.status, 200);
    assert_eq!(staff.body["masked"], false);
    assert_eq!(staff.body["phone"], "+8613812345678");
    assert_eq!(staff.body["email"], "lin.yijun@example.com");
    assert_eq!(staff.body["permit_no"], "12345678");
    assert_eq!(staff.header("cache-control").as_deref(), Some("no-store"));

    for who in [Who::ParkViewer, Who::ProvincialViewer] {
        let res = app.as_(who).get(&url).await;
        assert_eq!(res.status, 200);
        assert_eq!((res.body["masked"].clone(), res.body["phone"].clone(), res.body["email"].clone(), res.body["permit_no"].clone()),
                   (json!(true), json!("+86*******5678"), json!("l***@example.com"), json!("12****78")), "{who:?}");
    }
    let list = app.get("/api/v1/talents").await;
    assert_eq!(list.body["items"][0]["masked"], true, "lists are always masked, even for the province's admin");
    assert!(!list.text.contains("13812345678") && !list.text.contains("lin.yijun"));

    app.get(&url).await; // the provincial administrator reads it too
    assert_eq!(read_personal_events(&app, &id(&created)).await, ["yy.staff", "admin"], "every unmasked read is audited");
    assert_eq!(app.as_(Who::OtherParkStaff).get(&url).await.status, 404);

    // The trail says personal data changed, never what it was.
    app.patch(&url, Some("\"1\""), &json!({"phone": "0912-345-678"})).await;
    let history = app.get(&format!("{url}/history")).await;
    assert!(!history.text.contains("13812345678") && !history.text.contains("912345678") && !history.text.contains("林怡君"), "{}", history.text);
    assert!(history.text.contains("(personal data)"));
}

async fn personal_data_needs_consent_and_valid_forms(app: TestApp) {
    let cases = [
        (json!({"phone": "13812345678"}), "consent_on", "required"),
        (json!({"email": "a@example.com"}), "consent_on", "required"),
        (json!({"phone": "12345", "consent_on": "2026-01-01"}), "phone", "phone"),
        (json!({"email": "not-an-address", "consent_on": "2026-01-01"}), "email", "email"),
        (json!({"permit_no": "12AB", "consent_on": "2026-01-01"}), "permit_no", "format"),
        (json!({"birth_year": 1900}), "birth_year", "range"),
        (json!({"education": "phd"}), "education", "enum"),
        (json!({"qualifications": [{"name": "醫師", "recognition": "recognised"}]}), "qualifications[0].mainland_title", "required"),
        (json!({"qualifications": [{"name": "醫師", "recognition": "maybe"}]}), "qualifications[0].recognition", "enum"),
        (json!({"programmes": [{"level": "national", "name": "计划", "year": 1999, "status": "applied"}]}), "programmes[0].year", "range"),
    ];
    for (overrides, field, code) in cases {
        app.post("/api/v1/talents", &talent_body(overrides.clone())).await.assert_problem(422, field, code);
    }
    // Consent may not be withdrawn while personal data is kept.
    let t = app.create_talent(personal()).await;
    app.patch(&format!("/api/v1/talents/{}", id(&t)), Some("*"), &json!({"consent_on": null}))
        .await
        .assert_problem(422, "consent_on", "required");
}

async fn a_purge_erases_personal_data_for_good_and_keeps_the_rest(app: TestApp) {
    let t = app.create_talent(json!({"full_name": "陳怡安", "school": "國立清華大學", "notes": "住址：新竹市", "phone": "13812345678", "consent_on": "2026-01-01", "status": "employed"})).await;
    let url = format!("/api/v1/talents/{}", id(&t));
    assert_eq!(app.as_(Who::ParkStaff).delete(&format!("{url}?purge=true"), None).await.status, 403, "administrators only");
    assert_eq!(app.as_(Who::ParkAdmin).delete(&format!("{url}?purge=true"), None).await.status, 204);

    let after = app.get(&url).await;
    assert_eq!(after.status, 200, "the anonymous rest stays for statistics");
    assert_eq!(after.body["full_name"], "（已清除）");
    for field in ["phone", "email", "permit_no", "consent_on", "school", "notes"] {
        assert_eq!(after.body[field], Value::Null, "{field}");
    }
    assert_eq!((after.body["birth_year"].clone(), after.body["status"].clone()), (json!(1994), json!("employed")));
    assert!(after.body["purged_at"].is_string());
    assert_eq!(app.get(&format!("/api/v1/talents?q={}", enc("陳怡安"))).await.body["items"], json!([]), "no longer found by name");

    // Nothing of it remains anywhere in the database.
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    for needle in ["13812345678", "陳怡安", "陈怡安", "新竹市", "清華"] {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT changes AS t FROM audit_events UNION ALL SELECT full_name FROM talents UNION ALL SELECT search_text FROM talents) x WHERE t LIKE '%{needle}%'"
        );
        assert_eq!(diesel::sql_query(sql).get_result::<Hit>(&mut conn).unwrap().n, 0, "{needle} is gone");
    }
    let history = app.get(&format!("{url}/history")).await;
    assert_eq!(history.body["items"][0]["action"], "purge");
}

async fn filters_and_employer_links(app: TestApp) {
    let employer = app.create_investor(json!({"name": "精密医疗器械"})).await;
    let other_park = app.create_investor(json!({"park_code": "xiangtan", "name": "湘潭企业"})).await;
    let this_year = chrono::Utc::now().date_naive().format("%Y").to_string().parse::<i64>().unwrap();
    let young = app.create_talent(json!({"full_name": "張家豪", "birth_year": this_year - 25, "status": "employed", "employer_id": id(&employer),
                                          "programmes": [{"level": "provincial", "name": "芙蓉人才计划", "year": 2026, "status": "approved"}]})).await;
    let boundary = app.create_talent(json!({"full_name": "黃雅婷", "birth_year": this_year - 35, "education": "doctor", "specialty": "medical_devices"})).await;
    let older = app.create_talent(json!({"full_name": "吳建宏", "birth_year": this_year - 36, "origin_region": "高雄",
                                          "qualifications": [{"name": "專業工程師", "mainland_title": "senior", "recognition": "recognised"}]})).await;
    app.post("/api/v1/talents", &talent_body(json!({"employer_id": id(&other_park)}))).await.assert_problem(422, "employer_id", "unknown");

    let set = |items: &[&Value]| items.iter().map(|v| id(v)).collect::<BTreeSet<_>>();
    let got = |res: &crate::helpers::Response| res.body["items"].as_array().unwrap().iter().map(id).collect::<BTreeSet<_>>();
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("youth=true".into(), set(&[&young, &boundary])),
        ("youth=false".into(), set(&[&older])),
        ("programme_status=approved".into(), set(&[&young])),
        (format!("employer={}", id(&employer)), set(&[&young])),
        ("education=doctor".into(), set(&[&boundary])),
        ("specialty=medical_devices".into(), set(&[&boundary])),
        ("status=employed".into(), set(&[&young])),
        (format!("origin={}", enc("高雄")), set(&[&older])),
        (format!("q={}", enc("张家豪")), set(&[&young])),
        (format!("q={}", enc("专业工程师")), set(&[&older])),
    ];
    for (query, expected) in cases {
        let res = app.get(&format!("/api/v1/talents?{query}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text);
        assert_eq!(got(&res), expected, "{query}");
    }
    app.get("/api/v1/talents?programme_status=won").await.assert_problem(400, "programme_status", "enum");
}
