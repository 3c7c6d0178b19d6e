//! The state every handler can reach. It sits low in the module tree so that
//! handlers depend on it without depending on the server that builds it.

use std::sync::Arc;

use crate::auth::{HashGate, KnownParks, Rechecks, TokenKeys};
use crate::clock::Clock;
use crate::db::DbPool;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub keys: Arc<TokenKeys>,
    pub rechecks: Arc<Rechecks>,
    /// The parks an outside provider's token may name.
    pub known_parks: Arc<KnownParks>,
    /// Bounds password hashing (logins).
    pub hashing: Arc<HashGate>,
    /// "Today" for the rules that age: claims and monitoring lights.
    pub clock: Clock,
    /// Hosts webhooks may reach although they are not public (`WEBHOOK_ALLOWED_HOSTS`).
    pub webhook_targets: Arc<crate::webhooks::AllowedHosts>,
}

impl AppState {
    /// A read connection for this caller: the read replica when its rule
    /// allows (`db::replica`: never before the caller's own writes are on
    /// it), else the primary. For lists, searches, counts, statistics and
    /// targets; reads that decide a write use `pool`.
    pub fn reader(&self, caller: &crate::auth::Caller) -> crate::db::Reader<'_> {
        self.pool.reader(&caller.username)
    }
}
