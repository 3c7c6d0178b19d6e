//! `/metrics` in the Prometheus text format: requests by route and status,
//! their latency, the connection pool, the slow lane, the password-hashing gate
//! and where reads went when there is a read replica.
//!
//! It is served only on its own listener (`METRICS_BIND`, off by default),
//! so the public port never shows it and a scraper needs no token.

use std::net::SocketAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::error::ApiError;
use crate::state::AppState;

/// The service's metrics, one set per server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
    hash_permits: IntGauge,
    hash_running: IntGauge,
    hash_waiting: IntGauge,
    slow_running: IntGauge,
    slow_borrowed: IntGauge,
    slow_waiting: IntGauge,
    reads: IntCounterVec,
    /// Where `/metrics` answers; nowhere when `None`.
    pub listener: Option<SocketAddr>,
}

impl Metrics {
    pub fn new(listener: Option<SocketAddr>) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        // Routes are the patterns (`/api/v1/projects/{id}`), never raw paths:
        // ids in labels would make a series per record.
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by method, route pattern and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer, by method and route pattern")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["method", "route"],
        )?;
        let reads = IntCounterVec::new(
            Opts::new("db_reads_total", "Lists, searches, statistics and targets read with a replica configured, by the side that served them and why"),
            &["side", "why"],
        )?;
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let metrics = Self {
            pool_connections: gauge("db_pool_connections", "Connections open in the pool")?,
            pool_idle: gauge("db_pool_idle_connections", "Open connections not in use")?,
            pool_waiting: gauge("db_pool_waiting_requests", "Requests waiting for a connection")?,
            hash_permits: gauge("login_hash_permits", "Password hashes that may run at once")?,
            hash_running: gauge("login_hash_running", "Password hashes running")?,
            hash_waiting: gauge("login_hash_queue", "Logins waiting for a hashing permit")?,
            slow_running: gauge("db_slow_lane_running", "Slow requests running on the slow lane's connections")?,
            slow_borrowed: gauge("db_slow_lane_borrowed", "Slow requests running on a spare connection of the slow lane, lent while the fast reads are quiet")?,
            slow_waiting: gauge("db_slow_lane_waiting", "Slow requests waiting for a connection of the slow lane")?,
            registry,
            requests,
            latency,
            reads,
            listener,
        };
        metrics.registry.register(Box::new(metrics.requests.clone()))?;
        metrics.registry.register(Box::new(metrics.reads.clone()))?;
        metrics.registry.register(Box::new(metrics.latency.clone()))?;
        for gauge in [
            &metrics.pool_connections,
            &metrics.pool_idle,
            &metrics.pool_waiting,
            &metrics.hash_permits,
            &metrics.hash_running,
            &metrics.hash_waiting,
            &metrics.slow_running,
            &metrics.slow_borrowed,
            &metrics.slow_waiting,
        ] {
            metrics.registry.register(Box::new(gauge.clone()))?;
        }
        Ok(metrics)
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }

    /// The text exposition, with the gauges read now.
    fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let pool = state.pool.counts();
        self.pool_connections.set(i64::from(pool.size));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_waiting.set(pool.waiting);
        let gate = state.hashing.counts();
        self.hash_permits.set(gate.permits as i64);
        self.hash_running.set(gate.running as i64);
        self.hash_waiting.set(gate.waiting as i64);
        let slow = state.pool.slow_lane_counts().unwrap_or(crate::admission::GateCounts { permits: 0, running: 0, borrowed: 0, waiting: 0 });
        self.slow_running.set(slow.running as i64);
        self.slow_borrowed.set(slow.borrowed as i64);
        self.slow_waiting.set(slow.waiting as i64);
        for (verdict, total) in state.pool.replica_reads().into_iter().flatten() {
            let side = if verdict == crate::db::ReadVerdict::Replica { "replica" } else { "primary" };
            let counter = self.reads.with_label_values(&[side, verdict.label()]);
            // The pool counts; the counter catches up with it.
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| ApiError::internal(format!("metrics: {e}")))?;
        String::from_utf8(out).map_err(|e| ApiError::internal(format!("metrics: {e}")))
    }
}

/// Counts and times every request by its route pattern.
pub async fn track(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Without their listener nobody can read the metrics: keep none, and
    // spare each request the second walk of the routes for its pattern.
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().filter(|m| m.listener.is_some()).cloned() else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let res = next.call(req).await?;
    // Paths no route matched share one label.
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    metrics.observe(&method, &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    Ok(res)
}

/// `GET /metrics`, on the metrics listener only; elsewhere it does not exist.
pub async fn serve(req: HttpRequest, metrics: web::Data<Metrics>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if metrics.listener.is_none() || metrics.listener != Some(req.app_config().local_addr()) {
        return Err(ApiError::NotFound("resource"));
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render(&state)?))
}
