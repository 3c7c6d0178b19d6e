use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A bound of a time range in a filter: a date (`2026-01-31`, the whole day)
/// or an RFC 3339 instant (`2026-01-31T08:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeBound {
    Day(NaiveDate),
    Instant(NaiveDateTime),
}

impl TimeBound {
    /// The first instant the bound admits, as a lower bound (inclusive).
    pub fn start(self) -> NaiveDateTime {
        match self {
            Self::Day(d) => d.and_time(NaiveTime::MIN),
            Self::Instant(t) => t,
        }
    }

    /// The first instant after the bound, as an upper bound (exclusive): a
    /// date includes its whole day.
    pub fn end_exclusive(self) -> NaiveDateTime {
        match self {
            Self::Day(d) => d.succ_opt().unwrap_or(d).and_time(NaiveTime::MIN),
            Self::Instant(t) => t + chrono::Duration::microseconds(1),
        }
    }
}

impl<'de> Deserialize<'de> for TimeBound {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bound = if let Ok(day) = raw.parse::<NaiveDate>() {
            Self::Day(day)
        } else {
            DateTime::parse_from_rfc3339(&raw)
                .map(|t| Self::Instant(t.naive_utc()))
                .map_err(|_| serde::de::Error::custom("must be a date (YYYY-MM-DD) or an RFC 3339 timestamp"))?
        };
        // The query extractor checks dates already; a bound read from
        // elsewhere must hold to the same range.
        super::dates::check_instant("", bound.start()).map_err(|e| serde::de::Error::custom(e.message))?;
        Ok(bound)
    }
}

impl utoipa::PartialSchema for TimeBound {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("A date (YYYY-MM-DD, the whole day) or an RFC 3339 timestamp"))
                .examples(["2026-01-31"])
                .build(),
        ))
    }
}

impl utoipa::ToSchema for TimeBound {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_covers_the_whole_day() {
        let bound: TimeBound = serde_json::from_str("\"2026-01-31\"").unwrap_or(TimeBound::Day(NaiveDate::MIN));
        assert_eq!(bound.start().to_string(), "2026-01-31 00:00:00");
        assert_eq!(bound.end_exclusive().to_string(), "2026-02-01 00:00:00");
    }

    #[test]
    fn instants_are_read_in_utc() {
        let bound: Result<TimeBound, _> = serde_json::from_str("\"2026-01-31T08:00:00+08:00\"");
        assert_eq!(bound.ok().map(|b| b.start().to_string()).as_deref(), Some("2026-01-31 00:00:00"));
        assert!(serde_json::from_str::<TimeBound>("\"yesterday\"").is_err());
    }
}
