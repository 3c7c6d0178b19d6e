//! Time as the database stores it: UTC, microsecond precision (PostgreSQL's),
//! so a timestamp read back compares equal to the one written.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};

pub fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A stored timestamp as the API shows it (RFC 3339, UTC).
pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}
