//! The parks of the cooperation zone. Parks are reference data: every caller
//! may list them; records inside a park are what access control guards; only
//! provincial_admin creates or changes a park.

pub mod handlers;
mod queries;

pub use queries::{ENTITY, create, exists, find, list, update};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::vocab::Industry;

/// Is `code` shaped like a park code (`yueyang`: lower-case ASCII letters,
/// digits, `-` or `_`, 2 to 32 long)? Anything else cannot name a park and
/// is never sent to the database.
pub fn is_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Park {
    #[schema(example = "yueyang")]
    pub code: String,
    #[schema(example = "岳阳产业园（湖南城陵矶新港区）")]
    pub name: String,
    #[schema(example = "Yueyang Industrial Park (Chenglingji New Port Area, Hunan)")]
    pub name_en: String,
    /// The industries the policy asks this park to focus on.
    pub focus_industries: Vec<Industry>,
    /// An inactive park takes no new records' attention but keeps its history.
    pub active: bool,
    /// The park's Taiwan-funded output value in 2020 from the official
    /// statistics (whole yuan); when set, the output-ratio target uses it
    /// instead of the registry's own 2020 figures.
    #[schema(example = 12_500_000_000_i64)]
    pub baseline_output_2020_cny: Option<i64>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// The body of `POST /parks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "changde", "name": "常德产业园", "name_en": "Changde Industrial Park",
    "focus_industries": ["new_materials"], "baseline_output_2020_cny": 800000000}))]
pub struct NewPark {
    pub code: String,
    pub name: String,
    /// Defaults to `name`.
    pub name_en: Option<String>,
    #[serde(default)]
    pub focus_industries: Vec<Industry>,
    /// Default true.
    pub active: Option<bool>,
    pub baseline_output_2020_cny: Option<i64>,
}

/// The body of `PATCH /parks/{code}`: any of these fields; `null` clears the baseline.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"baseline_output_2020_cny": 12500000000_i64}))]
// `value_type`: a field `null` cannot clear is documented as not nullable.
pub struct ParkPatch {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = String)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = String)]
    pub name_en: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = Vec<Industry>)]
    pub focus_industries: Option<Vec<Industry>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = bool)]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<i64>)]
    pub baseline_output_2020_cny: Option<Option<i64>>,
}

/// The writable fields of a park, whole.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParkFields {
    pub name: String,
    pub name_en: String,
    pub focus_industries: Vec<Industry>,
    pub active: bool,
    pub baseline_output_2020_cny: Option<i64>,
}

/// The largest output figure accepted: 10¹⁵ yuan is far beyond any park.
const MAX_CNY: i64 = 1_000_000_000_000_000;

impl ParkFields {
    pub(crate) fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (field, value) in [("name", &self.name), ("name_en", &self.name_en)] {
            let n = value.chars().count();
            if n == 0 || n > 200 || value.chars().any(char::is_control) {
                errors.push(FieldError::new(field, "length", "must be 1 to 200 characters without control characters"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(i) = self.focus_industries.iter().position(|x| !seen.insert(*x)) {
            errors.push(FieldError::new(format!("focus_industries[{i}]"), "duplicate", "lists an industry twice"));
        }
        if self.baseline_output_2020_cny.is_some_and(|v| !(0..=MAX_CNY).contains(&v)) {
            errors.push(FieldError::new("baseline_output_2020_cny", "range", format!("must be between 0 and {MAX_CNY} yuan")));
        }
        errors
    }
}

impl ParkPatch {
    pub(crate) fn apply(self, current: &Park) -> ParkFields {
        ParkFields {
            name: self.name.map(|n| n.trim().to_owned()).unwrap_or_else(|| current.name.clone()),
            name_en: self.name_en.map(|n| n.trim().to_owned()).unwrap_or_else(|| current.name_en.clone()),
            focus_industries: self.focus_industries.unwrap_or_else(|| current.focus_industries.clone()),
            active: self.active.unwrap_or(current.active),
            baseline_output_2020_cny: self.baseline_output_2020_cny.unwrap_or(current.baseline_output_2020_cny),
        }
    }
}
