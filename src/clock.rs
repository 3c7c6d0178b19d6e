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

/// The service's sense of "today" for rules that age (claims lapse, lights
/// turn amber and red). The system clock in production; tests move it to a
/// chosen day instead of waiting. Shared by every worker of one server.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Seconds added to the system clock; 0 is the system clock itself.
    offset: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        let offset = self.offset.load(std::sync::atomic::Ordering::Relaxed);
        now() + chrono::Duration::seconds(offset)
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }

    /// Moves this clock so that today is `day` (the time of day runs on).
    pub fn set_today(&self, day: NaiveDate) {
        let shift = (day - today()).num_seconds();
        self.offset.store(shift, std::sync::atomic::Ordering::Relaxed);
    }
}
