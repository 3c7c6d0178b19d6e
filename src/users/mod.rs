//! Users of the service: who they are, their role and park. Provincial
//! administrators manage every user; park administrators their park's.

pub mod handlers;
mod queries;

pub use queries::{create, NewUser};

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::vocab::Role;

/// A user as every read returns it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    #[schema(example = "yueyang.zhang")]
    pub username: String,
    #[schema(example = "张伟")]
    pub display_name: String,
    pub role: Role,
    /// The user's park; null for provincial roles.
    #[schema(example = "yueyang")]
    pub park_code: Option<String>,
    /// An inactive user cannot log in and its tokens no longer work.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
}
