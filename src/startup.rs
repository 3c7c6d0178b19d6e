//! Building the HTTP server: middleware, documentation and the listener
//! around the routes of [`crate::routes`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{HashGate, Rechecks, TokenKeys};
use crate::config::Settings;
use crate::db::{self, DbPool, StartupError};
use crate::metrics::{self, Metrics};
use crate::http::envelope::{envelope, no_route, MethodTable, REQUEST_ID};
use crate::http::own_writes;
use crate::telemetry::RequestSpan;
use crate::openapi;
use crate::routes::api_routes;
use crate::state::AppState;

/// How the server runs, apart from its database and keys.
#[derive(Default)]
pub struct ServeOptions {
    /// HTTP worker threads; one per core when `None`.
    pub workers: Option<usize>,
    pub cors_origins: Vec<String>,
    /// How long a token's passed live check is trusted.
    pub recheck_after: Duration,
    /// The password-hashing gate; one permit per core but one when `None`.
    pub hashing: Option<HashGate>,
    /// A second listener that alone serves `/metrics`; no metrics when `None`.
    pub metrics: Option<TcpListener>,
    /// "Today" for claims and monitoring; the system clock by default (tests move it).
    pub clock: crate::clock::Clock,
    /// Webhook deliveries: allowed hosts, retries, polling.
    pub webhooks: crate::webhooks::WebhookOptions,
}

/// Browser frontends on the configured origins may call the API with the
/// headers it uses, and read the ETag and Location it answers.
fn cors(origins: &[String]) -> Cors {
    let cors = origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).fold(Cors::default(), |cors, origin| {
        cors.allowed_origin(origin)
    });
    cors.allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH, header::ACCEPT, REQUEST_ID])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER, header::WWW_AUTHENTICATE, REQUEST_ID, header::ALLOW])
        .max_age(3600)
}

/// How often SQLite's WAL is emptied and truncated.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// Truncating checkpoints for as long as the server runs (see
/// `db::checkpoint`), on the blocking pool: one may wait for the write lock.
async fn checkpoints(pool: DbPool) {
    let mut every = actix_web::rt::time::interval(CHECKPOINT_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let pool = pool.clone();
        match web::block(move || db::checkpoint(&pool)).await {
            Ok(Ok(done)) if done.busy != 0 => {
                tracing::info!(frames = done.log, copied = done.checkpointed, "WAL checkpoint could not finish; will retry")
            }
            Ok(Ok(done)) => tracing::debug!(frames = done.log, "WAL checkpointed and truncated"),
            Ok(Err(e)) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint task failed; will retry"),
        }
    }
}

/// A migrated database, a bound listener and a server ready to run.
pub struct Application {
    port: u16,
    server: Server,
    webhooks: crate::webhooks::WebhookWorker,
}

impl Application {
    /// Connects (migrating first) and binds the address in `settings`.
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let keys = TokenKeys::from_settings(&settings.auth).map_err(|e| StartupError::Keys(e.to_string()))?;
        let wait = Duration::from_millis(settings.db.db_pool_wait_ms);
        let lane = settings.slow_work.lane();
        let mut pool = db::connect_with(&settings.db.database_url, settings.pool_size(), wait)?.with_slow_lane(&lane)?;
        if let Some(url) = settings.db.replica_url() {
            let replica = db::ReplicaSettings { max_lag: Duration::from_millis(settings.db.replica_max_lag_ms), ..Default::default() };
            pool = pool.with_replica(url, replica, &lane)?;
        }
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| StartupError::Pool(format!("cannot listen on {}: {e}", settings.bind)))?;
        let options = ServeOptions {
            workers: Some(settings.workers()),
            cors_origins: settings.cors_allowed_origins.clone(),
            recheck_after: Duration::from_secs(settings.auth.auth_recheck_seconds),
            hashing: Some(settings.hash_gate()),
            clock: crate::clock::Clock::default(),
            webhooks: settings.webhooks.options(),
            metrics: settings
                .metrics_bind
                .as_ref()
                .map(|bind| {
                    TcpListener::bind(bind).map_err(|e| StartupError::Pool(format!("cannot listen for metrics on {bind}: {e}")))
                })
                .transpose()?,
        };
        Self::with_pool(pool, keys, listener, options)
    }

    /// Serves an existing pool on an existing listener (tests bind port 0).
    pub fn with_pool(
        pool: DbPool,
        keys: TokenKeys,
        listener: TcpListener,
        options: ServeOptions,
    ) -> Result<Self, StartupError> {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        // The targets' summary, built at the first start after its migration.
        let mut conn = pool.checkout().map_err(|e| StartupError::Pool(e.problem().detail))?;
        crate::targets::summary::ensure_built(&mut conn).map_err(|e| StartupError::Pool(format!("targets summary: {}", e.problem().detail)))?;
        crate::projects::lights::ensure_built(&mut conn).map_err(|e| StartupError::Pool(format!("light days: {}", e.problem().detail)))?;
        drop(conn);
        let rechecks = Arc::new(Rechecks::new(options.recheck_after));
        let checkpoint_pool = pool.clone();
        actix_web::rt::spawn(db::watch_replica(pool.clone()));
        let hashing = Arc::new(options.hashing.unwrap_or_else(HashGate::for_this_machine));
        let webhook_pool = pool.clone();
        let webhook_targets = options.webhooks.allowed.clone();
        let webhook_clock = options.clock.clone();
        let state = web::Data::new(AppState { pool, keys: Arc::new(keys), rechecks, known_parks: Arc::default(), hashing, clock: options.clock, webhook_targets });
        let cors_origins = options.cors_origins;
        let metrics_addr = options.metrics.as_ref().and_then(|l| l.local_addr().ok());
        let metrics = web::Data::new(Metrics::new(metrics_addr).map_err(|e| StartupError::Pool(format!("metrics: {e}")))?);
        // The document, its JSON and the method table are built once and
        // shared: built in every worker they held ~8 MB each (bench/RESULTS.md).
        let document = openapi::document();
        let methods = web::Data::new(MethodTable::from_document(&document));
        let document_json = web::Bytes::from(serde_json::to_vec(&document).map_err(|e| StartupError::Pool(format!("OpenAPI document: {e}")))?);
        drop(document);
        let mut server = HttpServer::new(move || {
            // The routes still go through utoipa's app (their annotations
            // register them); the paths it collects are not kept.
            let (app, _paths) = App::new().into_utoipa_app().app_data(state.clone()).configure(api_routes).split_for_parts();
            let document_json = document_json.clone();
            app.app_data(methods.clone())
                .app_data(metrics.clone())
                .route("/metrics", web::get().to(metrics::serve))
                .wrap(cors(&cors_origins))
                // Kept at every filter: besides the span, it logs each error
                // answer (WARN for 4xx, ERROR for 5xx), the only line a 503
                // `Overloaded` or a 429 leaves (bench/RESULTS.md, thirteenth session).
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(from_fn(metrics::track))
                .wrap(from_fn(own_writes::remember))
                .wrap(from_fn(envelope))
                .route("/docs", web::get().to(|| async {
                    HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish()
                }))
                .route(openapi::JSON_PATH, web::get().to(move || {
                    let body = document_json.clone();
                    async move { HttpResponse::Ok().content_type("application/json").body(body) }
                }))
                .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::new([openapi::JSON_PATH])))
                .configure(crate::dashboard::routes)
                .default_service(web::to(no_route))
        });
        if let Some(workers) = options.workers {
            server = server.workers(workers);
        }
        let mut server = server.listen(listener).map_err(|e| StartupError::Pool(format!("cannot serve: {e}")))?;
        if let Some(listener) = options.metrics {
            server = server.listen(listener).map_err(|e| StartupError::Pool(format!("cannot serve metrics: {e}")))?;
        }
        let server = server.run();
        if checkpoint_pool.backend() == db::Backend::Sqlite {
            actix_web::rt::spawn(checkpoints(checkpoint_pool));
        }
        let webhook_options = crate::webhooks::WebhookOptions { clock: webhook_clock, ..options.webhooks };
        let webhooks = crate::webhooks::worker::spawn(webhook_pool, webhook_options).map_err(StartupError::Pool)?;
        Ok(Self { port, server, webhooks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.webhooks.stop();
        served
    }

    /// Stops the webhook worker (the server stops it itself when it ends).
    pub fn webhook_worker(&self) -> crate::webhooks::WebhookWorker {
        self.webhooks.clone()
    }

    pub fn into_server(self) -> Server {
        self.server
    }
}
