//! The rules an investor must keep.

use super::identifiers::{self, Invalid};
use super::model::InvestorFields;
use crate::error::FieldError;
use crate::text::{self, Lines};
use crate::vocab::{InvestorStatus, Origin};

const MAX_INDUSTRIES: usize = 10;

/// Trims text, drops blank optional text, and writes identifiers in their
/// one stored form (upper case, no spaces) when they are valid.
pub fn normalise(f: &mut InvestorFields) {
    f.name = f.name.trim().to_owned();
    f.region = f.region.trim().to_owned();
    for optional in [&mut f.name_en, &mut f.notes, &mut f.taiwan_business_id, &mut f.unified_social_credit_code] {
        text::trimmed(optional);
    }
    if let Some(code) = f.unified_social_credit_code.as_deref().and_then(|c| identifiers::unified_social_credit_code(c).ok()) {
        f.unified_social_credit_code = Some(code);
    }
    if let Some(id) = f.taiwan_business_id.as_deref().and_then(|c| identifiers::taiwan_business_id(c).ok()) {
        f.taiwan_business_id = Some(id);
    }
}


pub fn check(f: &InvestorFields, today: chrono::NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    errors.extend(text::check("name", &f.name, 200, Lines::One));
    errors.extend(text::check("region", &f.region, 100, Lines::One));
    errors.extend(text::check_optional("name_en", f.name_en.as_deref(), 200, Lines::One));
    errors.extend(text::check_optional("notes", f.notes.as_deref(), 10_000, Lines::Many));
    if let Some(code) = &f.unified_social_credit_code {
        match identifiers::unified_social_credit_code(code) {
            Ok(_) => {}
            Err(Invalid::Format) => errors.push(FieldError::new(
                "unified_social_credit_code",
                "format",
                "must be 18 characters of 0-9 and A-Y without I, O, S, V, Z (GB 32100-2015)",
            )),
            Err(Invalid::Checksum) => errors.push(FieldError::new(
                "unified_social_credit_code",
                "checksum",
                "its check character does not match (GB 32100-2015); check for a typing error",
            )),
        }
    }
    if let Some(id) = &f.taiwan_business_id {
        match identifiers::taiwan_business_id(id) {
            Ok(_) => {}
            Err(Invalid::Format) => errors.push(FieldError::new("taiwan_business_id", "format", "must be 8 digits")),
            Err(Invalid::Checksum) => errors.push(FieldError::new(
                "taiwan_business_id",
                "checksum",
                "its check digit does not match (統一編號 rule); check for a typing error",
            )),
        }
    }
    if f.industries.len() > MAX_INDUSTRIES {
        errors.push(FieldError::new("industries", "length", format!("must list at most {MAX_INDUSTRIES} industries")));
    }
    for (i, industry) in f.industries.iter().enumerate() {
        if f.industries[..i].contains(industry) {
            errors.push(FieldError::new(format!("industries[{i}]"), "duplicate", format!("{industry} is listed twice")));
        }
    }
    match (f.status, f.settled_on) {
        (InvestorStatus::Settled, None) => errors.push(FieldError::new(
            "settled_on",
            "required",
            "a settled investor needs the date it settled (it counts toward the targets from then)",
        )),
        (InvestorStatus::Settled | InvestorStatus::Lost, Some(_)) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "settled_on",
            "status_mismatch",
            format!("cannot be set while the status is {}", f.status),
        )),
        (_, None) => {}
    }
    if f.settled_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new("settled_on", "range", "must not be in the future"));
    }
    if f.taiwan_top100.is_some() {
        errors.push(FieldError::new(
            "taiwan_top100",
            "read_only",
            "follows the link to the top-100 list: set top100_id (see /top100/{id}/candidates)",
        ));
    }
    match (f.origin, f.third_place_recognised_on) {
        (Origin::ThirdPlace, Some(d)) if d > today => {
            errors.push(FieldError::new("third_place_recognised_on", "range", "must not be in the future"));
        }
        (Origin::ThirdPlace, _) | (_, None) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "third_place_recognised_on",
            "origin_mismatch",
            "is only for origin third_place (第三地转投资)",
        )),
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors
}
