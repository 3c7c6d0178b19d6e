use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Action, Change};
use crate::auth::Caller;
use crate::clock;
use crate::db::schema::{funds, projects_money};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;
use crate::projects::Project;
use crate::records::{audit_event, patch_body, Child, ChildBase, ChildTable, Record, Stamp, Stored};
use crate::text::{self, Lines};
use crate::vocab::{from_db, FundEvidence, FundStatus, Stage};

/// A fund in place, as every read returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Fund {
    pub id: String,
    pub project_id: String,
    /// The day the money arrived.
    #[schema(example = "2026-06-15")]
    pub received_on: NaiveDate,
    /// Whole US dollars.
    #[schema(example = 20000000)]
    pub amount_usd: i64,
    pub evidence: FundEvidence,
    /// The evidence's document number.
    #[schema(example = "湘外汇登字〔2026〕0315号")]
    pub evidence_ref: String,
    pub note: Option<String>,
    /// `pending` until the province decides.
    pub status: FundStatus,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
}

/// The body of `POST /projects/{id}/funds`, and what a `PATCH` merges into
/// (only while the fund is pending).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewFund, example = json!({"received_on": "2026-06-15", "amount_usd": 20000000,
    "evidence": "fx_registration", "evidence_ref": "湘外汇登字〔2026〕0315号", "note": "首期注资"}))]
pub struct FundFields {
    /// Not before the project's signing day, not in the future.
    pub received_on: NaiveDate,
    /// Whole US dollars, above 0; with the project's other pending and
    /// verified funds, at most its contracted amount.
    #[schema(minimum = 1, maximum = 1000000000000_i64)]
    pub amount_usd: i64,
    pub evidence: FundEvidence,
    #[schema(min_length = 1, max_length = 100)]
    pub evidence_ref: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

patch_body!(FundPatch for FundFields);

/// The province's decision on a fund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
// Its own name in the document: a claim's decision is `Decision` there.
#[schema(as = FundDecision)]
pub enum Decision {
    /// 已核实: counted in 到位资金 and the targets.
    Verified,
    /// 不予认定: never counted.
    Rejected,
}

/// The body of `POST /projects/{id}/funds/{fund_id}/verification`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "verified", "reason": "外汇登记凭证与银行进账单一致"}))]
pub struct DecisionBody {
    pub decision: Decision,
    /// Required when rejecting.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = funds)]
pub struct FundRow {
    pub id: String,
    pub project_id: String,
    pub park_code: String,
    pub received_on: NaiveDate,
    pub amount_usd: i64,
    pub evidence: String,
    pub evidence_ref: String,
    pub note: Option<String>,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub reason: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: String,
    pub updated_by: String,
    pub deleted_at: Option<NaiveDateTime>,
}

/// Funds are kept when removed (`deleted_at`): the money's trail stays.
impl ChildTable for Fund {
    type Row = FundRow;

    fn rows(conn: &mut DbConnection, parent_id: &str) -> QueryResult<Vec<FundRow>> {
        funds::table
            .filter(funds::project_id.eq(parent_id))
            .filter(funds::deleted_at.is_null())
            .order((funds::received_on, funds::id))
            .select(FundRow::as_select())
            .load(conn)
    }

    fn row(conn: &mut DbConnection, parent_id: &str, id: &str) -> QueryResult<Option<FundRow>> {
        funds::table
            .filter(funds::project_id.eq(parent_id))
            .filter(funds::id.eq(id))
            .filter(funds::deleted_at.is_null())
            .select(FundRow::as_select())
            .first(conn)
            .optional()
    }

    fn insert(conn: &mut DbConnection, row: &FundRow) -> QueryResult<usize> {
        // The project's park, so that the targets read funds by park.
        let park: String = projects_money::table.find(&row.project_id).select(projects_money::park_code).first(conn)?;
        let row = FundRow { park_code: park, ..row.clone() };
        diesel::insert_into(funds::table).values(&row).execute(conn)
    }

    /// Only what the park records changes here; the decision has its own route.
    fn replace(conn: &mut DbConnection, row: &FundRow, expected: i32) -> QueryResult<usize> {
        diesel::update(
            funds::table.filter(funds::id.eq(&row.id)).filter(funds::version.eq(expected)).filter(funds::status.eq("pending")),
        )
        .set((
            funds::received_on.eq(row.received_on),
            funds::amount_usd.eq(row.amount_usd),
            funds::evidence.eq(&row.evidence),
            funds::evidence_ref.eq(&row.evidence_ref),
            funds::note.eq(&row.note),
            funds::version.eq(row.version),
            funds::updated_at.eq(row.updated_at),
            funds::updated_by.eq(&row.updated_by),
        ))
        .execute(conn)
    }

    fn remove(conn: &mut DbConnection, id: &str, expected: i32) -> QueryResult<usize> {
        diesel::update(funds::table.filter(funds::id.eq(id)).filter(funds::version.eq(expected)).filter(funds::status.eq("pending")))
            .set((funds::deleted_at.eq(Some(clock::now())), funds::version.eq(expected + 1)))
            .execute(conn)
    }
}

fn to_fund(row: FundRow) -> Result<Fund, ApiError> {
    Ok(Fund {
        evidence: from_db(&row.evidence)?,
        status: from_db(&row.status)?,
        id: row.id,
        project_id: row.project_id,
        received_on: row.received_on,
        amount_usd: row.amount_usd,
        evidence_ref: row.evidence_ref,
        note: row.note,
        decided_by: row.decided_by,
        decided_on: row.decided_on,
        reason: row.reason,
        version: row.version,
        created_at: clock::utc(row.created_at),
        updated_at: clock::utc(row.updated_at),
        created_by: row.created_by,
        updated_by: row.updated_by,
    })
}

fn decided(fund: &Fund) -> ApiError {
    ApiError::Conflict(FieldError::new(
        "status",
        "decided",
        format!("the fund was {} on {}; a decided fund can no longer be changed", fund.status, fund.decided_on.map(|d| d.to_string()).unwrap_or_default()),
    ))
}

/// What follows from a project's funds: the sum of its verified funds (none
/// before the first), its light days and the targets' summary.
fn refresh_money(conn: &mut DbConnection, project_id: &str) -> Result<(), ApiError> {
    let verified: Vec<i64> = funds::table
        .filter(funds::project_id.eq(project_id))
        .filter(funds::deleted_at.is_null())
        .filter(funds::status.eq("verified"))
        .select(funds::amount_usd)
        .load(conn)?;
    let actual = (!verified.is_empty()).then(|| verified.iter().sum::<i64>());
    diesel::update(projects_money::table.find(project_id))
        .set(projects_money::actual_investment_usd.eq(actual))
        .execute(conn)?;
    crate::projects::lights::refresh(conn, &[project_id.to_owned()])?;
    crate::targets::summary::refresh_project(conn, project_id)
}

impl Child for Fund {
    type Parent = Project;
    const ENTITY: &'static str = "fund";
    const FIELD: &'static str = "funds";
    type Fields = FundFields;
    type View = Fund;

    fn view(row: FundRow) -> Result<Fund, ApiError> {
        to_fund(row)
    }

    fn fields_of(f: &Fund) -> FundFields {
        FundFields {
            received_on: f.received_on,
            amount_usd: f.amount_usd,
            evidence: f.evidence,
            evidence_ref: f.evidence_ref.clone(),
            note: f.note.clone(),
        }
    }

    fn version_of(f: &Fund) -> i32 {
        f.version
    }

    fn created_of(row: &FundRow) -> Stamp {
        Stamp { at: row.created_at, by: row.created_by.clone() }
    }

    /// DESIGN's rules: a signed project (or later), money received on or
    /// after signing and not in the future, and never more pending and
    /// verified money than the contract. A decided fund is not edited (409).
    fn check(
        conn: &mut DbConnection,
        parent: &<Project as Stored>::Row,
        id: &str,
        before: Option<&Fund>,
        f: &mut FundFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        if let Some(before) = before.filter(|b| b.status != FundStatus::Pending) {
            return Err(decided(before));
        }
        f.evidence_ref = f.evidence_ref.trim().to_owned();
        text::trimmed(&mut f.note);
        let mut errors = Vec::new();
        errors.extend(text::check("evidence_ref", &f.evidence_ref, 100, Lines::One));
        errors.extend(text::check_optional("note", f.note.as_deref(), 2000, Lines::Many));
        if !(1..=1_000_000_000_000).contains(&f.amount_usd) {
            errors.push(FieldError::new("amount_usd", "range", "must be between 1 and 1000000000000 US dollars"));
        }
        let stage: Stage = from_db(&parent.stage)?;
        if stage < Stage::Signed || stage == Stage::Dropped {
            errors.push(FieldError::new(
                "project.stage",
                "not_signed",
                format!("funds are recorded from the stage signed on; the project is {stage}"),
            ));
        }
        if f.received_on > clock::today() {
            errors.push(FieldError::new("received_on", "future", "must not be in the future"));
        }
        match parent.signed_on {
            Some(signed) if f.received_on < signed => errors.push(FieldError::new(
                "received_on",
                "before_signing",
                format!("must not be before the project's signing day ({signed})"),
            )),
            None if stage >= Stage::Signed && stage != Stage::Dropped => errors.push(FieldError::new(
                "project.signed_on",
                "required",
                "the project needs its signing day before funds are recorded",
            )),
            _ => {}
        }
        let contracted: Option<i64> = projects_money::table
            .find(&parent.id)
            .select(projects_money::contracted_investment_usd)
            .first(conn)?;
        let others: Vec<i64> = funds::table
            .filter(funds::project_id.eq(&parent.id))
            .filter(funds::id.ne(id))
            .filter(funds::deleted_at.is_null())
            .filter(funds::status.ne("rejected"))
            .select(funds::amount_usd)
            .load(conn)?;
        let total = others.iter().sum::<i64>().saturating_add(f.amount_usd);
        match contracted {
            None => errors.push(FieldError::new(
                "project.contracted_investment_usd",
                "required",
                "set the project's contracted amount before recording funds",
            )),
            Some(contract) if total > contract => errors.push(FieldError::new(
                "amount_usd",
                "above_contract",
                format!("the project's pending and verified funds would add up to {total} US dollars, above the contracted {contract}"),
            )),
            Some(_) => {}
        }
        Ok(errors)
    }

    fn to_row(f: &FundFields, base: ChildBase<'_>) -> FundRow {
        FundRow {
            id: base.id.to_owned(),
            project_id: base.parent_id.to_owned(),
            park_code: String::new(), // set from the project on insert
            received_on: f.received_on,
            amount_usd: f.amount_usd,
            evidence: f.evidence.to_string(),
            evidence_ref: f.evidence_ref.clone(),
            note: f.note.clone(),
            status: FundStatus::Pending.to_string(),
            decided_by: None,
            decided_on: None,
            reason: None,
            version: base.version,
            created_at: base.created.at,
            updated_at: base.updated.at,
            created_by: base.created.by.clone(),
            updated_by: base.updated.by.clone(),
            deleted_at: None,
        }
    }

    fn check_remove(fund: &Fund) -> Result<(), ApiError> {
        if fund.status == FundStatus::Pending { Ok(()) } else { Err(decided(fund)) }
    }

    fn after_write(conn: &mut DbConnection, parent_id: &str, _stamp: &Stamp) -> Result<(), ApiError> {
        refresh_money(conn, parent_id)
    }
}

/// The province verifies or rejects a pending fund (provincial_admin). The
/// decision is final: the fund can no longer be changed or removed.
pub fn decide(
    conn: &mut DbConnection,
    caller: &Caller,
    project_id: &str,
    fund_id: &str,
    expected: Option<&IfMatch>,
    body: DecisionBody,
) -> Result<Fund, ApiError> {
    write_tx(conn, |conn| {
        let parent = Project::find(conn, &caller.scope(), project_id)?.ok_or(ApiError::NotFound(<Project as Record>::ENTITY))?;
        if !caller.may_decide_funds() {
            return Err(ApiError::Forbidden("only a provincial administrator verifies or rejects funds".into()));
        }
        let row = Fund::row(conn, project_id, fund_id)?.ok_or(ApiError::NotFound("fund"))?;
        let before = to_fund(row)?;
        if expected.is_some_and(|e| !e.matches(before.version)) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        if before.status != FundStatus::Pending {
            return Err(decided(&before));
        }
        let mut reason = body.reason;
        text::trimmed(&mut reason);
        let mut errors: Vec<FieldError> = text::check_optional("reason", reason.as_deref(), 2000, Lines::Many).into_iter().collect();
        if body.decision == Decision::Rejected && reason.is_none() {
            errors.push(FieldError::new("reason", "required", "say why the fund is not recognised"));
        }
        crate::records::invalid_unless_empty(errors)?;
        let status = match body.decision {
            Decision::Verified => FundStatus::Verified,
            Decision::Rejected => FundStatus::Rejected,
        };
        let stamp = Stamp::of(caller);
        let changed = diesel::update(funds::table.filter(funds::id.eq(fund_id)).filter(funds::version.eq(before.version)))
            .set((
                funds::status.eq(status.to_string()),
                funds::decided_by.eq(Some(&caller.username)),
                funds::decided_on.eq(Some(clock::today())),
                funds::reason.eq(reason),
                funds::version.eq(before.version + 1),
                funds::updated_at.eq(stamp.at),
                funds::updated_by.eq(&stamp.by),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(ApiError::PreconditionFailed { current: before.version + 1 });
        }
        let after = to_fund(Fund::row(conn, project_id, fund_id)?.ok_or(ApiError::NotFound("fund"))?)?;
        refresh_money(conn, project_id)?;
        Project::touch(conn, project_id, &stamp)?;
        let park = Project::meta(&parent).park;
        let change = Change { field: format!("funds[{fund_id}]"), old: serde_json::to_value(&before)?, new: serde_json::to_value(&after)? };
        audit_event(conn, caller, Action::Update, <Project as Record>::ENTITY, project_id, &park, vec![change])?;
        Ok(after)
    })
}
