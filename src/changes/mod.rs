//! The change feed, `GET /changes`: every audit event of the libraries that
//! the caller may see, oldest first, with a cursor that never skips an event
//! nor shows one twice, however writers interleave.
//!
//! Events are read in commit order, not id order. On PostgreSQL an event's
//! position is (tx, seq) and a page only reaches events of transactions older
//! than the oldest one of this database still running: a transaction that
//! began first but commits last would otherwise land behind a cursor that
//! had already moved on. A long write holds the feed back until it ends. On SQLite one writer holds the lock from its first write to its
//! commit, so insert order is commit order (migration 000011 says more).

pub mod handlers;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Action, AuditEvent, Change, EventRow};
use crate::auth::{Caller, ParkScope};
use crate::db::schema::audit_events;
use crate::db::{self, backend_of, DbConnection};
use crate::error::ApiError;
use crate::http::{Limit, TimeBound};

/// The kinds of record the feed carries; a sub-resource's change (contact,
/// follow-up, figure, fund, supervision notice) is an event of its parent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Library {
    Project,
    Investor,
    Talent,
    Park,
    Top100,
    TargetSettings,
    Claim,
    MonitoringRules,
}

impl Library {
    const ALL: [Library; 8] =
        [Self::Project, Self::Investor, Self::Talent, Self::Park, Self::Top100, Self::TargetSettings, Self::Claim, Self::MonitoringRules];

    /// The `entity_type` of its audit events.
    fn entity_type(self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::Investor => "investor",
            Self::Talent => "talent",
            Self::Park => "park",
            Self::Top100 => "top100",
            Self::TargetSettings => "target_settings",
            Self::Claim => "claim",
            Self::MonitoringRules => "monitoring_rules",
        }
    }
}

/// Events that record a read or a sign-in rather than a change.
const NOT_CHANGES: &[&str] = &["login", "login_failed", "logout", "refresh_reuse", "read_personal", "export"];

/// The events of transactions that can no longer commit, on PostgreSQL: `tx`
/// below the oldest transaction still running in this database, as this
/// statement's snapshot sees them. Running transactions of other databases on
/// the cluster (a bulk load elsewhere) are left out so they cannot stall the
/// feed; one that ended since the snapshot was taken cannot be placed, and
/// counts as ours (the next poll passes it).
const SETTLED_ON_POSTGRES: &str = "tx < (\
    SELECT COALESCE(MIN(running::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint) \
    FROM pg_snapshot_xip(pg_current_snapshot()) AS running \
    WHERE NOT EXISTS (\
        SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
        WHERE l.locktype = 'transactionid' \
          AND l.transactionid::text::bigint = running::text::bigint % 4294967296 \
          AND a.datname IS DISTINCT FROM current_database()))";

/// Where to start, what to keep, how many.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// `next_cursor` of the previous page: the feed goes on after it.
    pub cursor: Option<String>,
    /// Without a cursor: start at the first event at or after this time (a
    /// date or RFC 3339 timestamp); without either, at the first event.
    pub since: Option<TimeBound>,
    /// Kinds of record (repeat for several).
    #[serde(default)]
    pub library: Vec<Library>,
    /// Park codes (repeat for several). A park role sees its own park whatever is asked.
    #[serde(default)]
    pub park: Vec<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// One change, as the feed shows it. Personal data is never in it: the trail
/// keeps it masked, and a purge erases it there too.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    #[schema(example = "yueyang.zhang")]
    pub actor: String,
    pub action: Action,
    /// The kind of record (`entity_type` of the trail): one of the `library` values.
    #[schema(value_type = Library)]
    pub library: String,
    pub record_id: String,
    pub park_code: Option<String>,
    pub changes: Vec<Change>,
}

/// A page of the feed. `next_cursor` is always given: ask again with it to
/// get what happened since, even when this page was empty.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    pub items: Vec<ChangeEvent>,
    pub next_cursor: String,
    /// Whether more events are ready now; when false, poll again later.
    pub more: bool,
}

/// A position in the feed: after the event at (tx, seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Position {
    tx: i64,
    seq: i64,
}

impl Position {
    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("f1:{}:{}", self.tx, self.seq))
    }

    fn decode(raw: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::bad_param("cursor", "cursor", "must be a next_cursor this feed returned");
        let text = URL_SAFE_NO_PAD.decode(raw.trim()).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
        let mut parts = text.strip_prefix("f1:").ok_or_else(bad)?.split(':');
        let mut number = || parts.next().and_then(|n| n.parse::<i64>().ok()).ok_or_else(bad);
        let (tx, seq) = (number()?, number()?);
        Ok(Self { tx, seq })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct FeedRow {
    #[diesel(embed)]
    event: EventRow,
    tx: i64,
    seq: i64,
}

/// One page of the feed for `caller`.
pub fn page(conn: &mut DbConnection, caller: &Caller, query: ChangesQuery) -> Result<ChangesPage, ApiError> {
    let limit = Limit::parse(query.limit)?;
    let kept = if query.library.is_empty() { Library::ALL.to_vec() } else { query.library };
    let after = query.cursor.as_deref().filter(|c| !c.trim().is_empty()).map(Position::decode).transpose()?;

    let mut feed = audit_events::table
        .filter(audit_events::action.ne_all(NOT_CHANGES))
        .filter(audit_events::entity_type.eq_any(kept.iter().map(|l| l.entity_type())))
        .into_boxed();
    // A park role sees its park's events; the zone's reference data (top-100
    // list, target settings) belongs to the province.
    if let ParkScope::One(park) = caller.scope() {
        feed = feed.filter(audit_events::park_code.eq(park));
    }
    if !query.park.is_empty() {
        feed = feed.filter(audit_events::park_code.eq_any(query.park));
    }
    match (after, query.since) {
        // A row comparison, so both databases walk the (tx, seq) index from the cursor.
        (Some(p), _) => feed = feed.filter(sql::<Bool>("(tx, seq) > (").bind::<BigInt, _>(p.tx).sql(", ").bind::<BigInt, _>(p.seq).sql(")")),
        (None, Some(since)) => feed = feed.filter(audit_events::at.ge(since.start())),
        (None, None) => {}
    }
    let postgres = backend_of(conn) == db::Backend::Postgres;
    if postgres {
        feed = feed.filter(sql::<Bool>(SETTLED_ON_POSTGRES));
    }
    let mut rows: Vec<FeedRow> = feed
        .order((audit_events::tx.asc(), audit_events::seq.asc()))
        .limit(limit.get() + 1)
        .select(FeedRow::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > limit.get();
    rows.truncate(limit.get() as usize);
    let next = match (rows.last(), after) {
        (Some(last), _) => Position { tx: last.tx, seq: last.seq },
        (None, Some(after)) => after,
        // Nothing since `since` yet: go on from the end of what has settled,
        // not from the start of the trail.
        (None, None) if query.since.is_some() => settled_end(conn, postgres)?,
        (None, None) => Position::default(),
    };
    let items = rows.into_iter().map(event).collect::<Result<_, ApiError>>()?;
    Ok(ChangesPage { items, next_cursor: next.encode(), more })
}

/// The position of the last event that has settled, whoever may see it.
fn settled_end(conn: &mut DbConnection, postgres: bool) -> Result<Position, ApiError> {
    let mut last = audit_events::table.into_boxed();
    if postgres {
        last = last.filter(sql::<Bool>(SETTLED_ON_POSTGRES));
    }
    let found: Option<(i64, i64)> = last
        .order((audit_events::tx.desc(), audit_events::seq.desc()))
        .select((audit_events::tx, audit_events::seq))
        .first(conn)
        .optional()?;
    Ok(found.map(|(tx, seq)| Position { tx, seq }).unwrap_or_default())
}

/// A place in the feed for readers inside the service: `(tx, seq)` of the
/// last event read.
pub(crate) type FeedPosition = (i64, i64);

/// Up to `limit` settled change events after the feed position `after`
/// (`(tx, seq)`), of `park` when given, oldest first, each with its
/// position: what a webhook delivers next. Settled as for `GET /changes`,
/// so a reader that moves on never skips an event of a slower transaction.
pub(crate) fn settled_after(
    conn: &mut DbConnection,
    after: FeedPosition,
    park: Option<&str>,
    limit: i64,
) -> Result<Vec<(EventRow, FeedPosition)>, ApiError> {
    let mut feed = audit_events::table
        .filter(audit_events::action.ne_all(NOT_CHANGES))
        .filter(audit_events::entity_type.eq_any(Library::ALL.iter().map(|l| l.entity_type())))
        .filter(sql::<Bool>("(tx, seq) > (").bind::<BigInt, _>(after.0).sql(", ").bind::<BigInt, _>(after.1).sql(")"))
        .into_boxed();
    if let Some(park) = park {
        feed = feed.filter(audit_events::park_code.eq(park.to_owned()));
    }
    if backend_of(conn) == db::Backend::Postgres {
        feed = feed.filter(sql::<Bool>(SETTLED_ON_POSTGRES));
    }
    let rows: Vec<FeedRow> =
        feed.order((audit_events::tx.asc(), audit_events::seq.asc())).limit(limit).select(FeedRow::as_select()).load(conn)?;
    Ok(rows.into_iter().map(|row| (row.event, (row.tx, row.seq))).collect())
}

/// The feed position of the last settled event: where a new webhook starts.
pub(crate) fn settled_end_position(conn: &mut DbConnection) -> Result<FeedPosition, ApiError> {
    let postgres = backend_of(conn) == db::Backend::Postgres;
    settled_end(conn, postgres).map(|p| (p.tx, p.seq))
}

fn event(row: FeedRow) -> Result<ChangeEvent, ApiError> {
    let EventRow { entity_type, entity_id, park_code, .. } = &row.event;
    let (library, record_id, park_code) = (entity_type.clone(), entity_id.clone(), park_code.clone());
    let AuditEvent { id, at, actor, action, changes } = row.event.into_event()?;
    Ok(ChangeEvent { id, at, actor, action, library, record_id, park_code, changes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_survives_its_cursor() {
        let p = Position { tx: 9_223_372_036_854_775_000, seq: 42 };
        assert_eq!(Position::decode(&p.encode()).ok(), Some(p));
    }

    #[test]
    fn a_foreign_cursor_is_refused() {
        for raw in ["", "abc", &URL_SAFE_NO_PAD.encode("f1:1"), &URL_SAFE_NO_PAD.encode("f2:1:2"), &URL_SAFE_NO_PAD.encode("f1:x:2")] {
            assert!(Position::decode(raw).is_err(), "{raw:?}");
        }
    }
}
