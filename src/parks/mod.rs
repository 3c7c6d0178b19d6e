//! The parks of the cooperation zone. Parks are reference data: every caller
//! may list them; records inside a park are what access control guards.

pub mod handlers;
mod queries;

pub use queries::{exists, find, list};

use serde::Serialize;
use utoipa::ToSchema;

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
}
