//! Many new records of one library at once (the rows of an import): each
//! row gets the permission, rules, row and audit event of
//! [`super::create_in_tx`], but the rows go in as multi-row INSERTs, their
//! views and audit events are built a chunk at a time, and what hangs off
//! them is refreshed once a chunk instead of once a row.
//!
//! A row's rules read other rows of its park (an investor's name is unique
//! there). A row checked while an earlier row of the batch still waits to
//! be written would miss that row, so a library names the keys its rules
//! read ([`Batched::rule_keys`]): a row holding a key that a waiting row
//! holds is checked only after the waiting rows are written, as it would
//! be one create after another.

use std::collections::{HashMap, HashSet};

use diesel::{QueryResult, RunQueryDsl};

use super::{creation_changes, invalid_unless_empty, ParkField, Record, RowBase, Stamp};
use crate::audit::{self, Action, NewEvent};
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};

/// A library whose new records can be written many at once.
pub trait Batched: Record {
    /// Rows an INSERT carries (SQLite binds at most 32,766 values a statement).
    const CHUNK: usize;
    /// The table whose rows the rules of a new record read one statement a
    /// record, if any. PostgreSQL plans those reads from the table's
    /// statistics, which know nothing of the rows a batch has added in its
    /// transaction: planned for an empty table, a name check walked the
    /// whole park, 16 s of 10,000 investors' 17.5 s (bench/RESULTS.md). The
    /// batch analyses the table each time it has doubled what it wrote.
    const READ_BY_RULES: Option<&'static str> = None;

    /// The keys under which the rules of a new record in `park` read other
    /// rows (none: its rules read no rows another new record could be).
    fn rule_keys(_park: &str, _fields: &Self::Fields) -> Vec<String> {
        Vec::new()
    }
    /// Inserts many rows in one statement.
    fn insert_many(conn: &mut DbConnection, rows: &[Self::Row]) -> QueryResult<usize>;
    /// The views of rows just stored, in order.
    fn views(conn: &mut DbConnection, rows: Vec<Self::Row>) -> Result<Vec<Self::View>, ApiError> {
        rows.into_iter().map(|row| Self::view(conn, row)).collect()
    }
    /// What [`Record::after_write`] does for each of many new records
    /// (id, fields, stamp).
    fn after_create_many(conn: &mut DbConnection, created: &[(&str, &Self::Fields, &Stamp)]) -> Result<(), ApiError> {
        created.iter().try_for_each(|(id, fields, stamp)| Self::after_write(conn, id, None, fields, stamp))
    }
}

/// A record checked and waiting for its INSERT.
struct Waiting<F> {
    id: String,
    park: String,
    fields: F,
    stamp: Stamp,
}

/// New records of library `R` on their way in, inside the caller's write
/// transaction. Rows are checked as they are added; [`Self::flush`] (also
/// after every `R::CHUNK` rows) writes those waiting.
pub struct Creates<'a, R: Batched> {
    caller: &'a Caller,
    waiting: Vec<Waiting<R::Fields>>,
    keys: HashSet<String>,
    parks: HashMap<String, bool>,
    /// Rows written, and how many there were when the table was last analysed.
    written: usize,
    analysed_at: usize,
}

impl<'a, R: Batched> Creates<'a, R> {
    pub fn new(caller: &'a Caller) -> Self {
        Self { caller, waiting: Vec::new(), keys: HashSet::new(), parks: HashMap::new(), written: 0, analysed_at: 0 }
    }

    /// Checks a new record for `park` (the park the caller placed it in: a
    /// park in the fields is not read) as an API create would, the right to
    /// write there and the rules; answers the id it will have, or the
    /// refusal the API would give. It is written by a later flush.
    pub fn add(&mut self, conn: &mut DbConnection, park: &str, mut fields: R::Fields) -> Result<String, ApiError> {
        self.caller.require_write(park)?;
        fields.take_park();
        let keys = R::rule_keys(park, &fields);
        if keys.iter().any(|key| self.keys.contains(key)) {
            self.flush(conn)?;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let mut errors = R::check(conn, park, &id, None, &mut fields)?;
        if !self.park_exists(conn, park)? {
            errors.push(FieldError::new("park_code", "unknown", format!("there is no park {park:?}")));
        }
        invalid_unless_empty(errors)?;
        self.keys.extend(keys);
        self.waiting.push(Waiting { id: id.clone(), park: park.to_owned(), fields, stamp: Stamp::of(self.caller) });
        if self.waiting.len() >= R::CHUNK {
            self.flush(conn)?;
        }
        Ok(id)
    }

    /// Writes every waiting record: rows, what hangs off them, audit events.
    pub fn flush(&mut self, conn: &mut DbConnection) -> Result<(), ApiError> {
        if self.waiting.is_empty() {
            return Ok(());
        }
        let waiting = std::mem::take(&mut self.waiting);
        self.keys.clear();
        // In a savepoint: when the database refuses the lot (a key another
        // writer took since the rules read it), the import's transaction stays
        // usable and the refusal is reported, not every later statement.
        crate::db::write_tx(conn, |conn| self.write(conn, waiting))
    }

    fn write(&mut self, conn: &mut DbConnection, waiting: Vec<Waiting<R::Fields>>) -> Result<(), ApiError> {
        let rows = waiting
            .iter()
            .map(|w| {
                let base = RowBase { id: &w.id, park: &w.park, version: 1, created: &w.stamp, updated: &w.stamp, previous: None };
                R::to_row(&w.fields, base)
            })
            .collect::<Result<Vec<_>, _>>()?;
        R::insert_many(conn, &rows)?;
        self.written += rows.len();
        let created: Vec<_> = waiting.iter().map(|w| (w.id.as_str(), &w.fields, &w.stamp)).collect();
        R::after_create_many(conn, &created)?;
        // After the refreshes, which take the targets summary's lock: every
        // writer then takes that lock before ANALYZE's table lock, never the
        // other way round (two imports deadlocked on the two orders).
        self.analyse_when_grown(conn)?;
        let changes = R::views(conn, rows)?.iter().map(creation_changes::<R>).collect::<Result<Vec<_>, _>>()?;
        let events = waiting
            .iter()
            .zip(changes)
            .map(|(w, changes)| NewEvent {
                actor: &self.caller.username,
                action: Action::Create,
                entity_type: R::ENTITY,
                entity_id: &w.id,
                park_code: Some(&w.park),
                changes,
            })
            .collect();
        audit::record_many(conn, events)
    }

    fn analyse_when_grown(&mut self, conn: &mut DbConnection) -> Result<(), ApiError> {
        let Some(table) = R::READ_BY_RULES else { return Ok(()) };
        if matches!(conn, DbConnection::Pg(_)) && self.written >= 2 * self.analysed_at.max(R::CHUNK / 2) {
            // ANALYZE counts the rows of its own transaction. A rollback (a dry
            // run) undoes the statistics but not pg_class's row estimate, which
            // the next autovacuum analyse corrects.
            diesel::sql_query(format!("ANALYZE {table}")).execute(conn)?;
            self.analysed_at = self.written;
        }
        Ok(())
    }

    fn park_exists(&mut self, conn: &mut DbConnection, park: &str) -> Result<bool, ApiError> {
        if let Some(known) = self.parks.get(park) {
            return Ok(*known);
        }
        let known = crate::parks::exists(conn, park)?;
        self.parks.insert(park.to_owned(), known);
        Ok(known)
    }
}
