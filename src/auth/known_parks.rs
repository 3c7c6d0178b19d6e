//! The parks an outside provider's token may name. The provider is trusted
//! for who the caller is, not for which parks exist: a park claim that names
//! no park is refused like any other bad claim, instead of acting in a park
//! of nobody's (and writing one more statement text per unknown code, where
//! reads write the caller's park into SQL: `db::park_literal`).

use moka::sync::Cache;

use crate::db::{self, DbPool};
use crate::error::ApiError;

/// Park codes found in the parks table. A park is never deleted and its
/// code never changes, so a code once found stays valid for good.
pub struct KnownParks {
    found: Cache<String, ()>,
}

impl Default for KnownParks {
    fn default() -> Self {
        Self { found: Cache::new(1_024) }
    }
}

impl KnownParks {
    /// 401 unless `park` is a park of the registry.
    pub async fn require(&self, pool: &DbPool, park: &str) -> Result<(), ApiError> {
        if self.found.contains_key(park) {
            return Ok(());
        }
        let code = park.to_owned();
        if !db::run(pool, move |conn| crate::parks::exists(conn, &code)).await? {
            return Err(ApiError::Unauthorized("invalid token: the park claim names no park".into()));
        }
        self.found.insert(park.to_owned(), ());
        Ok(())
    }
}
