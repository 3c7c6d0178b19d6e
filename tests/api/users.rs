//! `/users`: who may create and change whom, and the rules of a user.

use serde_json::json;

use crate::helpers::{TestApp, Who, PASSWORD};
use crate::on_both_databases;

on_both_databases!(park_admins_manage_their_park_below_the_province, user_rules_name_their_fields);

async fn park_admins_manage_their_park_below_the_province(app: TestApp) {
    let park_admin = app.as_(Who::ParkAdmin);
    let res = park_admin.post("/api/v1/users", &json!({"username": "yy.new", "password": PASSWORD, "role": "park_staff"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["park_code"], "yueyang", "a park admin's users are in its park");
    assert!(res.body.get("password_hash").is_none() && !res.text.contains("argon2"));
    assert_eq!(res.header("location"), Some(format!("/api/v1/users/{}", res.body["id"].as_str().unwrap())));

    for (body, status) in [
        (json!({"username": "yy.boss", "password": PASSWORD, "role": "provincial_admin"}), 403),
        (json!({"username": "yy.view2", "password": PASSWORD, "role": "provincial_viewer"}), 403),
        (json!({"username": "xt.new", "password": PASSWORD, "role": "park_staff", "park_code": "xiangtan"}), 403),
    ] {
        assert_eq!(park_admin.post("/api/v1/users", &body).await.status, status, "{body}");
    }
    // Promoting its own staff to the province is out of reach too.
    let staff = format!("/api/v1/users/{}", app.user_ids[&Who::ParkStaff]);
    assert_eq!(park_admin.patch(&staff, Some("*"), &json!({"role": "provincial_viewer"})).await.status, 403);
    assert_eq!(park_admin.patch(&staff, Some("*"), &json!({"park_code": "xiangtan"})).await.status, 403);
    // Nor may anyone take away their own admin rights by accident.
    let me = format!("/api/v1/users/{}", app.user_ids[&Who::ParkAdmin]);
    assert_eq!(park_admin.patch(&me, Some("*"), &json!({"active": false})).await.status, 403);
    assert_eq!(park_admin.patch(&me, Some("*"), &json!({"display_name": "岳阳管理员"})).await.status, 200);

    // The province moves a user between parks; its history says so.
    let res = app.patch(&staff, Some("\"1\""), &json!({"park_code": "chenzhou"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(park_admin.get(&staff).await.status, 404, "no longer in the park admin's park");
}

async fn user_rules_name_their_fields(app: TestApp) {
    let cases = [
        (json!({"username": "ab", "password": PASSWORD, "role": "provincial_viewer"}), 422, "username"),
        (json!({"username": "has space", "password": PASSWORD, "role": "provincial_viewer"}), 422, "username"),
        (json!({"username": "short.pw", "password": "short", "role": "provincial_viewer"}), 422, "password"),
        (json!({"username": "no.park", "password": PASSWORD, "role": "park_staff"}), 422, "park_code"),
        (json!({"username": "bad.park", "password": PASSWORD, "role": "park_staff", "park_code": "atlantis"}), 422, "park_code"),
        (json!({"username": "prov.park", "password": PASSWORD, "role": "provincial_viewer", "park_code": "yueyang"}), 422, "park_code"),
        (json!({"username": "bad.role", "password": PASSWORD, "role": "superuser"}), 422, "role"),
        (json!({"username": "YY.STAFF", "password": PASSWORD, "role": "provincial_viewer"}), 409, "username"),
    ];
    for (body, status, field) in cases {
        let res = app.post("/api/v1/users", &body).await;
        assert_eq!(res.status, status, "{body}: {}", res.text);
        assert!(res.error_fields().contains(&field.to_owned()), "{body}: {}", res.text);
    }
    let res = app.patch(&format!("/api/v1/users/{}", app.user_ids[&Who::ParkViewer]), None, &json!({"display_name": "x"})).await;
    res.assert_problem(428, "If-Match", "required");
}
