//! The delivery worker: a task inside the service that serves several due
//! hooks at once (at most `WebhookOptions::concurrency`, see `outbox::claim`),
//! sends each hook's next events in feed order, signed, and logs every
//! attempt. A hook is held by one delivery at a time (its lease), so its
//! events stay in order; and one park's hooks hold at most half of the
//! places, so a park whose receivers hang delays only itself. Database work
//! runs on the blocking pool, never on the HTTP workers. Several instances
//! may run it together: a hook is held by one worker at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::outbox::{self, Failure};
use super::store::{DeliveryRow, HookRow};
use super::target::{self, GuardedResolver};
use super::{events, light_days, signature, WebhookOptions};
use crate::changes;
use crate::clock;
use crate::db::{self, DbPool};
use crate::error::ApiError;

/// Events read for a hook at once.
const BATCH: i64 = 50;

/// Stops the worker (after the attempts in flight).
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

/// The park a hook belongs to (`None`: the province's hooks for every park).
type Park = Option<String>;

async fn run(pool: DbPool, client: reqwest::Client, options: WebhookOptions, mut stopped: watch::Receiver<bool>) {
    let worker = Arc::new(Worker { owner: uuid::Uuid::now_v7().to_string(), pool, client, options });
    let mut in_flight = InFlight::default();
    let mut passed: Option<chrono::NaiveDate> = None;
    while !*stopped.borrow() {
        // Once a day (and at start): the lights that turned since the last pass.
        let today = worker.options.clock.today();
        if passed.is_none_or(|day| day < today) {
            match db::run_blocking(&worker.pool, move |conn| light_days::pass_days(conn, today)).await {
                Ok(_) => passed = Some(today),
                Err(err) => tracing::warn!(error = %err, "the daily pass of lights failed; will retry"),
            }
        }
        if let Err(err) = worker.fill(&mut in_flight).await {
            tracing::warn!(error = %err, "webhook claim failed; will retry");
        }
        // A finished delivery frees a place at once; new events wait for the poll.
        tokio::select! {
            Some(done) = in_flight.tasks.join_next_with_id(), if !in_flight.tasks.is_empty() => in_flight.finished(done),
            () = stop_or_poll(&mut stopped, worker.options.poll) => {}
        }
    }
    // Stopping: the attempts in flight end within the timeout and release their hooks.
    while let Some(done) = in_flight.tasks.join_next_with_id().await {
        in_flight.finished(done);
    }
}

/// Waits for the poll interval, or less when told to stop. A worker whose
/// handle was dropped (the server kept running without it) is never told
/// to stop: it waits the whole interval instead of spinning.
async fn stop_or_poll(stopped: &mut watch::Receiver<bool>, poll: Duration) {
    if stopped.has_changed().is_err() {
        actix_web::rt::time::sleep(poll).await;
    } else {
        let _ = actix_web::rt::time::timeout(poll, stopped.changed()).await;
    }
}

/// The deliveries running now, each serving one hook, and their hooks' parks.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    parks: HashMap<tokio::task::Id, Park>,
}

impl InFlight {
    fn of_park(&self, park: &Park) -> usize {
        self.parks.values().filter(|p| *p == park).count()
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            // Only a panic ends a delivery this way; its hook waits for its lease to run out.
            Err(err) => {
                tracing::error!(error = %err, "webhook delivery task failed");
                err.id()
            }
        };
        self.parks.remove(&id);
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
    /// Why it failed, as a coarse class (see [`error_class`]); the detail
    /// goes to the server's log only.
    error: Option<&'static str>,
    took: Duration,
}

impl Worker {
    /// Claims due hooks until every place is taken or none is due, and
    /// starts a delivery for each. A hook of a park that already holds its
    /// share of places is handed back (behind the other due hooks).
    async fn fill(self: &Arc<Self>, in_flight: &mut InFlight) -> Result<(), ApiError> {
        let limit = self.options.concurrency.max(1);
        let share = (limit / 2).max(1);
        let mut handed_back: Vec<String> = Vec::new();
        while in_flight.tasks.len() < limit {
            let (owner, lease, now) = (self.owner.clone(), self.options.lease, clock::now());
            let Some(hook) = db::run_blocking(&self.pool, move |conn| outbox::claim(conn, &owner, now, lease)).await? else { break };
            let park = hook.park_code.clone();
            if in_flight.of_park(&park) >= share {
                let again = handed_back.contains(&hook.id);
                let (id, owner, position) = (hook.id.clone(), self.owner.clone(), (hook.cursor_tx, hook.cursor_seq));
                db::run_blocking(&self.pool, move |conn| outbox::release(conn, &id, &owner, position, clock::now())).await?;
                if again {
                    break; // only hooks of full parks are due
                }
                handed_back.push(hook.id);
                continue;
            }
            let worker = self.clone();
            let task = in_flight.tasks.spawn(async move {
                let id = hook.id.clone();
                match worker.serve(hook).await {
                    Ok(0) => {}
                    Ok(_) => worker.prune(id).await,
                    Err(err) => tracing::warn!(webhook = %id, error = %err, "webhook delivery failed; the hook is retried when its lease ends"),
                }
            });
            in_flight.parks.insert(task.id(), park);
        }
        Ok(())
    }

    /// Keeps the newest `deliveries_kept` attempts of hook `id`.
    async fn prune(&self, id: String) {
        let kept = self.options.deliveries_kept;
        if let Err(err) = db::run_blocking(&self.pool, move |conn| outbox::prune(conn, &id, kept)).await {
            tracing::warn!(error = %err, "pruning a webhook's delivery log failed");
        }
    }

    /// Sends `hook`'s next events until one fails, then releases it; the
    /// number of attempts logged.
    async fn serve(&self, hook: HookRow) -> Result<usize, ApiError> {
        let wanted = hook.event_names()?;
        let start = (hook.cursor_tx, hook.cursor_seq);
        let park = hook.park_code.clone();
        let batch = db::run_blocking(&self.pool, move |conn| changes::settled_after(conn, start, park.as_deref(), BATCH)).await?;
        let mut position = start;
        let mut attempts = hook.attempts;
        let mut failing_since = hook.failing_since;
        let mut logged = 0;
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
            logged += 1;
            let attempt = DeliveryRow {
                id: uuid::Uuid::now_v7().to_string(),
                webhook_id: hook.id.clone(),
                event_id: row.id.clone(),
                event: name.to_owned(),
                attempt: attempts,
                at: clock::now(),
                status_code: outcome.status.map(i32::from),
                ok: outcome.error.is_none(),
                error: outcome.error.map(str::to_owned),
                duration_ms: outcome.took.as_millis().min(i32::MAX as u128) as i32,
            };
            let (owner, lease) = (self.owner.clone(), self.options.lease);
            if outcome.error.is_none() {
                let kept = db::run_blocking(&self.pool, move |conn| outbox::delivered(conn, &owner, attempt, at, lease)).await?;
                if !kept {
                    return Ok(logged);
                }
                (position, attempts, failing_since) = (at, 0, None);
            } else {
                let failure = Failure { attempt, park_code: hook.park_code.clone(), attempts, failing_since, position };
                let (base, pause_after) = (self.options.retry_base, self.options.pause_after);
                db::run_blocking(&self.pool, move |conn| outbox::failed(conn, &owner, failure, base, pause_after)).await?;
                return Ok(logged);
            }
        }
        let (id, owner, now) = (hook.id.clone(), self.owner.clone(), clock::now());
        db::run_blocking(&self.pool, move |conn| outbox::release(conn, &id, &owner, position, now)).await?;
        Ok(logged)
    }

    /// One signed POST of `body`; a 2xx is a success, anything else a failure.
    async fn send(&self, hook: &HookRow, event_id: &str, body: &[u8]) -> Outcome {
        let started = Instant::now();
        let failed = |class: &'static str| Outcome { status: None, error: Some(class), took: started.elapsed() };
        // Names are checked by the client's resolver; address literals here.
        let url = match target::parse_url(&hook.url).and_then(|url| target::check_literal(&url, &self.options.allowed).map(|()| url)) {
            Ok(url) => url,
            Err(refused) => {
                tracing::info!(webhook = %hook.id, error = %refused, "webhook URL refused at delivery");
                return failed(FORBIDDEN);
            }
        };
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
                let error = match status {
                    s if s.is_success() => None,
                    s if s.is_redirection() => Some("redirect"),
                    _ => Some("http_status"),
                };
                Outcome { status: Some(status.as_u16()), error, took: started.elapsed() }
            }
            Err(err) => {
                let class = error_class(&err);
                tracing::info!(webhook = %hook.id, class, error = %chain(&err), "webhook delivery failed");
                failed(class)
            }
        }
    }
}

/// The class of an attempt refused because its host is not allowed.
const FORBIDDEN: &str = "forbidden_address";

/// What the delivery log says of a request that got no answer: `timeout`,
/// `forbidden_address`, `tls`, `connect`, `redirect`, `body` or `request`.
/// Coarse on purpose: a park's administrator reads the log, and the full
/// error (refused, reset, no route, which address) would let a hook probe
/// ports and hosts.
fn error_class(err: &reqwest::Error) -> &'static str {
    let mut causes = std::iter::successors(std::error::Error::source(err), |cause| cause.source());
    let refused = causes.any(|cause| cause.downcast_ref::<target::Refused>().is_some());
    let text = chain(err).to_ascii_lowercase();
    if err.is_timeout() {
        "timeout"
    } else if refused {
        FORBIDDEN
    } else if ["certificate", "tls", "handshake"].iter().any(|word| text.contains(word)) {
        "tls"
    } else if err.is_connect() {
        "connect"
    } else if err.is_redirect() {
        "redirect"
    } else if err.is_body() || err.is_decode() {
        "body"
    } else {
        "request"
    }
}

/// An error with its causes ("error sending request: … : connection refused"), for the server's log.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
