//! Text folding for search: Traditional and Simplified Chinese, full-width and
//! half-width forms, upper and lower case all compare equal once folded.

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
