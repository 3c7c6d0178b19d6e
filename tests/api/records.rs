//! The write protocol every record shares (src/records): the same answers
//! from every library and sub-resource for the same faults.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{enc, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    a_viewer_posting_an_empty_body_is_refused_before_it_is_validated,
    sub_resources_have_versions_and_move_their_parent,
    contacts_are_personal_data_masked_by_role,
    concurrent_figures_for_one_year_give_one_201_and_409s,
    owner_must_be_an_active_user_of_the_park,
    deleted_records_keep_a_history_for_administrators,
    a_deleted_talent_can_still_be_purged,
    text_rules_and_codes_are_the_same_everywhere,
    racing_creates_of_one_identifier_give_one_201,
    personal_data_changes_are_recorded_without_their_values,
    a_record_changed_in_other_fields_is_still_found_by_its_words,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn a_viewer_posting_an_empty_body_is_refused_before_it_is_validated(app: TestApp) {
    let investor = app.create_investor(json!({"park_code": "yueyang"})).await;
    for who in [Who::ProvincialViewer, Who::ParkViewer] {
        for path in ["/api/v1/projects", "/api/v1/investors", "/api/v1/talents"] {
            let res = app.as_(who).post(path, &json!({})).await;
            assert_eq!(res.status, 403, "{who:?} POST {path}: {}", res.text);
        }
        let res = app.as_(who).post(&format!("/api/v1/investors/{}/contacts", id(&investor)), &json!({})).await;
        assert_eq!(res.status, 403, "{who:?} POST contacts: {}", res.text);
        let res = app.as_(who).patch(&format!("/api/v1/investors/{}", id(&investor)), Some("\"1\""), &json!({"name": ""})).await;
        assert_eq!(res.status, 403, "{who:?} PATCH: {}", res.text);
    }
    // A writer with the same empty body is told what is missing.
    let res = app.as_(Who::ParkStaff).post("/api/v1/projects", &json!({})).await;
    res.assert_problem(422, "name", "required");
}

async fn sub_resources_have_versions_and_move_their_parent(app: TestApp) {
    let investor = app.create_investor(json!({})).await;
    let base = format!("/api/v1/investors/{}", id(&investor));
    assert_eq!(investor["version"], 1);
    for (kind, body, change) in [
        ("contacts", json!({"name": "陈志明"}), json!({"title": "经理"})),
        ("follow-ups", json!({"date": "2026-01-05", "channel": "call", "summary": "电话"}), json!({"summary": "再次电话"})),
        ("figures", json!({"year": 2024, "output_value_cny": 1000}), json!({"output_value_cny": 2000})),
    ] {
        let before = app.get(&base).await;
        let created = app.post(&format!("{base}/{kind}"), &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.header("etag").as_deref(), Some("\"1\""), "{kind}");
        let url = format!("{base}/{kind}/{}", id(&created.body));
        let after = app.get(&base).await;
        assert_eq!(after.body["version"].as_i64(), before.body["version"].as_i64().map(|v| v + 1), "{kind}: the parent moves");
        assert!(after.body["updated_at"].as_str() > before.body["updated_at"].as_str(), "{kind}: updated_at moves");

        app.patch(&url, None, &change).await.assert_problem(428, "If-Match", "required");
        app.patch(&url, Some("\"999\""), &change).await.assert_problem(412, "If-Match", "stale_version");
        let changed = app.patch(&url, Some("\"1\""), &change).await;
        assert_eq!((changed.status, changed.header("etag")), (200, Some("\"2\"".to_owned())), "{}", changed.text);
        app.patch(&url, Some("\"1\""), &change).await.assert_problem(412, "If-Match", "stale_version");
        assert_eq!(app.delete(&url, Some("\"1\"")).await.status, 412, "{kind}: a stale delete");
        assert_eq!(app.get(&base).await.body["version"].as_i64(), after.body["version"].as_i64().map(|v| v + 1));
        assert_eq!(app.delete(&url, Some("\"2\"")).await.status, 204);
        assert_eq!(app.get(&url).await.status, 404);
    }
    // Every change is an event in the investor's history.
    let history = app.get(&format!("{base}/history?limit=200")).await;
    let child_events = history.body["items"].as_array().unwrap().iter()
        .filter(|e| e["changes"].as_array().unwrap().iter().any(|c| c["field"].as_str().unwrap().contains('[')))
        .count();
    assert_eq!(child_events, 9, "create, change and delete of three children");
}

async fn contacts_are_personal_data_masked_by_role(app: TestApp) {
    let investor = app.create_investor(json!({"park_code": "yueyang"})).await;
    let base = format!("/api/v1/investors/{}/contacts", id(&investor));
    let contact = app.post(&base, &json!({"name": "陈志明", "phone": "13812345678", "email": "chen@example.com"})).await;
    let url = format!("{base}/{}", id(&contact.body));
    for who in Who::USERS {
        let list = app.as_(who).get(&base).await;
        let one = app.as_(who).get(&url).await;
        if who == Who::OtherParkStaff {
            assert_eq!((list.status, one.status), (404, 404));
            continue;
        }
        assert_eq!(list.body["items"][0]["phone"], "+86*******5678", "{who:?}: lists are masked");
        let sees = matches!(who, Who::ProvincialAdmin | Who::ParkAdmin | Who::ParkStaff);
        let (phone, email) = if sees { ("+8613812345678", "chen@example.com") } else { ("+86*******5678", "c***@example.com") };
        assert_eq!((one.body["phone"].as_str(), one.body["email"].as_str()), (Some(phone), Some(email)), "{who:?}");
        assert_eq!(one.body["masked"], !sees);
        assert_eq!(one.header("cache-control").as_deref(), Some("no-store"));
    }
    // Unmasked reads are audited; the history never holds the values.
    let history = app.get(&format!("/api/v1/investors/{}/history?limit=200", id(&investor))).await;
    let actions: Vec<&str> = history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "read_personal").count(), 3, "{actions:?}");
    assert!(!history.text.contains("13812345678") && !history.text.contains("chen@example.com"), "{}", history.text);
    assert!(!history.text.contains("陈志明"), "names are personal data too");
}

async fn concurrent_figures_for_one_year_give_one_201_and_409s(app: TestApp) {
    let investor = app.create_investor(json!({})).await;
    let url = format!("/api/v1/investors/{}/figures", id(&investor));
    let body = json!({"year": 2024, "output_value_cny": 1000});
    let answers = join_all((0..20).map(|_| app.post(&url, &body))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
    for conflict in answers.iter().filter(|r| r.status == 409) {
        conflict.assert_problem(409, "year", "taken");
    }
}

async fn owner_must_be_an_active_user_of_the_park(app: TestApp) {
    let made_up = "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b";
    for owner in [made_up, &app.user_ids[&Who::OtherParkStaff], &app.user_ids[&Who::ParkViewer]] {
        let res = app.post("/api/v1/projects", &crate::helpers::project_body(json!({"park_code": "yueyang", "owner_id": owner}))).await;
        res.assert_problem(422, "owner_id", "unknown");
    }
    for owner in [&app.user_ids[&Who::ParkStaff], &app.user_ids[&Who::ParkAdmin], &app.user_ids[&Who::ProvincialAdmin]] {
        let res = app.post("/api/v1/projects", &crate::helpers::project_body(json!({"park_code": "yueyang", "owner_id": owner}))).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let project = app.create_project(json!({"park_code": "yueyang"})).await;
    let res = app.patch(&format!("/api/v1/projects/{}", id(&project)), Some("\"1\""), &json!({"owner_id": made_up})).await;
    res.assert_problem(422, "owner_id", "unknown");
}

async fn deleted_records_keep_a_history_for_administrators(app: TestApp) {
    for library in ["projects", "investors", "talents"] {
        let record = match library {
            "projects" => app.create_project(json!({"park_code": "yueyang"})).await,
            "investors" => app.create_investor(json!({"park_code": "yueyang"})).await,
            _ => app.create_talent(json!({"park_code": "yueyang"})).await,
        };
        let url = format!("/api/v1/{library}/{}", id(&record));
        assert_eq!(app.delete(&url, None).await.status, 204);
        assert_eq!(app.get(&url).await.status, 404, "{library}: gone from reads");
        for (who, status) in [(Who::ProvincialAdmin, 200), (Who::ParkAdmin, 200), (Who::ParkStaff, 404),
                              (Who::ProvincialViewer, 404), (Who::OtherParkStaff, 404)] {
            let history = app.as_(who).get(&format!("{url}/history")).await;
            assert_eq!(history.status, status, "{library} as {who:?}: {}", history.text);
            if status == 200 {
                assert_eq!(history.body["items"][0]["action"], "delete");
            }
        }
    }
}

async fn a_deleted_talent_can_still_be_purged(app: TestApp) {
    let talent = app.create_talent(json!({"park_code": "yueyang", "full_name": "林怡君", "phone": "0912-345-678",
                                           "permit_no": "12345678", "consent_on": "2026-10-12"})).await;
    let url = format!("/api/v1/talents/{}", id(&talent));
    assert_eq!(app.delete(&url, None).await.status, 204);
    assert_eq!(app.as_(Who::ParkStaff).delete(&format!("{url}?purge=true"), None).await.status, 403, "staff may not purge");
    assert_eq!(app.as_(Who::ParkAdmin).delete(&format!("{url}?purge=true"), None).await.status, 204);
    assert_eq!(app.get(&url).await.status, 404, "purging does not bring it back");
    let history = app.get(&format!("{url}/history")).await;
    assert_eq!(history.body["items"][0]["action"], "purge");
    assert!(!history.text.contains("林怡君") && !history.text.contains("912345678"), "{}", history.text);
}

async fn text_rules_and_codes_are_the_same_everywhere(app: TestApp) {
    let investor = app.create_investor(json!({})).await;
    let contacts = format!("/api/v1/investors/{}/contacts", id(&investor));
    // A line break in a one-line field is `characters` in every library; too long is `length`.
    app.post("/api/v1/projects", &crate::helpers::project_body(json!({"name": "a\nb"}))).await.assert_problem(422, "name", "characters");
    app.post("/api/v1/investors", &crate::helpers::investor_body(json!({"name": "a\nb"}))).await.assert_problem(422, "name", "characters");
    app.post("/api/v1/talents", &crate::helpers::talent_body(json!({"full_name": "a\u{7}b"}))).await.assert_problem(422, "full_name", "characters");
    app.post(&contacts, &json!({"name": "a\tb"})).await.assert_problem(422, "name", "characters");
    app.post(&contacts, &json!({"name": "x".repeat(101)})).await.assert_problem(422, "name", "length");
    app.post(&contacts, &json!({"name": "王", "email": ""})).await.assert_problem(422, "email", "email");
    // One range for every date in a body, before the database (PostgreSQL cannot store year -5000).
    let follow_ups = format!("/api/v1/investors/{}/follow-ups", id(&investor));
    app.post(&follow_ups, &json!({"date": "-5000-01-01", "channel": "call", "summary": "x"})).await.assert_problem(422, "date", "date_range");
    app.post("/api/v1/talents", &crate::helpers::talent_body(json!({"consent_on": "+99999-01-01"}))).await.assert_problem(422, "consent_on", "date_range");
    // Notes take line breaks.
    let res = app.post("/api/v1/projects", &crate::helpers::project_body(json!({"notes": "第一行\n第二行"}))).await;
    assert_eq!(res.status, 201, "{}", res.text);
    // A field that cannot be cleared says so.
    let url = format!("/api/v1/projects/{}", id(&res.body));
    app.patch(&url, Some("\"1\""), &json!({"name": null})).await.assert_problem(422, "name", "not_null");
    app.patch(&url, Some("\"1\""), &json!({"tags": null})).await.assert_problem(422, "tags", "not_null");
}

async fn racing_creates_of_one_identifier_give_one_201(app: TestApp) {
    let body = crate::helpers::investor_body(json!({"park_code": "yueyang", "taiwan_business_id": "22099131"}));
    let answers = join_all((0..12).map(|_| app.post("/api/v1/investors", &body))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    for conflict in answers.iter().filter(|r| r.status != 201) {
        conflict.assert_problem(409, "taiwan_business_id", "taken");
    }
}

async fn personal_data_changes_are_recorded_without_their_values(app: TestApp) {
    let talent = app.create_talent(json!({"phone": "13812345678", "consent_on": "2026-10-12"})).await;
    let url = format!("/api/v1/talents/{}", id(&talent));
    let res = app.patch(&url, Some("\"1\""), &json!({"phone": "13900000000"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let history = app.get(&format!("{url}/history")).await;
    let change = &history.body["items"][0]["changes"][0];
    assert_eq!((change["field"].as_str(), change["new"].as_str()), (Some("phone"), Some("(personal data)")), "{}", history.text);
    assert!(!history.text.contains("13900000000") && !history.text.contains("13812345678"));
    // A masked address sent back is refused rather than stored over the real one.
    let res = app.patch(&url, Some("\"2\""), &json!({"email": "l***@example.com"})).await;
    res.assert_problem(422, "email", "email");
    // An empty patch changes nothing, not even the version.
    let res = app.patch(&url, Some("\"2\""), &json!({})).await;
    assert_eq!((res.status, res.header("etag")), (200, Some("\"2\"".to_owned())));
}

/// Reads leave `search_text` out (`db::unread`), so a write must build it
/// from the fields again, never carry it over from the row it read.
async fn a_record_changed_in_other_fields_is_still_found_by_its_words(app: TestApp) {
    // Each change leaves every field the library's search text is built from alone.
    let records = [
        ("projects", app.create_project(json!({"name": "鲲鹏晶圆再生项目"})).await, json!({"notes": "只改备注"})),
        ("investors", app.create_investor(json!({"name": "鲲鹏晶圆再生股份有限公司"})).await, json!({"industries": ["new_energy"]})),
        ("talents", app.create_talent(json!({"full_name": "鲲鹏晶"})).await, json!({"notes": "只改备注"})),
    ];
    for (library, record, change) in records {
        let path = format!("/api/v1/{library}/{}", id(&record));
        let changed = app.patch(&path, Some("\"1\""), &change).await;
        assert_eq!(changed.status, 200, "{library}: {}", changed.text);
        let found = app.get(&format!("/api/v1/{library}?q={}", enc("鲲鹏晶"))).await;
        assert_eq!(found.status, 200, "{library}: {}", found.text);
        let ids: Vec<&str> = found.body["items"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(ids, [id(&record)], "{library}: the changed record is found by its name");
    }
}
