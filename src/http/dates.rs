//! The one range every date of the API must fall in, checked before the
//! database: PostgreSQL refuses years it cannot store (a cursor or filter at
//! year -5000 was a 500), and SQLite compares dates as text, where
//! `+99999-01-01` sorts before `2026-…` and a filter matched every row.
//! Within these years every stored date has four digits, so text order is
//! date order.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::FieldError;

pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// The rule's message, the same wherever a date is checked.
pub fn range_message() -> String {
    format!("must be between {MIN_DATE} and {MAX_DATE}")
}

/// A date of the API: within [`MIN_DATE`]..=[`MAX_DATE`], or an error naming `field`.
pub fn check_date(field: &str, date: NaiveDate) -> Result<NaiveDate, FieldError> {
    if (MIN_DATE..=MAX_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(FieldError::new(field, "date_range", range_message()))
    }
}

/// An instant of the API: its UTC date within the range.
pub fn check_instant(field: &str, at: NaiveDateTime) -> Result<NaiveDateTime, FieldError> {
    check_date(field, at.date()).map(|_| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_inclusive() {
        assert!(check_date("d", MIN_DATE).is_ok());
        assert!(check_date("d", MAX_DATE).is_ok());
        assert!(check_date("d", MIN_DATE.pred_opt().unwrap_or(MIN_DATE)).is_err());
        let far = NaiveDate::from_ymd_opt(-5000, 1, 1).unwrap_or(NaiveDate::MIN);
        let err = check_date("created_from", far).err().map(|e| (e.field, e.code));
        assert_eq!(err, Some(("created_from".to_owned(), "date_range".to_owned())));
    }
}
