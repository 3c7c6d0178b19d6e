//! Liveness and readiness probes for load balancers and orchestrators.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Backend;
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
    /// The read replica (`DATABASE_REPLICA_URL`), when there is one;
    /// readiness only. A replica down never makes the service unready: the
    /// primary then serves every read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<ReplicaState>,
}

/// The read replica as the service last saw it.
#[derive(Serialize, ToSchema)]
pub struct ReplicaState {
    /// `up` (it serves reads), `lagging` (further behind than
    /// `REPLICA_MAX_LAG_MS`) or `down` (it does not answer).
    #[schema(example = "up")]
    pub state: &'static str,
    /// How far behind the primary it is known to be, in milliseconds
    /// (to within the watcher's 100 ms); absent while down.
    #[schema(example = 120)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<u64>,
}

/// How long readiness waits for a connection; the whole check is cut off
/// at [`READY_DEADLINE`], so a balancer learns of an outage within a second.
const READY_POOL_WAIT: Duration = Duration::from_millis(500);
const READY_DEADLINE: Duration = Duration::from_millis(900);

/// The process is up and serving. It never touches the database: a
/// database outage must not get the process restarted.
#[utoipa::path(operation_id = "live", tag = "health", security(),
    responses((status = 200, description = "Alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok", database: None, replica: None })
}

/// The database answers and can serve (no storage failure in the last 30 s);
/// send traffic here.
#[utoipa::path(operation_id = "ready", tag = "health", security(),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Off the workers, and cut off at the deadline: a database that hangs
    // (rather than refusing) must not hold the probe either.
    let pool = state.pool.clone();
    let probe = web::block(move || pool.probe(READY_POOL_WAIT));
    let backend = match actix_web::rt::time::timeout(READY_DEADLINE, probe).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(ApiError::internal(format!("readiness probe failed: {e}"))),
        Err(_) => return Err(ApiError::DatabaseDown("the readiness probe did not finish in time".into())),
    };
    let database = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let replica = state.pool.replica_health().map(|r| ReplicaState { state: r.state, lag_ms: r.lag.map(|lag| lag.as_millis() as u64) });
    Ok(HttpResponse::Ok().json(Health { status: "ok", database: Some(database), replica }))
}
