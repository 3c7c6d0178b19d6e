//! The dashboard's files: served without a token, each with its type, the
//! self-only Content-Security-Policy and caching that a new binary cannot
//! leave stale. What the page shows is checked in a real browser
//! (tests/dashboard/run.sh).

use crate::helpers::{TestApp, Who};
use crate::on_both_databases;

on_both_databases!(the_page_and_its_files_are_served_with_types_policy_and_caching, unknown_files_and_stale_copies);

/// The files the page loads (`src="…"` and `href="…"`), relative to `/dashboard/`.
fn loaded_by(page: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| page.split(attr).skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned))
        .collect()
}

fn assert_locked_down(res: &crate::helpers::Response, what: &str) {
    let csp = res.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(res.header("x-content-type-options").as_deref(), Some("nosniff"), "{what}");
    assert!(res.header("etag").is_some_and(|tag| tag.starts_with('"')), "{what}");
}

async fn the_page_and_its_files_are_served_with_types_policy_and_caching(app: TestApp) {
    let anonymous = app.as_(Who::Anonymous);
    let bare = anonymous.get("/dashboard").await;
    assert_eq!(bare.status, 308);
    assert_eq!(bare.header("location").as_deref(), Some("/dashboard/"));

    let page = anonymous.get("/dashboard/").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.header("content-type").as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-cache"));
    assert_locked_down(&page, "the page");
    assert!(page.text.contains("<html lang=\"zh-CN\">") && page.text.contains("登录"), "{}", page.text);
    assert!(!page.text.contains("://"), "the page loads nothing from elsewhere: {}", page.text);
    assert!(!page.text.contains("<script>") && !page.text.contains("style="), "no inline script or style: {}", page.text);

    let files = loaded_by(&page.text);
    assert_eq!(files.len(), 4, "an icon, a style sheet, ECharts and the script: {files:?}");
    for file in files {
        let res = anonymous.get(&format!("/dashboard/{file}")).await;
        assert_eq!(res.status, 200, "{file}: {}", res.status);
        assert!(!res.text.is_empty(), "{file}");
        assert_locked_down(&res, &file);
        let (kind, caching) = if file.ends_with(".css") {
            ("text/css; charset=utf-8", "no-cache")
        } else if file.ends_with(".svg") {
            ("image/svg+xml", "no-cache")
        } else if file.starts_with("vendor/") {
            ("text/javascript; charset=utf-8", "public, max-age=31536000, immutable")
        } else {
            ("text/javascript; charset=utf-8", "no-cache")
        };
        assert_eq!(res.header("content-type").as_deref(), Some(kind), "{file}");
        assert_eq!(res.header("cache-control").as_deref(), Some(caching), "{file}");
        if file.starts_with("vendor/") {
            assert!(file.contains(invest_registry::dashboard::ECHARTS_VERSION), "the version is in the address: {file}");
            assert!(res.text.contains("Apache Software Foundation"), "{file} is ECharts with its licence header");
        }
    }
}

async fn unknown_files_and_stale_copies(app: TestApp) {
    let anonymous = app.as_(Who::Anonymous);
    let missing = anonymous.get("/dashboard/secrets.txt").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type").as_deref(), Some("application/problem+json"));
    let climbing = anonymous.get("/dashboard/../Cargo.toml").await;
    assert_ne!(climbing.status, 200, "{}", climbing.text);

    let script = anonymous.get("/dashboard/app.js").await;
    let etag = script.header("etag").expect("an ETag");
    let current = anonymous.send(actix_web::http::Method::GET, "/dashboard/app.js", &[("if-none-match", etag.as_str())], None).await;
    assert_eq!(current.status, 304);
    assert!(current.text.is_empty());
    let stale = anonymous.send(actix_web::http::Method::GET, "/dashboard/app.js", &[("if-none-match", "\"0000\"")], None).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.text, script.text);
    let style = anonymous.get("/dashboard/app.css").await;
    assert_ne!(style.header("etag"), Some(etag), "each file has its own ETag");
}
