//! Merging two records of one company (DESIGN "Duplicates"): `from` moves
//! everything that hangs off it onto the target — contacts, follow-ups,
//! figures, project links, referrals and talents' employer — and is then
//! soft-deleted with `merged_into`. Moved rows keep their ids and versions;
//! the target's history lists what arrived and `from`'s history keeps all
//! it had. Undone only by new edits: nothing is lost to undo.

use std::collections::BTreeSet;

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::children;
use super::model::Investor;
use crate::audit::{Action, Change};
use crate::auth::{Caller, ParkScope};
use crate::db::schema::{investor_contacts, investor_figures, investor_follow_ups, investors, project_investors, talents};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;
use crate::links;
use crate::records::{audit_event, decode, Record, Stamp, Stored};

/// The body of `POST /investors/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b"}))]
pub struct MergeBody {
    /// The investor to merge into this one: a live investor of the same park.
    pub from: Uuid,
}

pub fn merge(conn: &mut DbConnection, caller: &Caller, id: &str, expected: &IfMatch, body: Value) -> Result<Investor, ApiError> {
    // Visibility (404), the right (403), the version (412), then the body.
    write_tx(conn, |conn| {
        let target = Investor::find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(Investor::ENTITY))?;
        if !caller.may_merge(&target.park_code) {
            return Err(ApiError::Forbidden("merging investors is for the park's administrators and the province's".into()));
        }
        if !expected.matches(target.bookkeeping.version) {
            return Err(ApiError::PreconditionFailed { current: target.bookkeeping.version });
        }
        let MergeBody { from } = decode(body)?;
        let from = from.to_string();
        if from == id {
            return Err(ApiError::invalid("from", "self", "an investor cannot be merged into itself"));
        }
        // Another park's investor does not exist here, even for the province.
        let park = ParkScope::One(target.park_code.clone());
        let source = Investor::find(conn, &park, &from)?.ok_or(ApiError::NotFound(Investor::ENTITY))?;
        let stamp = Stamp::of(caller);

        let years: Vec<i32> = investor_figures::table.filter(investor_figures::investor_id.eq(id)).select(investor_figures::year).load(conn)?;
        let clash: Vec<i32> = investor_figures::table
            .filter(investor_figures::investor_id.eq(&from))
            .filter(investor_figures::year.eq_any(&years))
            .select(investor_figures::year)
            .load(conn)?;
        if let Some(year) = clash.first() {
            return Err(ApiError::Conflict(FieldError::new(
                "from",
                "figure_conflict",
                format!("both investors have a figure for {year}; keep one of them first"),
            )));
        }

        let moved = |ids: Vec<String>| Value::from(ids);
        let contacts: Vec<String> = investor_contacts::table.filter(investor_contacts::investor_id.eq(&from)).select(investor_contacts::id).load(conn)?;
        diesel::update(investor_contacts::table.filter(investor_contacts::investor_id.eq(&from)))
            .set(investor_contacts::investor_id.eq(id))
            .execute(conn)?;
        let follow_ups: Vec<String> = investor_follow_ups::table.filter(investor_follow_ups::investor_id.eq(&from)).select(investor_follow_ups::id).load(conn)?;
        diesel::update(investor_follow_ups::table.filter(investor_follow_ups::investor_id.eq(&from)))
            .set(investor_follow_ups::investor_id.eq(id))
            .execute(conn)?;
        let figures: Vec<String> = investor_figures::table.filter(investor_figures::investor_id.eq(&from)).select(investor_figures::id).load(conn)?;
        diesel::update(investor_figures::table.filter(investor_figures::investor_id.eq(&from)))
            .set(investor_figures::investor_id.eq(id))
            .execute(conn)?;

        // Project links: a project that lists both keeps one link, at the better place.
        let linked: Vec<(String, i32)> = project_investors::table
            .filter(project_investors::investor_id.eq(&from))
            .select((project_investors::project_id, project_investors::position))
            .load(conn)?;
        let mut projects = BTreeSet::new();
        for (project, position) in linked {
            let both = project_investors::table.find((&project, id)).select(project_investors::position).first::<i32>(conn).optional()?;
            diesel::delete(project_investors::table.find((&project, &from))).execute(conn)?;
            match both {
                Some(kept) if kept <= position => {}
                Some(_) => {
                    diesel::update(project_investors::table.find((&project, id))).set(project_investors::position.eq(position)).execute(conn)?;
                }
                None => {
                    diesel::insert_into(project_investors::table)
                        .values((project_investors::project_id.eq(&project), project_investors::investor_id.eq(id), project_investors::position.eq(position)))
                        .execute(conn)?;
                }
            }
            projects.insert(project);
        }
        let projects: Vec<String> = projects.into_iter().collect();
        links::refresh_project_copies(conn, &projects)?;

        // Referrals and employers follow; a referral between the two ends.
        let referred: Vec<String> = investors::table
            .filter(investors::referred_by_id.eq(&from))
            .filter(investors::id.ne(id))
            .select(investors::id)
            .load(conn)?;
        diesel::update(investors::table.filter(investors::id.eq_any(&referred))).set(investors::referred_by_id.eq(id)).execute(conn)?;
        let employees: Vec<String> = talents::table.filter(talents::employer_id.eq(&from)).select(talents::id).load(conn)?;
        diesel::update(talents::table.filter(talents::employer_id.eq(&from))).set(talents::employer_id.eq(id)).execute(conn)?;

        let self_referral = target.referred_by_id.as_deref() == Some(from.as_str());
        let referrer = if self_referral { source.referred_by_id.clone().filter(|r| r != id) } else { target.referred_by_id.clone() };
        let written = diesel::update(investors::table.filter(investors::id.eq(id)).filter(investors::version.eq(target.bookkeeping.version)))
            .set((
                investors::referred_by_id.eq(&referrer),
                investors::version.eq(target.bookkeeping.version + 1),
                investors::updated_at.eq(stamp.at),
                investors::updated_by.eq(&stamp.by),
            ))
            .execute(conn)?;
        if written == 0 {
            return Err(ApiError::PreconditionFailed { current: target.bookkeeping.version + 1 });
        }
        // The latest follow-up may have arrived with `from`.
        children::refresh_follow_up_dates(conn, id)?;
        diesel::update(investors::table.filter(investors::id.eq(&from)).filter(investors::version.eq(source.bookkeeping.version)))
            .set((
                investors::merged_into.eq(Some(id)),
                investors::deleted_at.eq(Some(stamp.at)),
                investors::version.eq(source.bookkeeping.version + 1),
                investors::updated_at.eq(stamp.at),
                investors::updated_by.eq(&stamp.by),
            ))
            .execute(conn)?;

        let linked_projects = projects.clone();
        let mut arrived = vec![Change { field: "merged_from".into(), old: Value::Null, new: from.clone().into() }];
        for (field, ids) in [("contacts", contacts), ("follow_ups", follow_ups), ("figures", figures), ("project_ids", projects),
                             ("referrals", referred), ("employees", employees)] {
            if !ids.is_empty() {
                arrived.push(Change { field: format!("{field}(merged)"), old: Value::Null, new: moved(ids) });
            }
        }
        if referrer != target.referred_by_id {
            arrived.push(Change { field: "referred_by_id".into(), old: target.referred_by_id.clone().into(), new: referrer.clone().into() });
        }
        audit_event(conn, caller, Action::Update, Investor::ENTITY, id, &target.park_code, arrived)?;
        let gone = vec![Change { field: "merged_into".into(), old: Value::Null, new: id.into() }];
        audit_event(conn, caller, Action::Delete, Investor::ENTITY, &from, &target.park_code, gone)?;
        // A moved link to a project at `registered` or later settles the target.
        let settled = links::settle_investors_of(conn, &linked_projects, stamp.at)?;
        // Both enterprises, their figures and the moved links count differently now.
        let mut changed = vec![id.to_owned(), from.clone()];
        changed.extend(settled.into_iter().filter(|s| s != id));
        crate::targets::summary::refresh_investors(conn, &changed)?;
        crate::records::get::<Investor>(conn, &ParkScope::All, id)
    })
}
