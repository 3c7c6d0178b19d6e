//! Building the HTTP server: middleware, documentation and the listener
//! around the routes of [`crate::routes`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{Rechecks, TokenKeys};
use crate::config::Settings;
use crate::db::{self, DbPool, StartupError};
use crate::error::ApiError;
use crate::openapi;
use crate::routes::api_routes;
use crate::state::AppState;

/// How the server runs, apart from its database and keys.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// HTTP worker threads; one per core when `None`.
    pub workers: Option<usize>,
    pub cors_origins: Vec<String>,
    /// How long a token's passed live check is trusted.
    pub recheck_after: Duration,
}

/// Browser frontends on the configured origins may call the API with the
/// headers it uses, and read the ETag and Location it answers.
fn cors(origins: &[String]) -> Cors {
    let cors = origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).fold(Cors::default(), |cors, origin| {
        cors.allowed_origin(origin)
    });
    cors.allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH, header::ACCEPT])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(3600)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("resource"))
}

/// A migrated database, a bound listener and a server ready to run.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects (migrating first) and binds the address in `settings`.
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let keys = TokenKeys::from_settings(&settings.auth).map_err(|e| StartupError::Keys(e.to_string()))?;
        let pool = db::connect(&settings.db.database_url, settings.pool_size())?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| StartupError::Pool(format!("cannot listen on {}: {e}", settings.bind)))?;
        let options = ServeOptions {
            workers: Some(settings.workers()),
            cors_origins: settings.cors_allowed_origins.clone(),
            recheck_after: Duration::from_secs(settings.auth.auth_recheck_seconds),
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
        let rechecks = Arc::new(Rechecks::new(options.recheck_after));
        let state = web::Data::new(AppState { pool, keys: Arc::new(keys), rechecks });
        let cors_origins = options.cors_origins;
        let mut server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(openapi::base())
                .app_data(state.clone())
                .configure(api_routes)
                .split_for_parts();
            app.wrap(cors(&cors_origins))
                .wrap(TracingLogger::default())
                .route("/docs", web::get().to(|| async {
                    HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish()
                }))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", openapi::finish(api)))
                .default_service(web::to(not_found))
        });
        if let Some(workers) = options.workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|e| StartupError::Pool(format!("cannot serve: {e}")))?
            .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn into_server(self) -> Server {
        self.server
    }
}
