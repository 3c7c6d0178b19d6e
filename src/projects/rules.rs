//! The rules a project must keep: field limits (via `validator`), the order
//! of its milestone dates, dates that agree with its stage, and stage moves.

use chrono::NaiveDate;
use validator::{Validate, ValidationErrors};

use super::model::ProjectFields;
use crate::error::FieldError;
use crate::text::{self, Lines};
use crate::vocab::Stage;

const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 40;
const MAX_INVESTORS: usize = 100;

/// The range and count limits, declared for `validator` (text goes through
/// [`text::check`], the one rule every library shares).
#[derive(Validate)]
struct Limits<'a> {
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, code = "range", message = "must be between 0 and 1000000000000 US dollars"))]
    planned_investment_usd: i64,
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, code = "range", message = "must be between 0 and 1000000000000 US dollars"))]
    contracted_investment_usd: Option<i64>,
    #[validate(range(min = 0.0, max = 1_000_000.0, code = "range", message = "must be between 0 and 1000000 mu"))]
    land_area_mu: Option<f64>,
    #[validate(length(max = 100, code = "length", message = "must list at most 100 investors"))]
    investor_ids: &'a [uuid::Uuid],
    #[validate(length(max = 20, code = "length", message = "must hold at most 20 tags"))]
    tags: &'a [String],
}

/// Trims free text and turns blank optional text into `None`, so that what is
/// stored is what a person meant.
pub fn normalise(fields: &mut ProjectFields) {
    fields.name = fields.name.trim().to_owned();
    text::trimmed(&mut fields.summary);
    text::trimmed(&mut fields.notes);
    fields.tags = fields.tags.iter().map(|t| t.trim().to_owned()).collect();
}

/// Every broken rule of `fields`, each naming its field.
pub fn check(fields: &ProjectFields) -> Vec<FieldError> {
    let limits = Limits {
        planned_investment_usd: fields.planned_investment_usd,
        contracted_investment_usd: fields.contracted_investment_usd,
        land_area_mu: fields.land_area_mu,
        investor_ids: &fields.investor_ids,
        tags: &fields.tags,
    };
    let mut errors = limits.validate().err().map(field_errors).unwrap_or_default();
    if fields.land_area_mu.is_some_and(|v| !v.is_finite()) {
        errors.push(FieldError::new("land_area_mu", "range", "must be a finite number"));
    }
    errors.extend(text::check("name", &fields.name, 200, Lines::One));
    errors.extend(text::check_optional("summary", fields.summary.as_deref(), 2000, Lines::Many));
    errors.extend(text::check_optional("notes", fields.notes.as_deref(), 10_000, Lines::Many));
    check_tags(&fields.tags, &mut errors);
    check_unique(&fields.investor_ids, "investor_ids", &mut errors);
    check_dates(fields, &mut errors);
    check_money(fields, &mut errors);
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors
}

/// May a project move from `from` to `to`? Forward by one or more steps;
/// to `dropped` from anywhere; from `dropped` back to `lead` or `negotiating`.
pub fn check_move(from: Stage, to: Stage) -> Result<(), FieldError> {
    let allowed = from == to
        || to == Stage::Dropped
        || match from {
            Stage::Dropped => matches!(to, Stage::Lead | Stage::Negotiating),
            _ => to > from,
        };
    if allowed {
        return Ok(());
    }
    let message = if from == Stage::Dropped {
        "a dropped project can only be re-opened as lead or negotiating".to_owned()
    } else {
        format!("a project cannot move back from {from} to {to}; stages only move forward (or to dropped)")
    };
    Err(FieldError::new("stage", "transition", message))
}

/// The milestone date that marks reaching `stage`, if it has one.
pub fn milestone(fields: &ProjectFields, stage: Stage) -> Option<NaiveDate> {
    match stage {
        Stage::Lead | Stage::Negotiating => fields.first_contact_on,
        Stage::Signed => fields.signed_on,
        Stage::Registered => fields.registered_on,
        Stage::UnderConstruction => fields.started_on,
        Stage::Operating => fields.operating_on,
        Stage::Dropped => None,
    }
}

fn field_errors(errors: ValidationErrors) -> Vec<FieldError> {
    errors
        .field_errors()
        .into_iter()
        .flat_map(|(field, list)| {
            list.iter().map(move |e| {
                let message = e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| e.code.to_string());
                FieldError::new(field.to_string(), e.code.to_string(), message)
            })
        })
        .collect()
}

fn check_tags(tags: &[String], errors: &mut Vec<FieldError>) {
    if tags.len() > MAX_TAGS {
        return; // reported by the limits already
    }
    for (i, tag) in tags.iter().enumerate() {
        errors.extend(text::check(&format!("tags[{i}]"), tag, MAX_TAG_CHARS, Lines::One));
    }
    check_unique(tags, "tags", errors);
}

fn check_unique<T: PartialEq + std::fmt::Display>(values: &[T], field: &str, errors: &mut Vec<FieldError>) {
    if values.len() > MAX_INVESTORS.max(MAX_TAGS) {
        return;
    }
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            errors.push(FieldError::new(format!("{field}[{i}]"), "duplicate", format!("{value} is listed twice")));
        }
    }
}

/// Milestones in order, and none for a stage the project has not reached.
fn check_dates(f: &ProjectFields, errors: &mut Vec<FieldError>) {
    let milestones = [
        ("first_contact_on", f.first_contact_on, Stage::Lead),
        ("signed_on", f.signed_on, Stage::Signed),
        ("registered_on", f.registered_on, Stage::Registered),
        ("started_on", f.started_on, Stage::UnderConstruction),
        ("operating_on", f.operating_on, Stage::Operating),
    ];
    let planned = [("planned_start_on", f.planned_start_on), ("planned_operating_on", f.planned_operating_on)];
    for (name, date) in milestones.iter().map(|(n, d, _)| (*n, *d)).chain(planned) {
        if let Some(date) = date {
            if !(1949..=2100).contains(&chrono::Datelike::year(&date)) {
                errors.push(FieldError::new(name, "range", "must be a date between 1949 and 2100"));
            }
        }
    }
    for (i, (later_name, later, _)) in milestones.iter().enumerate() {
        let Some(later) = later else { continue };
        // Compare with the nearest earlier milestone that is set.
        if let Some((earlier_name, Some(earlier), _)) = milestones[..i].iter().rev().find(|(_, d, _)| d.is_some()) {
            if later < earlier {
                errors.push(FieldError::new(
                    *later_name,
                    "date_order",
                    format!("must not be before {earlier_name} ({earlier})"),
                ));
            }
        }
    }
    if let (Some(start), Some(operating)) = (f.planned_start_on, f.planned_operating_on) {
        if operating < start {
            errors.push(FieldError::new("planned_operating_on", "date_order", format!("must not be before planned_start_on ({start})")));
        }
    }
    if f.stage == Stage::Dropped {
        return; // a dropped project keeps whatever milestones it reached
    }
    for (name, date, reached_at) in &milestones {
        if date.is_some() && f.stage < *reached_at {
            errors.push(FieldError::new(
                *name,
                "stage_mismatch",
                format!("cannot be set while the stage is {} (it is set from {reached_at} on)", f.stage),
            ));
        }
    }
}

/// 到位资金 is never written directly, and a contract exists only once signed.
fn check_money(f: &ProjectFields, errors: &mut Vec<FieldError>) {
    if f.actual_investment_usd.is_some() {
        errors.push(FieldError::new(
            "actual_investment_usd",
            "read_only",
            "is the sum of the verified funds; record money with POST /projects/{id}/funds",
        ));
    }
    if f.contracted_investment_usd.is_some() && f.stage != Stage::Dropped && f.stage < Stage::Signed {
        errors.push(FieldError::new(
            "contracted_investment_usd",
            "stage_mismatch",
            format!("cannot be set while the stage is {} (it is set from signed on)", f.stage),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ProjectFields {
        let body = serde_json::json!({"name": "台积电先进封装", "industry": "electronic_information",
                                      "attraction_mode": "targeted", "planned_investment_usd": 1_000_000});
        serde_json::from_value(body).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    fn date(s: &str) -> Option<NaiveDate> {
        s.parse().ok()
    }

    fn codes(errors: &[FieldError]) -> Vec<(String, String)> {
        errors.iter().map(|e| (e.field.clone(), e.code.clone())).collect()
    }

    #[test]
    fn a_plain_lead_is_valid() {
        assert!(check(&fields()).is_empty());
    }

    #[test]
    fn limits_name_their_fields() {
        let mut f = fields();
        f.name = String::new();
        f.planned_investment_usd = -1;
        f.land_area_mu = Some(f64::NAN);
        f.tags = vec!["ok".into(), "ok".into(), "x".repeat(41)];
        let found = codes(&check(&f));
        for expected in [
            ("name", "length"),
            ("planned_investment_usd", "range"),
            ("land_area_mu", "range"),
            ("tags[1]", "duplicate"),
            ("tags[2]", "length"),
        ] {
            assert!(found.contains(&(expected.0.into(), expected.1.into())), "{expected:?} in {found:?}");
        }
    }

    #[test]
    fn name_length_counts_characters_not_bytes() {
        let mut f = fields();
        f.name = "岳".repeat(200); // 600 bytes
        assert!(check(&f).is_empty());
        f.name.push('阳');
        assert_eq!(codes(&check(&f)), vec![("name".into(), "length".into())]);
    }

    #[test]
    fn milestones_must_be_in_order() {
        let mut f = fields();
        f.stage = Stage::Operating;
        f.first_contact_on = date("2025-01-10");
        f.signed_on = date("2025-01-01");
        f.operating_on = date("2025-06-01");
        assert_eq!(codes(&check(&f)), vec![("signed_on".into(), "date_order".into())]);
        f.signed_on = None; // operating compares with first contact then
        assert!(check(&f).is_empty());
    }

    #[test]
    fn dates_must_agree_with_the_stage() {
        let mut f = fields();
        f.stage = Stage::Negotiating;
        f.signed_on = date("2025-01-01");
        assert_eq!(codes(&check(&f)), vec![("signed_on".into(), "stage_mismatch".into())]);
        f.stage = Stage::Signed;
        assert!(check(&f).is_empty());
        f.stage = Stage::Dropped;
        assert!(check(&f).is_empty(), "a dropped project keeps its milestones");
    }

    #[test]
    fn stages_move_forward_or_drop_or_reopen() {
        assert!(check_move(Stage::Lead, Stage::Signed).is_ok());
        assert!(check_move(Stage::Signed, Stage::Signed).is_ok());
        assert!(check_move(Stage::Signed, Stage::Negotiating).is_err());
        assert!(check_move(Stage::Operating, Stage::Dropped).is_ok());
        assert!(check_move(Stage::Dropped, Stage::Negotiating).is_ok());
        assert!(check_move(Stage::Dropped, Stage::Signed).is_err());
    }
}
