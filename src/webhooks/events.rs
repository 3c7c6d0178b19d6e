//! Event names and what a delivery says about a change. An audit event of
//! the change feed becomes one webhook event; its `data` names records,
//! parks, stages, statuses and the fields that changed, never their values
//! otherwise: no names, phones, e-mail addresses, permit or ID numbers, and
//! not who made the change.

use serde_json::{json, Map, Value};

use crate::audit::{Change, EventRow};
use crate::error::{ApiError, FieldError};

/// Every event a hook may subscribe to (`*` stands for all of them).
pub const EVENT_NAMES: &[&str] = &[
    "project.created",
    "project.updated",
    "project.stage_changed",
    "project.light_changed",
    "project.deleted",
    "fund.decided",
    "claim.filed",
    "claim.contested",
    "claim.decided",
    "claim.updated",
    "investor.created",
    "investor.updated",
    "investor.deleted",
    "talent.created",
    "talent.updated",
    "talent.deleted",
    "talent.purged",
];

/// Subscribes to every event.
pub const ALL_EVENTS: &str = "*";

/// Checks a hook's `events`: known names (or `*`), at least one, no repeats.
pub fn check_names(events: &[String]) -> Result<Vec<String>, ApiError> {
    if events.is_empty() {
        return Err(ApiError::invalid("events", "required", "name at least one event, or \"*\" for all"));
    }
    // More names than there are events cannot all be valid: refused whole,
    // so that a huge list costs neither a long answer nor a long log line.
    if events.len() > EVENT_NAMES.len() + 1 {
        return Err(ApiError::invalid("events", "max_items", format!("name at most {} events", EVENT_NAMES.len() + 1)));
    }
    let mut errors = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    for (i, name) in events.iter().enumerate() {
        let name = name.trim();
        if name != ALL_EVENTS && !EVENT_NAMES.contains(&name) {
            errors.push(FieldError::new(format!("events[{i}]"), "enum", format!("{name:?} is not an event; one of {} or *", EVENT_NAMES.join(", "))));
        } else if kept.iter().any(|k| k == name) {
            errors.push(FieldError::new(format!("events[{i}]"), "duplicate", format!("{name} is named twice")));
        } else {
            kept.push(name.to_owned());
        }
    }
    if errors.is_empty() { Ok(kept) } else { Err(ApiError::Invalid(errors)) }
}

/// Whether a hook subscribed to `events` wants `name`.
pub fn wanted(events: &[String], name: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == name)
}

/// One change as a webhook event: its name and its `data`. `None` for
/// changes no event describes (parks, the top-100 list, settings).
pub(crate) fn describe(row: &EventRow) -> Result<Option<(&'static str, Value)>, ApiError> {
    let changes: Vec<Change> = serde_json::from_str(&row.changes)?;
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    let change_of = |field: &str| changes.iter().find(|c| c.field == field);
    let mut data = Map::new();
    data.insert("library".into(), row.entity_type.clone().into());
    data.insert("record_id".into(), row.entity_id.clone().into());
    data.insert("action".into(), row.action.clone().into());
    data.insert("fields".into(), json!(fields));
    let action = row.action.as_str();
    let name = match (row.entity_type.as_str(), action) {
        ("project", "create") => "project.created",
        ("project", "delete") => "project.deleted",
        ("project", "update") => {
            if let Some(light) = change_of("light") {
                data.insert("light".into(), json!({"old": light.old, "new": light.new}));
                "project.light_changed"
            } else if let Some(stage) = change_of("stage") {
                data.insert("stage".into(), json!({"old": stage.old, "new": stage.new}));
                "project.stage_changed"
            } else if let Some((fund_id, decision)) = fund_decision(&changes) {
                data.insert("project_id".into(), row.entity_id.clone().into());
                data.insert("fund_id".into(), fund_id.into());
                data.insert("decision".into(), decision);
                "fund.decided"
            } else {
                "project.updated"
            }
        }
        ("claim", _) => {
            let status = change_of("status").map(|c| (c.old.clone(), c.new.clone()));
            if let Some((old, new)) = &status {
                data.insert("status".into(), json!({"old": old, "new": new}));
            }
            let new_status = status.as_ref().and_then(|(_, new)| new.as_str().map(str::to_owned));
            match (action, new_status.as_deref()) {
                (_, Some("contested")) => "claim.contested",
                (_, Some("awarded" | "rejected")) if change_of("decided_by").is_some() => "claim.decided",
                ("create", _) => "claim.filed",
                _ => "claim.updated",
            }
        }
        ("investor", "create") => "investor.created",
        ("investor", "delete") => "investor.deleted",
        ("investor", _) => "investor.updated",
        ("talent", "create") => "talent.created",
        ("talent", "delete") => "talent.deleted",
        ("talent", "purge") => "talent.purged",
        ("talent", _) => "talent.updated",
        _ => return Ok(None),
    };
    Ok(Some((name, Value::Object(data))))
}

/// A fund's verification or rejection among a project's changes: the fund's
/// id and the decision (`verified`, `rejected`).
fn fund_decision(changes: &[Change]) -> Option<(String, Value)> {
    changes.iter().find_map(|c| {
        let id = c.field.strip_prefix("funds[")?.strip_suffix(']')?;
        let (old, new) = (c.old.get("status")?, c.new.get("status")?);
        (old == "pending" && new != "pending").then(|| (id.to_owned(), new.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(entity: &str, action: &str, changes: Value) -> EventRow {
        EventRow {
            id: "e1".into(),
            at: chrono::NaiveDateTime::default(),
            actor: "yy.staff".into(),
            action: action.into(),
            entity_type: entity.into(),
            entity_id: "r1".into(),
            park_code: Some("yueyang".into()),
            changes: changes.to_string(),
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_names(&["project.created".into(), "*".into()]).is_ok());
        assert!(check_names(&[]).is_err());
        let Err(ApiError::Invalid(errors)) = check_names(&["project.created".into(), "project.exploded".into(), "project.created".into()]) else {
            panic!("expected a 422")
        };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(fields, [("events[1]", "enum"), ("events[2]", "duplicate")]);
        let every: Vec<String> = EVENT_NAMES.iter().map(|n| n.to_string()).chain(["*".to_owned()]).collect();
        assert!(check_names(&every).is_ok(), "every name once is the longest list");
        let Err(ApiError::Invalid(errors)) = check_names(&vec!["x".to_owned(); 20_000]) else { panic!("expected a 422") };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(fields, [("events", "max_items")], "one error, however long the list");
    }

    #[test]
    fn a_stage_move_is_its_own_event_and_carries_no_values_but_the_stage() {
        let changes = json!([{"field": "stage", "old": "lead", "new": "signed"}, {"field": "notes", "old": null, "new": "林先生 0912345678"}]);
        let (name, data) = describe(&row("project", "update", changes)).ok().flatten().unwrap_or(("none", Value::Null));
        assert_eq!(name, "project.stage_changed");
        assert_eq!(data["stage"], json!({"old": "lead", "new": "signed"}));
        assert_eq!(data["fields"], json!(["stage", "notes"]));
        assert!(!data.to_string().contains("0912345678"), "{data}");
        assert!(!data.to_string().contains("yy.staff"), "{data}");
    }

    #[test]
    fn a_personal_field_is_named_never_shown() {
        let changes = json!([{"field": "phone", "old": null, "new": "+886912345678"}]);
        let (name, data) = describe(&row("talent", "update", changes)).ok().flatten().unwrap_or(("none", Value::Null));
        assert_eq!(name, "talent.updated");
        assert!(!data.to_string().contains("886912345678"), "{data}");
    }

    #[test]
    fn decisions_are_recognised() {
        let fund = json!([{"field": "funds[f1]", "old": {"status": "pending"}, "new": {"status": "verified"}}]);
        let described = describe(&row("project", "update", fund)).ok().flatten();
        assert_eq!(described.map(|(n, d)| (n, d["decision"].clone())), Some(("fund.decided", json!("verified"))));
        let claim = json!([{"field": "status", "old": "contested", "new": "awarded"}, {"field": "decided_by", "old": null, "new": "admin"}]);
        assert_eq!(describe(&row("claim", "update", claim)).ok().flatten().map(|(n, _)| n), Some("claim.decided"));
        assert_eq!(describe(&row("park", "update", json!([]))).ok().flatten().map(|(n, _)| n), None);
    }

    #[test]
    fn a_light_change_names_the_lights_only() {
        let changes = json!([{"field": "light", "old": "green", "new": "amber"}]);
        let (name, data) = describe(&row("project", "update", changes)).ok().flatten().unwrap_or(("none", Value::Null));
        assert_eq!(name, "project.light_changed");
        assert_eq!(data["light"], json!({"old": "green", "new": "amber"}));
    }

    #[test]
    fn wildcard_wants_everything() {
        assert!(wanted(&["*".into()], "talent.created"));
        assert!(!wanted(&["project.created".into()], "talent.created"));
    }
}
