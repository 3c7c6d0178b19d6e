//! Taiwan's top-100 groups (台湾地区前百大企业): a reference list the province
//! keeps (from a published ranking, e.g. 中华征信所《台湾地区大型集团企业
//! 研究》), which investors link to. No list ships with the code: the province
//! loads the real one. The target `taiwan_top100_present` counts the groups
//! of this list with a linked, settled investor.

pub mod handlers;
mod queries;

pub use queries::{ENTITY, candidates, create, delete, get, list, update};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::FieldError;

/// One group of the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Top100 {
    pub id: String,
    /// Its rank in the list.
    #[schema(example = 3)]
    pub rank: i32,
    #[schema(example = "示例集团（演示数据）")]
    pub group_name: String,
    pub group_name_en: Option<String>,
    /// The group's flagship 統一編號, when known.
    pub taiwan_business_id: Option<String>,
    /// The companies of the group, for matching investors.
    pub member_names: Vec<String>,
    #[schema(example = "中华征信所《台湾地区大型集团企业研究》")]
    pub list_source: String,
    #[schema(example = 2024)]
    pub list_year: i32,
    /// How many live investors are linked to this group.
    pub linked_investors: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
}

/// The body of `POST /top100`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rank": 1, "group_name": "示例电子集团（演示数据）", "group_name_en": "Example Electronics Group (demo)",
    "taiwan_business_id": "04595257", "member_names": ["示例精密工业股份有限公司"],
    "list_source": "中华征信所《台湾地区大型集团企业研究》", "list_year": 2024}))]
pub struct NewTop100 {
    pub rank: i32,
    pub group_name: String,
    pub group_name_en: Option<String>,
    pub taiwan_business_id: Option<String>,
    #[serde(default)]
    pub member_names: Vec<String>,
    pub list_source: String,
    pub list_year: i32,
}

/// The body of `PATCH /top100/{id}`: any of these fields; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// `value_type`: a field `null` cannot clear is documented as not nullable.
pub struct Top100Patch {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = i32)]
    pub rank: Option<i32>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = String)]
    pub group_name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub group_name_en: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub taiwan_business_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = Vec<String>)]
    pub member_names: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = String)]
    pub list_source: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = i32)]
    pub list_year: Option<i32>,
}

/// Filters of `GET /top100`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Top100Filter {
    /// Only this edition of the list.
    pub list_year: Option<i32>,
}

/// An investor that may belong to a group and is not linked to the list yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub investor_id: String,
    pub park_code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub taiwan_business_id: Option<String>,
    pub status: String,
    /// `taiwan_business_id` or `name`.
    #[schema(example = "name")]
    pub matched_by: String,
    /// The group or member name (or the 統一編號) it matched.
    pub matched: String,
}

/// The writable fields, whole and normalised.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fields {
    pub rank: i32,
    pub group_name: String,
    pub group_name_en: Option<String>,
    pub taiwan_business_id: Option<String>,
    pub member_names: Vec<String>,
    pub list_source: String,
    pub list_year: i32,
}

fn clean(text: &str) -> String {
    text.trim().to_owned()
}

fn clean_opt(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

impl NewTop100 {
    pub(crate) fn into_fields(self) -> Fields {
        Fields {
            rank: self.rank,
            group_name: clean(&self.group_name),
            group_name_en: clean_opt(self.group_name_en),
            taiwan_business_id: clean_opt(self.taiwan_business_id),
            member_names: self.member_names.iter().map(|m| clean(m)).collect(),
            list_source: clean(&self.list_source),
            list_year: self.list_year,
        }
    }
}

impl Top100Patch {
    pub(crate) fn apply(self, current: &Top100) -> Fields {
        Fields {
            rank: self.rank.unwrap_or(current.rank),
            group_name: self.group_name.map(|g| clean(&g)).unwrap_or_else(|| current.group_name.clone()),
            group_name_en: match self.group_name_en {
                Some(v) => clean_opt(v),
                None => current.group_name_en.clone(),
            },
            taiwan_business_id: match self.taiwan_business_id {
                Some(v) => clean_opt(v),
                None => current.taiwan_business_id.clone(),
            },
            member_names: self
                .member_names
                .map(|m| m.iter().map(|n| clean(n)).collect())
                .unwrap_or_else(|| current.member_names.clone()),
            list_source: self.list_source.map(|s| clean(&s)).unwrap_or_else(|| current.list_source.clone()),
            list_year: self.list_year.unwrap_or(current.list_year),
        }
    }
}

const MAX_MEMBERS: usize = 200;

fn text_rule(field: String, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let n = value.chars().count();
    if n == 0 || n > max || value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "length", format!("must be 1 to {max} characters without control characters")));
    }
}

impl Fields {
    /// Every broken rule, each naming its field; normalises the 統一編號.
    pub(crate) fn check(&mut self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=1000).contains(&self.rank) {
            errors.push(FieldError::new("rank", "range", "must be between 1 and 1000"));
        }
        text_rule("group_name".into(), &self.group_name, 200, &mut errors);
        if let Some(en) = &self.group_name_en {
            text_rule("group_name_en".into(), en, 200, &mut errors);
        }
        if let Some(ubn) = &self.taiwan_business_id {
            match crate::investors::identifiers::taiwan_business_id(ubn) {
                Ok(valid) => self.taiwan_business_id = Some(valid),
                Err(_) => errors.push(FieldError::new(
                    "taiwan_business_id",
                    "checksum",
                    "must be a valid 統一編號: 8 digits with its check digit",
                )),
            }
        }
        if self.member_names.len() > MAX_MEMBERS {
            errors.push(FieldError::new("member_names", "length", format!("must list at most {MAX_MEMBERS} companies")));
        }
        for (i, member) in self.member_names.iter().enumerate() {
            text_rule(format!("member_names[{i}]"), member, 200, &mut errors);
        }
        text_rule("list_source".into(), &self.list_source, 500, &mut errors);
        if !(1990..=2100).contains(&self.list_year) {
            errors.push(FieldError::new("list_year", "range", "must be a year between 1990 and 2100"));
        }
        errors
    }

    /// The folded names an investor's name is matched against (the group's
    /// and its members', in either script, without legal-form suffixes).
    pub(crate) fn name_keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<(String, String)> = std::iter::once(&self.group_name)
            .chain(self.group_name_en.iter())
            .chain(self.member_names.iter())
            .map(|name| (crate::investors::name_key(name), name.clone()))
            .filter(|(key, _)| !key.is_empty())
            .collect();
        keys.sort();
        keys.dedup_by(|a, b| a.0 == b.0);
        keys
    }
}
