//! Dates and instants written into JSON as one string each, exactly as
//! chrono's own `Serialize` writes them. Chrono hands serde_json a
//! `Display` that writes a timestamp a character at a time, and serde_json
//! escapes each piece as a string of its own: a sixth of the CPU of a page
//! of projects went there (bench/RESULTS.md, CPU per request). Formatted
//! into a `String` first, a value is escaped once. Use with
//! `#[serde(serialize_with = "…")]` on the fields of hot answers.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serializer;

/// RFC 3339 in UTC with `Z`, seconds fractions as chrono writes them.
pub fn instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `YYYY-MM-DD`.
pub fn day<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&day.to_string())
}

/// [`day`], or `null`.
pub fn maybe_day<S: Serializer>(maybe: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
    match maybe {
        Some(d) => day(d, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "instant")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "day")]
        on: NaiveDate,
        #[serde(serialize_with = "maybe_day")]
        maybe: Option<NaiveDate>,
    }

    #[derive(Serialize)]
    struct Chrono {
        at: DateTime<Utc>,
        on: NaiveDate,
        maybe: Option<NaiveDate>,
    }

    #[test]
    fn written_as_chrono_writes_them() {
        let instants = [
            Utc.with_ymd_and_hms(2026, 11, 29, 8, 5, 3).single(),
            Utc.timestamp_opt(1_764_403_503, 120_000_000).single(),
            Utc.timestamp_opt(1_764_403_503, 123_456_789).single(),
            Utc.timestamp_opt(-2_208_988_800, 1).single(),
        ];
        let days = [NaiveDate::from_ymd_opt(1900, 1, 1), NaiveDate::from_ymd_opt(2100, 12, 31), NaiveDate::from_ymd_opt(-5, 3, 4)];
        for at in instants.into_iter().flatten() {
            for on in days.into_iter().flatten() {
                for maybe in [None, Some(on)] {
                    let ours = serde_json::to_string(&Ours { at, on, maybe }).unwrap_or_default();
                    let chrono = serde_json::to_string(&Chrono { at, on, maybe }).unwrap_or_default();
                    assert!(!ours.is_empty());
                    assert_eq!(ours, chrono);
                }
            }
        }
    }
}
