//! Personal data (PIPL): how it is masked for those who may not see it,
//! and kept out of the audit trail. Talents and investors' contacts share it.

use serde_json::Value;

use crate::audit::Change;

/// The fields the personal-information rules cover.
pub const PERSONAL: &[&str] = &["phone", "email", "permit_no"];

/// `+8613812345678` → `+86*******5678`: the country code and last four stay.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    let keep_head = if phone.starts_with("+886") { 4 } else if phone.starts_with('+') { 3 } else { 0 };
    let keep_tail = 4.min(digits.len().saturating_sub(keep_head));
    digits
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep_head || i >= digits.len() - keep_tail { *c } else { '*' })
        .collect()
}

/// `lin.yijun@example.com` → `l***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// `12345678` → `12****78`.
pub fn mask_permit(permit: &str) -> String {
    let chars: Vec<char> = permit.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 2 || i + 2 >= chars.len() { *c } else { '*' })
        .collect()
}

/// Audit changes keep that personal data changed, never its values: the
/// trail must not outlive a purge. The name is treated the same way.
pub fn redact(changes: Vec<Change>) -> Vec<Change> {
    redact_fields(changes, &["phone", "email", "permit_no", "full_name"])
}

/// [`redact`] for the personal fields `personal` of one kind of record.
pub fn redact_fields(changes: Vec<Change>, personal: &[&str]) -> Vec<Change> {
    let hidden = |v: Value| if v.is_null() { v } else { Value::from("(personal data)") };
    changes
        .into_iter()
        .filter(|c| c.field != "masked")
        .map(|c| {
            if personal.contains(&c.field.as_str()) {
                Change { field: c.field, old: hidden(c.old), new: hidden(c.new) }
            } else {
                c
            }
        })
        .collect()
}

/// A record's JSON view for the audit trail: each field of `personal` that
/// holds a value reads `(personal data)`; null stays null.
pub fn hidden(mut view: Value, personal: &[&str]) -> Value {
    if let Some(fields) = view.as_object_mut() {
        for field in personal {
            if let Some(value) = fields.get_mut(*field).filter(|v| !v.is_null()) {
                *value = Value::from("(personal data)");
            }
        }
        fields.remove("masked");
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_identifies_nobody() {
        assert_eq!(mask_phone("+8613812345678"), "+86*******5678");
        assert_eq!(mask_phone("+886912345678"), "+886*****5678");
        assert_eq!(mask_email("lin.yijun@example.com"), "l***@example.com");
        assert_eq!(mask_permit("12345678"), "12****78");
        assert_eq!(mask_permit("123"), "123");
    }

    #[test]
    fn redaction_hides_values_not_the_fact_of_change() {
        let changes = vec![
            Change { field: "phone".into(), old: Value::Null, new: "+8613812345678".into() },
            Change { field: "status".into(), old: "prospect".into(), new: "contacted".into() },
        ];
        let redacted = redact(changes);
        assert_eq!(redacted[0].new, Value::from("(personal data)"));
        assert_eq!(redacted[0].old, Value::Null);
        assert_eq!(redacted[1].new, Value::from("contacted"));
    }
}
