//! The delivery worker: a task inside the service that takes due hooks one
//! at a time (see `outbox::claim`), sends each hook's next events in feed
//! order, signed, and logs every attempt. Database work runs on the blocking
//! pool, never on the HTTP workers. Several instances may run it together:
//! a hook is held by one worker at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::json;
use tokio::sync::watch;

use super::outbox::{self, Failure};
use super::store::{DeliveryRow, HookRow};
use super::target::{self, GuardedResolver};
use super::{events, signature, WebhookOptions};
use crate::changes;
use crate::clock;
use crate::db::{self, DbPool};
use crate::error::ApiError;

/// Events read for a hook at once.
const BATCH: i64 = 50;
/// Hooks served in one round before the worker checks whether to stop.
const HOOKS_PER_ROUND: usize = 100;
/// The longest error text kept with an attempt.
const ERROR_CHARS: usize = 500;

/// Stops the worker (after the attempt in flight).
#[derive(Clone)]
pub struct WebhookWorker {
    stop: Arc<watch::Sender<bool>>,
}

impl WebhookWorker {
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// The HTTP client of deliveries: no redirects, no proxies, short timeouts,
/// and names resolved only to addresses the hook may reach.
fn client(options: &WebhookOptions) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(5)))
        .dns_resolver(Arc::new(GuardedResolver { allowed: options.allowed.clone() }))
        .user_agent(concat!("invest-registry-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Starts the worker on the current runtime.
pub fn spawn(pool: DbPool, options: WebhookOptions) -> Result<WebhookWorker, String> {
    let client = client(&options).map_err(|e| format!("webhook client: {e}"))?;
    let (stop, stopped) = watch::channel(false);
    actix_web::rt::spawn(run(pool, client, options, stopped));
    Ok(WebhookWorker { stop: Arc::new(stop) })
}

async fn run(pool: DbPool, client: reqwest::Client, options: WebhookOptions, mut stopped: watch::Receiver<bool>) {
    let worker = Worker { owner: uuid::Uuid::now_v7().to_string(), pool, client, options };
    while !*stopped.borrow() {
        let busy = match worker.round().await {
            Ok(busy) => busy,
            Err(err) => {
                tracing::warn!(error = %err, "webhook round failed; will retry");
                false
            }
        };
        if !busy {
            // Wakes early when told to stop.
            let _ = actix_web::rt::time::timeout(worker.options.poll, stopped.changed()).await;
        }
    }
}

struct Worker {
    /// This worker's name on the hooks it holds.
    owner: String,
    pool: DbPool,
    client: reqwest::Client,
    options: WebhookOptions,
}

/// How one attempt went.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    took: Duration,
}

impl Worker {
    /// Serves the due hooks; true when one has more events waiting.
    async fn round(&self) -> Result<bool, ApiError> {
        let mut busy = false;
        for _ in 0..HOOKS_PER_ROUND {
            let (owner, lease, now) = (self.owner.clone(), self.options.lease, clock::now());
            let Some(hook) = db::run_blocking(&self.pool, move |conn| outbox::claim(conn, &owner, now, lease)).await? else { break };
            busy |= self.serve(hook).await?;
        }
        Ok(busy)
    }

    /// Sends `hook`'s next events until one fails; true when more are waiting.
    async fn serve(&self, hook: HookRow) -> Result<bool, ApiError> {
        let wanted = hook.event_names()?;
        let start = (hook.cursor_tx, hook.cursor_seq);
        let park = hook.park_code.clone();
        let batch = db::run_blocking(&self.pool, move |conn| changes::settled_after(conn, start, park.as_deref(), BATCH)).await?;
        let full = batch.len() as i64 == BATCH;
        let mut position = start;
        let mut attempts = hook.attempts;
        let mut failing_since = hook.failing_since;
        for (row, at) in batch {
            let described = events::describe(&row)?.filter(|(name, _)| events::wanted(&wanted, name));
            let Some((name, data)) = described else {
                position = at;
                continue;
            };
            let body = serde_json::to_vec(&json!({
                "id": row.id,
                "event": name,
                "occurred_at": clock::utc(row.at),
                "park_code": row.park_code,
                "data": data,
            }))?;
            let outcome = self.send(&hook, &row.id, &body).await;
            attempts += 1;
            let attempt = DeliveryRow {
                id: uuid::Uuid::now_v7().to_string(),
                webhook_id: hook.id.clone(),
                event_id: row.id.clone(),
                event: name.to_owned(),
                attempt: attempts,
                at: clock::now(),
                status_code: outcome.status.map(i32::from),
                ok: outcome.error.is_none(),
                error: outcome.error.clone(),
                duration_ms: outcome.took.as_millis().min(i32::MAX as u128) as i32,
            };
            let (owner, lease) = (self.owner.clone(), self.options.lease);
            if outcome.error.is_none() {
                let kept = db::run_blocking(&self.pool, move |conn| outbox::delivered(conn, &owner, attempt, at, lease)).await?;
                if !kept {
                    return Ok(false);
                }
                (position, attempts, failing_since) = (at, 0, None);
            } else {
                let failure = Failure { attempt, park_code: hook.park_code.clone(), attempts, failing_since, position };
                let (base, pause_after) = (self.options.retry_base, self.options.pause_after);
                db::run_blocking(&self.pool, move |conn| outbox::failed(conn, &owner, failure, base, pause_after)).await?;
                return Ok(false);
            }
        }
        let (id, owner, now) = (hook.id.clone(), self.owner.clone(), clock::now());
        db::run_blocking(&self.pool, move |conn| outbox::release(conn, &id, &owner, position, now)).await?;
        Ok(full)
    }

    /// One signed POST of `body`; a 2xx is a success, anything else a failure.
    async fn send(&self, hook: &HookRow, event_id: &str, body: &[u8]) -> Outcome {
        let started = Instant::now();
        let failed = |error: String| Outcome { status: None, error: Some(error), took: started.elapsed() };
        let url = match target::parse_url(&hook.url) {
            Ok(url) => url,
            Err(refused) => return failed(refused.message),
        };
        // Names are checked by the client's resolver; address literals here.
        if let Err(refused) = target::check_literal(&url, &self.options.allowed) {
            return failed(refused.message);
        }
        let signed = signature::sign(&hook.secret, chrono::Utc::now().timestamp(), body);
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(signature::HEADER, signed)
            .header("X-Webhook-Id", &hook.id)
            .header("X-Event-Id", event_id)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(answer) => {
                let status = answer.status();
                let error = (!status.is_success()).then(|| format!("the receiver answered {status}"));
                Outcome { status: Some(status.as_u16()), error, took: started.elapsed() }
            }
            Err(err) => failed(chain(&err)),
        }
    }
}

/// An error with its causes ("error sending request: … : connection refused").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(ERROR_CHARS).collect()
}
