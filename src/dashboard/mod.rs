//! The dashboard at `/dashboard/`: one page in Chinese, its script and style,
//! and the vendored ECharts, compiled into the binary so that the service
//! needs nothing beside it and the browser loads nothing from elsewhere.
//!
//! The page holds no figures of its own: it signs in through
//! `/api/v1/auth/login` and shows what the API answers that user, so a park
//! role sees its park only, exactly as the API scopes it.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// The vendored ECharts release (see `assets/vendor/echarts/README.md`); its
/// address carries the version so that browsers may keep it for good.
pub const ECHARTS_VERSION: &str = "6.1.0";

/// Self only: no inline script or style, no other origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long a browser may keep a file before asking again.
#[derive(Clone, Copy)]
enum Caching {
    /// The page, script and style change with the binary: revalidate by ETag on every load.
    Revalidate,
    /// A versioned file never changes at its address.
    Immutable,
}

impl Caching {
    fn header(self) -> &'static str {
        match self {
            Caching::Revalidate => "no-cache",
            Caching::Immutable => "public, max-age=31536000, immutable",
        }
    }
}

struct Asset {
    /// Below `/dashboard/`; the page is the empty path.
    path: String,
    content_type: &'static str,
    body: &'static [u8],
    caching: Caching,
    etag: String,
}

impl Asset {
    fn new(path: String, content_type: &'static str, body: &'static [u8], caching: Caching) -> Self {
        let digest = Sha256::digest(body);
        let etag = format!("\"{}\"", digest.iter().take(12).map(|b| format!("{b:02x}")).collect::<String>());
        Asset { path, content_type, body, caching, etag }
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    const UTF8_HTML: &str = "text/html; charset=utf-8";
    const UTF8_JS: &str = "text/javascript; charset=utf-8";
    const UTF8_CSS: &str = "text/css; charset=utf-8";
    vec![
        Asset::new(String::new(), UTF8_HTML, include_bytes!("assets/index.html"), Caching::Revalidate),
        Asset::new("app.js".into(), UTF8_JS, include_bytes!("assets/app.js"), Caching::Revalidate),
        Asset::new("app.css".into(), UTF8_CSS, include_bytes!("assets/app.css"), Caching::Revalidate),
        Asset::new("favicon.svg".into(), "image/svg+xml", include_bytes!("assets/favicon.svg"), Caching::Revalidate),
        Asset::new(
            format!("vendor/echarts-{ECHARTS_VERSION}.min.js"),
            UTF8_JS,
            include_bytes!("assets/vendor/echarts/echarts.min.js"),
            Caching::Immutable,
        ),
    ]
});

/// `/dashboard` and everything below it.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(to_the_page)).route("/dashboard/{path:.*}", web::get().to(serve));
}

/// Relative asset addresses in the page resolve only below the slash.
async fn to_the_page() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/dashboard/")).finish()
}

async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path.as_str()) else {
        // The envelope turns this into a problem document like any other 404.
        return HttpResponse::NotFound().body("no such file in the dashboard");
    };
    let current = unchanged(&req, &asset.etag);
    let mut answer = if current { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    answer
        .insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, asset.caching.header()))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if current {
        return answer.finish();
    }
    answer.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))).body(asset.body)
}

/// The browser's copy is current (`If-None-Match` names this ETag, or `*`).
fn unchanged(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_served_echarts_and_nothing_from_elsewhere() {
        let file = |path: &str| ASSETS.iter().find(|a| a.path.starts_with(path)).map(|a| std::str::from_utf8(a.body).unwrap_or_default());
        let page = file("").unwrap_or_default();
        assert!(page.contains(&format!("src=\"vendor/echarts-{ECHARTS_VERSION}.min.js\"")), "{page}");
        assert!(!page.contains("http://") && !page.contains("https://"), "{page}");
        let echarts = file("vendor/").unwrap_or_default();
        assert!(echarts.contains(&format!("version=\"{ECHARTS_VERSION}\"")), "the vendored file is ECharts {ECHARTS_VERSION}");
    }

    #[test]
    fn etags_differ_between_files() {
        let mut tags: Vec<&str> = ASSETS.iter().map(|a| a.etag.as_str()).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
