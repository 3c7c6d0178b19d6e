//! Reading and writing investors, always within the caller's scope; and the
//! cross-park match check (撞单), which shows only park, status and date.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::matching::name_key;
use super::model::{Investor, InvestorFields, InvestorRow};
use super::{identifiers, rules};
use crate::auth::ParkScope;
use crate::clock;
use crate::db::schema::{investors, project_investors, projects, top100};
use crate::db::search::searched_table;
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};
use crate::links;
use crate::records::{json_list, list_filter, one_of, stored_table, Listed, Record, RowBase, Stamp};
use crate::text;
use crate::vocab::{from_db, values, Industry, InvestorKind, InvestorStatus, Origin};

list_filter! {
    /// Filters, search, order and paging of `GET /investors`.
    pub struct InvestorFilter {
        #[serde(default)]
        pub kind: Vec<InvestorKind>,
        #[serde(default)]
        pub origin: Vec<Origin>,
        /// City or province of origin, exactly as entered (Traditional or Simplified).
        pub region: Option<String>,
        #[serde(default)]
        pub status: Vec<InvestorStatus>,
        /// Investors in any of these industries (repeat for several).
        #[serde(default)]
        pub industry: Vec<Industry>,
        pub taiwan_top100: Option<bool>,
        /// `true`: only investors with a settlement date; `false`: only those without.
        pub settled: Option<bool>,
        /// Settled on or after this date.
        pub settled_from: Option<NaiveDate>,
        /// Settled on or before this date.
        pub settled_to: Option<NaiveDate>,
        /// `true`: the latest follow-up's next step is past due (nothing newer since).
        pub follow_up_overdue: Option<bool>,
    }
    q = "Words to find in names, region and notes, in either Chinese script.", q_example = "台積電",
    count = "`true`: the page also carries `total`, every investor matching the filters."
}

searched_table! {
    Investor in investors, rows InvestorRow, filter InvestorFilter;
    /// The visible investors that pass the list's filters other than `q`.
    fn filtered<DB>(mut query, filter) {
        query = one_of(query, investors::park_code, filter.park.clone());
        query = one_of(query, investors::kind, values(&filter.kind));
        query = one_of(query, investors::origin, values(&filter.origin));
        query = one_of(query, investors::status, values(&filter.status));
        if let Some(region) = filter.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            query = query.filter(investors::region.eq(region.to_owned()));
        }
        if !filter.industry.is_empty() {
            // `industries` holds a JSON array of values; match any of the asked ones.
            let mut any: Box<dyn BoxableExpression<investors::table, DB, SqlType = diesel::sql_types::Bool>> =
                Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0"));
            for industry in &filter.industry {
                any = Box::new(any.or(investors::industries.like(format!("%\"{industry}\"%"))));
            }
            query = query.filter(any);
        }
        if let Some(top) = filter.taiwan_top100 {
            query = query.filter(investors::top100_id.is_not_null().eq(top));
        }
        match filter.settled {
            Some(true) => query = query.filter(investors::settled_on.is_not_null()),
            Some(false) => query = query.filter(investors::settled_on.is_null()),
            None => {}
        }
        if let Some(from) = filter.settled_from {
            query = query.filter(investors::settled_on.ge(from));
        }
        if let Some(to) = filter.settled_to {
            query = query.filter(investors::settled_on.le(to));
        }
        match filter.follow_up_overdue {
            Some(true) => query = query.filter(investors::follow_up_due_on.lt(clock::today())),
            Some(false) => {
                query = query.filter(investors::follow_up_due_on.is_null().or(investors::follow_up_due_on.ge(clock::today())))
            }
            None => {}
        }
        query
    }
}

impl Listed for Investor {
    fn listed(conn: &mut DbConnection, rows: Vec<InvestorRow>) -> Result<Vec<Investor>, ApiError> {
        assemble(conn, rows)
    }
}

stored_table!(Investor, investors, InvestorRow, InvestorFields);

impl Record for Investor {
    const ENTITY: &'static str = "investor";
    const DERIVED: &'static [&'static str] = &["project_ids", "last_follow_up_on", "follow_up_due_on"];
    type Fields = InvestorFields;
    type View = Investor;

    fn view(conn: &mut DbConnection, row: InvestorRow) -> Result<Investor, ApiError> {
        assemble(conn, vec![row])?.pop().ok_or_else(|| ApiError::internal("investor vanished while assembling"))
    }

    fn fields_of(i: &Investor) -> Result<InvestorFields, ApiError> {
        Ok(InvestorFields {
            park_code: None,
            kind: i.kind,
            name: i.name.clone(),
            name_en: i.name_en.clone(),
            origin: i.origin,
            region: i.region.clone(),
            taiwan_business_id: i.taiwan_business_id.clone(),
            unified_social_credit_code: i.unified_social_credit_code.clone(),
            taiwan_top100: None,
            top100_id: i.top100_id.as_deref().and_then(|id| uuid::Uuid::parse_str(id).ok()),
            third_place_recognised_on: i.third_place_recognised_on,
            industries: i.industries.clone(),
            status: i.status,
            settled_on: i.settled_on,
            referred_by_id: i.referred_by_id.as_deref().and_then(|id| uuid::Uuid::parse_str(id).ok()),
            notes: i.notes.clone(),
            allow_same_name: None,
        })
    }

    /// The rules, then what depends on other rows: the referrer is another
    /// live investor of the same park; identifiers are not yet used there.
    fn check(
        conn: &mut DbConnection,
        park: &str,
        id: &str,
        before: Option<&Investor>,
        f: &mut InvestorFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        // Said once, for this write: never stored, never compared.
        let allow_same_name = f.allow_same_name.take().unwrap_or(false);
        rules::normalise(f);
        let mut errors = rules::check(f, clock::today());
        if let Some(referrer) = f.referred_by_id.map(|r| r.to_string()) {
            if referrer == id {
                errors.push(FieldError::new("referred_by_id", "self", "an investor cannot refer itself"));
            } else {
                errors.extend(links::check_investors(conn, park, &[referrer], "referred_by_id")?);
            }
        }
        if let Some(group) = f.top100_id.map(|g| g.to_string()) {
            let live: i64 = top100::table
                .filter(top100::id.eq(&group))
                .filter(top100::deleted_at.is_null())
                .count()
                .get_result(conn)?;
            if live == 0 {
                errors.push(FieldError::new("top100_id", "unknown", "no group of the top-100 list has this id"));
            }
        }
        if !errors.is_empty() {
            return Ok(errors);
        }
        let others = || Investor::visible(&ParkScope::One(park.to_owned())).filter(investors::id.ne(id.to_owned()));
        let key = name_key(&f.name);
        let renamed = before.is_none_or(|b| name_key(&b.name) != key);
        if renamed && !allow_same_name {
            let existing: Option<String> = others()
                .filter(investors::name_key.eq(&key))
                .order((investors::created_at, investors::id))
                .select(investors::id)
                .first(conn)
                .optional()?;
            if let Some(existing_id) = existing {
                return Err(ApiError::Duplicate {
                    error: FieldError::new(
                        "name",
                        "duplicate_name",
                        format!("investor {existing_id} of this park has the same name; send \"allow_same_name\": true to add another"),
                    ),
                    existing_id,
                });
            }
        }
        if let Some(code) = &f.unified_social_credit_code {
            let n: i64 = others().filter(investors::unified_social_credit_code.eq(code.clone())).count().get_result(conn)?;
            if n > 0 {
                return Err(ApiError::Conflict(FieldError::new("unified_social_credit_code", "taken", "this park already holds an investor with this code")));
            }
        }
        if let Some(ubn) = &f.taiwan_business_id {
            let n: i64 = others().filter(investors::taiwan_business_id.eq(ubn.clone())).count().get_result(conn)?;
            if n > 0 {
                return Err(ApiError::Conflict(FieldError::new("taiwan_business_id", "taken", "this park already holds an investor with this number")));
            }
        }
        Ok(errors)
    }

    fn to_row(f: &InvestorFields, base: RowBase<'_, InvestorRow>) -> Result<InvestorRow, ApiError> {
        let mut search = vec![f.name.clone(), f.region.clone()];
        search.extend(f.name_en.iter().cloned());
        search.extend(f.notes.iter().cloned());
        Ok(InvestorRow {
            id: base.id.to_owned(),
            park_code: base.park.to_owned(),
            kind: f.kind.to_string(),
            name: f.name.clone(),
            name_en: f.name_en.clone(),
            origin: f.origin.to_string(),
            region: f.region.clone(),
            taiwan_business_id: f.taiwan_business_id.clone(),
            unified_social_credit_code: f.unified_social_credit_code.clone(),
            taiwan_top100: f.top100_id.is_some(),
            top100_id: f.top100_id.map(|id| id.to_string()),
            third_place_recognised_on: f.third_place_recognised_on,
            industries: json_list(&values(&f.industries)),
            status: f.status.to_string(),
            settled_on: f.settled_on,
            referred_by_id: f.referred_by_id.map(|id| id.to_string()),
            notes: f.notes.clone(),
            search_text: text::fold(&search.join("\n")),
            name_key: name_key(&f.name),
            name_en_key: f.name_en.as_deref().map(name_key),
            // Kept by the follow-ups, not by the investor's own fields.
            last_follow_up_on: base.previous.and_then(|row| row.last_follow_up_on),
            follow_up_due_on: base.previous.and_then(|row| row.follow_up_due_on),
            bookkeeping: base.bookkeeping(),
        })
    }

    /// Origin, recognition, identity, status and the top-100 link are facts of the targets.
    fn after_write(
        conn: &mut DbConnection,
        id: &str,
        _before: Option<&InvestorFields>,
        _after: &InvestorFields,
        _stamp: &Stamp,
    ) -> Result<(), ApiError> {
        crate::targets::summary::refresh_investor(conn, id)
    }

    /// Projects stop showing the link, and the targets stop counting it.
    fn after_delete(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
        let linked: Vec<String> = project_investors::table
            .filter(project_investors::investor_id.eq(id))
            .select(project_investors::project_id)
            .load(conn)?;
        links::refresh_project_copies(conn, &linked)?;
        // Its follow-ups no longer count as the projects' progress.
        crate::projects::lights::refresh(conn, &linked)?;
        crate::targets::summary::refresh_investor(conn, id)
    }
}

// ---- match check (撞单) ------------------------------------------------------

/// What may be asked of the match check: any of the three.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    #[param(example = "91350100M000100Y43")]
    pub unified_social_credit_code: Option<String>,
    #[param(example = "22099131")]
    pub taiwan_business_id: Option<String>,
    /// Matched after folding script, width, case, spaces and legal-form suffixes.
    #[param(example = "台積電股份有限公司")]
    pub name: Option<String>,
}

/// One park that already holds a matching investor, and nothing else of it.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct Match {
    #[schema(example = "xiangtan")]
    pub park_code: String,
    pub status: InvestorStatus,
    /// The day the park entered the investor.
    pub entered_on: NaiveDate,
    /// What matched: `unified_social_credit_code`, `taiwan_business_id` or `name`.
    #[schema(example = "name")]
    pub matched_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Matches {
    pub items: Vec<Match>,
}

pub fn matches(conn: &mut DbConnection, query: MatchQuery) -> Result<Matches, ApiError> {
    let code = query.unified_social_credit_code.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let ubn = query.taiwan_business_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let name = query.name.as_deref().map(name_key).filter(|s| !s.is_empty());
    if code.is_none() && ubn.is_none() && name.is_none() {
        return Err(ApiError::bad_param("unified_social_credit_code", "required", "give unified_social_credit_code, taiwan_business_id or name"));
    }
    let code = code
        .map(|c| identifiers::unified_social_credit_code(c).map_err(|_| ApiError::bad_param("unified_social_credit_code", "checksum", "is not a valid unified social credit code")))
        .transpose()?;
    let ubn = ubn
        .map(|c| identifiers::taiwan_business_id(c).map_err(|_| ApiError::bad_param("taiwan_business_id", "checksum", "is not a valid Taiwan business number")))
        .transpose()?;
    let mut found: Vec<Match> = Vec::new();
    let mut add = |rows: Vec<(String, String, chrono::NaiveDateTime)>, by: &str| -> Result<(), ApiError> {
        for (park_code, status, created_at) in rows {
            let status = from_db(&status)?;
            let m = Match { park_code, status, entered_on: created_at.date(), matched_by: by.to_owned() };
            if !found.iter().any(|f| f.park_code == m.park_code && f.entered_on == m.entered_on && f.status == m.status) {
                found.push(m);
            }
        }
        Ok(())
    };
    let columns = (investors::park_code, investors::status, investors::created_at);
    if let Some(code) = code {
        add(Investor::visible(&ParkScope::All).filter(investors::unified_social_credit_code.eq(code)).select(columns).load(conn)?, "unified_social_credit_code")?;
    }
    if let Some(ubn) = ubn {
        add(Investor::visible(&ParkScope::All).filter(investors::taiwan_business_id.eq(ubn)).select(columns).load(conn)?, "taiwan_business_id")?;
    }
    if let Some(key) = name {
        let rows = Investor::visible(&ParkScope::All)
            .filter(investors::name_key.eq(key.clone()).or(investors::name_en_key.eq(key)))
            .select(columns)
            .load(conn)?;
        add(rows, "name")?;
    }
    found.sort_by(|a, b| (&a.park_code, a.entered_on).cmp(&(&b.park_code, b.entered_on)));
    Ok(Matches { items: found })
}

// ---- rows and records --------------------------------------------------------

/// Rows to records, with the live projects that list each (one query a page).
pub(super) fn assemble(conn: &mut DbConnection, rows: Vec<InvestorRow>) -> Result<Vec<Investor>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut projects_of: HashMap<String, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        for (investor_id, project_id) in project_investors::table
            .inner_join(projects::table)
            .filter(project_investors::investor_id.eq_any(&ids))
            .filter(projects::deleted_at.is_null())
            .order((project_investors::investor_id, projects::created_at, projects::id))
            .select((project_investors::investor_id, projects::id))
            .load::<(String, String)>(conn)?
        {
            projects_of.entry(investor_id).or_default().push(project_id);
        }
    }
    rows.into_iter()
        .map(|row| {
            Ok(Investor {
                kind: from_db(&row.kind)?,
                origin: from_db(&row.origin)?,
                status: from_db(&row.status)?,
                industries: serde_json::from_str(&row.industries)?,
                created_at: clock::utc(row.bookkeeping.created_at),
                updated_at: clock::utc(row.bookkeeping.updated_at),
                project_ids: projects_of.remove(&row.id).unwrap_or_default(),
                id: row.id,
                park_code: row.park_code,
                name: row.name,
                name_en: row.name_en,
                region: row.region,
                taiwan_business_id: row.taiwan_business_id,
                unified_social_credit_code: row.unified_social_credit_code,
                taiwan_top100: row.top100_id.is_some(),
                top100_id: row.top100_id,
                third_place_recognised_on: row.third_place_recognised_on,
                settled_on: row.settled_on,
                referred_by_id: row.referred_by_id,
                notes: row.notes,
                last_follow_up_on: row.last_follow_up_on,
                follow_up_due_on: row.follow_up_due_on,
                created_by: row.bookkeeping.created_by,
                updated_by: row.bookkeeping.updated_by,
                version: row.bookkeeping.version,
            })
        })
        .collect()
}
