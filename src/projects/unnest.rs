//! PostgreSQL: a chunk of new project rows, and their first stage-history
//! rows, written as one array a column (`INSERT … SELECT FROM unnest($1, …,
//! $33)`). A multi-row VALUES list of 900 rows binds 28,800 values, and
//! PostgreSQL spent about as long parsing and binding those statements as
//! inserting the rows (bench/RESULTS.md).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Integer, Nullable, Text, Timestamp};

use super::model::{ProjectRow, StageRow};
use crate::monitoring::tally::Watched;

const INSERT: &str = "INSERT INTO projects (id, park_code, name, summary, industry, chain_role, attraction_mode, stage, \
     planned_investment_usd, actual_investment_usd, hq_type, high_tech, land_area_mu, first_contact_on, signed_on, started_on, \
     operating_on, owner_id, tags, notes, search_text, created_at, updated_at, created_by, updated_by, version, deleted_at, \
     investor_ids_json, stage_history_json, watched_stage, amber_on, red_on, last_follow_up_on) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
     $9::bigint[], $10::bigint[], $11::text[], $12::bool[], $13::float8[], $14::date[], $15::date[], $16::date[], $17::date[], \
     $18::text[], $19::text[], $20::text[], $21::text[], $22::timestamp[], $23::timestamp[], $24::text[], $25::text[], \
     $26::int4[], $27::timestamp[], $28::text[], $29::text[], $30::text[], $31::date[], $32::date[], $33::date[])";

/// Inserts `rows`, each with what it stores for monitoring (`lights::judge_new`), in one statement.
pub fn insert(conn: &mut PgConnection, rows: &[(&ProjectRow, &Watched)]) -> QueryResult<usize> {
    fn each<'a, T>(rows: &[(&'a ProjectRow, &Watched)], get: impl Fn(&'a ProjectRow) -> T) -> Vec<T> {
        rows.iter().map(|(row, _)| get(row)).collect()
    }
    fn text<'a>(rows: &[(&'a ProjectRow, &Watched)], get: impl Fn(&'a ProjectRow) -> &'a String) -> Vec<&'a str> {
        rows.iter().map(|(row, _)| get(row).as_str()).collect()
    }
    fn optional<'a>(rows: &[(&'a ProjectRow, &Watched)], get: impl Fn(&'a ProjectRow) -> &'a Option<String>) -> Vec<Option<&'a str>> {
        rows.iter().map(|(row, _)| get(row).as_deref()).collect()
    }
    diesel::sql_query(INSERT)
        .into_boxed::<Pg>()
        .bind::<Array<Text>, _>(text(rows, |r| &r.id))
        .bind::<Array<Text>, _>(text(rows, |r| &r.park_code))
        .bind::<Array<Text>, _>(text(rows, |r| &r.name))
        .bind::<Array<Nullable<Text>>, _>(optional(rows, |r| &r.summary))
        .bind::<Array<Text>, _>(text(rows, |r| &r.industry))
        .bind::<Array<Nullable<Text>>, _>(optional(rows, |r| &r.chain_role))
        .bind::<Array<Text>, _>(text(rows, |r| &r.attraction_mode))
        .bind::<Array<Text>, _>(text(rows, |r| &r.stage))
        .bind::<Array<BigInt>, _>(each(rows, |r| r.planned_investment_usd))
        .bind::<Array<Nullable<BigInt>>, _>(each(rows, |r| r.actual_investment_usd))
        .bind::<Array<Nullable<Text>>, _>(optional(rows, |r| &r.hq_type))
        .bind::<Array<Bool>, _>(each(rows, |r| r.high_tech))
        .bind::<Array<Nullable<Double>>, _>(each(rows, |r| r.land_area_mu))
        .bind::<Array<Nullable<Date>>, _>(each(rows, |r| r.first_contact_on))
        .bind::<Array<Nullable<Date>>, _>(each(rows, |r| r.signed_on))
        .bind::<Array<Nullable<Date>>, _>(each(rows, |r| r.started_on))
        .bind::<Array<Nullable<Date>>, _>(each(rows, |r| r.operating_on))
        .bind::<Array<Nullable<Text>>, _>(optional(rows, |r| &r.owner_id))
        .bind::<Array<Text>, _>(text(rows, |r| &r.tags))
        .bind::<Array<Nullable<Text>>, _>(optional(rows, |r| &r.notes))
        .bind::<Array<Text>, _>(text(rows, |r| &r.search_text))
        .bind::<Array<Timestamp>, _>(each(rows, |r| r.bookkeeping.created_at))
        .bind::<Array<Timestamp>, _>(each(rows, |r| r.bookkeeping.updated_at))
        .bind::<Array<Text>, _>(text(rows, |r| &r.bookkeeping.created_by))
        .bind::<Array<Text>, _>(text(rows, |r| &r.bookkeeping.updated_by))
        .bind::<Array<Integer>, _>(each(rows, |r| r.bookkeeping.version))
        .bind::<Array<Nullable<Timestamp>>, _>(each(rows, |r| r.bookkeeping.deleted_at))
        .bind::<Array<Text>, _>(text(rows, |r| &r.investor_ids_json))
        .bind::<Array<Text>, _>(text(rows, |r| &r.stage_history_json))
        .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|(_, w)| w.stage.as_deref()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Date>>, _>(rows.iter().map(|(_, w)| w.dates.amber_on).collect::<Vec<_>>())
        .bind::<Array<Nullable<Date>>, _>(rows.iter().map(|(_, w)| w.dates.red_on).collect::<Vec<_>>())
        .bind::<Array<Nullable<Date>>, _>(rows.iter().map(|(_, w)| w.last_follow_up_on).collect::<Vec<_>>())
        .execute(conn)
}

const INSERT_STAGES: &str = "INSERT INTO project_stage_history (id, project_id, stage, on_date, by_user, recorded_at) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::timestamp[])";

/// Inserts stage-history rows in one statement.
pub fn insert_stages(conn: &mut PgConnection, rows: &[&StageRow]) -> QueryResult<usize> {
    let text = |get: fn(&StageRow) -> &str| rows.iter().map(|r| get(r)).collect::<Vec<_>>();
    diesel::sql_query(INSERT_STAGES)
        .bind::<Array<Text>, _>(text(|r| &r.id))
        .bind::<Array<Text>, _>(text(|r| &r.project_id))
        .bind::<Array<Text>, _>(text(|r| &r.stage))
        .bind::<Array<Date>, _>(rows.iter().map(|r| r.on_date).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(text(|r| &r.by_user))
        .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
        .execute(conn)
}
