//! An investor's contacts, follow-ups (跟进记录) and yearly figures: small
//! records of their own on the sub-resource protocol ([`crate::records::child`]):
//! each has a version, and each change moves the investor's version and is
//! an event in the investor's history.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::model::Investor;
use super::model::InvestorRow;
use crate::clock;
use crate::contact;
use crate::db::schema::{investor_contacts, investor_figures, investor_follow_ups, investors};
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};
use crate::privacy;
use crate::records::{child_table, patch_body, Child, ChildBase, Stamp};
use crate::text::{self, Lines};
use crate::vocab::{from_db, Channel};

// ---- contacts --------------------------------------------------------------

/// A contact person. Phone and e-mail are personal data: masked in lists,
/// write answers and for viewers; shown in a single read to the roles that
/// may see them (and that read is audited).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub id: String,
    #[schema(example = "陈志明")]
    pub name: String,
    #[schema(example = "大陆投资部经理")]
    pub title: Option<String>,
    /// E.164 (masked unless `masked` is false).
    #[schema(example = "+886*****5678")]
    pub phone: Option<String>,
    #[schema(example = "c***@example.com")]
    pub email: Option<String>,
    /// Whether phone and e-mail are masked in this answer.
    pub masked: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: i32,
}

/// The body of `POST …/contacts`, and what a `PATCH` merges into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewContact, example = json!({"name": "陈志明", "title": "大陆投资部经理", "phone": "0912-345-678", "email": "chen@example.com"}))]
pub struct ContactFields {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub title: Option<String>,
    /// A mainland or Taiwan number in any common writing; stored as E.164.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 32)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: Option<String>,
}

patch_body!(ContactPatch for ContactFields);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = investor_contacts, treat_none_as_null = true)]
pub struct ContactRow {
    pub id: String,
    pub investor_id: String,
    pub name: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: String,
    pub version: i32,
}

child_table!(Contact, investor_contacts, ContactRow, investor_id, order_by = (investor_contacts::created_at, investor_contacts::id));

/// What a contact's audit trail and masks treat as personal data.
const CONTACT_PERSONAL: &[&str] = &["name", "phone", "email"];

impl Child for Contact {
    type Parent = Investor;
    const ENTITY: &'static str = "contact";
    const FIELD: &'static str = "contacts";
    type Fields = ContactFields;
    type View = Contact;

    fn view(row: ContactRow) -> Result<Contact, ApiError> {
        Ok(Contact {
            id: row.id,
            name: row.name,
            title: row.title,
            phone: row.phone,
            email: row.email,
            masked: false,
            updated_at: clock::utc(row.updated_at),
            updated_by: row.updated_by,
            version: row.version,
        })
    }

    fn fields_of(c: &Contact) -> ContactFields {
        ContactFields { name: c.name.clone(), title: c.title.clone(), phone: c.phone.clone(), email: c.email.clone() }
    }

    fn version_of(c: &Contact) -> i32 {
        c.version
    }

    fn created_of(row: &ContactRow) -> Stamp {
        Stamp { at: row.created_at, by: row.updated_by.clone() }
    }

    fn check(
        _conn: &mut DbConnection,
        _parent: &InvestorRow,
        _id: &str,
        _before: Option<&Contact>,
        f: &mut ContactFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        f.name = f.name.trim().to_owned();
        text::trimmed(&mut f.title);
        let mut errors: Vec<FieldError> = text::check("name", &f.name, 100, Lines::One).into_iter().collect();
        errors.extend(text::check_optional("title", f.title.as_deref(), 100, Lines::One));
        // An empty phone or e-mail is a mistake, not a way to say "none": `null` is.
        if let Some(phone) = &f.phone {
            match contact::phone(phone, "phone") {
                Ok(e164) => f.phone = Some(e164),
                Err(e) => errors.push(e),
            }
        }
        if let Some(email) = &f.email {
            match contact::email(email, "email") {
                Ok(email) => f.email = Some(email),
                Err(e) => errors.push(e),
            }
        }
        Ok(errors)
    }

    fn to_row(f: &ContactFields, base: ChildBase<'_>) -> ContactRow {
        ContactRow {
            id: base.id.to_owned(),
            investor_id: base.parent_id.to_owned(),
            name: f.name.clone(),
            title: f.title.clone(),
            phone: f.phone.clone(),
            email: f.email.clone(),
            created_at: base.created.at,
            updated_at: base.updated.at,
            updated_by: base.updated.by.clone(),
            version: base.version,
        }
    }

    fn masked(mut c: Contact) -> Contact {
        c.phone = c.phone.as_deref().map(privacy::mask_phone);
        c.email = c.email.as_deref().map(privacy::mask_email);
        c.masked = true;
        c
    }

    fn has_personal(c: &Contact) -> bool {
        c.phone.is_some() || c.email.is_some()
    }

    fn audited(c: &Contact) -> Result<Value, ApiError> {
        Ok(privacy::hidden(serde_json::to_value(c)?, CONTACT_PERSONAL))
    }
}

// ---- follow-ups ------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUp {
    pub id: String,
    /// The day it happened.
    pub date: NaiveDate,
    pub channel: Channel,
    #[schema(example = "赴新竹总部拜访，介绍园区配套与台资企业扶持政策")]
    pub summary: String,
    pub next_step: Option<String>,
    /// When the next step is due; past due with nothing newer means overdue.
    pub due_on: Option<NaiveDate>,
    /// Who recorded it.
    pub by: String,
    pub version: i32,
}

/// The body of `POST …/follow-ups`, and what a `PATCH` merges into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewFollowUp, example = json!({"date": "2026-11-20", "channel": "visit", "summary": "赴新竹总部拜访", "next_step": "寄送园区用地方案", "due_on": "2026-12-05"}))]
pub struct FollowUpFields {
    /// The day it happened: 2000 or later, not after tomorrow.
    pub date: NaiveDate,
    pub channel: Channel,
    #[schema(min_length = 1, max_length = 2000)]
    pub summary: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub next_step: Option<String>,
    /// Not before `date`.
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}

patch_body!(FollowUpPatch for FollowUpFields);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = investor_follow_ups, treat_none_as_null = true)]
pub struct FollowUpRow {
    pub id: String,
    pub investor_id: String,
    pub date: NaiveDate,
    pub channel: String,
    pub summary: String,
    pub next_step: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub by_user: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: String,
    pub version: i32,
}

child_table!(FollowUp, investor_follow_ups, FollowUpRow, investor_id,
    order_by = (investor_follow_ups::date.desc(), investor_follow_ups::created_at.desc()));

impl Child for FollowUp {
    type Parent = Investor;
    const ENTITY: &'static str = "follow-up";
    const FIELD: &'static str = "follow_ups";
    type Fields = FollowUpFields;
    type View = FollowUp;

    fn view(row: FollowUpRow) -> Result<FollowUp, ApiError> {
        Ok(FollowUp {
            channel: from_db(&row.channel)?,
            id: row.id,
            date: row.date,
            summary: row.summary,
            next_step: row.next_step,
            due_on: row.due_on,
            by: row.by_user,
            version: row.version,
        })
    }

    fn fields_of(f: &FollowUp) -> FollowUpFields {
        FollowUpFields {
            date: f.date,
            channel: f.channel,
            summary: f.summary.clone(),
            next_step: f.next_step.clone(),
            due_on: f.due_on,
        }
    }

    fn version_of(f: &FollowUp) -> i32 {
        f.version
    }

    fn created_of(row: &FollowUpRow) -> Stamp {
        Stamp { at: row.created_at, by: row.by_user.clone() }
    }

    fn check(
        _conn: &mut DbConnection,
        _parent: &InvestorRow,
        _id: &str,
        _before: Option<&FollowUp>,
        f: &mut FollowUpFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        f.summary = f.summary.trim().to_owned();
        text::trimmed(&mut f.next_step);
        let mut errors: Vec<FieldError> = text::check("summary", &f.summary, 2000, Lines::Many).into_iter().collect();
        errors.extend(text::check_optional("next_step", f.next_step.as_deref(), 1000, Lines::Many));
        // A follow-up is a record of what happened: not later than tomorrow
        // (time zones), not before the zone existed.
        if f.date > clock::today() + chrono::Duration::days(1) || f.date.year() < 2000 {
            errors.push(FieldError::new("date", "range", "must be a day that has happened (2000 or later)"));
        }
        if let Some(due) = f.due_on {
            if due < f.date {
                errors.push(FieldError::new("due_on", "date_order", "must not be before the follow-up's date"));
            } else if due.year() > 2100 {
                errors.push(FieldError::new("due_on", "range", "must be a date before 2101"));
            }
        }
        Ok(errors)
    }

    fn to_row(f: &FollowUpFields, base: ChildBase<'_>) -> FollowUpRow {
        FollowUpRow {
            id: base.id.to_owned(),
            investor_id: base.parent_id.to_owned(),
            date: f.date,
            channel: f.channel.to_string(),
            summary: f.summary.clone(),
            next_step: f.next_step.clone(),
            due_on: f.due_on,
            by_user: base.created.by.clone(),
            created_at: base.created.at,
            updated_at: base.updated.at,
            updated_by: base.updated.by.clone(),
            version: base.version,
        }
    }

    /// Keeps the investor's latest follow-up date and its due date current,
    /// so that "overdue" is one indexed comparison in lists.
    fn after_write(conn: &mut DbConnection, investor_id: &str, _stamp: &Stamp) -> Result<(), ApiError> {
        refresh_follow_up_dates(conn, investor_id)
    }
}

/// Writes the investor's latest follow-up date and its due date from its
/// follow-ups (after one changes, or after a merge brought some).
pub(crate) fn refresh_follow_up_dates(conn: &mut DbConnection, investor_id: &str) -> Result<(), ApiError> {
    let latest: Option<(NaiveDate, Option<NaiveDate>)> = investor_follow_ups::table
        .filter(investor_follow_ups::investor_id.eq(investor_id))
        .order((investor_follow_ups::date.desc(), investor_follow_ups::created_at.desc()))
        .select((investor_follow_ups::date, investor_follow_ups::due_on))
        .first(conn)
        .optional()?;
    diesel::update(investors::table.find(investor_id))
        .set((
            investors::last_follow_up_on.eq(latest.map(|l| l.0)),
            investors::follow_up_due_on.eq(latest.and_then(|l| l.1)),
        ))
        .execute(conn)?;
    // A follow-up is progress of the investor's projects.
    crate::projects::lights::refresh_of_investors(conn, &[investor_id.to_owned()])
}

// ---- figures ---------------------------------------------------------------

/// One year's output value (产值), in whole yuan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figure {
    pub id: String,
    #[schema(example = 2025)]
    pub year: i32,
    #[schema(example = 380000000)]
    pub output_value_cny: i64,
    pub version: i32,
}

/// The body of `POST …/figures`, and what a `PATCH` merges into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewFigure, example = json!({"year": 2025, "output_value_cny": 380000000}))]
pub struct FigureFields {
    /// 2000 to this year; one figure per year.
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// Whole yuan, 0 to 10^15.
    #[schema(minimum = 0, maximum = 1000000000000000_i64)]
    pub output_value_cny: i64,
}

patch_body!(FigurePatch for FigureFields);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = investor_figures, treat_none_as_null = true)]
pub struct FigureRow {
    pub id: String,
    pub investor_id: String,
    pub year: i32,
    pub output_value_cny: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: String,
    pub version: i32,
}

child_table!(Figure, investor_figures, FigureRow, investor_id, order_by = investor_figures::year);

impl Child for Figure {
    type Parent = Investor;
    const ENTITY: &'static str = "figure";
    const FIELD: &'static str = "figures";
    type Fields = FigureFields;
    type View = Figure;

    fn view(row: FigureRow) -> Result<Figure, ApiError> {
        Ok(Figure { id: row.id, year: row.year, output_value_cny: row.output_value_cny, version: row.version })
    }

    fn fields_of(f: &Figure) -> FigureFields {
        FigureFields { year: f.year, output_value_cny: f.output_value_cny }
    }

    fn version_of(f: &Figure) -> i32 {
        f.version
    }

    fn created_of(row: &FigureRow) -> Stamp {
        Stamp { at: row.created_at, by: row.updated_by.clone() }
    }

    /// One figure a year: a second is 409 here, and a race past this check
    /// meets the unique index, which answers 409 as well.
    fn check(
        conn: &mut DbConnection,
        parent: &InvestorRow,
        id: &str,
        _before: Option<&Figure>,
        f: &mut FigureFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        let mut errors = Vec::new();
        let this_year = clock::today().year();
        if !(2000..=this_year).contains(&f.year) {
            errors.push(FieldError::new("year", "range", format!("must be between 2000 and {this_year}")));
        }
        if !(0..=1_000_000_000_000_000).contains(&f.output_value_cny) {
            errors.push(FieldError::new("output_value_cny", "range", "must be between 0 and 10^15 yuan"));
        }
        let taken: i64 = investor_figures::table
            .filter(investor_figures::investor_id.eq(&parent.id))
            .filter(investor_figures::year.eq(f.year))
            .filter(investor_figures::id.ne(id))
            .count()
            .get_result(conn)?;
        if errors.is_empty() && taken > 0 {
            let year = f.year;
            return Err(ApiError::Conflict(FieldError::new("year", "taken", format!("{year} already has a figure; change that one"))));
        }
        Ok(errors)
    }

    fn to_row(f: &FigureFields, base: ChildBase<'_>) -> FigureRow {
        FigureRow {
            id: base.id.to_owned(),
            investor_id: base.parent_id.to_owned(),
            year: f.year,
            output_value_cny: f.output_value_cny,
            created_at: base.created.at,
            updated_at: base.updated.at,
            updated_by: base.updated.by.clone(),
            version: base.version,
        }
    }

    /// The output ratio reads the figures.
    fn after_write(conn: &mut DbConnection, investor_id: &str, _stamp: &Stamp) -> Result<(), ApiError> {
        crate::targets::summary::refresh_investor(conn, investor_id)
    }
}
