//! Statistics (`/stats/{library}`, `/stats/funnel`) and `count=true` on lists:
//! sums that agree with the lists, park scoping, a funnel computed by hand.

use std::collections::BTreeMap;

use chrono::Datelike;
use serde_json::{json, Value};

use crate::helpers::{enc, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    project_stats_add_up_to_the_list,
    investor_and_talent_stats_add_up_to_their_lists,
    park_roles_count_only_their_park,
    the_funnel_matches_a_hand_count,
    bad_group_by_and_cohort_are_named,
    count_true_gives_the_total_and_nothing_else_does,
    statistics_refuse_what_only_pages_a_list,
);

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

/// Every item of a list, page after page.
async fn every_item(app: &TestApp, who: Who, path: &str, filters: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let res = app.as_(who).get(&format!("{path}?limit=3&cursor={}&{filters}", enc(&cursor))).await;
        assert_eq!(res.status, 200, "{path}?{filters}: {}", res.text);
        items.extend(res.body["items"].as_array().unwrap().iter().cloned());
        match res.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return items,
        }
    }
}

/// The year statistics give a project: its first contact's, else its creation's.
fn project_year(p: &Value) -> Value {
    let date = p["first_contact_on"].as_str().or(p["created_at"].as_str()).unwrap();
    json!(date[..4].parse::<i64>().unwrap())
}

fn money(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Groups of list items by `dimensions`, as a statistic should give them:
/// key → [count, planned, contracted, in place].
fn group_items(items: &[Value], dimensions: &[&str], key_of: impl Fn(&Value, &str) -> Value) -> BTreeMap<String, [i64; 4]> {
    let mut groups: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    for item in items {
        let key: serde_json::Map<String, Value> = dimensions.iter().map(|d| (d.to_string(), key_of(item, d))).collect();
        let sums = groups.entry(Value::Object(key).to_string()).or_default();
        sums[0] += 1;
        sums[1] += money(&item["planned_investment_usd"]);
        sums[2] += money(&item["contracted_investment_usd"]);
        sums[3] += money(&item["actual_investment_usd"]);
    }
    groups
}

fn group_stats(stats: &Value) -> BTreeMap<String, [i64; 4]> {
    stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let figures = [money(&g["count"]), money(&g["planned_usd"]), money(&g["contracted_usd"]), money(&g["in_place_usd"])];
            (g["key"].to_string(), figures)
        })
        .collect()
}

fn project_key(p: &Value, dimension: &str) -> Value {
    match dimension {
        "park" => p["park_code"].clone(),
        "year" => project_year(p),
        other => p[other].clone(),
    }
}

/// Projects across parks, stages, industries and years; one with verified funds.
async fn some_projects(app: &TestApp) {
    let bodies = [
        json!({"park_code": "yueyang", "industry": "new_energy", "chain_role": "extend", "first_contact_on": "2023-05-01",
               "planned_investment_usd": 10_000_000}),
        json!({"park_code": "yueyang", "industry": "new_energy", "stage": "negotiating", "first_contact_on": "2024-02-01",
               "planned_investment_usd": 20_000_000, "attraction_mode": "targeted"}),
        json!({"park_code": "yueyang", "industry": "electronic_information", "stage": "signed", "first_contact_on": "2024-03-01",
               "signed_on": "2024-06-01", "contracted_investment_usd": 30_000_000, "planned_investment_usd": 35_000_000,
               "chain_role": "strengthen"}),
        json!({"park_code": "xiangtan", "industry": "medical_devices", "stage": "signed", "signed_on": "2025-01-02",
               "contracted_investment_usd": 7_000_000, "planned_investment_usd": 8_000_000}),
        json!({"park_code": "xiangtan", "industry": "medical_devices", "stage": "dropped", "first_contact_on": "2024-07-07",
               "planned_investment_usd": 3_000_000, "chain_role": "fill"}),
        json!({"park_code": "chenzhou", "industry": "nonferrous_metals", "first_contact_on": "2022-01-01",
               "planned_investment_usd": 1_500_000, "attraction_mode": "commissioned"}),
    ];
    let mut created = Vec::new();
    for body in bodies {
        created.push(app.create_project(body).await);
    }
    // Verified funds make `in_place_usd` (the list's actual_investment_usd) non-zero.
    let funds = format!("/api/v1/projects/{}/funds", id(&created[2]));
    let fund = app
        .post(&funds, &json!({"received_on": "2024-07-01", "amount_usd": 4_000_000, "evidence": "bank_receipt", "evidence_ref": "BR-1"}))
        .await;
    assert_eq!(fund.status, 201, "{}", fund.text);
    let verified = app.post(&format!("{funds}/{}/verification", id(&fund.body)), &json!({"decision": "verified"})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
}

async fn project_stats_add_up_to_the_list(app: TestApp) {
    some_projects(&app).await;
    let cases = [
        ("park", ""),
        ("park,stage", ""),
        ("industry,year", ""),
        ("stage,attraction_mode,chain_role", "park=yueyang&park=xiangtan"),
        ("year,park", "stage=signed&stage=negotiating"),
        ("chain_role", "industry=medical_devices"),
        ("", &format!("q={}", enc("项目"))),
    ];
    for (group_by, filters) in cases {
        let dimensions: Vec<&str> = group_by.split(',').filter(|d| !d.is_empty()).collect();
        let stats = app.get(&format!("/api/v1/stats/projects?group_by={group_by}&{filters}")).await;
        assert_eq!(stats.status, 200, "{group_by} {filters}: {}", stats.text);
        assert_eq!(stats.body["group_by"], json!(dimensions));
        let items = every_item(&app, Who::ProvincialViewer, "/api/v1/projects", filters).await;
        assert!(!items.is_empty(), "{filters} should match projects");
        let expected = group_items(&items, &dimensions, project_key);
        assert_eq!(group_stats(&stats.body), expected, "group_by={group_by} {filters}");
        let total = &stats.body["total"];
        let sum = |field: &str| items.iter().map(|p| money(&p[field])).sum::<i64>();
        assert_eq!(money(&total["count"]), items.len() as i64);
        assert_eq!(money(&total["planned_usd"]), sum("planned_investment_usd"));
        assert_eq!(money(&total["contracted_usd"]), sum("contracted_investment_usd"));
        assert_eq!(money(&total["in_place_usd"]), sum("actual_investment_usd"));
    }
    // The funds really count: in place is what was verified.
    let signed = app.get("/api/v1/stats/projects?park=yueyang&stage=signed").await;
    assert_eq!(signed.body["total"]["in_place_usd"], 4_000_000);

    // Keys carry their Chinese labels; a park's label is its name.
    let by_stage = app.get("/api/v1/stats/projects?group_by=park,stage&park=xiangtan").await;
    let dropped = by_stage.body["groups"].as_array().unwrap().iter().find(|g| g["key"]["stage"] == "dropped").unwrap();
    assert_eq!(dropped["labels"]["stage"], "终止");
    assert_eq!(dropped["labels"]["park"], "湘潭产业园（湘潭经济技术开发区）");
    let no_role = app.get("/api/v1/stats/projects?group_by=chain_role&park=chenzhou").await;
    assert_eq!(no_role.body["groups"], json!([{"key": {"chain_role": null}, "labels": {"chain_role": null}, "count": 1,
        "planned_usd": 1_500_000, "contracted_usd": 0, "in_place_usd": 0}]));
}

async fn investor_and_talent_stats_add_up_to_their_lists(app: TestApp) {
    for (park, kind, status) in [("yueyang", "company", "prospect"), ("yueyang", "individual", "settled"), ("xiangtan", "company", "settled"), ("chenzhou", "association", "lost")] {
        let mut body = json!({"park_code": park, "kind": kind, "status": status});
        if status == "settled" {
            body["settled_on"] = json!("2025-03-01");
        }
        app.create_investor(body).await;
    }
    for (park, status, education) in [("yueyang", "prospect", "master"), ("yueyang", "employed", "doctor"), ("chenzhou", "prospect", "master")] {
        app.create_talent(json!({"park_code": park, "status": status, "education": education})).await;
    }
    let this_year = json!(chrono::Utc::now().year());
    for (library, group_by, filters) in [
        ("investors", "park,status", ""),
        ("investors", "kind,origin,year", "status=settled"),
        ("talents", "education,park", ""),
        ("talents", "status,specialty,year", "park=yueyang"),
    ] {
        let dimensions: Vec<&str> = group_by.split(',').collect();
        let stats = app.get(&format!("/api/v1/stats/{library}?group_by={group_by}&{filters}")).await;
        assert_eq!(stats.status, 200, "{library} {group_by}: {}", stats.text);
        assert!(stats.body["total"].get("planned_usd").is_none(), "money is for projects only");
        let items = every_item(&app, Who::ProvincialAdmin, &format!("/api/v1/{library}"), filters).await;
        let expected = group_items(&items, &dimensions, |item, d| match d {
            "park" => item["park_code"].clone(),
            "year" => this_year.clone(),
            other => item[other].clone(),
        });
        assert_eq!(group_stats(&stats.body), expected, "{library} group_by={group_by} {filters}");
        assert_eq!(money(&stats.body["total"]["count"]), items.len() as i64);
    }
    let settled = app.get("/api/v1/stats/investors?group_by=status&park=yueyang&status=settled").await;
    assert_eq!(settled.body["groups"][0]["labels"]["status"], "已落户");
}

async fn park_roles_count_only_their_park(app: TestApp) {
    some_projects(&app).await;
    app.create_investor(json!({"park_code": "yueyang"})).await;
    app.create_investor(json!({"park_code": "xiangtan"})).await;
    app.create_talent(json!({"park_code": "chenzhou"})).await;
    let province = app.as_(Who::ProvincialViewer).get("/api/v1/stats/projects?group_by=park").await;
    let yueyang = province.body["groups"].as_array().unwrap().iter().find(|g| g["key"]["park"] == "yueyang").unwrap().clone();
    assert_eq!(province.body["groups"].as_array().unwrap().len(), 3);

    for who in [Who::ParkViewer, Who::ParkStaff, Who::ParkAdmin] {
        let own = app.as_(who).get("/api/v1/stats/projects?group_by=park").await;
        assert_eq!(own.status, 200, "{}", own.text);
        assert_eq!(own.body["groups"], json!([yueyang]), "{who:?} sees its park only");
        assert_eq!(own.body["total"]["count"], yueyang["count"]);
        // Asking for another park gives nothing, not that park's figures.
        let other = app.as_(who).get("/api/v1/stats/projects?group_by=stage&park=xiangtan").await;
        assert_eq!(other.body["groups"], json!([]));
        assert_eq!(other.body["total"], json!({"count": 0, "planned_usd": 0, "contracted_usd": 0, "in_place_usd": 0}));
        let investors = app.as_(who).get("/api/v1/stats/investors?group_by=park").await;
        assert_eq!(investors.body["groups"].as_array().unwrap().len(), 1);
        assert_eq!(investors.body["groups"][0]["key"]["park"], "yueyang");
        let talents = app.as_(who).get("/api/v1/stats/talents").await;
        assert_eq!(talents.body["total"]["count"], 0, "the only talent is chenzhou's");

        let listed = app.as_(who).get("/api/v1/projects?count=true&limit=1").await;
        assert_eq!(listed.body["total"], yueyang["count"]);
        let elsewhere = app.as_(who).get("/api/v1/investors?count=true&park=xiangtan").await;
        assert_eq!(elsewhere.body["total"], 0);
        let funnel = app.as_(who).get("/api/v1/stats/funnel").await;
        let projects: i64 = funnel.body["cohorts"].as_array().unwrap().iter().map(|c| money(&c["projects"])).sum();
        assert_eq!(json!(projects), yueyang["count"], "{who:?}'s funnel covers its park");
    }
    let other_park = app.as_(Who::OtherParkStaff).get("/api/v1/stats/projects?group_by=park").await;
    assert_eq!(other_park.body["groups"].as_array().unwrap().len(), 1);
    assert_eq!(other_park.body["groups"][0]["key"]["park"], "xiangtan");
}

async fn patch(app: &TestApp, project: &Value, body: Value) -> Value {
    let version = project["version"].as_i64().unwrap().to_string();
    let res = app.patch(&format!("/api/v1/projects/{}", id(project)), Some(&format!("\"{version}\"")), &body).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

async fn the_funnel_matches_a_hand_count(app: TestApp) {
    // Cohort 2024, yueyang:
    // A: lead (first contact 01-10) → signed 03-10 → registered 05-09: lead 60 days, signed 60.
    let a = app.create_project(json!({"first_contact_on": "2024-01-10"})).await;
    let a = patch(&app, &a, json!({"stage": "signed", "signed_on": "2024-03-10"})).await;
    patch(&app, &a, json!({"stage": "registered", "registered_on": "2024-05-09"})).await;
    // B: lead (02-01) → signed 02-21: lead 20 days; still signed.
    let b = app.create_project(json!({"first_contact_on": "2024-02-01"})).await;
    patch(&app, &b, json!({"stage": "signed", "signed_on": "2024-02-21"})).await;
    // C: lead (06-01) → dropped: reached lead only.
    let c = app.create_project(json!({"first_contact_on": "2024-06-01"})).await;
    patch(&app, &c, json!({"stage": "dropped"})).await;
    // D: created signed: reached lead to signed, no days anywhere.
    app.create_project(json!({"stage": "signed", "first_contact_on": "2024-03-01", "signed_on": "2024-04-01"})).await;
    // Cohort 2025: E moves to negotiating today: its lead lasted until today.
    let e = app.create_project(json!({"first_contact_on": "2025-01-01"})).await;
    patch(&app, &e, json!({"stage": "negotiating"})).await;
    // Another park's project: in the province's funnel only.
    app.create_project(json!({"park_code": "xiangtan", "first_contact_on": "2024-08-08"})).await;

    let lead_days_of_e = (chrono::Utc::now().date_naive() - chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()).num_days();
    let stage = |stage: &str, label: &str, reached: i64, conversion: Value, median: Value| {
        json!({"stage": stage, "label": label, "reached": reached, "conversion": conversion, "median_days": median})
    };
    let expected = json!({"cohorts": [
        {"cohort": 2024, "projects": 4, "dropped": 1, "stages": [
            // Lead days of A and B: 60 and 20; the lower median is 20.
            stage("lead", "线索", 4, json!(null), json!(20)),
            stage("negotiating", "洽谈", 3, json!(0.75), json!(null)),
            stage("signed", "签约", 3, json!(1.0), json!(60)),
            stage("registered", "注册落地", 1, json!(0.333), json!(null)),
            stage("under_construction", "开工在建", 0, json!(0.0), json!(null)),
            stage("operating", "投产运营", 0, json!(null), json!(null)),
        ]},
        {"cohort": 2025, "projects": 1, "dropped": 0, "stages": [
            stage("lead", "线索", 1, json!(null), json!(lead_days_of_e)),
            stage("negotiating", "洽谈", 1, json!(1.0), json!(null)),
            stage("signed", "签约", 0, json!(0.0), json!(null)),
            stage("registered", "注册落地", 0, json!(null), json!(null)),
            stage("under_construction", "开工在建", 0, json!(null), json!(null)),
            stage("operating", "投产运营", 0, json!(null), json!(null)),
        ]},
    ]});
    let mine = app.as_(Who::ParkViewer).get("/api/v1/stats/funnel?cohort=year").await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body, expected);
    let asked = app.get("/api/v1/stats/funnel?park=yueyang").await;
    assert_eq!(asked.body, expected);
    let province = app.get("/api/v1/stats/funnel").await;
    assert_eq!(province.body["cohorts"][0]["projects"], 5, "xiangtan's 2024 project joins the zone's cohort");
}

async fn bad_group_by_and_cohort_are_named(app: TestApp) {
    for path in [
        "/api/v1/stats/projects?group_by=park,colour",
        "/api/v1/stats/projects?group_by=kind",
        "/api/v1/stats/investors?group_by=stage",
        "/api/v1/stats/talents?group_by=year&group_by=year",
    ] {
        app.get(path).await.assert_problem(400, "group_by", if path.ends_with("year") { "duplicate" } else { "enum" });
    }
    let res = app.get("/api/v1/stats/funnel?cohort=quarter").await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert_eq!(res.error_fields(), vec!["cohort"]);
    // The list's own filters are checked as the list checks them.
    let res = app.get("/api/v1/stats/projects?stage=finished").await;
    assert_eq!((res.status, res.error_fields()), (400, vec!["stage".to_owned()]));
    let res = app.get("/api/v1/stats/talents?colour=red").await;
    assert_eq!((res.status, res.error_fields()), (400, vec!["colour".to_owned()]));
    assert_eq!(app.as_(Who::Anonymous).get("/api/v1/stats/projects").await.status, 401);
}

async fn count_true_gives_the_total_and_nothing_else_does(app: TestApp) {
    some_projects(&app).await;
    for (path, filters) in [
        ("/api/v1/projects", ""),
        ("/api/v1/projects", "stage=signed"),
        ("/api/v1/projects", &format!("q={}&park=yueyang", enc("项目")) as &str),
        ("/api/v1/investors", ""),
        ("/api/v1/talents", "park=chenzhou"),
    ] {
        let all = every_item(&app, Who::ProvincialAdmin, path, filters).await;
        let counted = app.get(&format!("{path}?count=true&limit=2&{filters}")).await;
        assert_eq!(counted.status, 200, "{}", counted.text);
        assert_eq!(counted.body["total"], json!(all.len()), "{path}?{filters}");
        let plain = app.get(&format!("{path}?limit=2&{filters}")).await;
        assert!(plain.body.get("total").is_none(), "no total unless asked: {}", plain.text);
        let not_counted = app.get(&format!("{path}?count=false&{filters}")).await;
        assert!(not_counted.body.get("total").is_none());
    }
    // Claims: a status filter counts today's statuses.
    for name in ["计数甲公司", "计数乙公司"] {
        let investor = app.create_investor(json!({"name": name})).await;
        let project = app.create_project(json!({"stage": "negotiating", "investor_ids": [investor["id"]]})).await;
        let claim = app.post("/api/v1/claims", &json!({"project_id": id(&project), "evidence": "visit_record", "evidence_ref": "M-1"})).await;
        assert_eq!(claim.status, 201, "{}", claim.text);
    }
    assert_eq!(app.get("/api/v1/claims?count=true&limit=1").await.body["total"], 2);
    assert_eq!(app.get("/api/v1/claims?count=true&status=active").await.body["total"], 2);
    assert_eq!(app.get("/api/v1/claims?count=true&status=lapsed").await.body["total"], 0);
    assert_eq!(app.as_(Who::OtherParkStaff).get("/api/v1/claims?count=true").await.body["total"], 0);
    let bad = app.get("/api/v1/projects?count=maybe").await;
    assert_eq!((bad.status, bad.error_fields()), (400, vec!["count".to_owned()]));
}

/// A statistic has no pages, order or separate count: the list parameters
/// for those are refused by name instead of being silently ignored.
async fn statistics_refuse_what_only_pages_a_list(app: TestApp) {
    app.create_project(json!({})).await;
    for library in ["projects", "investors", "talents"] {
        for (param, value) in [("limit", "5"), ("cursor", "abc"), ("sort", "name"), ("count", "true")] {
            let res = app.get(&format!("/api/v1/stats/{library}?group_by=park&{param}={value}")).await;
            res.assert_problem(400, param, "unknown_parameter");
        }
        let res = app.get(&format!("/api/v1/stats/{library}?group_by=park&park=yueyang")).await;
        assert_eq!(res.status, 200, "the filters still apply: {}", res.text);
    }
    let counted = app.get("/api/v1/stats/projects?park=yueyang&park=xiangtan").await;
    assert_eq!(counted.body["total"]["count"], 1, "{}", counted.text);
    app.get("/api/v1/stats/projects?high_tech=true&high_tech=false").await.assert_problem(400, "high_tech", "repeated");
    assert_eq!(app.get("/api/v1/stats/funnel?limit=5").await.status, 400);
}
