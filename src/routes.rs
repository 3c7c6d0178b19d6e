//! The route table: every operation of `/api/v1`, in the order the OpenAPI
//! document lists them. The server (`startup`) and the document (`openapi`)
//! both read it; it knows neither.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::{auth, exchange, health, investors, meta, parks, projects, talents, users};

/// The API under `/api/v1`, described for the OpenAPI document as it is routed.
pub fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/api/v1")
            .service(health::live)
            .service(health::ready)
            .service(auth::handlers::login)
            .service(auth::handlers::refresh)
            .service(auth::handlers::logout)
            .service(auth::handlers::me)
            .service(users::handlers::list_users)
            .service(users::handlers::create_user)
            .service(users::handlers::get_user)
            .service(users::handlers::update_user)
            .service(meta::enums)
            .service(parks::handlers::list_parks)
            .service(parks::handlers::get_park)
            .service(projects::handlers::list_projects)
            .service(projects::handlers::create_project)
            .service(projects::handlers::get_project)
            .service(projects::handlers::update_project)
            .service(projects::handlers::delete_project)
            .service(projects::handlers::project_history)
            .service(investors::handlers::list_investors)
            .service(investors::handlers::match_investors)
            .service(investors::handlers::create_investor)
            .service(investors::handlers::get_investor)
            .service(investors::handlers::update_investor)
            .service(investors::handlers::delete_investor)
            .service(investors::handlers::investor_history)
            .service(investors::handlers::list_contacts)
            .service(investors::handlers::get_contact)
            .service(investors::handlers::create_contact)
            .service(investors::handlers::update_contact)
            .service(investors::handlers::delete_contact)
            .service(investors::handlers::list_follow_ups)
            .service(investors::handlers::get_follow_up)
            .service(investors::handlers::create_follow_up)
            .service(investors::handlers::update_follow_up)
            .service(investors::handlers::delete_follow_up)
            .service(investors::handlers::list_figures)
            .service(investors::handlers::get_figure)
            .service(investors::handlers::create_figure)
            .service(investors::handlers::update_figure)
            .service(investors::handlers::delete_figure)
            .service(talents::handlers::list_talents)
            .service(talents::handlers::create_talent)
            .service(talents::handlers::get_talent)
            .service(talents::handlers::update_talent)
            .service(talents::handlers::delete_talent)
            .service(talents::handlers::talent_history)
            .service(exchange::handlers::import_records),
    );
}
