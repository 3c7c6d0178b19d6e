//! A list a row keeps as JSON text (a read copy: a project's tags, its
//! investor links, its stage history), served as that text.
//!
//! A page of projects parsed these copies into vectors and strings only to
//! write them out again; answering the text saved a ninth of the page's
//! instructions and a sixth of its allocations (bench/RESULTS.md, twelfth
//! session). A [`JsonCopy`] keeps the text and parses it the first time code
//! asks for the value.
//!
//! The text is answered as it is stored. The service writes it with
//! serde_json, as it would write the value; rows whose copies the migration
//! of 2026-11-28 wrote answer PostgreSQL's spacing (`"stage" : "lead"`) and
//! six-digit fractions of `recorded_at` until their links or stage change.
//!
//! Serde cannot tell which serializer it writes to, and the answers' writer,
//! sonic-rs ([`super::json_answer`]), is the one here that takes a value's
//! text as it is. So the text goes out unparsed only while an answer is being
//! written ([`as_stored`]); every other serializer (audit diffs, webhooks)
//! gets the parsed value.

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::error::ApiError;

/// A value stored as JSON text, parsed on first use.
#[derive(Clone)]
pub struct JsonCopy<T> {
    text: String,
    value: OnceLock<T>,
}

impl<T> JsonCopy<T> {
    /// The copy as the database keeps it: JSON text this service wrote.
    pub fn stored(text: String) -> Self {
        Self { text, value: OnceLock::new() }
    }

    /// The JSON text, as stored.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value if something has parsed it already.
    pub fn parsed(&self) -> Option<&T> {
        self.value.get()
    }
}

impl<T: DeserializeOwned> JsonCopy<T> {
    /// The value, parsed the first time. Only this service writes the
    /// copies, so text that does not parse is an internal error.
    pub fn value(&self) -> Result<&T, ApiError> {
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let parsed = serde_json::from_str(&self.text).map_err(|e| ApiError::internal(format!("stored JSON copy {:?} unreadable: {e}", self.text)))?;
        Ok(self.value.get_or_init(|| parsed))
    }
}

impl<T> fmt::Debug for JsonCopy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<T: Serialize + DeserializeOwned> Serialize for JsonCopy<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        if AS_STORED.get() && is_array(&self.text) {
            // What sonic-rs's own lazy values do: a struct of this name is
            // written as its one field's text. (A test below holds sonic-rs to it.)
            use serde::ser::SerializeStruct;
            let mut raw = serializer.serialize_struct(SONIC_RAW, 1)?;
            raw.serialize_field(SONIC_RAW, self.text.as_str())?;
            return raw.end();
        }
        self.value().map_err(S::Error::custom)?.serialize(serializer)
    }
}

/// The name sonic-rs gives the struct its `LazyValue` serializes as.
const SONIC_RAW: &str = "$sonic_rs::LazyValue";

/// Whether `text` is framed as a JSON array, as every copy is. Checking the
/// whole text cost as much as parsing it (bench/RESULTS.md, twelfth
/// session); only the service writes these copies, with serde_json, so the
/// frame guards against an empty or cut-off copy, which goes the parsed way
/// and fails there.
fn is_array(text: &str) -> bool {
    text.starts_with('[') && text.ends_with(']')
}

thread_local! {
    /// Whether [`JsonCopy`] values write their text as it is (see the module's comment).
    static AS_STORED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `write` with every [`JsonCopy`] written as its stored text. Only a
/// sonic-rs serialization may run inside: another serializer would write the
/// text as a struct.
pub(crate) fn as_stored<R>(write: impl FnOnce() -> R) -> R {
    /// Puts the switch back as it was however `write` ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            AS_STORED.set(self.0);
        }
    }
    let _restore = Restore(AS_STORED.replace(true));
    write()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample {
        tags: JsonCopy<Vec<String>>,
        count: i32,
    }

    fn sample(text: &str) -> Sample {
        Sample { tags: JsonCopy::stored(text.to_owned()), count: 2 }
    }

    #[test]
    fn an_answer_carries_the_stored_text_and_other_serializers_the_value() {
        let stored = r#"["半导体", "a\"b"]"#;
        let answer = as_stored(|| sonic_rs::to_string(&sample(stored))).unwrap_or_default();
        assert_eq!(answer, format!(r#"{{"tags":{stored},"count":2}}"#));
        // Outside an answer the same writer, and serde_json, get the parsed value.
        let plain = r#"{"tags":["半导体","a\"b"],"count":2}"#;
        assert_eq!(sonic_rs::to_string(&sample(stored)).unwrap_or_default(), plain);
        assert_eq!(serde_json::to_string(&sample(stored)).unwrap_or_default(), plain);
        let value = serde_json::to_value(sample(stored)).unwrap_or_default();
        assert_eq!(value["tags"][1], "a\"b");
    }

    #[test]
    fn a_copy_cut_short_is_an_error_not_an_answer() {
        for broken in ["[\"a\"", "", "[\"a", "{\"a\": 1}"] {
            assert!(as_stored(|| sonic_rs::to_string(&sample(broken))).is_err(), "{broken:?} written");
            assert!(serde_json::to_string(&sample(broken)).is_err(), "{broken:?} written");
            assert!(JsonCopy::<Vec<String>>::stored(broken.to_owned()).value().is_err());
        }
    }

    #[test]
    fn the_switch_is_put_back_after_an_answer_even_a_failed_one() {
        let _ = as_stored(|| sonic_rs::to_string(&sample("[")));
        assert!(!AS_STORED.get());
        let inner = as_stored(|| {
            let _ = as_stored(|| sonic_rs::to_string(&sample("[")));
            AS_STORED.get()
        });
        assert!(inner, "a nested answer leaves the outer one's switch on");
    }

    #[test]
    fn text_is_answered_with_its_own_spacing() {
        let spaced = r#"[{"stage" : "lead"}, {"stage" : "signed"}]"#;
        let copy = JsonCopy::<Vec<serde_json::Value>>::stored(spaced.to_owned());
        assert_eq!(as_stored(|| sonic_rs::to_string(&copy)).unwrap_or_default(), spaced);
        assert_eq!(serde_json::to_string(&copy).unwrap_or_default(), r#"[{"stage":"lead"},{"stage":"signed"}]"#);
    }

    #[test]
    fn the_value_is_parsed_once() {
        let copy = JsonCopy::<Vec<String>>::stored(r#"["x"]"#.to_owned());
        let first = copy.value().map(|v| v.as_ptr()).ok();
        assert_eq!(first, copy.value().map(|v| v.as_ptr()).ok());
        assert_eq!(copy.value().ok(), Some(&vec!["x".to_owned()]));
    }
}
