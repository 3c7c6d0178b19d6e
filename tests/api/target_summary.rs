//! The targets' summary against the computation from the facts: after a
//! randomised sequence of writes through the API (investors, their origin,
//! recognition, name, status, top-100 link and deletion; projects, their
//! links, contracts and deletion; funds and their decisions; figures; a
//! renamed top-100 group; a new period), the figures `/targets` reads from
//! the summary equal those computed row by row, on several dates, for two
//! output years and in every scope.

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::helpers::{investor_body, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(the_summary_follows_every_write);

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A day between two years, inclusive.
    fn day(&mut self, from_year: i32, to_year: i32) -> String {
        let year = from_year + self.below((to_year - from_year + 1) as usize) as i32;
        format!("{year}-{:02}-{:02}", 1 + self.below(12), 1 + self.below(28))
    }
}

const PARKS: [&str; 3] = ["yueyang", "xiangtan", "chenzhou"];
/// Few names, so the same enterprise turns up in several parks.
const NAMES: [&str; 5] = ["华芯半导体", "远东精密", "台光电子", "鸿准模具", "萨摩亚控股"];
const ORIGINS: [&str; 4] = ["taiwan", "mainland_taiwan_funded", "third_place", "other"];
const DATES: [&str; 7] = ["2019-06-30", "2020-12-31", "2021-12-31", "2023-03-15", "2024-12-31", "2025-06-30", "2026-01-01"];

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// Every difference between the summary and the facts, on every date, for
/// the default output year and 2020.
fn assert_agree(app: &TestApp, when: &str) {
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    for raw in DATES {
        let as_of = NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap();
        for year in [None, Some(2020).filter(|_| raw >= "2020")] {
            let differences = invest_registry::targets::summary::check(&mut conn, as_of, year).unwrap();
            assert!(differences.is_empty(), "{when}, {raw}, year {year:?}:\n{}", differences.join("\n"));
        }
    }
}

/// An investor's body: settled on a random day or still negotiating, a
/// random origin (recognised or not), maybe linked to a group.
fn investor(rng: &mut Rng, park: &str, groups: &[String]) -> Value {
    let origin = *rng.pick(&ORIGINS);
    let settled = rng.chance(80);
    let mut body = investor_body(json!({
        "park_code": park,
        "name": rng.pick(&NAMES),
        "origin": origin,
        "status": if settled { "settled" } else { "negotiating" },
    }));
    if settled {
        body["settled_on"] = json!(rng.day(2019, 2025));
    }
    if origin == "third_place" && rng.chance(70) {
        body["third_place_recognised_on"] = json!(rng.day(2020, 2025));
    }
    if rng.chance(30) {
        body["top100_id"] = json!(rng.pick(groups));
    }
    body
}

async fn add_fund(app: &TestApp, rng: &mut Rng, project: &str, signed_year: i32) {
    let body = json!({"received_on": rng.day(signed_year + 1, 2025), "amount_usd": 10_000 + rng.below(90_000),
                      "evidence": "bank_receipt", "evidence_ref": "BR-1"});
    let fund = app.post(&format!("/api/v1/projects/{project}/funds"), &body).await;
    assert!(fund.status < 500, "{}", fund.text);
    if fund.status == 201 && !rng.chance(25) {
        let decision = if rng.chance(75) { "verified" } else { "rejected" };
        let path = format!("/api/v1/projects/{project}/funds/{}/verification", id(&fund.body));
        let decided = app.post(&path, &json!({"decision": decision, "reason": "测试"})).await;
        assert_eq!(decided.status, 200, "{}", decided.text);
    }
}

async fn the_summary_follows_every_write(app: TestApp) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut groups = Vec::new();
    for (rank, name, year) in [(1, "示例集团（测试数据）", 2023), (1, "示例集团（测试数据）", 2024), (2, "另一集团（测试数据）", 2024)] {
        let g = app.post("/api/v1/top100", &json!({"rank": rank, "group_name": name, "list_source": "test", "list_year": year})).await;
        assert_eq!(g.status, 201, "{}", g.text);
        groups.push(id(&g.body));
    }

    let mut investors: Vec<(String, String)> = Vec::new(); // (id, park)
    for _ in 0..18 {
        let park = *rng.pick(&PARKS);
        let created = app.post("/api/v1/investors", &investor(&mut rng, park, &groups)).await;
        assert_eq!(created.status, 201, "{}", created.text);
        investors.push((id(&created.body), park.to_owned()));
    }
    for (investor, _) in &investors {
        for year in [2020, 2023, 2024, 2025] {
            if rng.chance(60) {
                let body = json!({"year": year, "output_value_cny": 1_000 + rng.below(9_000)});
                let figure = app.post(&format!("/api/v1/investors/{investor}/figures"), &body).await;
                assert_eq!(figure.status, 201, "{}", figure.text);
            }
        }
    }
    let mut projects: Vec<(String, String, i32)> = Vec::new(); // (id, park, signed year)
    for _ in 0..12 {
        let park = *rng.pick(&PARKS);
        let own: Vec<&String> = investors.iter().filter(|(_, p)| p == park).map(|(i, _)| i).collect();
        let linked: Vec<&String> = own.iter().filter(|_| rng.chance(50)).copied().collect();
        let signed_year = 2020 + rng.below(4) as i32;
        let body = json!({"park_code": park, "stage": "signed", "signed_on": format!("{signed_year}-03-01"),
                          "contracted_investment_usd": 1_000_000, "investor_ids": linked});
        let project = app.create_project(body).await;
        projects.push((id(&project), park.to_owned(), signed_year));
        for _ in 0..rng.below(4) {
            add_fund(&app, &mut rng, &id(&project), signed_year).await;
        }
    }
    assert_agree(&app, "after seeding");

    for step in 0..40 {
        let (investor, park) = rng.pick(&investors).clone();
        let (project, project_park, signed_year) = rng.pick(&projects).clone();
        let path = format!("/api/v1/investors/{investor}");
        let res = match rng.below(10) {
            0 => {
                let origin = *rng.pick(&ORIGINS);
                let recognised = (origin == "third_place").then(|| rng.day(2020, 2025));
                app.patch(&path, Some("*"), &json!({"origin": origin, "third_place_recognised_on": recognised})).await
            }
            1 => app.patch(&path, Some("*"), &json!({"name": rng.pick(&NAMES)})).await,
            2 => app.patch(&path, Some("*"), &json!({"status": "settled", "settled_on": rng.day(2019, 2025)})).await,
            3 => app.patch(&path, Some("*"), &json!({"top100_id": if rng.chance(70) { json!(rng.pick(&groups)) } else { Value::Null }})).await,
            4 => app.delete(&path, Some("*")).await,
            5 => {
                let own: Vec<&String> = investors.iter().filter(|(_, p)| *p == project_park).map(|(i, _)| i).collect();
                let linked: Vec<&String> = own.into_iter().filter(|_| rng.chance(50)).collect();
                app.patch(&format!("/api/v1/projects/{project}"), Some("*"), &json!({"investor_ids": linked})).await
            }
            6 if rng.chance(30) => app.delete(&format!("/api/v1/projects/{project}"), Some("*")).await,
            7 => {
                add_fund(&app, &mut rng, &project, signed_year).await;
                continue;
            }
            8 => {
                // Renaming the second group to the first's joins them into one.
                let name = if rng.chance(50) { "示例集团（测试数据）" } else { "另一集团（测试数据）" };
                app.patch(&format!("/api/v1/top100/{}", groups[2]), Some("*"), &json!({"group_name": name})).await
            }
            _ => {
                let from = *rng.pick(&["2021-01-01", "2022-07-01", "2020-01-01"]);
                let body = json!({"period": {"from": from, "to": "2025-12-31"},
                    "targets": {"new_taiwan_investment_usd": 3_000_000_000_i64, "taiwan_funded_enterprises": 300,
                                "taiwan_top100_present": 20, "taiwan_funded_output_ratio": 2.0}});
                let headers = [("content-type", "application/json"), ("if-match", "*")];
                app.as_(Who::ProvincialAdmin)
                    .send(actix_web::http::Method::PUT, "/api/v1/targets/settings", &headers, Some(body.to_string().into_bytes()))
                    .await
            }
        };
        // Rules may refuse a change (a fund above the contract, a link to a
        // deleted investor…); nothing may fail.
        assert!(res.status < 500, "step {step} on {park}: {}", res.text);
        if step % 8 == 7 {
            assert_agree(&app, &format!("after step {step}"));
        }
    }
    assert_agree(&app, "at the end");

    // Not a comparison of two empty reports.
    let zone = app.get("/api/v1/targets?as_of=2025-06-30").await;
    assert_eq!(zone.status, 200, "{}", zone.text);
    let values: Vec<f64> = zone.body["targets"].as_array().unwrap().iter().map(|t| t["value"].as_f64().unwrap()).collect();
    assert!(values.iter().filter(|v| **v > 0.0).count() >= 3, "{values:?}");

    // And the comparison sees facts changed around the service's writes.
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    for sql in ["UPDATE funds SET amount_usd = amount_usd + 1", "UPDATE investor_figures SET output_value_cny = output_value_cny + 1"] {
        diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut **conn).unwrap();
    }
    let as_of = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let differences = invest_registry::targets::summary::check(&mut conn, as_of, None).unwrap();
    assert!(!differences.is_empty(), "a stale summary must not pass the check");
}
