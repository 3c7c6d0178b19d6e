//! Logins, sessions and every token attack we know of: each is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{TestApp, Who, PASSWORD, SECRET};
use crate::on_both_databases;

on_both_databases!(
    login_gives_a_token_pair_and_me_names_the_caller,
    wrong_password_and_unknown_user_answer_alike,
    failed_logins_are_throttled_per_username_and_per_address,
    refresh_rotates_and_a_reused_token_revokes_its_family,
    logout_revokes_the_access_token_and_its_session,
    deactivation_and_role_changes_end_tokens,
    forged_and_stale_tokens_are_refused,
    tokens_of_the_external_identity_provider_are_accepted_with_their_one_algorithm,
    logins_and_failures_are_audited,
);

async fn login(app: &TestApp, username: &str, password: &str) -> crate::helpers::Response {
    app.as_(Who::Anonymous).post("/api/v1/auth/login", &json!({"username": username, "password": password})).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims as this service issues them for `who`, with `overrides` applied.
fn claims(app: &TestApp, who: Who, overrides: Value) -> Value {
    let mut c = json!({
        "sub": app.user_ids[&who], "name": who.username(), "role": who.role(), "park": who.park(),
        "iat": now(), "nbf": now(), "exp": now() + 600, "jti": uuid::Uuid::now_v7().to_string(),
        "iss": "invest-registry", "aud": "invest-registry", "tv": 1, "sid": "s",
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

fn rs256(claims: &Value) -> String {
    let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/idp-private.pem")).unwrap();
    encode(&Header::new(Algorithm::RS256), claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

#[track_caller]
fn assert_401(res: &crate::helpers::Response, what: &str) {
    assert_eq!(res.status, 401, "{what}: {}", res.text);
    let challenge = res.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{what}: WWW-Authenticate {challenge:?}");
    assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"), "{what}");
}

async fn login_gives_a_token_pair_and_me_names_the_caller(app: TestApp) {
    let res = login(&app, "YY.Staff ", PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["token_type"], "Bearer");
    assert_eq!(res.body["expires_in"], 900);
    assert!(res.body["refresh_token"].as_str().is_some_and(|t| t.len() >= 40));
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let token = res.body["access_token"].as_str().unwrap();
    let me = app.with_token(token).get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "yy.staff");
    assert_eq!(me.body["role"], "park_staff");
    assert_eq!(me.body["park_code"], "yueyang");

    // The claims DESIGN.md and the issue ask for.
    let payload = token.split('.').nth(1).unwrap();
    let c: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    for claim in ["sub", "role", "park", "iat", "exp", "jti", "iss", "aud"] {
        assert!(!c[claim].is_null(), "claim {claim} in {c}");
    }
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);

    assert_401(&app.as_(Who::Anonymous).get("/api/v1/me").await, "no token");
    let basic = app.as_(Who::Anonymous).send(actix_web::http::Method::GET, "/api/v1/me", &[("authorization", "Basic eXk6eXk=")], None).await;
    assert_401(&basic, "basic auth");
}

async fn wrong_password_and_unknown_user_answer_alike(app: TestApp) {
    let wrong = login(&app, "yy.staff", "not the password").await;
    let unknown = login(&app, "nobody.here", "not the password").await;
    assert_401(&wrong, "wrong password");
    assert_401(&unknown, "unknown user");
    // The same answer for both, but for the request's own id.
    let without_id = |body: &Value| {
        let mut body = body.clone();
        body.as_object_mut().map(|b| b.remove("request_id"));
        body
    };
    assert_eq!(without_id(&wrong.body), without_id(&unknown.body), "the same answer for both");
    let bad = app.as_(Who::Anonymous).post("/api/v1/auth/login", &json!({"username": "yy.staff"})).await;
    bad.assert_problem(422, "password", "required");
}

async fn failed_logins_are_throttled_per_username_and_per_address(app: TestApp) {
    for _ in 0..10 {
        assert_eq!(login(&app, "yy.viewer", "wrong password!").await.status, 401);
    }
    let blocked = login(&app, "yy.viewer", PASSWORD).await;
    assert_eq!(blocked.status, 429, "even the right password waits: {}", blocked.text);
    let retry: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    // Another username from the same address is not blocked yet.
    assert_eq!(login(&app, "yy.staff", PASSWORD).await.status, 200);
    // 50 failures from one address block it for every username.
    for i in 0..40 {
        assert_eq!(login(&app, &format!("ghost{i}"), "wrong password!").await.status, 401);
    }
    assert_eq!(login(&app, "yy.staff", PASSWORD).await.status, 429);
}

async fn refresh_rotates_and_a_reused_token_revokes_its_family(app: TestApp) {
    let first = login(&app, "yy.staff", PASSWORD).await.body;
    let refresh = |token: &str| {
        let body = json!({"refresh_token": token});
        let app = &app;
        async move { app.as_(Who::Anonymous).post("/api/v1/auth/refresh", &body).await }
    };
    let second = refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_ne!(second.body["refresh_token"], first["refresh_token"]);
    assert_eq!(app.with_token(second.body["access_token"].as_str().unwrap()).get("/api/v1/me").await.status, 200);

    // The spent token again: refused, and the newer token of its family dies with it.
    assert_401(&refresh(first["refresh_token"].as_str().unwrap()).await, "reused refresh token");
    assert_401(&refresh(second.body["refresh_token"].as_str().unwrap()).await, "family revoked");
    assert_401(&refresh("made-up-token").await, "unknown refresh token");
    // A separate login is a separate family and still works.
    let other = login(&app, "yy.staff", PASSWORD).await.body;
    assert_eq!(refresh(other["refresh_token"].as_str().unwrap()).await.status, 200);
}

async fn logout_revokes_the_access_token_and_its_session(app: TestApp) {
    let pair = login(&app, "yy.admin", PASSWORD).await.body;
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(app.with_token(token).post("/api/v1/auth/logout", &json!({})).await.status, 204);
    assert_401(&app.with_token(token).get("/api/v1/projects").await, "revoked jti");
    let res = app.as_(Who::Anonymous).post("/api/v1/auth/refresh", &json!({"refresh_token": pair["refresh_token"]})).await;
    assert_401(&res, "refresh after logout");
}

async fn deactivation_and_role_changes_end_tokens(app: TestApp) {
    let viewer = login(&app, "yy.viewer", PASSWORD).await.body;
    let staff = login(&app, "yy.staff", PASSWORD).await.body;
    let user = |who: Who| format!("/api/v1/users/{}", app.user_ids[&who]);

    let res = app.patch(&user(Who::ParkViewer), Some("\"1\""), &json!({"active": false})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_401(&app.with_token(viewer["access_token"].as_str().unwrap()).get("/api/v1/me").await, "deactivated");
    assert_401(&login(&app, "yy.viewer", PASSWORD).await, "deactivated login");
    let res = app.as_(Who::Anonymous).post("/api/v1/auth/refresh", &json!({"refresh_token": viewer["refresh_token"]})).await;
    assert_401(&res, "deactivated refresh");

    assert_eq!(app.patch(&user(Who::ParkStaff), Some("\"1\""), &json!({"role": "park_viewer"})).await.status, 200);
    assert_401(&app.with_token(staff["access_token"].as_str().unwrap()).get("/api/v1/me").await, "role changed");
    let again = login(&app, "yy.staff", PASSWORD).await;
    let me = app.with_token(again.body["access_token"].as_str().unwrap()).get("/api/v1/me").await;
    assert_eq!(me.body["role"], "park_viewer", "a new login carries the new role");
}

async fn forged_and_stale_tokens_are_refused(app: TestApp) {
    let who = Who::ParkStaff;
    let good = hs256(&claims(&app, who, json!({})), SECRET.as_bytes());
    assert_eq!(app.with_token(&good).get("/api/v1/me").await.status, 200, "the control case passes");

    let public_pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/idp-public.pem")).unwrap();
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let unsigned = format!("{}.{}.", enc(&json!({"alg": "none", "typ": "JWT"})), enc(&claims(&app, who, json!({}))));
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = enc(&claims(&app, who, json!({"role": "provincial_admin", "park": null})));
    let tampered = parts.join(".");
    let hs384 = encode(&Header::new(Algorithm::HS384), &claims(&app, who, json!({})), &EncodingKey::from_secret(SECRET.as_bytes()).unwrap()).unwrap();

    let attacks: Vec<(&str, String)> = vec![
        ("alg none", unsigned),
        ("HS256 signed with the RSA public key", hs256(&claims(&app, who, json!({})), &public_pem)),
        ("other secret", hs256(&claims(&app, who, json!({})), b"another-secret-another-secret-0123456")),
        ("HS384", hs384),
        ("expired", hs256(&claims(&app, who, json!({"exp": now() - 3600, "iat": now() - 4000, "nbf": now() - 4000})), SECRET.as_bytes())),
        ("not yet valid", hs256(&claims(&app, who, json!({"nbf": now() + 3600})), SECRET.as_bytes())),
        ("wrong issuer", hs256(&claims(&app, who, json!({"iss": "someone-else"})), SECRET.as_bytes())),
        ("wrong audience", hs256(&claims(&app, who, json!({"aud": "another-api"})), SECRET.as_bytes())),
        ("no expiry", {
            let mut c = claims(&app, who, json!({}));
            c.as_object_mut().unwrap().remove("exp");
            hs256(&c, SECRET.as_bytes())
        }),
        ("tampered payload", tampered),
        ("stale token version", hs256(&claims(&app, who, json!({"tv": 0})), SECRET.as_bytes())),
        ("claims another role than the user has", hs256(&claims(&app, who, json!({"role": "park_admin"})), SECRET.as_bytes())),
        ("unknown user", hs256(&claims(&app, who, json!({"sub": "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b"})), SECRET.as_bytes())),
        ("garbage", "not.a.jwt".into()),
    ];
    for (what, token) in attacks {
        assert_401(&app.with_token(&token).get("/api/v1/projects").await, what);
    }
}

async fn tokens_of_the_external_identity_provider_are_accepted_with_their_one_algorithm(app: TestApp) {
    let external = |overrides: Value| {
        let mut c = json!({"sub": "idp|42", "preferred_username": "li.na@idp", "role": "park_viewer", "park": "chenzhou",
                           "iss": "https://idp.example", "aud": "invest-registry", "exp": now() + 600, "iat": now(),
                           "jti": uuid::Uuid::now_v7().to_string()});
        for (k, v) in overrides.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let token = rs256(&external(json!({})));
    let me = app.with_token(&token).get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!((me.body["username"].clone(), me.body["role"].clone(), me.body["park_code"].clone()), (json!("li.na@idp"), json!("park_viewer"), json!("chenzhou")));
    // Its park scope applies like anyone's.
    let p = app.create_project(json!({"park_code": "yueyang"})).await;
    assert_eq!(app.with_token(&token).get(&format!("/api/v1/projects/{}", p["id"].as_str().unwrap())).await.status, 404);

    for (what, claims) in [
        ("wrong issuer", external(json!({"iss": "invest-registry"}))),
        ("wrong audience", external(json!({"aud": "other"}))),
        ("unknown role", external(json!({"role": "superuser"}))),
        ("park role without park", external(json!({"park": null}))),
        ("park claim that is no park code", external(json!({"park": "Chenzhou"}))),
        ("park claim naming no park", external(json!({"park": "atlantis"}))),
        ("expired", external(json!({"exp": now() - 3600}))),
    ] {
        let token = rs256(&claims);
        assert_401(&app.with_token(&token).get("/api/v1/me").await, what);
        // The list writes the caller's park into its statement (`db::park_literal`).
        assert_401(&app.with_token(&token).get("/api/v1/projects").await, what);
    }
    // The service's own issuer signed with the provider's key is still refused: keys do not mix.
    let own_claims_rs = rs256(&claims(&app, Who::ProvincialAdmin, json!({})));
    assert_401(&app.with_token(&own_claims_rs).get("/api/v1/me").await, "local claims, external key");
}

async fn logins_and_failures_are_audited(app: TestApp) {
    login(&app, "yy.staff", "wrong password!").await;
    login(&app, "yy.staff", PASSWORD).await;
    use diesel::prelude::*;
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor: String,
    }
    let mut conn = invest_registry::db::DbManager::new(&app.database_url).unwrap().establish().unwrap();
    let events: Vec<Event> = diesel::sql_query("SELECT action, actor FROM audit_events WHERE action LIKE 'login%' ORDER BY at, id")
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        events,
        vec![
            Event { action: "login_failed".into(), actor: "yy.staff".into() },
            Event { action: "login".into(), actor: "yy.staff".into() },
        ]
    );
}
