//! The investor library: identifiers, links, sub-resources, filters and the
//! cross-park match check.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{enc, investor_body, project_body, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    identifiers_are_checked_and_stored_in_one_form,
    a_park_holds_an_identifier_once,
    settlement_needs_its_date_and_status,
    links_stay_inside_one_park,
    contacts_follow_ups_and_figures,
    overdue_means_the_latest_next_step_is_past_due,
    filters_narrow_the_list,
    the_match_check_names_parks_and_nothing_more,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn ids(page: &Value) -> BTreeSet<String> {
    page["items"].as_array().unwrap().iter().map(id).collect()
}

async fn identifiers_are_checked_and_stored_in_one_form(app: TestApp) {
    let made = app
        .create_investor(json!({"unified_social_credit_code": " 91350100m000100y43 ", "taiwan_business_id": "2209 9131"}))
        .await;
    assert_eq!(made["unified_social_credit_code"], "91350100M000100Y43");
    assert_eq!(made["taiwan_business_id"], "22099131");
    // Valid under the current divisor 5 only.
    app.create_investor(json!({"name": "新規則公司", "taiwan_business_id": "04595252"})).await;

    for (overrides, field, code) in [
        (json!({"unified_social_credit_code": "91350100M000100Y44"}), "unified_social_credit_code", "checksum"),
        (json!({"unified_social_credit_code": "91350100M000100Y4"}), "unified_social_credit_code", "format"),
        (json!({"unified_social_credit_code": "9135010OM000100Y43"}), "unified_social_credit_code", "format"),
        (json!({"taiwan_business_id": "12345678"}), "taiwan_business_id", "checksum"),
        (json!({"taiwan_business_id": "1234567"}), "taiwan_business_id", "format"),
        (json!({"kind": "club"}), "kind", "enum"),
        (json!({"origin": "japan"}), "origin", "enum"),
        (json!({"region": ""}), "region", "length"),
        (json!({"industries": ["new_energy", "new_energy"]}), "industries[1]", "duplicate"),
    ] {
        app.post("/api/v1/investors", &investor_body(overrides.clone())).await.assert_problem(422, field, code);
    }
}

async fn a_park_holds_an_identifier_once(app: TestApp) {
    app.create_investor(json!({"taiwan_business_id": "22099131"})).await;
    let again = app.post("/api/v1/investors", &investor_body(json!({"name": "另一家", "taiwan_business_id": "22099131"}))).await;
    again.assert_problem(409, "taiwan_business_id", "taken");
    // Another park may hold it: that is what the match check is for.
    app.create_investor(json!({"park_code": "chenzhou", "taiwan_business_id": "22099131"})).await;
}

async fn settlement_needs_its_date_and_status(app: TestApp) {
    app.post("/api/v1/investors", &investor_body(json!({"status": "settled"}))).await.assert_problem(422, "settled_on", "required");
    app.post("/api/v1/investors", &investor_body(json!({"status": "contacted", "settled_on": "2026-01-01"})))
        .await
        .assert_problem(422, "settled_on", "status_mismatch");
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    app.post("/api/v1/investors", &investor_body(json!({"status": "settled", "settled_on": tomorrow})))
        .await
        .assert_problem(422, "settled_on", "range");
    let settled = app.create_investor(json!({"status": "settled", "settled_on": "2026-03-01"})).await;
    let res = app.patch(&format!("/api/v1/investors/{}", id(&settled)), Some("\"1\""), &json!({"status": "lost"})).await;
    assert_eq!(res.status, 200, "a lost investor keeps the date it had settled: {}", res.text);
}

async fn links_stay_inside_one_park(app: TestApp) {
    let yueyang = app.create_investor(json!({})).await;
    let xiangtan = app.create_investor(json!({"park_code": "xiangtan", "name": "湘潭客商"})).await;

    // Referrals (以商招商) name an investor of the same park.
    let referred = app.create_investor(json!({"name": "被推荐企业", "referred_by_id": id(&yueyang)})).await;
    assert_eq!(referred["referred_by_id"], yueyang["id"]);
    app.post("/api/v1/investors", &investor_body(json!({"name": "跨园区", "referred_by_id": id(&xiangtan)})))
        .await
        .assert_problem(422, "referred_by_id", "unknown");
    app.patch(&format!("/api/v1/investors/{}", id(&yueyang)), Some("*"), &json!({"referred_by_id": id(&yueyang)}))
        .await
        .assert_problem(422, "referred_by_id", "self");

    // Projects list investors of their own park only, even for the province.
    app.post("/api/v1/projects", &project_body(json!({"investor_ids": [id(&xiangtan)]})))
        .await
        .assert_problem(422, "investor_ids[0]", "unknown");
    let project = app.create_project(json!({"investor_ids": [id(&yueyang)]})).await;
    let read = app.get(&format!("/api/v1/investors/{}", id(&yueyang))).await;
    assert_eq!(read.body["project_ids"], json!([project["id"]]), "an investor shows its projects");

    // A deleted project or investor drops out of the other side's links.
    app.delete(&format!("/api/v1/projects/{}", id(&project)), None).await;
    assert_eq!(app.get(&format!("/api/v1/investors/{}", id(&yueyang))).await.body["project_ids"], json!([]));
    let project = app.create_project(json!({"investor_ids": [id(&yueyang)]})).await;
    app.delete(&format!("/api/v1/investors/{}", id(&yueyang)), None).await;
    assert_eq!(app.get(&format!("/api/v1/projects/{}", id(&project))).await.body["investor_ids"], json!([]));
}

async fn contacts_follow_ups_and_figures(app: TestApp) {
    let investor = app.create_investor(json!({})).await;
    let base = format!("/api/v1/investors/{}", id(&investor));

    let contact = app.post(&format!("{base}/contacts"), &json!({"name": "陈志明", "phone": "0912-345-678", "email": " chen@example.com "})).await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    assert_eq!((contact.body["phone"].clone(), contact.body["masked"].clone()), (json!("+886*****5678"), json!(true)), "write answers are masked");
    let read = app.get(&format!("{base}/contacts/{}", id(&contact.body))).await;
    assert_eq!((read.body["phone"].clone(), read.body["email"].clone()), (json!("+886912345678"), json!("chen@example.com")));
    assert_eq!(contact.header("location"), Some(format!("{base}/contacts/{}", id(&contact.body))));
    app.post(&format!("{base}/contacts"), &json!({"name": "王", "phone": "12345"})).await.assert_problem(422, "phone", "phone");
    app.post(&format!("{base}/contacts"), &json!({"name": "王", "email": "wang@"})).await.assert_problem(422, "email", "email");
    app.post(&format!("{base}/contacts"), &json!({"phone": "13812345678"})).await.assert_problem(422, "name", "required");
    let changed = app.patch(&format!("{base}/contacts/{}", id(&contact.body)), Some("\"1\""), &json!({"title": "总经理", "email": null})).await;
    assert_eq!((changed.body["title"].clone(), changed.body["email"].clone(), changed.body["phone"].clone()), (json!("总经理"), Value::Null, json!("+886*****5678")));

    let follow = app.post(&format!("{base}/follow-ups"), &json!({"date": "2026-11-02", "channel": "visit", "summary": "走访新竹总部", "next_step": "寄送用地方案", "due_on": "2026-11-20"})).await;
    assert_eq!(follow.status, 201, "{}", follow.text);
    assert_eq!(follow.body["by"], "admin");
    app.post(&format!("{base}/follow-ups"), &json!({"date": "2026-11-02", "channel": "visit", "summary": "x", "due_on": "2026-11-01"}))
        .await
        .assert_problem(422, "due_on", "date_order");
    app.post(&format!("{base}/follow-ups"), &json!({"date": "2026-11-02", "channel": "fax", "summary": "x"})).await.assert_problem(422, "channel", "enum");
    let read = app.get(&base).await;
    assert_eq!((read.body["last_follow_up_on"].clone(), read.body["follow_up_due_on"].clone()), (json!("2026-11-02"), json!("2026-11-20")));

    let figure = app.post(&format!("{base}/figures"), &json!({"year": 2024, "output_value_cny": 380_000_000})).await;
    assert_eq!(figure.status, 201);
    app.post(&format!("{base}/figures"), &json!({"year": 2024, "output_value_cny": 1})).await.assert_problem(409, "year", "taken");
    app.post(&format!("{base}/figures"), &json!({"year": 1980, "output_value_cny": 1})).await.assert_problem(422, "year", "range");
    app.post(&format!("{base}/figures"), &json!({"year": 2025, "output_value_cny": -1})).await.assert_problem(422, "output_value_cny", "range");
    app.post(&format!("{base}/figures"), &json!({"year": 2020, "output_value_cny": 190_000_000})).await;
    let figures = app.get(&format!("{base}/figures")).await;
    let years: Vec<i64> = figures.body["items"].as_array().unwrap().iter().map(|f| f["year"].as_i64().unwrap()).collect();
    assert_eq!(years, [2020, 2024]);

    // Children of an investor answer 404 under another investor's id.
    let other = app.create_investor(json!({"name": "别家"})).await;
    let res = app.patch(&format!("/api/v1/investors/{}/contacts/{}", id(&other), id(&contact.body)), Some("*"), &json!({"title": "x"})).await;
    assert_eq!(res.status, 404);

    assert_eq!(app.delete(&format!("{base}/contacts/{}", id(&contact.body)), None).await.status, 204);
    assert_eq!(app.get(&format!("{base}/contacts")).await.body["items"], json!([]));
    let history = app.get(&format!("{base}/history")).await;
    let fields: Vec<String> = history.body["items"].as_array().unwrap().iter().flat_map(|e| e["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap().to_owned())).collect();
    assert!(fields.iter().filter(|f| f.starts_with("contacts[")).count() >= 3, "create, change and removal of the contact: {fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("follow_ups[")) && fields.iter().any(|f| f == &format!("figures[{}]", id(&figure.body))), "{fields:?}");
}

async fn overdue_means_the_latest_next_step_is_past_due(app: TestApp) {
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    let late = app.create_investor(json!({"name": "逾期"})).await;
    let on_time = app.create_investor(json!({"name": "未到期"})).await;
    let caught_up = app.create_investor(json!({"name": "已跟进"})).await;
    let none = app.create_investor(json!({"name": "未跟进"})).await;
    let follow = |investor: &Value, date: String, due: Option<String>| {
        let url = format!("/api/v1/investors/{}/follow-ups", id(investor));
        let app = &app;
        async move {
            let res = app.post(&url, &json!({"date": date, "channel": "call", "summary": "电话", "due_on": due})).await;
            assert_eq!(res.status, 201, "{}", res.text);
        }
    };
    follow(&late, day(-10), Some(day(-1))).await;
    follow(&on_time, day(-10), Some(day(3))).await;
    follow(&caught_up, day(-10), Some(day(-5))).await;
    follow(&caught_up, day(-2), None).await; // something newer since
    let overdue = app.get("/api/v1/investors?follow_up_overdue=true").await;
    assert_eq!(ids(&overdue.body), [id(&late)].into_iter().collect());
    let not_overdue = app.get("/api/v1/investors?follow_up_overdue=false").await;
    assert_eq!(ids(&not_overdue.body), [id(&on_time), id(&caught_up), id(&none)].into_iter().collect());
}

async fn filters_narrow_the_list(app: TestApp) {
    let group = app.post("/api/v1/top100", &json!({"rank": 1, "group_name": "鴻海集團（測試資料）", "list_source": "test", "list_year": 2024})).await;
    let a = app.create_investor(json!({"name": "鴻海精密工業", "origin": "taiwan", "region": "新北", "top100_id": group.body["id"], "industries": ["electronic_information"], "status": "settled", "settled_on": "2025-06-01"})).await;
    let b = app.create_investor(json!({"name": "东莞台商协会", "kind": "association", "origin": "mainland_taiwan_funded", "region": "东莞", "industries": ["modern_services", "equipment_manufacturing"]})).await;
    let c = app.create_investor(json!({"name": "陈先生", "kind": "individual", "origin": "other", "region": "台中", "status": "negotiating"})).await;
    let set = |items: &[&Value]| items.iter().map(|v| id(v)).collect::<BTreeSet<_>>();
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("kind=association".into(), set(&[&b])),
        ("origin=taiwan&origin=other".into(), set(&[&a, &c])),
        (format!("region={}", enc("东莞")), set(&[&b])),
        ("status=negotiating".into(), set(&[&c])),
        ("industry=equipment_manufacturing".into(), set(&[&b])),
        ("industry=electronic_information&industry=modern_services".into(), set(&[&a, &b])),
        ("taiwan_top100=true".into(), set(&[&a])),
        ("settled=true".into(), set(&[&a])),
        ("settled=false".into(), set(&[&b, &c])),
        ("settled_from=2025-01-01&settled_to=2025-12-31".into(), set(&[&a])),
        ("settled_from=2026-01-01".into(), set(&[])),
        (format!("q={}", enc("鸿海")), set(&[&a])),
        (format!("q={}", enc("東莞")), set(&[&b])),
    ];
    for (query, expected) in cases {
        let res = app.get(&format!("/api/v1/investors?{query}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text);
        assert_eq!(ids(&res.body), expected, "{query}");
    }
    app.get("/api/v1/investors?settled=perhaps").await.assert_problem(400, "settled", "type");
    // A park role sees its park only.
    let xt = app.create_investor(json!({"park_code": "xiangtan", "name": "湘潭客商"})).await;
    let staff = app.as_(Who::ParkStaff).get("/api/v1/investors").await;
    assert!(!ids(&staff.body).contains(&id(&xt)));
    assert_eq!(ids(&staff.body).len(), 3);
}

async fn the_match_check_names_parks_and_nothing_more(app: TestApp) {
    app.create_investor(json!({"park_code": "xiangtan", "name": "台積電股份有限公司", "unified_social_credit_code": "91350100M000100Y43", "notes": "机密：报价 3 亿"})).await;
    app.create_investor(json!({"park_code": "chenzhou", "name": "TSMC Co., Ltd.", "name_en": "TSMC", "taiwan_business_id": "22099131", "status": "negotiating"})).await;
    let staff = app.as_(Who::ParkStaff);
    let check = |query: String| {
        let staff = &staff;
        async move { staff.get(&format!("/api/v1/investors/matches?{query}")).await }
    };

    let by_name = check(format!("name={}", enc("台积电有限公司"))).await;
    assert_eq!(by_name.status, 200, "{}", by_name.text);
    let items = by_name.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let keys: BTreeSet<&str> = items[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["entered_on", "matched_by", "park_code", "status"].into_iter().collect(), "nothing else of the record");
    assert_eq!(items[0]["park_code"], "xiangtan");
    assert!(!by_name.text.contains("机密") && !by_name.text.contains("91350100"), "{}", by_name.text);

    let by_code = check("unified_social_credit_code=91350100m000100y43".into()).await;
    assert_eq!(by_code.body["items"][0]["matched_by"], "unified_social_credit_code");
    let by_ubn = check("taiwan_business_id=22099131".into()).await;
    assert_eq!((by_ubn.body["items"][0]["park_code"].clone(), by_ubn.body["items"][0]["status"].clone()), (json!("chenzhou"), json!("negotiating")));
    let by_english = check(format!("name={}", enc("ＴＳＭＣ  co ltd"))).await;
    assert_eq!(by_english.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(check(format!("name={}", enc("联发科"))).await.body["items"], json!([]));

    check("".into()).await.assert_problem(400, "unified_social_credit_code", "required");
    check("taiwan_business_id=12345678".into()).await.assert_problem(400, "taiwan_business_id", "checksum");
}
