//! How a cell's text becomes a field's JSON value: enum labels or codes,
//! the date forms of DESIGN.md, numbers with thousands separators, lists in
//! one cell.

use chrono::{Duration, NaiveDate};
use serde_json::Value;

use crate::vocab::Label;

/// How a column's text becomes a field's value.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Text,
    /// One value of a vocabulary: its code, Chinese label or English label.
    Enum(fn() -> Vec<Label>),
    /// Several values of a vocabulary in one cell.
    EnumList(fn() -> Vec<Label>),
    Whole,
    Number,
    Bool,
    Date,
    List,
    /// Personal data: an export masks it (`138****5678`), and a masked
    /// value read back is left out rather than written over the real one.
    Personal,
    /// Read-only columns of an export (id, timestamps, derived figures): skipped.
    Ignored,
}

/// A field and the header that names it in the template (Chinese, as
/// exported; the English header is the field's name).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub field: &'static str,
    pub zh: &'static str,
    pub kind: Kind,
}

impl Column {
    pub const fn new(field: &'static str, zh: &'static str, kind: Kind) -> Self {
        Self { field, zh, kind }
    }
}

/// A header as compared: no spaces, half-width brackets, lower case.
pub fn folded(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A cell's text as it was before an export neutralised it (`'=x` → `=x`).
pub fn unneutralised(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

/// Whether a personal-data cell holds the masked value an export shows.
pub fn is_masked(text: &str) -> bool {
    text.contains('*')
}

/// A cell's value, or the rule it breaks (code, message).
pub fn cell_value(kind: Kind, text: &str) -> Result<Value, (&'static str, String)> {
    match kind {
        Kind::Text | Kind::Personal | Kind::Ignored => Ok(Value::from(text)),
        Kind::Enum(labels) => code_in(&labels(), text).map(Value::from).ok_or_else(|| not_in_vocabulary(text)),
        Kind::EnumList(labels) => {
            let labels = labels();
            split_list(text).map(|part| code_in(&labels, part).map(Value::from).ok_or_else(|| not_in_vocabulary(part))).collect()
        }
        Kind::Whole => {
            let plain: String = text.chars().filter(|c| !matches!(c, ',' | '，' | ' ')).collect();
            plain
                .parse::<i64>()
                .ok()
                .or_else(|| plain.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
                .map(Value::from)
                .ok_or(("type", format!("{text:?} is not a whole number")))
        }
        Kind::Number => text
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or(("type", format!("{text:?} is not a number"))),
        Kind::Bool => match text.to_lowercase().as_str() {
            "是" | "true" | "yes" | "y" | "1" | "√" => Ok(Value::Bool(true)),
            "否" | "false" | "no" | "n" | "0" | "×" => Ok(Value::Bool(false)),
            _ => Err(("type", format!("{text:?} is not 是/否 (true/false)"))),
        },
        Kind::Date => parse_date(text)
            .map(|d| Value::from(d.to_string()))
            .ok_or(("date", format!("{text:?} is not a date (2026-03-02, 2026/3/2, 2026年3月2日 or an Excel date)"))),
        Kind::List => Ok(Value::from(split_list(text).map(|p| unneutralised(p).to_owned()).collect::<Vec<_>>())),
    }
}

fn not_in_vocabulary(text: &str) -> (&'static str, String) {
    ("enum", format!("{text:?} is neither a label nor a code of this vocabulary (GET /meta/enums)"))
}

/// The values of a list cell: separated by `;`, `；`, `、` or line breaks.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '；', '、', '\n']).map(str::trim).filter(|p| !p.is_empty())
}

/// A vocabulary's code from its code, Chinese label or English label.
pub fn code_in(labels: &[Label], text: &str) -> Option<&'static str> {
    labels.iter().find(|l| l.value == text || l.zh == text || l.en.eq_ignore_ascii_case(text)).map(|l| l.value)
}

/// `2026-03-02`, `2026/3/2`, `2026.3.2`, `2026年3月2日`, or an Excel date number.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(serial) = text.parse::<f64>() {
        // Excel's day 1 is 1900-01-01, counting the 1900-02-29 that never was;
        // from day 61 on, day 0 is 1899-12-30.
        if serial.fract() == 0.0 && (61.0..=2_958_465.0).contains(&serial) {
            return NaiveDate::from_ymd_opt(1899, 12, 30).map(|epoch| epoch + Duration::days(serial as i64));
        }
        return None;
    }
    let unified: String = text.replace(['年', '月', '/', '.'], "-").trim_end_matches('日').to_owned();
    let mut parts = unified.split('-').map(str::trim);
    let (y, m, d) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Industry, Stage, Vocabulary};

    #[test]
    fn dates_in_every_form() {
        let want = NaiveDate::from_ymd_opt(2026, 3, 2);
        for form in ["2026-03-02", "2026/3/2", "2026年3月2日", "2026.3.2", "46083"] {
            assert_eq!(parse_date(form), want, "{form}");
        }
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("3/2/2026"), None);
        assert_eq!(parse_date("12.5"), None);
    }

    #[test]
    fn labels_and_codes_both_read() {
        assert_eq!(code_in(&Stage::labels(), "签约"), Some("signed"));
        assert_eq!(code_in(&Stage::labels(), "signed"), Some("signed"));
        assert_eq!(code_in(&Industry::labels(), "Electronic information"), Some("electronic_information"));
        assert_eq!(code_in(&Stage::labels(), "done"), None);
        let both = cell_value(Kind::EnumList(Industry::labels), "电子信息; new_energy");
        assert_eq!(both, Ok(serde_json::json!(["electronic_information", "new_energy"])));
        assert!(cell_value(Kind::EnumList(Industry::labels), "电子信息；芯片").is_err());
    }

    #[test]
    fn headers_fold_width_and_case() {
        assert_eq!(folded(" 计划投资(美元) "), folded("计划投资（美元）"));
        assert_eq!(folded("Name"), "name");
    }

    #[test]
    fn neutralised_cells_read_back() {
        assert_eq!(unneutralised("'=cmd|' /C calc'!A0"), "=cmd|' /C calc'!A0");
        assert_eq!(unneutralised("'+86*******5678"), "+86*******5678");
        assert_eq!(unneutralised("'quoted"), "'quoted");
    }
}
