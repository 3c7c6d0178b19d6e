//! Folding company names so that parks find the same company however it
//! was written: 台積電股份有限公司, 台积电, ＴＳＭＣ Co., Ltd. and tsmc match.

use crate::text;

/// Legal forms written as words at the end of a Latin-script name.
const WORD_SUFFIXES: &[&str] = &["co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "plc"];
/// Legal forms at the end of a Chinese name (folded to Simplified). Longest first.
const CJK_SUFFIXES: &[&str] = &["股份有限公司", "有限责任公司", "有限公司", "分公司", "公司"];

/// The key a name is matched by: folded script, width and case; no spaces
/// or punctuation; no legal-form suffixes (never the whole name).
pub fn name_key(name: &str) -> String {
    let folded: String = text::fold(name).chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    while words.len() > 1 && words.last().is_some_and(|w| WORD_SUFFIXES.contains(w)) {
        words.pop();
    }
    let mut key = words.concat();
    while let Some(stripped) = CJK_SUFFIXES.iter().find_map(|s| key.strip_suffix(s).filter(|rest| !rest.is_empty())) {
        key = stripped.to_owned();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_one_name_share_a_key() {
        let key = name_key("台积电");
        for name in ["台積電股份有限公司", "台积电有限公司", "台 積 電", "台积电（股份有限公司）"] {
            assert_eq!(name_key(name), key, "{name}");
        }
        assert_eq!(name_key("ＴＳＭＣ Co., Ltd."), "tsmc");
        assert_eq!(name_key("TSMC Limited"), "tsmc");
        assert_eq!(name_key("tsmc inc."), "tsmc");
        assert_eq!(name_key("Costco"), "costco", "a suffix inside a word stays");
    }

    #[test]
    fn a_name_that_is_only_a_suffix_keeps_it() {
        assert_eq!(name_key("公司"), "公司");
        assert_ne!(name_key("鸿海精密"), name_key("鸿海"));
    }
}
