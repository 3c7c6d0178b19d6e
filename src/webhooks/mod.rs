//! Webhooks (DESIGN.md, "Feed, statistics, webhooks, dashboard"): a park's
//! or the province's systems are told of changes as they commit.
//!
//! The audit trail is the outbox. Every change writes its audit event in its
//! own transaction, so a rolled-back change leaves no event and a committed
//! one cannot lose it. Each hook keeps a cursor into the change feed
//! (`crate::changes`), which hands out events in commit order and, on
//! PostgreSQL, only once no older transaction can still add one; the worker
//! ([`worker`]) moves the cursor past an event only after the receiver
//! answered 2xx. Hence at least once, and in feed order (so in order per
//! record). What a delivery says is in [`events`]; where it may go, in [`target`].

pub mod events;
pub mod handlers;
pub mod light_days;
mod outbox;
pub mod signature;
pub mod store;
pub mod target;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use target::AllowedHosts;
pub use worker::WebhookWorker;

/// How deliveries run.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Hosts and addresses hooks may reach although they are not public.
    pub allowed: Arc<AllowedHosts>,
    /// The wait before the first retry; it doubles with each failure (at most an hour).
    pub retry_base: Duration,
    /// How often an idle worker looks for new events.
    pub poll: Duration,
    /// The longest a receiver may take to answer.
    pub timeout: Duration,
    /// How long a worker holds a hook without logging an attempt.
    pub lease: Duration,
    /// A hook failing this long is paused.
    pub pause_after: Duration,
    /// Hooks served at once (one delivery in flight per hook; one park's
    /// hooks take at most half of these places).
    pub concurrency: usize,
    /// Attempts kept in each hook's delivery log (older ones are pruned).
    pub deliveries_kept: i64,
    /// "Today" for the daily pass of lights ([`light_days`]); the service's clock.
    pub clock: crate::clock::Clock,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            allowed: Arc::new(AllowedHosts::default()),
            retry_base: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            pause_after: Duration::from_secs(24 * 3600),
            concurrency: 8,
            deliveries_kept: 1000,
            clock: crate::clock::Clock::default(),
        }
    }
}
