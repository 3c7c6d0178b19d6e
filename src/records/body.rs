//! Request bodies as the protocol reads them: decoded only after the
//! caller's rights are known (403 comes before 422), and `PATCH` as a JSON
//! merge patch (RFC 7396) over the record's writable fields, so a library
//! writes its fields once and the partial body follows from them.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;

use crate::error::{ApiError, FieldError};
use crate::http::{as_date, dates, field_and_code, human_message};

fn not_an_object() -> ApiError {
    ApiError::invalid("body", "type", "must be a JSON object")
}

/// Reads a JSON object as `T`; every failure names its field and rule.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(not_an_object());
    }
    let mut out_of_range = Vec::new();
    dates_in_range(&value, "", &mut out_of_range);
    if !out_of_range.is_empty() {
        return Err(ApiError::Invalid(out_of_range));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let (field, code) = field_and_code(&path, &inner);
        if inner.starts_with("invalid type: null") {
            return ApiError::Invalid(vec![FieldError::new(
                field,
                "not_null",
                "cannot be cleared; leave the field out to keep its value",
            )]);
        }
        ApiError::Invalid(vec![FieldError::new(field, code, human_message(&inner))])
    })
}

/// Every date of the API lies in one range (`http::dates`), in bodies as in
/// query parameters: a value that reads as a date anywhere in the body is
/// checked before the database sees it (PostgreSQL refuses year -5000; SQLite
/// would store it and compare it as text).
fn dates_in_range(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(text) => {
            if let Some(date) = as_date(text) {
                errors.extend(dates::check_date(path, date).err());
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                dates_in_range(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                dates_in_range(item, &path, errors);
            }
        }
        _ => {}
    }
}

/// The fields after a merge patch: each member of `patch` replaces the
/// field of that name, `null` clears it (where it may be cleared); members
/// left out keep their value. Unknown members are refused by `T` itself.
pub fn merge<T: Serialize + DeserializeOwned>(current: &T, patch: Value) -> Result<T, ApiError> {
    let Value::Object(mut fields) = serde_json::to_value(current)? else {
        return Err(ApiError::internal("record fields must serialise to a JSON object"));
    };
    let Value::Object(patch) = patch else {
        return Err(not_an_object());
    };
    for (name, value) in patch {
        fields.insert(name, value);
    }
    decode(Value::Object(fields))
}

/// The document's schema of a `PATCH` body made from the create body's
/// schema: the same fields, none of them required, `park_code` left out (a
/// record keeps its park). A field that may be cleared is nullable exactly
/// as in the create body; one that is not nullable cannot be cleared.
pub fn patch_schema(mut schema: RefOr<Schema>) -> RefOr<Schema> {
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.required.clear();
        object.properties.remove("park_code");
        object.description = Some(
            "The fields to change (JSON merge patch): a field left out keeps its value, `null` clears a \
             nullable field; a field that is not nullable cannot be cleared."
                .into(),
        );
        object.example = None;
        object.examples.clear();
    }
    schema
}

/// Declares `$patch`, the documented `PATCH` body of the record whose
/// create body is `$fields` (see [`patch_schema`]). utoipa documents only
/// types it can name, so each record names its patch.
macro_rules! patch_body {
    ($patch:ident for $fields:ty) => {
        #[doc = concat!("The documented `PATCH` body made from [`", stringify!($fields), "`].")]
        pub struct $patch;

        impl utoipa::PartialSchema for $patch {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::records::patch_schema(<$fields as utoipa::PartialSchema>::schema())
            }
        }

        impl utoipa::ToSchema for $patch {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$fields as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

pub(crate) use patch_body;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        name: String,
        notes: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
    }

    fn patch(json: Value) -> Value {
        json
    }

    fn current() -> Fields {
        Fields { name: "a".into(), notes: Some("n".into()), tags: vec!["x".into()] }
    }

    #[test]
    fn members_replace_clear_or_keep() {
        let merged = merge(&current(), patch(serde_json::json!({"notes": null, "tags": ["y"]}))).ok();
        assert_eq!(merged, Some(Fields { name: "a".into(), notes: None, tags: vec!["y".into()] }));
    }

    #[test]
    fn required_fields_cannot_be_cleared() {
        for field in ["name", "tags"] {
            let err = merge(&current(), patch(serde_json::json!({field: null}))).err();
            let errors = match err {
                Some(ApiError::Invalid(errors)) => errors,
                other => panic!("expected 422, got {other:?}"),
            };
            assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), (field, "not_null"));
        }
    }

    #[test]
    fn dates_outside_the_range_are_named_wherever_they_are() {
        let err = merge(&current(), patch(serde_json::json!({"notes": "-5000-01-01"}))).err();
        assert!(matches!(err, Some(ApiError::Invalid(ref e)) if e[0].field == "notes" && e[0].code == "date_range"));
        let err = decode::<Value>(serde_json::json!({"items": [{"on": "2101-01-01"}]})).err();
        assert!(matches!(err, Some(ApiError::Invalid(ref e)) if e[0].field == "items[0].on"));
        assert!(decode::<Value>(serde_json::json!({"on": "2026-11-28", "name": "2026 计划"})).is_ok());
    }

    #[test]
    fn unknown_members_are_named() {
        let err = merge(&current(), patch(serde_json::json!({"colour": "red"}))).err();
        assert!(matches!(err, Some(ApiError::Invalid(ref e)) if e[0].field == "colour" && e[0].code == "unknown_field"));
    }
}
