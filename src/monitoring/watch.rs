//! The reads of `GET /monitoring` on the stored light days of the projects
//! (`amber_on`, `red_on`, see `projects::lights`): a light on a day is a
//! comparison, so a page is an index range per light and the counts are the
//! few rows kept for the day (`tally`). Only the projects of the page are
//! judged, for their reasons.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::tally;
use crate::auth::ParkScope;
use crate::db::schema::projects;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::vocab::{from_db, values, Light, Stage, Vocabulary};

type QueryBackend = <DbConnection as Connection>::Backend;

/// What the report is asked for.
pub struct Asked<'a> {
    pub scope: &'a ParkScope,
    pub parks: &'a [String],
    pub stages: &'a [Stage],
    pub today: NaiveDate,
}

/// Watched projects of a park: all of them, those amber or red, those red.
#[derive(Debug, Default)]
pub struct ParkTally {
    pub park_code: String,
    pub watched: i64,
    pub amber_or_red: i64,
    pub red: i64,
}

/// The watched projects of each park asked (every light), by park code;
/// parks with none are left out.
pub fn tallies(conn: &mut DbConnection, asked: &Asked) -> Result<Vec<ParkTally>, ApiError> {
    let stages = values(asked.stages);
    let mut by_park: BTreeMap<String, ParkTally> = BTreeMap::new();
    for ((park, stage), count) in tally::as_of(conn, asked.today)? {
        let wanted = asked.scope.includes(&park)
            && (asked.parks.is_empty() || asked.parks.contains(&park))
            && (stages.is_empty() || stages.contains(&stage));
        if wanted && count.watched > 0 {
            let t = by_park.entry(park.clone()).or_insert_with(|| ParkTally { park_code: park, ..ParkTally::default() });
            t.watched += count.watched;
            t.amber_or_red += count.amber;
            t.red += count.red;
        }
    }
    Ok(by_park.into_values().collect())
}

/// Where a page ends: the last item's light, park and id (the list's order).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub light: Light,
    pub park_code: String,
    pub id: String,
}

impl Key {
    pub fn encode(&self) -> String {
        format!("{}:{}:{}", self.light.as_str(), self.park_code, self.id)
    }

    /// A cursor this list handed out, or `None`.
    pub fn decode(raw: &str) -> Option<Self> {
        let (light, rest) = raw.split_once(':')?;
        let (park_code, id) = rest.rsplit_once(':')?;
        let light = from_db(light).ok()?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(Self { light, park_code: park_code.to_owned(), id: id.to_owned() })
    }
}

/// One watched project of a page, its light as of the day asked.
pub struct Lit {
    pub id: String,
    pub park_code: String,
    pub name: String,
    pub stage: String,
    pub light: Light,
    pub amber_on: Option<NaiveDate>,
    pub red_on: Option<NaiveDate>,
}

/// Up to `limit` watched projects with one of `lights` (all when empty),
/// red first, then amber, then green, each by park and id, after `after`.
pub fn page(conn: &mut DbConnection, asked: &Asked, lights: &[Light], limit: i64, after: Option<&Key>) -> Result<Vec<Lit>, ApiError> {
    let mut found = Vec::new();
    for light in [Light::Red, Light::Amber, Light::Green] {
        let wanted = limit - found.len() as i64;
        if wanted <= 0 {
            break;
        }
        if !(lights.is_empty() || lights.contains(&light)) || after.is_some_and(|key| key.light < light) {
            continue;
        }
        let mut query = projects::table.filter(projects::watched_stage.is_not_null()).into_boxed::<QueryBackend>();
        if let ParkScope::One(park) = asked.scope {
            query = query.filter(projects::park_code.eq(park.clone()));
        }
        if !asked.parks.is_empty() {
            query = query.filter(projects::park_code.eq_any(asked.parks.to_vec()));
        }
        if !asked.stages.is_empty() {
            query = query.filter(projects::watched_stage.eq_any(values(asked.stages)));
        }
        let today = asked.today;
        query = match light {
            Light::Red => query.filter(projects::red_on.le(today)),
            Light::Amber => query
                .filter(projects::amber_on.le(today))
                .filter(projects::red_on.is_null().or(projects::red_on.gt(today))),
            Light::Green => query.filter(projects::amber_on.is_null().or(projects::amber_on.gt(today))),
        };
        if let Some(key) = after.filter(|key| key.light == light) {
            query = query.filter(
                projects::park_code
                    .gt(key.park_code.clone())
                    .or(projects::park_code.eq(key.park_code.clone()).and(projects::id.gt(key.id.clone()))),
            );
        }
        type Row = (String, String, String, String, Option<NaiveDate>, Option<NaiveDate>);
        let rows: Vec<Row> = query
            .order((projects::park_code, projects::id))
            .limit(wanted)
            .select((
                projects::id,
                projects::park_code,
                projects::name,
                projects::stage,
                projects::amber_on,
                projects::red_on,
            ))
            .load(conn)?;
        found.extend(
            rows.into_iter()
                .map(|(id, park_code, name, stage, amber_on, red_on)| Lit { id, park_code, name, stage, light, amber_on, red_on }),
        );
    }
    Ok(found)
}
