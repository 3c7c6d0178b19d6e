//! Reading and writing talents within the caller's scope, with masking,
//! audited unmasked reads, and purges.

use chrono::Datelike;
use diesel::prelude::*;

use super::model::{Talent, TalentFields, TalentRow};
use super::rules;
use crate::audit::{self, Action, Change};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::talents;
use crate::db::search::searched_table;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;
use crate::privacy;
use crate::records::{self, list_filter, one_of, stored_table, Listed, Record, RowBase, Stamp, Stored};
use crate::text;
use crate::vocab::{from_db, values, Education, Industry, ProgrammeStatus, TalentStatus};

/// Personal data (PIPL): masked for those who may not see it, never in the audit trail.
const PERSONAL: &[&str] = &["full_name", "phone", "email", "permit_no"];
/// What a purge erases, in the record and in its audit trail.
const ERASED: &[&str] = &["full_name", "school", "major", "phone", "email", "permit_no", "consent_on", "notes"];
/// What a purged talent's name reads.
const ERASED_NAME: &str = "（已清除）";
/// 青年: aged 35 or under in the current year.
const YOUTH_MAX_AGE: i32 = 35;

list_filter! {
    /// Filters, search, order and paging of `GET /talents`.
    pub struct TalentFilter {
        #[serde(default)]
        pub status: Vec<TalentStatus>,
        #[serde(default)]
        pub specialty: Vec<Industry>,
        #[serde(default)]
        pub education: Vec<Education>,
        /// Region of origin, exactly as entered.
        pub origin: Option<String>,
        /// `true`: aged 35 or under this year; `false`: older.
        pub youth: Option<bool>,
        /// Talents with a programme application in this status.
        pub programme_status: Option<ProgrammeStatus>,
        /// Talents employed by this investor.
        pub employer: Option<uuid::Uuid>,
    }
    q = "Words to find in name, region, school, major, qualifications and programmes.", q_example = "逢甲大學",
    count = "`true`: the page also carries `total`, every talent matching the filters."
}

searched_table! {
    Talent in talents, rows TalentRow, filter TalentFilter;
    /// The visible talents that pass the list's filters other than `q`.
    fn filtered<DB>(mut query, filter) {
        query = one_of(query, talents::park_code, filter.park.clone());
        query = one_of(query, talents::status, values(&filter.status));
        query = one_of(query, talents::specialty, values(&filter.specialty));
        query = one_of(query, talents::education, values(&filter.education));
        if let Some(origin) = filter.origin.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            query = query.filter(talents::origin_region.eq(origin.to_owned()));
        }
        let youngest_adult_year = clock::today().year() - YOUTH_MAX_AGE;
        match filter.youth {
            Some(true) => query = query.filter(talents::birth_year.ge(youngest_adult_year)),
            Some(false) => query = query.filter(talents::birth_year.lt(youngest_adult_year)),
            None => {}
        }
        if let Some(status) = filter.programme_status {
            // Programmes are stored as compact JSON written by this service.
            query = query.filter(talents::programmes.like(format!("%\"status\":\"{status}\"%")));
        }
        if let Some(employer) = filter.employer {
            query = query.filter(talents::employer_id.eq(employer.to_string()));
        }
        query
    }
}

impl Listed for Talent {
    /// Lists never show personal data.
    fn listed(_conn: &mut DbConnection, rows: Vec<TalentRow>) -> Result<Vec<Talent>, ApiError> {
        rows.into_iter().map(|r| to_talent(r).map(Talent::masked)).collect()
    }
}

stored_table!(Talent, talents, TalentRow, TalentFields);

impl Record for Talent {
    const ENTITY: &'static str = "talent";
    const DERIVED: &'static [&'static str] = &["masked", "purged_at"];
    type Fields = TalentFields;
    type View = Talent;

    fn view(_conn: &mut DbConnection, row: TalentRow) -> Result<Talent, ApiError> {
        to_talent(row)
    }

    fn fields_of(t: &Talent) -> Result<TalentFields, ApiError> {
        Ok(TalentFields {
            park_code: None,
            full_name: t.full_name.clone(),
            birth_year: t.birth_year,
            origin_region: t.origin_region.clone(),
            education: t.education,
            school: t.school.clone(),
            major: t.major.clone(),
            specialty: t.specialty,
            qualifications: t.qualifications.clone(),
            programmes: t.programmes.clone(),
            status: t.status,
            employer_id: t.employer_id.as_deref().and_then(|id| uuid::Uuid::parse_str(id).ok()),
            phone: t.phone.clone(),
            email: t.email.clone(),
            permit_no: t.permit_no.clone(),
            consent_on: t.consent_on,
            notes: t.notes.clone(),
        })
    }

    fn check(
        conn: &mut DbConnection,
        park: &str,
        _id: &str,
        before: Option<&Talent>,
        f: &mut TalentFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        rules::normalise(f);
        let mut errors = rules::check(f, clock::today());
        let employer: Vec<String> = f.employer_id.iter().map(uuid::Uuid::to_string).collect();
        // Checked when the link is made; an employer deleted later does not block other changes.
        if before.is_none_or(|b| b.employer_id.iter().cloned().collect::<Vec<_>>() != employer) {
            errors.extend(crate::links::check_investors(conn, park, &employer, "employer_id")?);
        }
        Ok(errors)
    }

    fn to_row(f: &TalentFields, base: RowBase<'_, TalentRow>) -> Result<TalentRow, ApiError> {
        Ok(TalentRow {
            id: base.id.to_owned(),
            park_code: base.park.to_owned(),
            full_name: f.full_name.clone(),
            birth_year: f.birth_year,
            origin_region: f.origin_region.clone(),
            education: f.education.to_string(),
            school: f.school.clone(),
            major: f.major.clone(),
            specialty: f.specialty.to_string(),
            qualifications: serde_json::to_string(&f.qualifications)?,
            programmes: serde_json::to_string(&f.programmes)?,
            status: f.status.to_string(),
            employer_id: f.employer_id.map(|id| id.to_string()),
            phone: f.phone.clone(),
            email: f.email.clone(),
            permit_no: f.permit_no.clone(),
            consent_on: f.consent_on,
            notes: f.notes.clone(),
            search_text: search_text(f),
            purged_at: base.previous.and_then(|row| row.purged_at),
            bookkeeping: base.bookkeeping(),
        })
    }

    fn redact(changes: Vec<Change>) -> Vec<Change> {
        privacy::redact_fields(changes, PERSONAL)
    }

    fn masked(mut talent: Talent) -> Talent {
        talent.phone = talent.phone.as_deref().map(privacy::mask_phone);
        talent.email = talent.email.as_deref().map(privacy::mask_email);
        talent.permit_no = talent.permit_no.as_deref().map(privacy::mask_permit);
        talent.masked = true;
        talent
    }

    fn has_personal(talent: &Talent) -> bool {
        talent.phone.is_some() || talent.email.is_some() || talent.permit_no.is_some()
    }
}

/// Erases a talent's personal data for good, in the row and in its audit
/// trail, and keeps the anonymous rest for statistics (administrators of
/// its park or the province). A deleted talent can be purged too: erasure
/// is owed whatever became of the record.
pub fn purge(conn: &mut DbConnection, caller: &Caller, id: &str, expected: Option<&IfMatch>) -> Result<(), ApiError> {
    caller.require_writer()?;
    write_tx(conn, |conn| {
        let mut query = talents::table.filter(talents::id.eq(id)).into_boxed();
        if let ParkScope::One(park) = caller.scope() {
            query = query.filter(talents::park_code.eq(park));
        }
        let row: TalentRow = query.select(TalentRow::as_select()).first(conn).optional()?.ok_or(ApiError::NotFound("talent"))?;
        if !caller.may_purge(&row.park_code) {
            return Err(ApiError::Forbidden("only administrators may purge personal data".into()));
        }
        let meta = Talent::meta(&row);
        if expected.is_some_and(|e| !e.matches(meta.version)) {
            return Err(ApiError::PreconditionFailed { current: meta.version });
        }
        let now = clock::now();
        let mut anonymous = Talent::fields_of(&to_talent(row.clone())?)?;
        anonymous.full_name = ERASED_NAME.into();
        (anonymous.school, anonymous.major, anonymous.notes) = (None, None, None);
        (anonymous.phone, anonymous.email, anonymous.permit_no, anonymous.consent_on) = (None, None, None, None);
        let stamp = Stamp::of(caller);
        let base = RowBase { id, park: &meta.park, version: meta.version + 1, created: &meta.created, updated: &stamp, previous: Some(&row) };
        let mut erased = Talent::to_row(&anonymous, base)?;
        erased.purged_at = Some(now);
        erased.bookkeeping.deleted_at = row.bookkeeping.deleted_at;
        if Talent::replace(conn, &erased, meta.version)? == 0 {
            // Changed between our read and our write: erase what is stored now, not what was.
            return Err(ApiError::PreconditionFailed { current: meta.version + 1 });
        }
        audit::scrub(conn, Talent::ENTITY, id, ERASED)?;
        records::audit_event(conn, caller, Action::Purge, Talent::ENTITY, id, &row.park_code, vec![])
    })
}

fn search_text(f: &TalentFields) -> String {
    let mut parts = vec![f.full_name.clone(), f.origin_region.clone()];
    parts.extend(f.school.iter().cloned());
    parts.extend(f.major.iter().cloned());
    parts.extend(f.qualifications.iter().map(|q| q.name.clone()));
    parts.extend(f.programmes.iter().map(|p| p.name.clone()));
    text::fold(&parts.join("\n"))
}

/// A row as a record, unmasked; callers mask it as the reader requires.
fn to_talent(row: TalentRow) -> Result<Talent, ApiError> {
    Ok(Talent {
        education: from_db(&row.education)?,
        specialty: from_db(&row.specialty)?,
        status: from_db(&row.status)?,
        qualifications: serde_json::from_str(&row.qualifications)?,
        programmes: serde_json::from_str(&row.programmes)?,
        created_at: clock::utc(row.bookkeeping.created_at),
        updated_at: clock::utc(row.bookkeeping.updated_at),
        purged_at: row.purged_at.map(clock::utc),
        masked: false,
        id: row.id,
        park_code: row.park_code,
        full_name: row.full_name,
        birth_year: row.birth_year,
        origin_region: row.origin_region,
        school: row.school,
        major: row.major,
        employer_id: row.employer_id,
        phone: row.phone,
        email: row.email,
        permit_no: row.permit_no,
        consent_on: row.consent_on,
        notes: row.notes,
        created_by: row.bookkeeping.created_by,
        updated_by: row.bookkeeping.updated_by,
        version: row.bookkeeping.version,
    })
}
