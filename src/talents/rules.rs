//! The rules a talent must keep.

use chrono::{Datelike, NaiveDate};

use super::model::TalentFields;
use crate::contact;
use crate::error::FieldError;
use crate::text::{self, Lines};

/// Trims text, drops blank optional text, and writes phone, e-mail and
/// permit number in their stored forms; a value that cannot be read is left
/// as typed for [`check`] to name.
pub fn normalise(f: &mut TalentFields) {
    f.full_name = f.full_name.trim().to_owned();
    f.origin_region = f.origin_region.trim().to_owned();
    // An empty phone or e-mail is refused by the checks below, not taken as "none": `null` is.
    for optional in [&mut f.school, &mut f.major, &mut f.notes, &mut f.permit_no] {
        text::trimmed(optional);
    }
    if let Some(phone) = f.phone.as_deref().and_then(|p| contact::phone(p, "phone").ok()) {
        f.phone = Some(phone);
    }
    if let Some(email) = f.email.as_deref().and_then(|e| contact::email(e, "email").ok()) {
        f.email = Some(email);
    }
    if let Some(permit) = &f.permit_no {
        let compact: String = permit.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
        f.permit_no = Some(compact);
    }
    for q in &mut f.qualifications {
        q.name = q.name.trim().to_owned();
        q.issuer = q.issuer.take().map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
    }
    for p in &mut f.programmes {
        p.name = p.name.trim().to_owned();
    }
}

fn text(field: String, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let lines = if field == "notes" { Lines::Many } else { Lines::One };
    errors.extend(text::check(&field, value, max, lines));
}

pub fn check(f: &TalentFields, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    text("full_name".into(), &f.full_name, 100, &mut errors);
    text("origin_region".into(), &f.origin_region, 100, &mut errors);
    for (field, value) in [("school", &f.school), ("major", &f.major)] {
        if let Some(v) = value {
            text(field.into(), v, 200, &mut errors);
        }
    }
    if let Some(notes) = &f.notes {
        text("notes".into(), notes, 10_000, &mut errors);
    }
    let year = today.year();
    if !(year - 100..=year - 14).contains(&f.birth_year) {
        errors.push(FieldError::new("birth_year", "range", format!("must be between {} and {}", year - 100, year - 14)));
    }
    if let Some(phone) = &f.phone {
        if let Err(e) = contact::phone(phone, "phone") {
            errors.push(e);
        }
    }
    if let Some(email) = &f.email {
        if let Err(e) = contact::email(email, "email") {
            errors.push(e);
        }
    }
    if let Some(permit) = &f.permit_no {
        // 台湾居民来往大陆通行证: 8 digits, older cards with a 1–2 character suffix.
        if !(8..=10).contains(&permit.len()) || !permit[..8.min(permit.len())].bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new("permit_no", "format", "must be the 8-digit permit number (台胞证号), optionally with its 1–2 character suffix"));
        }
    }
    let has_personal = f.phone.is_some() || f.email.is_some() || f.permit_no.is_some();
    match f.consent_on {
        None if has_personal => errors.push(FieldError::new(
            "consent_on",
            "required",
            "phone, e-mail or permit number may only be kept with the talent's consent (PIPL): give the day it was given",
        )),
        Some(day) if day > today => errors.push(FieldError::new("consent_on", "range", "must not be in the future")),
        _ => {}
    }
    if f.qualifications.len() > 20 {
        errors.push(FieldError::new("qualifications", "length", "must list at most 20"));
    }
    for (i, q) in f.qualifications.iter().enumerate() {
        text(format!("qualifications[{i}].name"), &q.name, 200, &mut errors);
        if let Some(issuer) = &q.issuer {
            text(format!("qualifications[{i}].issuer"), issuer, 200, &mut errors);
        }
        if q.recognition == crate::vocab::Recognition::Recognised && q.mainland_title.is_none() {
            errors.push(FieldError::new(format!("qualifications[{i}].mainland_title"), "required", "a recognised qualification needs the mainland title it was recognised as"));
        }
    }
    if f.programmes.len() > 20 {
        errors.push(FieldError::new("programmes", "length", "must list at most 20"));
    }
    for (i, p) in f.programmes.iter().enumerate() {
        text(format!("programmes[{i}].name"), &p.name, 200, &mut errors);
        if !(2000..=year + 1).contains(&p.year) {
            errors.push(FieldError::new(format!("programmes[{i}].year"), "range", format!("must be between 2000 and {}", year + 1)));
        }
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors
}
