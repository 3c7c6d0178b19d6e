//! Who may do what: a permission matrix over every documented operation,
//! and scoping of lists and search to the caller's park.

use std::collections::BTreeSet;

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::helpers::{enc, project_body, TestApp, Who, PASSWORD};
use crate::on_both_databases;

on_both_databases!(every_operation_answers_each_role_as_the_matrix_says, park_roles_see_only_their_park_in_lists_and_search);

/// What an operation needs from its caller.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// No token needed.
    Public,
    /// Any valid token.
    AnyCaller,
    /// Read a record of the target park.
    ReadRecord,
    /// Create a record in the target park.
    CreateRecord,
    /// Change or delete a record of the target park.
    ChangeRecord,
    /// List the users one manages.
    ListUsers,
    /// Create a user in the target park.
    CreateUser,
    /// Read or change a user of the target park.
    ManageUser,
    /// The province's reference data (parks, the top-100 list, target settings): provincial_admin only.
    ProvincialAdmin,
    /// Decide on a record of the target park (verify a fund, settle a claims contest): provincial_admin.
    Decide,
    /// File a claim for a project of the target park: writers of that park (another park's project is unknown: 422).
    FileClaim,
    /// Merge two investors of the target park: its administrators and provincial_admin.
    Merge,
    /// Import a file: any writer (rows naming a park it may not write are row errors, not a 403).
    Import,
    /// List webhooks: provincial_admin and park administrators (their park's).
    ListWebhooks,
    /// Create a webhook for the target park: provincial_admin, or that park's administrator.
    CreateWebhook,
    /// Change, delete or read the deliveries of a webhook of the target park.
    ManageWebhook,
}

/// Every documented operation, with its rule and its success status.
const MATRIX: &[(&str, &str, Rule, u16)] = &[
    ("GET", "/api/v1/health/live", Rule::Public, 200),
    ("GET", "/api/v1/health/ready", Rule::Public, 200),
    ("POST", "/api/v1/auth/login", Rule::Public, 200),
    ("POST", "/api/v1/auth/refresh", Rule::Public, 200),
    ("POST", "/api/v1/auth/logout", Rule::AnyCaller, 204),
    ("GET", "/api/v1/me", Rule::AnyCaller, 200),
    ("GET", "/api/v1/meta/enums", Rule::AnyCaller, 200),
    ("GET", "/api/v1/parks", Rule::AnyCaller, 200),
    ("GET", "/api/v1/parks/{code}", Rule::AnyCaller, 200),
    ("POST", "/api/v1/parks", Rule::ProvincialAdmin, 201),
    ("PATCH", "/api/v1/parks/{code}", Rule::ProvincialAdmin, 200),
    ("GET", "/api/v1/parks/{code}/history", Rule::AnyCaller, 200),
    ("GET", "/api/v1/top100", Rule::AnyCaller, 200),
    ("POST", "/api/v1/top100", Rule::ProvincialAdmin, 201),
    ("PATCH", "/api/v1/top100/{id}", Rule::ProvincialAdmin, 200),
    ("DELETE", "/api/v1/top100/{id}", Rule::ProvincialAdmin, 204),
    ("GET", "/api/v1/top100/{id}/candidates", Rule::AnyCaller, 200),
    ("GET", "/api/v1/top100/{id}/history", Rule::AnyCaller, 200),
    ("GET", "/api/v1/targets", Rule::AnyCaller, 200),
    ("GET", "/api/v1/targets/settings", Rule::AnyCaller, 200),
    ("PUT", "/api/v1/targets/settings", Rule::ProvincialAdmin, 200),
    ("GET", "/api/v1/targets/{key}/items", Rule::AnyCaller, 200),
    ("GET", "/api/v1/targets/{key}/series", Rule::AnyCaller, 200),
    ("GET", "/api/v1/changes", Rule::AnyCaller, 200),
    ("GET", "/api/v1/projects", Rule::AnyCaller, 200),
    ("POST", "/api/v1/projects", Rule::CreateRecord, 201),
    ("GET", "/api/v1/projects/{id}", Rule::ReadRecord, 200),
    ("PATCH", "/api/v1/projects/{id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/projects/{id}", Rule::ChangeRecord, 204),
    ("GET", "/api/v1/projects/{id}/history", Rule::ReadRecord, 200),
    ("GET", "/api/v1/projects/{id}/funds", Rule::ReadRecord, 200),
    ("POST", "/api/v1/projects/{id}/funds", Rule::ChangeRecord, 201),
    ("GET", "/api/v1/projects/{id}/funds/{child_id}", Rule::ReadRecord, 200),
    ("PATCH", "/api/v1/projects/{id}/funds/{child_id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/projects/{id}/funds/{child_id}", Rule::ChangeRecord, 204),
    ("POST", "/api/v1/projects/{id}/funds/{child_id}/verification", Rule::Decide, 200),
    ("GET", "/api/v1/investors", Rule::AnyCaller, 200),
    ("GET", "/api/v1/investors/matches", Rule::AnyCaller, 200),
    ("POST", "/api/v1/investors", Rule::CreateRecord, 201),
    ("GET", "/api/v1/investors/{id}", Rule::ReadRecord, 200),
    ("PATCH", "/api/v1/investors/{id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/investors/{id}", Rule::ChangeRecord, 204),
    ("GET", "/api/v1/investors/{id}/history", Rule::ReadRecord, 200),
    ("GET", "/api/v1/investors/{id}/contacts", Rule::ReadRecord, 200),
    ("GET", "/api/v1/investors/{id}/contacts/{child_id}", Rule::ReadRecord, 200),
    ("POST", "/api/v1/investors/{id}/contacts", Rule::ChangeRecord, 201),
    ("PATCH", "/api/v1/investors/{id}/contacts/{child_id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/investors/{id}/contacts/{child_id}", Rule::ChangeRecord, 204),
    ("GET", "/api/v1/investors/{id}/follow-ups", Rule::ReadRecord, 200),
    ("GET", "/api/v1/investors/{id}/follow-ups/{child_id}", Rule::ReadRecord, 200),
    ("POST", "/api/v1/investors/{id}/follow-ups", Rule::ChangeRecord, 201),
    ("PATCH", "/api/v1/investors/{id}/follow-ups/{child_id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/investors/{id}/follow-ups/{child_id}", Rule::ChangeRecord, 204),
    ("GET", "/api/v1/investors/{id}/figures", Rule::ReadRecord, 200),
    ("GET", "/api/v1/investors/{id}/figures/{child_id}", Rule::ReadRecord, 200),
    ("POST", "/api/v1/investors/{id}/figures", Rule::ChangeRecord, 201),
    ("PATCH", "/api/v1/investors/{id}/figures/{child_id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/investors/{id}/figures/{child_id}", Rule::ChangeRecord, 204),
    ("GET", "/api/v1/talents", Rule::AnyCaller, 200),
    ("POST", "/api/v1/talents", Rule::CreateRecord, 201),
    ("GET", "/api/v1/talents/{id}", Rule::ReadRecord, 200),
    ("PATCH", "/api/v1/talents/{id}", Rule::ChangeRecord, 200),
    ("DELETE", "/api/v1/talents/{id}", Rule::ChangeRecord, 204),
    ("GET", "/api/v1/talents/{id}/history", Rule::ReadRecord, 200),
    ("GET", "/api/v1/users", Rule::ListUsers, 200),
    ("POST", "/api/v1/users", Rule::CreateUser, 201),
    ("GET", "/api/v1/users/{id}", Rule::ManageUser, 200),
    ("PATCH", "/api/v1/users/{id}", Rule::ManageUser, 200),
    ("POST", "/api/v1/imports", Rule::Import, 200),
    ("POST", "/api/v1/investors/{id}/merge", Rule::Merge, 200),
    ("GET", "/api/v1/projects/{id}/notices", Rule::ReadRecord, 200),
    ("POST", "/api/v1/projects/{id}/notices", Rule::Decide, 201),
    ("POST", "/api/v1/projects/{id}/notices/{child_id}/response", Rule::ChangeRecord, 200),
    ("GET", "/api/v1/claims", Rule::AnyCaller, 200),
    ("POST", "/api/v1/claims", Rule::FileClaim, 201),
    ("GET", "/api/v1/claims/{id}", Rule::ReadRecord, 200),
    ("GET", "/api/v1/claims/{id}/history", Rule::ReadRecord, 200),
    ("POST", "/api/v1/claims/{id}/decision", Rule::Decide, 200),
    ("GET", "/api/v1/monitoring", Rule::AnyCaller, 200),
    ("GET", "/api/v1/monitoring/rules", Rule::AnyCaller, 200),
    ("PUT", "/api/v1/monitoring/rules", Rule::ProvincialAdmin, 200),
    ("GET", "/api/v1/imports/template", Rule::AnyCaller, 200),
    ("GET", "/api/v1/stats/projects", Rule::AnyCaller, 200),
    ("GET", "/api/v1/stats/investors", Rule::AnyCaller, 200),
    ("GET", "/api/v1/stats/talents", Rule::AnyCaller, 200),
    ("GET", "/api/v1/stats/funnel", Rule::AnyCaller, 200),
    ("GET", "/api/v1/webhooks", Rule::ListWebhooks, 200),
    ("POST", "/api/v1/webhooks", Rule::CreateWebhook, 201),
    ("GET", "/api/v1/webhooks/{id}", Rule::ManageWebhook, 200),
    ("PATCH", "/api/v1/webhooks/{id}", Rule::ManageWebhook, 200),
    ("DELETE", "/api/v1/webhooks/{id}", Rule::ManageWebhook, 204),
    ("GET", "/api/v1/webhooks/{id}/deliveries", Rule::ManageWebhook, 200),
];

// Written out from DESIGN.md's table, not taken from the code under test.
fn sees(who: Who, park: &str) -> bool {
    matches!(who, Who::ProvincialAdmin | Who::ProvincialViewer) || who.park() == Some(park)
}

fn writes(who: Who) -> bool {
    matches!(who, Who::ProvincialAdmin | Who::ParkAdmin | Who::ParkStaff | Who::OtherParkStaff)
}

/// The status DESIGN.md's Access section gives `who` for `rule` on `park`.
fn expected(rule: Rule, success: u16, who: Who, park: &str) -> u16 {
    let admin = matches!(who, Who::ProvincialAdmin | Who::ParkAdmin);
    match rule {
        Rule::Public => success,
        _ if who == Who::Anonymous => 401,
        Rule::AnyCaller => success,
        Rule::ReadRecord => if sees(who, park) { success } else { 404 },
        Rule::CreateRecord => if writes(who) && sees(who, park) { success } else { 403 },
        Rule::ChangeRecord => match (sees(who, park), writes(who)) {
            (false, _) => 404,
            (true, false) => 403,
            (true, true) => success,
        },
        Rule::ListUsers => if admin { success } else { 403 },
        Rule::Import => if writes(who) { success } else { 403 },
        Rule::Merge => match (sees(who, park), admin) {
            (false, _) => 404,
            (true, false) => 403,
            (true, true) => success,
        },
        Rule::FileClaim => match (writes(who), sees(who, park)) {
            (false, _) => 403,
            (true, false) => 422,
            (true, true) => success,
        },
        Rule::CreateUser => if admin && sees(who, park) { success } else { 403 },
        Rule::ProvincialAdmin => if who == Who::ProvincialAdmin { success } else { 403 },
        Rule::Decide => match (sees(who, park), who == Who::ProvincialAdmin) {
            (false, _) => 404,
            (true, false) => 403,
            (true, true) => success,
        },
        Rule::ManageUser => match (admin, sees(who, park)) {
            (false, _) => 403,
            (true, false) => 404,
            (true, true) => success,
        },
        Rule::ListWebhooks => if admin { success } else { 403 },
        Rule::CreateWebhook => if admin && sees(who, park) { success } else { 403 },
        Rule::ManageWebhook => match (sees(who, park), admin) {
            (false, _) => 404,
            (true, false) => 403,
            (true, true) => success,
        },
    }
}

/// Fresh records of `park` for one attempt: the `{id}` and `{child_id}` of a path.
async fn targets(app: &TestApp, path: &str, park: &str) -> (String, String) {
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    if path.starts_with("/api/v1/users") {
        return (app.user_ids[&if park == "yueyang" { Who::ParkViewer } else { Who::OtherParkStaff }].clone(), String::new());
    }
    if path.starts_with("/api/v1/claims/") {
        // A claim of `park`, contested by the other park (a decision needs a contest).
        let name = unique_name();
        let claim = claim_in(app, park, &name).await;
        let other = if park == "yueyang" { "xiangtan" } else { "yueyang" };
        claim_in(app, other, &name).await;
        return (claim, String::new());
    }
    if path.starts_with("/api/v1/parks") || path.starts_with("/api/v1/targets") || path.starts_with("/api/v1/monitoring") || path.starts_with("/api/v1/changes") || path == "/api/v1/claims" {
        return (String::new(), String::new());
    }
    if path.starts_with("/api/v1/webhooks/") {
        return (webhook_of(app, park).await, String::new());
    }
    if path.starts_with("/api/v1/top100") {
        let made = app.post("/api/v1/top100", &top100_body()).await;
        assert_eq!(made.status, 201, "{}", made.text);
        return (id(&made.body), String::new());
    }
    if path.contains("/notices") {
        let project = id(&app.create_project(json!({"park_code": park})).await);
        if !path.contains("{child_id}") {
            return (project, String::new());
        }
        let notice = app.post(&format!("/api/v1/projects/{project}/notices"), &notice_body()).await;
        assert_eq!(notice.status, 201, "{}", notice.text);
        return (project, id(&notice.body));
    }
    if path.contains("/funds") {
        let project = id(&app.create_project(json!({"park_code": park, "stage": "signed", "signed_on": "2025-01-02",
                                                    "contracted_investment_usd": 1_000_000})).await);
        if !path.contains("{child_id}") {
            return (project, String::new());
        }
        let fund = app.post(&format!("/api/v1/projects/{project}/funds"), &fund_body()).await;
        assert_eq!(fund.status, 201, "{}", fund.text);
        return (project, id(&fund.body));
    }
    if path.starts_with("/api/v1/talents") {
        return (id(&app.create_talent(json!({"park_code": park})).await), String::new());
    }
    if path.starts_with("/api/v1/investors") {
        let investor = id(&app.create_investor(json!({"park_code": park})).await);
        let child = match path.split('/').nth(5) {
            Some("contacts") => json!({"name": "陈志明"}),
            Some("follow-ups") => json!({"date": "2026-01-05", "channel": "call", "summary": "电话沟通"}),
            Some("figures") => json!({"year": 2024, "output_value_cny": 1000}),
            _ => return (investor, String::new()),
        };
        let kind = path.split('/').nth(5).unwrap_or_default();
        let made = app.post(&format!("/api/v1/investors/{investor}/{kind}"), &child).await;
        assert_eq!(made.status, 201, "{}", made.text);
        return (investor, id(&made.body));
    }
    (id(&app.create_project(json!({"park_code": park})).await), String::new())
}

/// An inactive hook of `park` (nothing is sent to it).
async fn webhook_of(app: &TestApp, park: &str) -> String {
    let made = app.post("/api/v1/webhooks", &webhook_body(park)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

fn webhook_body(park: &str) -> Value {
    json!({"url": "http://127.0.0.1:9/matrix", "events": ["*"], "park_code": park, "active": false})
}

fn unique_name() -> String {
    format!("矩阵企业{}", uuid::Uuid::now_v7().simple())
}

/// A negotiating project of `park` listing an investor named `name`.
async fn claimable_project(app: &TestApp, park: &str, name: &str) -> String {
    let investor = app.create_investor(json!({"park_code": park, "name": name})).await;
    let project = app.create_project(json!({"park_code": park, "stage": "negotiating", "investor_ids": [investor["id"]]})).await;
    project["id"].as_str().unwrap().to_owned()
}

/// A claim filed (by the province) for a new project of `park` on `name`.
async fn claim_in(app: &TestApp, park: &str, name: &str) -> String {
    let project = claimable_project(app, park, name).await;
    let claim = app.post("/api/v1/claims", &json!({"project_id": project, "evidence": "visit_record", "evidence_ref": "M-1"})).await;
    assert_eq!(claim.status, 201, "{}", claim.text);
    claim.body["id"].as_str().unwrap().to_owned()
}

fn notice_body() -> Value {
    json!({"due_on": (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string(), "text": "矩阵督办"})
}

fn fund_body() -> Value {
    json!({"received_on": "2025-02-01", "amount_usd": 1000, "evidence": "bank_receipt", "evidence_ref": "BR-1"})
}

/// A group of the top-100 list with a rank no other test group has.
fn top100_body() -> Value {
    static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({"rank": n % 1000 + 1, "group_name": format!("矩阵集团{n}（测试数据）"), "member_names": [],
           "list_source": "test", "list_year": 2000 + n / 1000})
}

/// A valid body for `method path` against `park`.
async fn body_for(app: &TestApp, method: &str, path: &str, park: &str) -> Option<Value> {
    Some(match (method, path) {
        ("POST", "/api/v1/auth/login") => json!({"username": "yy.staff", "password": PASSWORD}),
        ("POST", "/api/v1/auth/refresh") => {
            let pair = app.as_(Who::Anonymous).post("/api/v1/auth/login", &json!({"username": "yy.admin", "password": PASSWORD})).await;
            json!({"refresh_token": pair.body["refresh_token"]})
        }
        ("POST", "/api/v1/projects") => project_body(json!({"park_code": park})),
        ("POST", "/api/v1/parks") => json!({"code": format!("p{}", uuid::Uuid::now_v7().simple()).chars().take(30).collect::<String>(),
                                           "name": "矩阵园区", "focus_industries": ["other"]}),
        ("PATCH", "/api/v1/parks/{code}") => json!({"baseline_output_2020_cny": 1000}),
        ("POST", "/api/v1/top100") => top100_body(),
        ("POST", "/api/v1/projects/{id}/funds") => fund_body(),
        ("PATCH", "/api/v1/projects/{id}/funds/{child_id}") => json!({"note": "矩阵"}),
        ("POST", "/api/v1/projects/{id}/funds/{child_id}/verification") => json!({"decision": "verified"}),
        ("PATCH", "/api/v1/top100/{id}") => json!({"group_name_en": "Matrix Group"}),
        ("PUT", "/api/v1/targets/settings") => json!({"period": {"from": "2021-01-01", "to": "2025-12-31"},
            "targets": {"new_taiwan_investment_usd": 3_000_000_000_i64, "taiwan_funded_enterprises": 300,
                        "taiwan_top100_present": 20, "taiwan_funded_output_ratio": 2.0}}),
        ("POST", "/api/v1/claims") => {
            let project = claimable_project(app, park, &unique_name()).await;
            json!({"project_id": project, "evidence": "intent_letter", "evidence_ref": "M-2"})
        }
        ("PUT", "/api/v1/monitoring/rules") => json!({}),
        ("POST", "/api/v1/webhooks") => webhook_body(park),
        ("PATCH", "/api/v1/webhooks/{id}") => json!({"events": ["project.created"]}),
        ("POST", "/api/v1/projects/{id}/notices") => notice_body(),
        ("POST", "/api/v1/projects/{id}/notices/{child_id}/response") => json!({"text": "矩阵答复"}),
        ("POST", "/api/v1/investors/{id}/merge") => {
            let other = app.create_investor(json!({"park_code": park, "name": unique_name()})).await;
            json!({"from": other["id"]})
        }
        ("POST", "/api/v1/investors") => crate::helpers::investor_body(json!({"park_code": park})),
        ("POST", "/api/v1/talents") => crate::helpers::talent_body(json!({"park_code": park})),
        ("POST", "/api/v1/users") => json!({"username": format!("new.{}", uuid::Uuid::now_v7().simple()),
                                           "password": PASSWORD, "role": "park_staff", "park_code": park}),
        ("POST", p) if p.ends_with("/contacts") => json!({"name": "王小明"}),
        ("POST", p) if p.ends_with("/follow-ups") => json!({"date": "2026-02-01", "channel": "visit", "summary": "走访"}),
        ("POST", p) if p.ends_with("/figures") => json!({"year": 2025, "output_value_cny": 2000}),
        ("PATCH", p) if p.ends_with("/contacts/{child_id}") => json!({"title": "总经理"}),
        ("PATCH", p) if p.ends_with("/follow-ups/{child_id}") => json!({"summary": "再次走访"}),
        ("PATCH", p) if p.ends_with("/figures/{child_id}") => json!({"output_value_cny": 3000}),
        ("PATCH", "/api/v1/users/{id}") => json!({"display_name": "矩阵"}),
        ("PATCH", _) => json!({"notes": "矩阵"}),
        ("POST", _) => json!({}),
        _ => return None,
    })
}

/// Sends `method path` as `who`, against fresh targets in `park`.
async fn attempt(app: &TestApp, method: &str, path: &str, who: Who, park: &str) -> crate::helpers::Response {
    let (id, child_id) = targets(app, path, park).await;
    let mut url = path
        .replace("{code}", park)
        .replace("{id}", &id)
        .replace("{child_id}", &child_id)
        .replace("{key}", "new_taiwan_investment_usd");
    if path.ends_with("/matches") {
        url.push_str("?name=tsmc");
    }
    if path.ends_with("/imports/template") {
        url.push_str("?library=projects");
    }
    let body = if path.ends_with("/decision") {
        Some(json!({"award": id, "reason": "矩阵裁定"}))
    } else {
        body_for(app, method, path, park).await
    };
    let mut headers = vec![("if-match", "*")];
    let bytes = body.map(|b| {
        headers.push(("content-type", "application/json"));
        serde_json::to_vec(&b).unwrap()
    });
    if path == "/api/v1/imports" {
        // A multipart form (a dry run) of one project row in `park`.
        let boundary = "matrix-boundary";
        let csv = format!("园区代码,项目名称,产业,招商方式,计划投资（美元）\n{park},矩阵项目,其他,定向招商,1\n");
        let form = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"library\"\r\n\r\nprojects\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n{csv}\r\n--{boundary}--\r\n");
        let content_type = format!("multipart/form-data; boundary={boundary}");
        return app.as_(who).send(Method::POST, &url, &[("content-type", &content_type)], Some(form.into_bytes())).await;
    }
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    // Logout spends the token, so each attempt gets a fresh one (as_ mints one).
    app.as_(who).send(method, &url, &headers, bytes).await
}

async fn every_operation_answers_each_role_as_the_matrix_says(app: TestApp) {
    // The matrix must name every operation the service documents.
    let documented: BTreeSet<(String, String)> = invest_registry::openapi::document()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            let item = serde_json::to_value(item).unwrap();
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let listed: BTreeSet<(String, String)> = MATRIX.iter().map(|(m, p, _, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, listed, "add each new operation to the permission matrix");

    let mut failures = Vec::new();
    let whos = Who::USERS.iter().copied().chain([Who::Anonymous]);
    for who in whos {
        for park in ["yueyang", "xiangtan"] {
            for (method, path, rule, success) in MATRIX {
                let want = expected(*rule, *success, who, park);
                let res = attempt(&app, method, path, who, park).await;
                if res.status != want {
                    failures.push(format!("{method} {path} as {who:?} on {park}: want {want}, got {} {}", res.status, res.text));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

async fn park_roles_see_only_their_park_in_lists_and_search(app: TestApp) {
    let mut names = Vec::new();
    for park in ["yueyang", "xiangtan", "chenzhou"] {
        let name = format!("{park} 台積電合作项目");
        app.create_project(json!({"park_code": park, "name": name})).await;
        names.push(name);
    }
    let parks_of = |res: &crate::helpers::Response| -> BTreeSet<String> {
        res.body["items"].as_array().unwrap().iter().map(|p| p["park_code"].as_str().unwrap().to_owned()).collect()
    };
    let staff = app.as_(Who::ParkStaff);
    for query in ["", "?park=xiangtan", "?park=xiangtan&park=yueyang", &format!("?q={}", enc("台积电")), &format!("?q={}", enc("xiangtan"))] {
        let res = staff.get(&format!("/api/v1/projects{query}")).await;
        assert_eq!(res.status, 200, "{query}");
        assert!(parks_of(&res).iter().all(|p| p == "yueyang"), "{query}: {}", res.text);
    }
    let res = app.as_(Who::ProvincialViewer).get(&format!("/api/v1/projects?q={}", enc("台积电"))).await;
    assert_eq!(parks_of(&res).len(), 3, "the province sees every park");

    // A park role creating without park_code creates in its own park; in another park it is refused.
    let mine = staff.post("/api/v1/projects", &project_body(json!({"-park_code": null}))).await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(mine.body["park_code"], "yueyang");
    assert_eq!(mine.body["created_by"], "yy.staff");
    let theirs = staff.post("/api/v1/projects", &project_body(json!({"park_code": "chenzhou"}))).await;
    assert_eq!(theirs.status, 403);

    // Users of another park are as invisible as its records.
    let users = app.as_(Who::ParkAdmin).get("/api/v1/users?park=xiangtan").await;
    assert_eq!(users.body["items"], json!([]));
    let own: BTreeSet<String> = app.as_(Who::ParkAdmin).get("/api/v1/users").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(own, ["yy.admin", "yy.staff", "yy.viewer"].into_iter().map(String::from).collect());
}
