//! Text as every library takes it: one rule for lengths and characters, and
//! folding for search (Traditional and Simplified Chinese, full-width and
//! half-width forms, upper and lower case all compare equal once folded).

use crate::error::FieldError;

/// Whether a text field may hold line breaks (and tabs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name, a title, a tag: one line.
    One,
    /// Notes, summaries: line breaks and tabs allowed.
    Many,
}

/// The rule every text field keeps, with the same codes everywhere: 1 to
/// `max` characters (counted as characters, not bytes) is `length`; control
/// characters (line breaks too, unless [`Lines::Many`]) are `characters`.
/// Callers trim first, so a blank text is too short.
pub fn check(field: &str, value: &str, max: usize, lines: Lines) -> Option<FieldError> {
    let n = value.chars().count();
    if n == 0 || n > max {
        return Some(FieldError::new(field, "length", format!("must be 1 to {max} characters")));
    }
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        let what = match lines {
            Lines::One => "must be one line without control characters",
            Lines::Many => "must not contain control characters other than line breaks and tabs",
        };
        return Some(FieldError::new(field, "characters", what));
    }
    None
}

/// [`check`] for an optional text: nothing to check when absent.
pub fn check_optional(field: &str, value: Option<&str>, max: usize, lines: Lines) -> Option<FieldError> {
    value.and_then(|v| check(field, v, max, lines))
}

/// Trims an optional text and treats a blank one as absent.
pub fn trimmed(value: &mut Option<String>) {
    *value = value.take().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
}

/// Folds text to the form stored in `search_text` columns and searched for.
pub fn fold(text: &str) -> String {
    fast2s::convert(text)
        .chars()
        .map(|c| match c {
            // Full-width ASCII variants (！ to ～) sit 0xFEE0 above ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits a folded query into terms, each to be matched as a substring.
pub fn terms(query: &str) -> Vec<String> {
    fold(query).split_whitespace().map(str::to_owned).collect()
}

/// A `LIKE` pattern matching `term` anywhere, with `\` as the escape character.
pub fn contains_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_text() {
        let code = |v: &str, lines| check("f", v, 5, lines).map(|e| e.code);
        assert_eq!(code("abcde", Lines::One), None);
        assert_eq!(code("台积电先进", Lines::One), None, "characters, not bytes");
        assert_eq!(code("", Lines::One).as_deref(), Some("length"));
        assert_eq!(code("abcdef", Lines::Many).as_deref(), Some("length"));
        assert_eq!(code("a\nb", Lines::One).as_deref(), Some("characters"));
        assert_eq!(code("a\nb", Lines::Many), None);
        assert_eq!(code("a\u{7}b", Lines::Many).as_deref(), Some("characters"));
    }

    #[test]
    fn traditional_and_simplified_fold_alike() {
        assert_eq!(fold("台積電"), fold("台积电"));
        assert_eq!(fold("鴻海精密"), "鸿海精密");
    }

    #[test]
    fn width_and_case_fold_alike() {
        assert_eq!(fold("ＴＳＭＣ　Ｃｏ"), "tsmc co");
        assert_eq!(fold("TSMC"), "tsmc");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn terms_split_on_any_space() {
        assert_eq!(terms("芯片　台積電 "), vec!["芯片".to_owned(), "台积电".to_owned()]);
    }
}
