//! Structured logs: one line per event, with the request id on each request's
//! lines. `RUST_LOG` filters; `LOG_FORMAT=json` switches to JSON lines.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::fmt::format::FmtSpan;

use crate::http::envelope::RequestId;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Closing a request's span logs it once, with status, latency and request id.
    let builder = fmt().with_env_filter(filter).with_target(false).with_span_events(FmtSpan::CLOSE);
    // A second init (tests start many apps) is not an error worth reporting.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Each request's span carries the id the caller sees in `X-Request-Id`
/// (theirs or ours), so a reported id finds the request's log lines.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // The span's fields are worked out before the filter is asked (a
        // second walk of the routes for `http.route`, the connection info):
        // with request spans filtered out (`RUST_LOG=warn`) skip them all.
        // The probe has the real span's name, level and id field, so filters
        // that name them (`[HTTP request]=debug`, `[{x_request_id}]`) still
        // turn request spans on; one naming another of the span's fields
        // (`[{http.route}]`) does not.
        let probe = tracing::info_span!("HTTP request", x_request_id = tracing::field::Empty);
        if probe.is_disabled() {
            return Span::none();
        }
        let id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        tracing_actix_web::root_span!(request, x_request_id = %id)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
