use actix_web::{get, web, HttpResponse};

use super::Park;
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// List the parks of the cooperation zone.
#[utoipa::path(
    operation_id = "listParks",
    tag = "parks",
    responses(
        (status = 200, description = "Every park, ordered by code", body = Vec<Park>),
        (status = "default", description = "Error", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/parks")]
pub async fn list_parks(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let parks = db::run(&state.pool, super::list).await?;
    Ok(HttpResponse::Ok().json(parks))
}

/// Read one park.
#[utoipa::path(
    operation_id = "getPark",
    tag = "parks",
    params(("code" = String, Path, description = "The park's code", example = "yueyang")),
    responses(
        (status = 200, description = "The park", body = Park),
        (status = 404, description = "No such park", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/parks/{code}")]
pub async fn get_park(
    state: web::Data<AppState>,
    _caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let park = db::run(&state.pool, move |conn| super::find(conn, &code)).await?;
    park.map(|p| HttpResponse::Ok().json(p)).ok_or(ApiError::NotFound("park"))
}
