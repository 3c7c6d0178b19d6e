//! Remembering, for a few seconds, that a token passed its live check.
//!
//! Without it every request pays two queries (revoked jti, user row) before
//! its own work: in the benchmark that was most of a read's cost. Changes made
//! through this instance (logout, a user's role, park, password or active
//! flag) forget everything at once, so they still take effect on the next
//! request; another instance sharing the database sees them within the TTL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use super::Caller;

/// Tokens checked recently, by issuer and jti (see [`Rechecks::key`]).
pub struct Rechecks {
    passed: Option<Cache<String, Caller>>,
    /// Bumped by every revocation: a check that overlapped one is not kept.
    epoch: AtomicU64,
}

impl Rechecks {
    /// Keeps checks for `ttl`; zero checks every request.
    pub fn new(ttl: Duration) -> Self {
        let passed = (!ttl.is_zero()).then(|| Cache::builder().max_capacity(100_000).time_to_live(ttl).build());
        Self { passed, epoch: AtomicU64::new(0) }
    }

    /// Local and external tokens could share a jti; the key keeps them apart.
    pub fn key(external: bool, jti: &str) -> String {
        format!("{}:{jti}", if external { "external" } else { "local" })
    }

    pub fn get(&self, key: &str) -> Option<Caller> {
        self.passed.as_ref()?.get(key)
    }

    /// The epoch to hand back to [`Rechecks::keep`] after checking.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Remembers a passed check begun at `epoch`, unless a revocation came
    /// since: then the check may have read the state before it.
    pub fn keep(&self, key: String, epoch: u64, caller: &Caller) {
        let Some(passed) = &self.passed else { return };
        passed.insert(key.clone(), caller.clone());
        // A revocation between the check and the insert either bumped the
        // epoch before this load (we take the entry back out) or clears the
        // cache after the insert.
        if self.epoch() != epoch {
            passed.invalidate(&key);
        }
    }

    /// Call after a revocation has committed.
    pub fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(passed) = &self.passed {
            passed.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller { jti: Some("a".into()), ..Caller::system("u") }
    }

    #[test]
    fn a_kept_check_is_found_until_forgotten() {
        let rechecks = Rechecks::new(Duration::from_secs(60));
        rechecks.keep("a".into(), rechecks.epoch(), &caller());
        assert_eq!(rechecks.get("a").map(|c| c.username), Some("u".to_owned()));
        rechecks.forget_all();
        assert!(rechecks.get("a").is_none());
    }

    #[test]
    fn a_check_overlapping_a_revocation_is_not_kept() {
        let rechecks = Rechecks::new(Duration::from_secs(60));
        let began = rechecks.epoch();
        rechecks.forget_all();
        rechecks.keep("a".into(), began, &caller());
        assert!(rechecks.get("a").is_none());
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let rechecks = Rechecks::new(Duration::ZERO);
        rechecks.keep("a".into(), rechecks.epoch(), &caller());
        assert!(rechecks.get("a").is_none());
    }

    #[test]
    fn checks_expire() {
        let rechecks = Rechecks::new(Duration::from_millis(50));
        rechecks.keep("a".into(), rechecks.epoch(), &caller());
        std::thread::sleep(Duration::from_millis(120));
        assert!(rechecks.get("a").is_none());
    }
}
