//! First claims (首报首谈): contests by USCC, 統一編號 and folded name across
//! scripts, what a park learns of another's claim, the province's decision
//! and its effect on the targets, ageing with the service clock; and the
//! duplicates rules of investors (409 naming the existing one, settling
//! with the project).

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::helpers::{investor_body, project_body, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    contests_by_code_number_and_name_are_decided_by_the_province,
    a_park_learns_only_park_status_and_date_of_another_claim,
    a_rejected_claim_leaves_the_targets,
    a_later_park_disputes_an_award_again,
    claims_age_with_the_clock_and_follow_ups_reset_it,
    filing_and_deciding_refuse_what_the_rules_refuse,
    duplicate_names_are_409_naming_the_existing_investor,
    investors_of_a_registered_project_are_settled_by_the_system,
);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// An investor and a negotiating project of `who`'s park that lists it.
async fn project_of(app: &TestApp, who: Who, investor: Value, project: Value) -> (String, String) {
    let park = who.park().unwrap();
    let mut investor = investor;
    investor["park_code"] = json!(park);
    let made = app.as_(who).post("/api/v1/investors", &investor_body(investor)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let investor = id(&made.body);
    let body = project_body(json!({"park_code": park, "stage": "negotiating", "investor_ids": [investor]}));
    let mut body = body.as_object().unwrap().clone();
    body.extend(project.as_object().unwrap().clone());
    let made = app.as_(who).post("/api/v1/projects", &Value::Object(body)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    (investor, id(&made.body))
}

async fn file(app: &TestApp, who: Who, project: &str) -> Value {
    let res = app.as_(who).post("/api/v1/claims", &json!({"project_id": project, "evidence": "intent_letter", "evidence_ref": "YX-001"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert!(res.header("location").unwrap().ends_with(&id(&res.body)));
    res.body
}

async fn contests_by_code_number_and_name_are_decided_by_the_province(app: TestApp) {
    let cases = [
        (json!({"name": "甲公司", "unified_social_credit_code": "91350100M000100Y43"}), json!({"name": "乙公司", "unified_social_credit_code": "91350100M000100Y43"})),
        (json!({"name": "丙公司", "taiwan_business_id": "22099131"}), json!({"name": "丁公司", "taiwan_business_id": "22099131"})),
        (json!({"name": "華芯半導體股份有限公司"}), json!({"name": "华芯半导体有限公司"})),
    ];
    for (yueyang, xiangtan) in cases {
        let (_, first_project) = project_of(&app, Who::ParkStaff, yueyang.clone(), json!({})).await;
        let first = file(&app, Who::ParkStaff, &first_project).await;
        assert_eq!(first["status"], "active", "{yueyang}");
        assert_eq!(first["rivals"], json!([]));
        assert_eq!(first["light"], "green");

        let (_, second_project) = project_of(&app, Who::OtherParkStaff, xiangtan.clone(), json!({})).await;
        let second = file(&app, Who::OtherParkStaff, &second_project).await;
        assert_eq!(second["status"], "contested", "{xiangtan}: {second}");
        assert_eq!(second["rivals"][0]["park_code"], "yueyang");
        assert_eq!(second["rivals"][0]["status"], "contested");

        let seen = app.as_(Who::ParkStaff).get(&format!("/api/v1/claims/{}", id(&first))).await;
        assert_eq!(seen.body["status"], "contested", "the first claim is in the contest too");
        assert_eq!(seen.body["rivals"][0]["park_code"], "xiangtan");

        // The province sees the rival's id; a park admin may not decide; the other park cannot see the claim.
        let province = app.get(&format!("/api/v1/claims/{}", id(&first))).await;
        assert_eq!(province.body["rivals"][0]["claim_id"], id(&second));
        let body = json!({"award": id(&first), "reason": "岳阳园区首次接洽在先"});
        let refused = app.as_(Who::ParkAdmin).post(&format!("/api/v1/claims/{}/decision", id(&first)), &body).await;
        assert_eq!(refused.status, 403, "{}", refused.text);
        let hidden = app.as_(Who::OtherParkStaff).post(&format!("/api/v1/claims/{}/decision", id(&first)), &body).await;
        assert_eq!(hidden.status, 404, "{}", hidden.text);

        let decided = app.post(&format!("/api/v1/claims/{}/decision", id(&second)), &body).await;
        assert_eq!(decided.status, 200, "{}", decided.text);
        assert_eq!(decided.body["status"], "rejected");
        assert_eq!(decided.body["reason"], "岳阳园区首次接洽在先");
        assert_eq!(decided.body["decided_by"], "admin");
        let won = app.as_(Who::ParkStaff).get(&format!("/api/v1/claims/{}", id(&first))).await;
        assert_eq!(won.body["status"], "awarded");
        assert_eq!(won.body["rivals"][0]["status"], "rejected");

        // The decision is in both claims' histories.
        for (who, claim) in [(Who::ParkStaff, &first), (Who::OtherParkStaff, &second)] {
            let history = app.as_(who).get(&format!("/api/v1/claims/{}/history", id(claim))).await;
            assert_eq!(history.status, 200);
            let latest = &history.body["items"][0];
            assert_eq!(latest["actor"], "admin");
            assert!(latest["changes"].to_string().contains("岳阳园区首次接洽在先"), "{latest}");
        }
        let again = app.post(&format!("/api/v1/claims/{}/decision", id(&second)), &body).await;
        again.assert_problem(409, "status", "not_contested");
    }
}

async fn a_park_learns_only_park_status_and_date_of_another_claim(app: TestApp) {
    let (_, mine) = project_of(&app, Who::ParkStaff, json!({"name": "鸿准精密工业股份有限公司"}), json!({"name": "鸿准秘密项目"})).await;
    let first = file(&app, Who::ParkStaff, &mine).await;
    let (_, theirs) = project_of(&app, Who::OtherParkStaff, json!({"name": "鴻準精密工業"}), json!({})).await;
    let second = file(&app, Who::OtherParkStaff, &theirs).await;
    let rival = second["rivals"][0].as_object().unwrap();
    let keys: Vec<&str> = rival.keys().map(String::as_str).collect();
    assert_eq!(keys, ["filed_on", "park_code", "status"], "{rival:?}");
    for leak in [id(&first), mine.clone(), "鸿准秘密项目".into()] {
        assert!(!second.to_string().contains(&leak), "{leak} leaked in {second}");
    }
    // Not through a read, a history, a list, a filter or monitoring either.
    let other = app.as_(Who::OtherParkStaff);
    assert_eq!(other.get(&format!("/api/v1/claims/{}", id(&first))).await.status, 404);
    assert_eq!(other.get(&format!("/api/v1/claims/{}/history", id(&first))).await.status, 404);
    let listed = other.get("/api/v1/claims").await;
    let ids: Vec<String> = listed.body["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [id(&second)]);
    let asked = other.get("/api/v1/claims?park=yueyang").await;
    assert_eq!((asked.status, asked.body["items"].clone()), (200, json!([])));
    let by_project = other.get(&format!("/api/v1/claims?project_id={mine}")).await;
    assert_eq!(by_project.body["items"], json!([]));
    let monitoring = other.get("/api/v1/monitoring?park=yueyang").await;
    assert!(!monitoring.text.contains("yueyang"), "{}", monitoring.text);
}

async fn a_rejected_claim_leaves_the_targets(app: TestApp) {
    let signed = json!({"stage": "signed", "signed_on": "2025-01-02", "contracted_investment_usd": 5_000_000});
    let (_, ours) = project_of(&app, Who::ParkStaff, json!({"name": "联电科技股份有限公司"}), signed.clone()).await;
    let (_, theirs) = project_of(&app, Who::OtherParkStaff, json!({"name": "聯電科技有限公司"}), signed).await;
    for project in [&ours, &theirs] {
        let fund = app.post(&format!("/api/v1/projects/{project}/funds"),
            &json!({"received_on": "2025-03-01", "amount_usd": 1_000_000, "evidence": "bank_receipt", "evidence_ref": "BR-9"})).await;
        assert_eq!(fund.status, 201, "{}", fund.text);
        let verified = app.post(&format!("/api/v1/projects/{project}/funds/{}/verification", id(&fund.body)), &json!({"decision": "verified"})).await;
        assert_eq!(verified.status, 200, "{}", verified.text);
    }
    let items = || async {
        let res = app.get("/api/v1/targets/new_taiwan_investment_usd/items?as_of=2025-12-31").await;
        assert_eq!(res.status, 200, "{}", res.text);
        let projects: Vec<String> = res.body["items"].as_array().unwrap().iter().map(|i| i["project_id"].as_str().unwrap().to_owned()).collect();
        (projects, res.body["value"].as_f64().unwrap())
    };
    let (before, value_before) = items().await;
    assert!(before.contains(&ours) && before.contains(&theirs), "{before:?}");

    let first = file(&app, Who::ParkStaff, &ours).await;
    let contested = file(&app, Who::OtherParkStaff, &theirs).await;
    let decided = app.post(&format!("/api/v1/claims/{}/decision", id(&contested)), &json!({"award": id(&first), "reason": "岳阳在先"})).await;
    assert_eq!(decided.status, 200, "{}", decided.text);

    let (after, value_after) = items().await;
    assert!(after.contains(&ours), "the awarded project stays");
    assert!(!after.contains(&theirs), "the rejected claim's project leaves the items: {after:?}");
    assert_eq!(value_before - value_after, 1_000_000.0);
    let targets = app.get("/api/v1/targets?as_of=2025-12-31&park=xiangtan").await;
    let investment = &targets.body["targets"][0];
    assert_eq!(investment["key"], "new_taiwan_investment_usd");
    assert_eq!(investment["value"].as_f64(), Some(0.0), "{investment}");
}

async fn a_later_park_disputes_an_award_again(app: TestApp) {
    let (_, ours) = project_of(&app, Who::ParkStaff, json!({"name": "台达电子"}), json!({})).await;
    let (_, theirs) = project_of(&app, Who::OtherParkStaff, json!({"name": "台達電子股份有限公司"}), json!({})).await;
    let first = file(&app, Who::ParkStaff, &ours).await;
    let second = file(&app, Who::OtherParkStaff, &theirs).await;
    let award = json!({"award": id(&first), "reason": "岳阳在先"});
    assert_eq!(app.post(&format!("/api/v1/claims/{}/decision", id(&first)), &award).await.status, 200);

    // Chenzhou claims the company later: contested against the award, which the province confirms.
    let investor = app.create_investor(json!({"park_code": "chenzhou", "name": "台达电子有限公司"})).await;
    let project = app.create_project(json!({"park_code": "chenzhou", "stage": "signed", "signed_on": "2026-01-02", "investor_ids": [investor["id"]]})).await;
    let third = app.post("/api/v1/claims", &json!({"project_id": project["id"], "evidence": "other", "evidence_ref": "CZ-1"})).await;
    assert_eq!(third.body["status"], "contested", "{}", third.text);
    let statuses: Vec<&str> = third.body["rivals"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["awarded", "rejected"]);
    let again = json!({"award": id(&first), "reason": "仍归岳阳"});
    let decided = app.post(&format!("/api/v1/claims/{}/decision", id(&third.body)), &again).await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    assert_eq!(decided.body["status"], "rejected");
    let first = app.get(&format!("/api/v1/claims/{}", id(&first))).await;
    assert_eq!((first.body["status"].as_str(), first.body["reason"].as_str()), (Some("awarded"), Some("仍归岳阳")));
    let second = app.get(&format!("/api/v1/claims/{}", id(&second))).await;
    assert_eq!(second.body["status"], "rejected", "a claim rejected before stays so");
}

async fn claims_age_with_the_clock_and_follow_ups_reset_it(app: TestApp) {
    let today = chrono::Utc::now().date_naive();
    let t0 = today - Duration::days(400);
    let day = |n: i64| t0 + Duration::days(n);
    app.clock.set_today(t0);
    let (investor, project) =
        project_of(&app, Who::ParkStaff, json!({"name": "京元电子"}), json!({"first_contact_on": (t0 - Duration::days(10)).to_string()})).await;
    let claim = file(&app, Who::ParkStaff, &project).await;
    assert_eq!(claim["filed_at"].as_str().unwrap()[..10], t0.to_string());
    assert_eq!(claim["expires_on"], day(180).to_string());
    let read = || async {
        let res = app.as_(Who::ParkStaff).get(&format!("/api/v1/claims/{}", id(&claim))).await;
        assert_eq!(res.status, 200, "{}", res.text);
        (res.body["status"].as_str().unwrap().to_owned(), res.body["light"].clone())
    };
    for (n, status, light) in [(60, "active", json!("green")), (61, "active", json!("amber")), (90, "active", json!("amber")),
                               (91, "active", json!("red")), (180, "active", json!("red")), (181, "lapsed", Value::Null)] {
        app.clock.set_today(day(n));
        assert_eq!(read().await, (status.to_owned(), light), "day {n}");
    }
    // A follow-up of its investor is progress: the claim is back, green, with a new expiry.
    let follow_up = app.as_(Who::ParkStaff).post(&format!("/api/v1/investors/{investor}/follow-ups"),
        &json!({"date": day(170).to_string(), "channel": "visit", "summary": "拜访总部"})).await;
    assert_eq!(follow_up.status, 201, "{}", follow_up.text);
    assert_eq!(read().await, ("active".to_owned(), json!("green")));
    let res = app.as_(Who::ParkStaff).get(&format!("/api/v1/claims/{}", id(&claim))).await;
    assert_eq!(res.body["last_progress_on"], day(170).to_string());
    assert_eq!(res.body["expires_on"], day(350).to_string());

    // Lapsed again; another park's claim on the company is then not contested,
    // and the lapse is written, by the system, for good.
    app.clock.set_today(day(351));
    assert_eq!(read().await, ("lapsed".to_owned(), Value::Null));
    let (_, theirs) = project_of(&app, Who::OtherParkStaff, json!({"name": "京元電子股份有限公司"}), json!({})).await;
    let second = file(&app, Who::OtherParkStaff, &theirs).await;
    assert_eq!(second["status"], "active", "{second}");
    assert_eq!(second["rivals"][0]["status"], "lapsed");
    let history = app.as_(Who::ParkStaff).get(&format!("/api/v1/claims/{}/history", id(&claim))).await;
    assert_eq!(history.body["items"][0]["actor"], "system");
    assert_eq!(history.body["items"][0]["changes"][0]["new"], "lapsed");
    app.as_(Who::ParkStaff).post(&format!("/api/v1/investors/{investor}/follow-ups"),
        &json!({"date": day(350).to_string(), "channel": "call", "summary": "电话"})).await;
    assert_eq!(read().await.0, "lapsed", "a written lapse is final");
    let _: NaiveDate = t0;
}

async fn filing_and_deciding_refuse_what_the_rules_refuse(app: TestApp) {
    let staff = app.as_(Who::ParkStaff);
    let (_, lead) = project_of(&app, Who::ParkStaff, json!({"name": "力积电"}), json!({"stage": "lead"})).await;
    let res = staff.post("/api/v1/claims", &json!({"project_id": lead, "evidence": "visit_record", "evidence_ref": "V-1"})).await;
    res.assert_problem(422, "project_id", "stage");
    let bare = app.create_project(json!({"stage": "negotiating"})).await;
    let res = staff.post("/api/v1/claims", &json!({"project_id": id(&bare), "evidence": "visit_record", "evidence_ref": "V-1"})).await;
    res.assert_problem(422, "project_id", "no_investors");
    let (_, theirs) = project_of(&app, Who::OtherParkStaff, json!({"name": "友达光电"}), json!({})).await;
    let res = staff.post("/api/v1/claims", &json!({"project_id": theirs, "evidence": "visit_record", "evidence_ref": "V-1"})).await;
    res.assert_problem(422, "project_id", "unknown");
    let res = staff.post("/api/v1/claims", &json!({"project_id": theirs, "evidence": "rumour", "evidence_ref": ""})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = app.as_(Who::ParkViewer).post("/api/v1/claims", &json!({})).await;
    assert_eq!(res.status, 403, "a viewer is refused before the body is read: {}", res.text);

    let (_, ours) = project_of(&app, Who::ParkStaff, json!({"name": "群创光电"}), json!({})).await;
    let claim = file(&app, Who::ParkStaff, &ours).await;
    let twice = staff.post("/api/v1/claims", &json!({"project_id": ours, "evidence": "other", "evidence_ref": "X"})).await;
    twice.assert_problem(409, "project_id", "claimed");
    let res = app.post(&format!("/api/v1/claims/{}/decision", id(&claim)), &json!({"award": id(&claim), "reason": "无争议"})).await;
    res.assert_problem(409, "status", "not_contested");

    let (_, rival) = project_of(&app, Who::OtherParkStaff, json!({"name": "群創光電"}), json!({})).await;
    let rival = file(&app, Who::OtherParkStaff, &rival).await;
    let res = app.post(&format!("/api/v1/claims/{}/decision", id(&rival)), &json!({"award": id(&claim)})).await;
    res.assert_problem(422, "reason", "required");
    let res = app.post(&format!("/api/v1/claims/{}/decision", id(&rival)), &json!({"award": uuid::Uuid::now_v7(), "reason": "x"})).await;
    res.assert_problem(422, "award", "not_in_contest");

    let history = staff.get(&format!("/api/v1/claims/{}/history", id(&claim))).await;
    let actions: Vec<&str> = history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "create"], "filed, then contested: {}", history.text);
    let listed = app.get("/api/v1/claims?status=contested").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "{}", listed.text);
}

async fn duplicate_names_are_409_naming_the_existing_investor(app: TestApp) {
    let staff = app.as_(Who::ParkStaff);
    let first = staff.post("/api/v1/investors", &investor_body(json!({"name": "華芯半導體股份有限公司", "-allow_same_name": null}))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = staff.post("/api/v1/investors", &investor_body(json!({"name": "华芯半导体有限公司", "-allow_same_name": null}))).await;
    again.assert_problem(409, "name", "duplicate_name");
    assert_eq!(again.body["existing_id"], id(&first.body));
    let allowed = staff.post("/api/v1/investors", &investor_body(json!({"name": "华芯半导体有限公司", "allow_same_name": true}))).await;
    assert_eq!(allowed.status, 201, "{}", allowed.text);
    assert!(allowed.body.get("allow_same_name").is_none(), "never stored nor shown");
    let elsewhere = app.as_(Who::OtherParkStaff).post("/api/v1/investors", &investor_body(json!({"park_code": "xiangtan", "name": "華芯半導體", "-allow_same_name": null}))).await;
    assert_eq!(elsewhere.status, 201, "another park's investor is no duplicate: {}", elsewhere.text);

    // Renaming onto a taken name is refused the same way; other changes are not.
    let other = staff.post("/api/v1/investors", &investor_body(json!({"name": "日月光", "-allow_same_name": null}))).await;
    let path = format!("/api/v1/investors/{}", id(&other.body));
    let renamed = staff.patch(&path, Some("\"1\""), &json!({"name": "華芯半導體"})).await;
    renamed.assert_problem(409, "name", "duplicate_name");
    assert_eq!(renamed.body["existing_id"], id(&first.body));
    let noted = staff.patch(&format!("/api/v1/investors/{}", id(&allowed.body)), Some("\"1\""), &json!({"notes": "同名另一家"})).await;
    assert_eq!(noted.status, 200, "{}", noted.text);
}

async fn investors_of_a_registered_project_are_settled_by_the_system(app: TestApp) {
    let staff = app.as_(Who::ParkStaff);
    let investor = staff.post("/api/v1/investors", &investor_body(json!({"name": "南亚科技", "status": "negotiating"}))).await;
    let investor = id(&investor.body);
    let project = app.create_project(json!({"stage": "signed", "signed_on": "2026-01-05", "investor_ids": [investor]})).await;
    let unchanged = staff.get(&format!("/api/v1/investors/{investor}")).await;
    assert_eq!(unchanged.body["status"], "negotiating", "signed is not settled yet");
    let moved = staff.patch(&format!("/api/v1/projects/{}", id(&project)), Some("\"1\""), &json!({"stage": "registered", "registered_on": "2026-03-01"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let settled = staff.get(&format!("/api/v1/investors/{investor}")).await;
    assert_eq!(settled.body["status"], "settled");
    assert_eq!(settled.body["settled_on"], "2026-03-01");
    let history = staff.get(&format!("/api/v1/investors/{investor}/history")).await;
    let latest = &history.body["items"][0];
    assert_eq!(latest["actor"], "system");
    let fields: Vec<&str> = latest["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["settled_on", "status"]);
    assert_eq!(latest["changes"][1]["old"], "negotiating");
}
