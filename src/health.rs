//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Backend};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgres`; readiness only.
    #[schema(example = "sqlite")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// The process is up and serving.
#[utoipa::path(operation_id = "live", tag = "health", security(),
    responses((status = 200, description = "Alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok", database: None })
}

/// The database answers; send traffic here.
#[utoipa::path(operation_id = "ready", tag = "health", security(),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let backend = db::run(&state.pool, |conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1").execute(conn).map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Ok(db::backend_of(conn))
    })
    .await?;
    let database = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    Ok(HttpResponse::Ok().json(Health { status: "ok", database: Some(database) }))
}
