//! The 2025 targets on seeded data with traps: each figure is the sum of the
//! rows `/items` lists; one enterprise in two parks, one group in two parks,
//! pending and rejected funds, funds outside the period or after `as_of`,
//! third-place investors before recognition, non-Taiwanese projects, and
//! `as_of` yesterday against today.

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(
    every_value_is_the_sum_of_its_items_and_the_traps_hold,
    park_roles_get_their_park_and_the_zone_only,
    yesterday_and_today_differ_by_the_facts_of_today,
    bad_dates_years_parks_and_keys_are_refused,
    settings_are_the_provinces_and_shares_add_up,
    the_series_ends_at_the_figure_of_as_of,
);

/// Writes facts straight into the tables, as the registry would hold them.
struct Seed {
    pool: invest_registry::db::DbPool,
}

impl Seed {
    fn new(app: &TestApp) -> Self {
        Seed { pool: invest_registry::db::connect(&app.database_url, 1).unwrap() }
    }

    fn exec(&self, sql: &str) {
        let mut conn = self.pool.get().unwrap();
        diesel::sql_query(sql).execute(&mut **conn).unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    /// The writes of the service keep the targets' summary; rows written
    /// around them need it rebuilt, as the service does at start.
    fn summarise(&self) {
        let mut conn = self.pool.get().unwrap();
        invest_registry::db::write_tx(&mut conn, invest_registry::targets::summary::rebuild).unwrap();
    }

    fn id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    fn opt(v: Option<&str>) -> String {
        v.map(|v| format!("'{v}'")).unwrap_or_else(|| "NULL".into())
    }

    /// An investor; `status` settled with `settled_on`, or anything else.
    #[allow(clippy::too_many_arguments)]
    fn investor(&self, park: &str, name: &str, origin: &str, status: &str, settled_on: Option<&str>,
                ubn: Option<&str>, recognised_on: Option<&str>, top100: Option<&str>) -> String {
        let id = Self::id();
        let key = invest_registry::investors::name_key(name);
        self.exec(&format!(
            "INSERT INTO investors (id, park_code, kind, name, origin, region, taiwan_business_id, taiwan_top100, industries,
               status, settled_on, search_text, name_key, created_at, updated_at, created_by, updated_by, version,
               third_place_recognised_on, top100_id)
             VALUES ('{id}', '{park}', 'company', '{name}', '{origin}', '台湾', {}, FALSE, '[]', '{status}', {}, '{name}', '{key}',
               '2021-01-01 00:00:00', '2021-01-01 00:00:00', 'seed', 'seed', 1, {}, {})",
            Self::opt(ubn), Self::opt(settled_on), Self::opt(recognised_on), Self::opt(top100)
        ));
        id
    }

    fn project(&self, park: &str, name: &str, signed_on: Option<&str>, contracted: Option<i64>, investors: &[&str]) -> String {
        let id = Self::id();
        self.exec(&format!(
            "INSERT INTO projects (id, park_code, name, industry, attraction_mode, stage, planned_investment_usd, high_tech, tags,
               search_text, created_at, updated_at, created_by, updated_by, version, signed_on, contracted_investment_usd)
             VALUES ('{id}', '{park}', '{name}', 'other', 'targeted', 'signed', 1, FALSE, '[]', '{name}',
               '2021-01-01 00:00:00', '2021-01-01 00:00:00', 'seed', 'seed', 1, {}, {})",
            Self::opt(signed_on), contracted.map(|c| c.to_string()).unwrap_or_else(|| "NULL".into())
        ));
        for (position, investor) in investors.iter().enumerate() {
            self.exec(&format!("INSERT INTO project_investors (project_id, investor_id, position) VALUES ('{id}', '{investor}', {position})"));
        }
        id
    }

    fn fund(&self, project: &str, park: &str, received_on: &str, amount: i64, status: &str) -> String {
        let id = Self::id();
        self.exec(&format!(
            "INSERT INTO funds (id, project_id, park_code, received_on, amount_usd, evidence, evidence_ref, status, version,
               created_at, updated_at, created_by, updated_by)
             VALUES ('{id}', '{project}', '{park}', '{received_on}', {amount}, 'bank_receipt', 'BR-{amount}', '{status}', 1,
               '2021-01-01 00:00:00', '2021-01-01 00:00:00', 'seed', 'seed')"
        ));
        id
    }

    fn figure(&self, investor: &str, year: i32, value: i64) {
        self.exec(&format!(
            "INSERT INTO investor_figures (id, investor_id, year, output_value_cny, created_at, updated_at, updated_by)
             VALUES ('{}', '{investor}', {year}, {value}, '2021-01-01 00:00:00', '2021-01-01 00:00:00', 'seed')",
            Self::id()
        ));
    }
}

const KEYS: [&str; 4] = ["new_taiwan_investment_usd", "taiwan_funded_enterprises", "taiwan_top100_present", "taiwan_funded_output_ratio"];

/// The scenario every test starts from; the numbers in the comments are what
/// the crediting rules make of it on 2025-06-30.
async fn seed(app: &TestApp) -> Seed {
    let s = Seed::new(app);
    let g1 = app.post("/api/v1/top100", &json!({"rank": 1, "group_name": "示例集团（测试数据）", "member_names": ["示例集团岳阳厂"],
        "list_source": "test", "list_year": 2024})).await;
    assert_eq!(g1.status, 201, "{}", g1.text);
    let g1 = g1.body["id"].as_str().unwrap().to_owned();
    let g2 = app.post("/api/v1/top100", &json!({"rank": 2, "group_name": "未入驻集团（测试数据）",
        "list_source": "test", "list_year": 2024})).await.body["id"].as_str().unwrap().to_owned();

    // One enterprise in two parks: the same 統一編號 (and the same folded name).
    let a1 = s.investor("yueyang", "華芯半導體股份有限公司", "taiwan", "settled", Some("2022-03-01"), Some("16480894"), None, None);
    let a2 = s.investor("xiangtan", "华芯半导体有限公司", "taiwan", "settled", Some("2023-05-01"), Some("16480894"), None, None);
    let b = s.investor("chenzhou", "远东精密", "mainland_taiwan_funded", "settled", Some("2021-06-01"), None, None, None);
    // Third place, recognised on 2024-09-01: counts from then.
    let c = s.investor("yueyang", "萨摩亚控股", "third_place", "settled", Some("2022-01-01"), None, Some("2024-09-01"), None);
    let d = s.investor("xiangtan", "本地企业", "other", "settled", Some("2022-01-01"), None, None, None);
    let _e = s.investor("yueyang", "洽谈中台企", "taiwan", "negotiating", None, None, None, Some(&g2));
    // One top-100 group with members in two parks.
    let g1a = s.investor("yueyang", "示例集团岳阳厂", "taiwan", "settled", Some("2022-01-01"), None, None, Some(&g1));
    let g1b = s.investor("chenzhou", "示例集团郴州厂", "taiwan", "settled", Some("2023-01-01"), None, None, Some(&g1));
    let h = s.investor("xiangtan", "老台企", "taiwan", "settled", Some("2019-05-01"), None, None, None);

    let p1 = s.project("yueyang", "华芯封装", Some("2022-01-10"), Some(1_000_000), &[&a1, &d]);
    s.fund(&p1, "yueyang", "2022-02-01", 300_000, "verified");
    s.fund(&p1, "yueyang", "2022-03-01", 100_000, "pending");
    s.fund(&p1, "yueyang", "2022-04-01", 50_000, "rejected");
    s.fund(&p1, "yueyang", "2020-12-31", 10_000, "verified"); // before the period
    s.fund(&p1, "yueyang", "2025-07-01", 20_000, "verified"); // after as_of
    let p2 = s.project("xiangtan", "本地项目", Some("2022-01-10"), Some(900_000), &[&d]); // no Taiwanese investor
    s.fund(&p2, "xiangtan", "2022-05-01", 500_000, "verified");
    let p3 = s.project("yueyang", "第三地项目", Some("2022-06-01"), None, &[&c]);
    s.fund(&p3, "yueyang", "2023-01-01", 70_000, "verified");
    let p4 = s.project("chenzhou", "远东扩产", Some("2023-06-01"), None, &[&b]);
    s.fund(&p4, "chenzhou", "2024-01-01", 40_000, "verified");

    for (investor, year, value) in [(&a1, 2024, 1000), (&a2, 2024, 2000), (&b, 2024, 3000), (&c, 2024, 500), (&g1b, 2024, 1500),
                                    (&h, 2024, 1000), (&h, 2020, 500), (&b, 2020, 9999), (&d, 2024, 7777)] {
        s.figure(investor, year, value);
    }
    let _ = g1a;
    s.summarise();
    // Official 2020 baselines for two parks; xiangtan uses the registry's (h: 500).
    for (park, baseline) in [("yueyang", 1000), ("chenzhou", 2000)] {
        let res = app.patch(&format!("/api/v1/parks/{park}"), Some("*"), &json!({"baseline_output_2020_cny": baseline})).await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    s
}

fn target<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["targets"].as_array().unwrap().iter().find(|t| t["key"] == key).unwrap()
}

fn sum_of_items(items: &Value) -> f64 {
    items["items"].as_array().unwrap().iter().map(|i| i["contribution"].as_f64().unwrap()).sum()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

async fn every_value_is_the_sum_of_its_items_and_the_traps_hold(app: TestApp) {
    seed(&app).await;
    for scope in ["", "&park=yueyang", "&park=xiangtan", "&park=chenzhou"] {
        let report = app.get(&format!("/api/v1/targets?as_of=2025-06-30{scope}")).await;
        assert_eq!(report.status, 200, "{}", report.text);
        for key in KEYS {
            let t = target(&report.body, key);
            let link = t["items"].as_str().unwrap();
            let items = app.get(link).await;
            assert_eq!(items.status, 200, "{link}: {}", items.text);
            let value = t["value"].as_f64().unwrap();
            assert!(close(sum_of_items(&items.body), value), "{key}{scope}: items add up to {} not {value}", sum_of_items(&items.body));
            assert!(close(items.body["value"].as_f64().unwrap(), value), "{key}{scope}");
            assert_eq!(items.body["count"], items.body["items"].as_array().unwrap().len());
        }
    }

    // Pages of /items add up to the same value, row for row.
    let mut paged = 0.0;
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = app.get(&format!("/api/v1/targets/taiwan_funded_enterprises/items?as_of=2025-06-30&limit=4{cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        paged += sum_of_items(&page.body);
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!((paged, pages), (6.0, 2));
    app.get("/api/v1/targets/taiwan_funded_enterprises/items?limit=0").await.assert_problem(400, "limit", "range");
    app.get("/api/v1/targets/taiwan_funded_enterprises/items?cursor=abc").await.assert_problem(400, "cursor", "cursor");
    app.get("/api/v1/targets?limit=5").await.assert_problem(400, "limit", "unknown_parameter");

    let zone = app.get("/api/v1/targets?as_of=2025-06-30").await.body;
    assert_eq!(zone["scope"], "zone");
    assert_eq!(zone["period"], json!({"from": "2021-01-01", "to": "2025-12-31"}));
    let by_park = |t: &Value| -> Vec<(String, f64)> {
        t["by_park"].as_array().unwrap().iter().map(|p| (p["park_code"].as_str().unwrap().to_owned(), p["value"].as_f64().unwrap())).collect()
    };

    // Money: verified funds of Taiwanese projects, received in the period and by as_of.
    // Counted: 300,000 (p1), 70,000 (p3: third place recognised by then), 40,000 (p4).
    // Not: pending 100,000, rejected 50,000, 2020-12-31 before the period, 2025-07-01 after
    // as_of, 500,000 of a project without a Taiwanese investor.
    let money = target(&zone, "new_taiwan_investment_usd");
    assert_eq!(money["value"], 410_000);
    assert_eq!(money["target"], 3_000_000_000_i64);
    assert_eq!(money["detail"]["pending_usd"], 100_000);
    assert_eq!(money["detail"]["contracted_usd"], 1_000_000, "p2's contract is not Taiwanese");
    assert_eq!(by_park(money), vec![("chenzhou".into(), 40_000.0), ("xiangtan".into(), 0.0), ("yueyang".into(), 370_000.0)]);
    let before_recognition = app.get("/api/v1/targets?as_of=2024-08-31").await.body;
    assert_eq!(target(&before_recognition, "new_taiwan_investment_usd")["value"], 340_000, "p3 is not Taiwanese before 2024-09-01");

    // Enterprises: 華芯 in two parks counts once in the zone and once in each park.
    let firms = target(&zone, "taiwan_funded_enterprises");
    assert_eq!(firms["value"], 6, "華芯, 远东, 萨摩亚, 示例岳阳, 示例郴州, 老台企: {firms}");
    assert_eq!(firms["detail"]["counted_in_several_parks"], 1);
    assert_eq!(by_park(firms), vec![("chenzhou".into(), 2.0), ("xiangtan".into(), 2.0), ("yueyang".into(), 3.0)]);
    assert_eq!(target(&before_recognition, "taiwan_funded_enterprises")["value"], 5, "萨摩亚 before its recognition");
    let items = app.get("/api/v1/targets/taiwan_funded_enterprises/items?as_of=2025-06-30").await.body;
    let huaxin = items["items"].as_array().unwrap().iter().find(|i| i["identity"] == "ubn:16480894").unwrap();
    assert_eq!(huaxin["parks"], json!(["xiangtan", "yueyang"]));
    assert_eq!(huaxin["investors"].as_array().unwrap().len(), 2);
    assert_eq!(huaxin["counted_from"], "2022-03-01");

    // Top-100: one group with members in two parks counts once; a negotiating member does not make a group present.
    let groups = target(&zone, "taiwan_top100_present");
    assert_eq!(groups["value"], 1);
    assert_eq!(by_park(groups), vec![("chenzhou".into(), 1.0), ("xiangtan".into(), 0.0), ("yueyang".into(), 1.0)]);
    assert_eq!(target(&app.get("/api/v1/targets?as_of=2022-06-30").await.body, "taiwan_top100_present")["value"], 1);
    assert_eq!(target(&app.get("/api/v1/targets?as_of=2021-06-30").await.body, "taiwan_top100_present")["value"], 0);

    // Output 2024 ÷ 2020 baseline: 9,000 ÷ (1,000 + 500 + 2,000); 示例岳阳厂 has no 2024 figure.
    let ratio = target(&zone, "taiwan_funded_output_ratio");
    assert_eq!(zone["year"], 2024);
    assert_eq!(ratio["detail"]["output_cny"], 9000);
    assert_eq!(ratio["detail"]["baseline_cny"], 3500);
    assert_eq!(ratio["detail"]["missing_figures"], 1);
    assert!(close(ratio["value"].as_f64().unwrap(), 9000.0 / 3500.0), "{ratio}");
    assert_eq!(ratio["status"], "met");
    let ratio_items = app.get(ratio["items"].as_str().unwrap()).await.body;
    assert_eq!(ratio_items["missing_figures"][0]["name"], "示例集团岳阳厂");
    let xt = app.get("/api/v1/targets?as_of=2025-06-30&park=xiangtan").await.body;
    let xt_ratio = target(&xt, "taiwan_funded_output_ratio");
    assert!(close(xt_ratio["value"].as_f64().unwrap(), 3000.0 / 500.0), "xiangtan: (2,000 + 1,000) ÷ registry 500: {xt_ratio}");
    assert_eq!(xt_ratio["detail"]["baselines"][0]["source"], "registry");
}

async fn park_roles_get_their_park_and_the_zone_only(app: TestApp) {
    seed(&app).await;
    for who in [Who::ParkViewer, Who::ParkStaff, Who::ParkAdmin] {
        for query in ["?as_of=2025-06-30", "?as_of=2025-06-30&park=xiangtan"] {
            let res = app.as_(who).get(&format!("/api/v1/targets{query}")).await;
            assert_eq!(res.status, 200, "{}", res.text);
            assert_eq!(res.body["scope"], "yueyang", "{who:?} {query}: forced to its own park");
            for key in KEYS {
                let t = target(&res.body, key);
                let parks: Vec<&str> = t["by_park"].as_array().unwrap().iter().map(|p| p["park_code"].as_str().unwrap()).collect();
                assert_eq!(parks, ["yueyang"], "{key}: never another park's figures");
                assert!(t["zone"]["value"].is_number(), "{key}: the zone totals are there");
                assert!(!t["detail"].to_string().contains("xiangtan") && !t["detail"].to_string().contains("chenzhou"));
                let items = app.as_(who).get(&format!("/api/v1/targets/{key}/items?as_of=2025-06-30&park=chenzhou")).await;
                assert_eq!(items.status, 200);
                assert!(!items.text.contains("chenzhou") && !items.text.contains("xiangtan"), "{key}: {}", items.text);
            }
        }
    }
    let staff = app.as_(Who::ParkStaff).get("/api/v1/targets?as_of=2025-06-30").await.body;
    assert_eq!(target(&staff, "new_taiwan_investment_usd")["value"], 370_000);
    assert_eq!(target(&staff, "new_taiwan_investment_usd")["zone"]["value"], 410_000);
    assert_eq!(target(&staff, "taiwan_funded_enterprises")["zone"]["value"], 6);
    assert!(target(&staff, "new_taiwan_investment_usd")["target"].is_null(), "no share set: the park has no target of its own");
    // The province sees every park, and a viewer may read it all.
    let viewer = app.as_(Who::ProvincialViewer).get("/api/v1/targets?as_of=2025-06-30").await.body;
    assert_eq!(target(&viewer, "taiwan_funded_enterprises")["by_park"].as_array().unwrap().len(), 3);
}

async fn yesterday_and_today_differ_by_the_facts_of_today(app: TestApp) {
    let s = seed(&app).await;
    // A period that runs through today, so today's money can count.
    let settings = app.get("/api/v1/targets/settings").await;
    let body = json!({"period": {"from": "2021-01-01", "to": "2099-12-31"}, "targets": settings.body["targets"]});
    let put = app.as_(Who::ProvincialAdmin)
        .send(actix_web::http::Method::PUT, "/api/v1/targets/settings",
              &[("content-type", "application/json"), ("if-match", &settings.header("etag").unwrap())],
              Some(serde_json::to_vec(&body).unwrap())).await;
    assert_eq!(put.status, 200, "{}", put.text);

    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let t = today.to_string();
    let figures = |as_of: String| {
        let app = &app;
        async move {
            let report = app.get(&format!("/api/v1/targets?as_of={as_of}")).await.body;
            KEYS.map(|k| target(&report, k)["value"].as_f64().unwrap())
        }
    };
    let before = figures(yesterday.to_string()).await;
    let same = figures(today.to_string()).await;
    assert_eq!(before, same, "nothing is dated today yet");

    // Facts dated today: a verified fund of a Taiwanese project, a pending one,
    // a settlement, and a third-place recognition.
    let firm = s.investor("yueyang", "今日落户台企", "taiwan", "settled", Some(&t), None, None, None);
    let p = s.project("yueyang", "今日项目", Some("2024-01-01"), None, &[&firm]);
    s.fund(&p, "yueyang", &t, 12_345, "verified");
    s.fund(&p, "yueyang", &t, 99_999, "pending");
    s.investor("chenzhou", "今日认定第三地", "third_place", "settled", Some("2023-01-01"), None, Some(&t), None);
    s.summarise();

    let after_yesterday = figures(yesterday.to_string()).await;
    let after_today = figures(today.to_string()).await;
    assert_eq!(after_yesterday, before, "yesterday's figures do not move");
    assert_eq!(after_today[0] - after_yesterday[0], 12_345.0, "only the verified fund dated today");
    assert_eq!(after_today[1] - after_yesterday[1], 2.0, "one settled today, one recognised today");
    assert_eq!(after_today[2], after_yesterday[2]);
}

async fn bad_dates_years_parks_and_keys_are_refused(app: TestApp) {
    for (query, field, code) in [
        ("as_of=1999-12-31", "as_of", "range"),
        ("as_of=2025-13-01", "as_of", "date"),
        ("as_of=yesterday", "as_of", "date"),
        ("as_of=2025-6-30", "as_of", "date"),
        ("as_of=2025-06-30&year=2026", "year", "range"),
        ("year=soon", "year", "type"),
        ("park=shenzhen", "park", "unknown"),
        ("colour=red", "colour", "unknown_parameter"),
    ] {
        app.get(&format!("/api/v1/targets?{query}")).await.assert_problem(400, field, code);
    }
    app.get("/api/v1/targets/new_taiwan_investment_usd/items?as_of=1999-01-01").await.assert_problem(400, "as_of", "range");
    app.get("/api/v1/targets/new_taiwan_investment_usd/series?interval=week").await.assert_problem(400, "interval", "enum");
    assert_eq!(app.get("/api/v1/targets/happiness/items").await.status, 404);
    assert_eq!(app.get("/api/v1/targets/happiness/series").await.status, 404);
    // A park role's park parameter is ignored, not an error.
    assert_eq!(app.as_(Who::ParkViewer).get("/api/v1/targets?park=shenzhen").await.status, 200);
}

async fn settings_are_the_provinces_and_shares_add_up(app: TestApp) {
    seed(&app).await;
    let current = app.get("/api/v1/targets/settings").await;
    assert_eq!(current.status, 200);
    assert_eq!(current.body["targets"], json!({"new_taiwan_investment_usd": 3_000_000_000_i64, "taiwan_funded_enterprises": 300,
        "taiwan_top100_present": 20, "taiwan_funded_output_ratio": 2.0}));
    assert_eq!(current.header("etag").as_deref(), Some("\"1\""));
    let put = |who: Who, etag: &'static str, body: Value| {
        let app = &app;
        async move {
            app.as_(who).send(actix_web::http::Method::PUT, "/api/v1/targets/settings",
                &[("content-type", "application/json"), ("if-match", etag)], Some(serde_json::to_vec(&body).unwrap())).await
        }
    };
    let body = |shares: Value| json!({"period": {"from": "2021-01-01", "to": "2025-12-31"}, "targets": current.body["targets"], "park_shares": shares});
    assert_eq!(put(Who::ParkAdmin, "\"1\"", body(json!({}))).await.status, 403);
    assert_eq!(put(Who::ProvincialViewer, "\"1\"", body(json!({}))).await.status, 403);
    put(Who::ProvincialAdmin, "\"1\"", body(json!({"yueyang": {"new_taiwan_investment_usd": 0.7}, "xiangtan": {"new_taiwan_investment_usd": 0.4}})))
        .await.assert_problem(422, "park_shares.*.new_taiwan_investment_usd", "sum");
    put(Who::ProvincialAdmin, "\"1\"", body(json!({"yueyang": {"taiwan_funded_output_ratio": 0.5}})))
        .await.assert_problem(422, "park_shares.yueyang.taiwan_funded_output_ratio", "not_shared");
    put(Who::ProvincialAdmin, "\"1\"", body(json!({"shenzhen": {"taiwan_funded_enterprises": 0.5}})))
        .await.assert_problem(422, "park_shares.shenzhen", "unknown");
    let mut bad = body(json!({}));
    bad["period"]["to"] = json!("2020-01-01");
    put(Who::ProvincialAdmin, "\"1\"", bad).await.assert_problem(422, "period.to", "order");
    let ok = put(Who::ProvincialAdmin, "\"1\"", body(json!({"yueyang": {"new_taiwan_investment_usd": 0.4, "taiwan_funded_enterprises": 0.1}}))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(put(Who::ProvincialAdmin, "\"1\"", body(json!({}))).await.status, 412);

    let staff = app.as_(Who::ParkStaff).get("/api/v1/targets?as_of=2025-06-30").await.body;
    let money = target(&staff, "new_taiwan_investment_usd");
    assert_eq!(money["target"], 1_200_000_000_i64, "0.4 of 3 billion");
    assert_eq!(target(&staff, "taiwan_funded_enterprises")["target"], 30);
    assert_eq!(target(&staff, "taiwan_funded_output_ratio")["target"], 2.0);
    assert_eq!(money["status"], "behind");
}

async fn the_series_ends_at_the_figure_of_as_of(app: TestApp) {
    seed(&app).await;
    for key in KEYS {
        let series = app.get(&format!("/api/v1/targets/{key}/series?as_of=2025-06-30&interval=quarter")).await;
        assert_eq!(series.status, 200, "{}", series.text);
        let points = series.body["points"].as_array().unwrap();
        assert_eq!(points.len(), 18, "2021Q1 … 2025Q2");
        assert_eq!(points[0]["on"], "2021-03-31");
        let last = points.last().unwrap();
        assert_eq!(last["on"], "2025-06-30");
        let report = app.get("/api/v1/targets?as_of=2025-06-30").await.body;
        assert!(close(last["value"].as_f64().unwrap(), target(&report, key)["value"].as_f64().unwrap()), "{key}");
    }
    let money = app.get("/api/v1/targets/new_taiwan_investment_usd/series?as_of=2025-06-30").await.body;
    let values: Vec<f64> = money["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64().unwrap()).collect();
    // 2021: 0; 2022: 300,000; 2023: +70,000 (p3 is Taiwanese only from 2024-09-01); 2024: 410,000; 2025-06-30: 410,000.
    assert_eq!(values, vec![0.0, 300_000.0, 300_000.0, 410_000.0, 410_000.0]);
}
