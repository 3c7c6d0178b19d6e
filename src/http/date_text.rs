//! Dates and instants written into JSON as one string each, exactly as
//! chrono's own `Serialize` writes them, and read back from the read copies
//! the service stored itself.
//!
//! Chrono hands a serializer a `Display` that writes a timestamp a
//! character at a time through `core::fmt`, and each piece became a string
//! of its own to escape; even formatted into a `String` first, chrono's
//! `to_rfc3339_opts` cost about a thousand instructions an instant, and its
//! RFC 3339 parser as much to read one back (bench/RESULTS.md, CPU per
//! request). Written digit by digit into a stack buffer, and read by fixed
//! positions, the common shapes (years 0–9999, no leap second, the `…Z` form
//! the service writes) take a few dozen; any other shape goes through
//! chrono, so the text never differs. Use with `#[serde(serialize_with =
//! "…")]` / `deserialize_with` on hot fields.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// RFC 3339 in UTC with `Z`, seconds fractions as chrono writes them.
pub fn instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match write_instant(at, &mut buf).and_then(|len| ascii(&buf[..len])) {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// `YYYY-MM-DD`.
pub fn day<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 10];
    match write_day(day, &mut buf).then(|| ascii(&buf)).flatten() {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_str(&day.to_string()),
    }
}

/// [`day`], or `null`.
pub fn maybe_day<S: Serializer>(maybe: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
    match maybe {
        Some(d) => day(d, serializer),
        None => serializer.serialize_none(),
    }
}

/// An instant as chrono's `Deserialize` reads it (RFC 3339, any offset),
/// the shape [`instant`] writes read without chrono's general parser.
pub fn read_instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    struct Text;
    impl Visitor<'_> for Text {
        type Value = DateTime<Utc>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 date and time")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            parse_utc(text).map_or_else(|| text.parse().map_err(E::custom), Ok)
        }
    }
    deserializer.deserialize_str(Text)
}

/// A day as chrono's `Deserialize` reads it; `YYYY-MM-DD` without its parser.
pub fn read_day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    struct Text;
    impl Visitor<'_> for Text {
        type Value = NaiveDate;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a date")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            parse_day(text.as_bytes()).map_or_else(|| text.parse().map_err(E::custom), Ok)
        }
    }
    deserializer.deserialize_str(Text)
}

/// The written buffer as text (ASCII digits and separators; `None`, and
/// chrono's way, if it ever were not).
fn ascii(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Writes `value` as `out.len()` decimal digits, zero-padded.
fn digits(out: &mut [u8], mut value: u32) {
    for place in out.iter_mut().rev() {
        *place = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `YYYY-MM-DD` into `out`; false for a year chrono writes otherwise.
fn write_day(day: &NaiveDate, out: &mut [u8; 10]) -> bool {
    let Ok(year) = u32::try_from(day.year()) else { return false };
    if year > 9999 {
        return false;
    }
    digits(&mut out[0..4], year);
    out[4] = b'-';
    digits(&mut out[5..7], day.month());
    out[7] = b'-';
    digits(&mut out[8..10], day.day());
    true
}

/// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` into `out` (its length),
/// the fraction as short as keeps it exact (chrono's `AutoSi`); `None` for
/// a year past four digits or a leap second.
fn write_instant(at: &DateTime<Utc>, out: &mut [u8; 30]) -> Option<usize> {
    let naive = at.naive_utc();
    let nanos = naive.nanosecond();
    if nanos >= 1_000_000_000 || !write_day(&naive.date(), (&mut out[..10]).try_into().ok()?) {
        return None;
    }
    out[10] = b'T';
    digits(&mut out[11..13], naive.hour());
    out[13] = b':';
    digits(&mut out[14..16], naive.minute());
    out[16] = b':';
    digits(&mut out[17..19], naive.second());
    let (fraction, places) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    let mut len = 19;
    if places > 0 {
        out[19] = b'.';
        digits(&mut out[20..20 + places], fraction);
        len = 20 + places;
    }
    out[len] = b'Z';
    Some(len + 1)
}

/// `YYYY-MM-DD`, exactly; `None` for any other text.
fn parse_day(text: &[u8]) -> Option<NaiveDate> {
    if text.len() != 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(number(&text[0..4])? as i32, number(&text[5..7])?, number(&text[8..10])?)
}

/// What [`write_instant`] writes (one to nine fraction digits); `None` for
/// any other text, which chrono then reads.
fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let (&b'Z', body) = bytes.split_last()? else { return None };
    if body.len() < 19 || body[10] != b'T' || body[13] != b':' || body[16] != b':' {
        return None;
    }
    let nanos = match &body[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => number(fraction)? * 10u32.pow(9 - fraction.len() as u32),
        _ => return None,
    };
    let time = chrono::NaiveTime::from_hms_nano_opt(number(&body[11..13])?, number(&body[14..16])?, number(&body[17..19])?, nanos)?;
    Some(parse_day(&body[..10])?.and_time(time).and_utc())
}

/// The value of ASCII digits; `None` if any byte is not one.
fn number(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |value, &b| b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0')))
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
            Utc.timestamp_opt(1_764_403_503, 120_000).single(),
            Utc.timestamp_opt(1_764_403_503, 999_999_999).single(),
            Utc.timestamp_opt(-62_198_755_200, 0).single(),
            Utc.timestamp_opt(253_402_300_800, 5_000_000).single(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single(),
        ];
        let days = [
            NaiveDate::from_ymd_opt(1900, 1, 1),
            NaiveDate::from_ymd_opt(2100, 12, 31),
            NaiveDate::from_ymd_opt(-5, 3, 4),
            NaiveDate::from_ymd_opt(0, 1, 1),
            NaiveDate::from_ymd_opt(10_000, 1, 1),
        ];
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

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Read {
        #[serde(deserialize_with = "read_instant")]
        at: DateTime<Utc>,
        #[serde(deserialize_with = "read_day")]
        on: NaiveDate,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct ChronoRead {
        at: DateTime<Utc>,
        on: NaiveDate,
    }

    #[test]
    fn read_as_chrono_reads_them() {
        let texts = [
            ("2026-11-29T08:05:03Z", "2026-11-29"),
            ("2026-11-29T08:05:03.5Z", "0001-02-03"),
            ("2026-11-29T08:05:03.123456789Z", "9999-12-31"),
            ("2026-11-29T08:05:03.000120Z", "2024-02-29"),
            ("2026-11-29T16:05:03+08:00", "+10000-01-01"),
            ("2026-11-29t08:05:03z", "-0005-03-04"),
            ("2026-11-29 08:05:03Z", "2026-1-2"),
            ("2016-12-31T23:59:60Z", "2026-11-29"),
        ];
        for (at, on) in texts {
            let json = format!(r#"{{"at": "{at}", "on": "{on}"}}"#);
            let ours = serde_json::from_str::<Read>(&json).map(|r| (r.at, r.on)).map_err(|e| e.to_string());
            let chrono = serde_json::from_str::<ChronoRead>(&json).map(|r| (r.at, r.on)).map_err(|e| e.to_string());
            assert_eq!(ours, chrono, "{json}");
        }
        for bad in [r#"{"at": "2026-13-01T00:00:00Z", "on": "2026-01-01"}"#, r#"{"at": "2026-01-01T00:00:00Z", "on": "2026-02-30"}"#] {
            assert!(serde_json::from_str::<Read>(bad).is_err(), "{bad}");
        }
    }
}
