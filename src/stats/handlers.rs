//! HTTP handlers of `/api/v1/stats`. Every role reads statistics; a park
//! role's cover its own park only, as its lists do. They run on the
//! blocking pool: a statistic reads every row its filters match.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::IntoParams;

use super::dimension::{parse_group_by, Dimension, Library};
use super::funnel::{self, Funnel, FunnelParams};
use super::grouped::{self, Stats};
use crate::auth::{Caller, ParkScope};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::http::{answers, Query};
use crate::investors::queries::InvestorFilter;
use crate::projects::ListFilter;
use crate::state::AppState;
use crate::talents::queries::TalentFilter;

/// `group_by` of a statistic (documentation only: [`StatsQuery`] reads it).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupBy {
    /// Dimensions to group by, comma-separated or repeated, in the order the
    /// keys are wanted (see the `Dimension` schema for each library's); none:
    /// one group of every matching row. `year` is the year of a project's
    /// first contact (of its creation when it has none), of an investor's or
    /// a talent's creation.
    #[param(example = "park,stage")]
    pub group_by: Option<String>,
}

/// The parameters of a list that page, sort or count it: a statistic has
/// none of these, so each is a 400 naming it rather than a silent no-op.
const LIST_ONLY: [&str; 4] = ["limit", "cursor", "sort", "count"];

/// A library's list filters without its paging, sorting and counting
/// parameters: what a statistic takes (documentation only).
pub struct Filters<F>(PhantomData<F>);

impl<F: IntoParams> IntoParams for Filters<F> {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        F::into_params(parameter_in).into_iter().filter(|p| !LIST_ONLY.contains(&p.name.as_str())).collect()
    }
}

type ProjectFilters = Filters<ListFilter>;
type InvestorFilters = Filters<InvestorFilter>;
type TalentFilters = Filters<TalentFilter>;

/// A statistic's query: `group_by`, and the library's list filters read as
/// the list reads them (its paging parameters are refused, see [`LIST_ONLY`]).
pub struct StatsQuery<F> {
    filter: F,
    group_by: Vec<String>,
}

impl<F: DeserializeOwned> FromRequest for StatsQuery<F> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read_stats_query(req.query_string()))
    }
}

fn read_stats_query<F: DeserializeOwned>(query: &str) -> Result<StatsQuery<F>, ApiError> {
    // The rules for every parameter, on the query as sent (re-encoding is lossy).
    crate::http::check_query_values(query)?;
    let mut filters = form_urlencoded::Serializer::new(String::new());
    let mut group_by = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "group_by" {
            group_by.push(value.into_owned());
        } else if LIST_ONLY.contains(&&*name) {
            return Err(ApiError::bad_param(name, "unknown_parameter", "is not a parameter of a statistic: it has no pages, order or separate count"));
        } else {
            filters.append_pair(&name, &value);
        }
    }
    let filter = crate::http::parse_query::<F>(&filters.finish())?;
    Ok(StatsQuery { filter, group_by })
}

/// Major projects counted, with their planned, contracted and in-place money
/// summed, per combination of the `group_by` dimensions, over the projects
/// the list shows with the same filters.
#[utoipa::path(operation_id = "getProjectStats", tag = "stats", params(GroupBy, ProjectFilters),
    responses((status = 200, description = "Groups and their total", body = Stats), answers::BadQuery, answers::Unauthenticated))]
#[get("/stats/projects")]
pub async fn project_stats(state: web::Data<AppState>, caller: Caller, query: StatsQuery<ListFilter>) -> Result<HttpResponse, ApiError> {
    grouped_answer(state, caller, Library::Projects, query, grouped::projects).await
}

/// Investors counted per combination of the `group_by` dimensions, over the
/// investors the list shows with the same filters.
#[utoipa::path(operation_id = "getInvestorStats", tag = "stats", params(GroupBy, InvestorFilters),
    responses((status = 200, description = "Groups and their total", body = Stats), answers::BadQuery, answers::Unauthenticated))]
#[get("/stats/investors")]
pub async fn investor_stats(state: web::Data<AppState>, caller: Caller, query: StatsQuery<InvestorFilter>) -> Result<HttpResponse, ApiError> {
    grouped_answer(state, caller, Library::Investors, query, grouped::investors).await
}

/// Talents counted per combination of the `group_by` dimensions, over the
/// talents the list shows with the same filters.
#[utoipa::path(operation_id = "getTalentStats", tag = "stats", params(GroupBy, TalentFilters),
    responses((status = 200, description = "Groups and their total", body = Stats), answers::BadQuery, answers::Unauthenticated))]
#[get("/stats/talents")]
pub async fn talent_stats(state: web::Data<AppState>, caller: Caller, query: StatsQuery<TalentFilter>) -> Result<HttpResponse, ApiError> {
    grouped_answer(state, caller, Library::Talents, query, grouped::talents).await
}

/// A library's groups: its list's filters, counted per `group_by` by `count`.
async fn grouped_answer<F: Clone + Send + 'static>(
    state: web::Data<AppState>,
    caller: Caller,
    library: Library,
    query: StatsQuery<F>,
    count: fn(&mut DbConnection, &ParkScope, F, Vec<Dimension>) -> Result<Stats, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let dimensions = parse_group_by(library, &query.group_by)?;
    let scope = caller.scope();
    let stats = db::read_heavy(&state.reader(&caller), move |conn| count(conn, &scope, query.filter, dimensions)).await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// The project pipeline by cohort (the year of first contact): how many
/// projects reached each stage, the conversion from the stage before and
/// the median days spent in each stage. README, "Statistics", says how
/// "reached" and "days in a stage" are worked out.
#[utoipa::path(operation_id = "getFunnel", tag = "stats", params(FunnelParams),
    responses((status = 200, description = "The funnel of each cohort, oldest first", body = Funnel), answers::BadQuery, answers::Unauthenticated))]
#[get("/stats/funnel")]
pub async fn get_funnel(state: web::Data<AppState>, caller: Caller, query: Query<FunnelParams>) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let funnel = db::read_heavy(&state.reader(&caller), move |conn| funnel::funnel(conn, &scope, query.0)).await?;
    Ok(HttpResponse::Ok().json(funnel))
}
