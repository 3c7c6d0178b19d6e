//! Structured logs: one line per event, with the request id on each request's
//! lines. `RUST_LOG` filters; `LOG_FORMAT=json` switches to JSON lines.

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Closing a request's span logs it once, with status, latency and request id.
    let builder = fmt().with_env_filter(filter).with_target(false).with_span_events(FmtSpan::CLOSE);
    // A second init (tests start many apps) is not an error worth reporting.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
