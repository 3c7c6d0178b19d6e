//! Phone numbers and e-mail addresses, as people type them, checked and
//! stored in one form: phones as E.164 (`+8613812345678`), e-mail trimmed.

use phonenumber::country::Id;
use phonenumber::Mode;
use validator::ValidateEmail;

use crate::error::FieldError;

/// A mainland or Taiwan number in any common writing (`138 1234 5678`,
/// `0731-8888 6666`, `0912-345-678`, `+886 2 2345 6789`), as E.164.
/// Numbers without a country code are read as mainland first, then Taiwan.
pub fn phone(raw: &str, field: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new(field, "phone", "must be a valid mainland or Taiwan phone number, e.g. +86 138 1234 5678");
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 32 {
        return Err(bad());
    }
    let regions: &[Option<Id>] = if raw.starts_with('+') { &[None] } else { &[Some(Id::CN), Some(Id::TW)] };
    regions
        .iter()
        .filter_map(|region| phonenumber::parse(*region, raw).ok())
        .find(phonenumber::is_valid)
        .map(|number| number.format().mode(Mode::E164).to_string())
        .ok_or_else(bad)
}

/// A masked address (`l***@example.com`, as lists show it) is refused: a
/// client that sends back what it was shown must not overwrite the real one.
pub fn email(raw: &str, field: &str) -> Result<String, FieldError> {
    let email = raw.trim();
    if email.contains("***@") {
        return Err(FieldError::new(field, "email", "is a masked address; send the real one, or leave the field out"));
    }
    if email.len() <= 254 && email.validate_email() {
        Ok(email.to_owned())
    } else {
        Err(FieldError::new(field, "email", "must be a valid e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_stored_as_e164() {
        for (raw, e164) in [
            ("13812345678", "+8613812345678"),
            ("138 1234 5678", "+8613812345678"),
            ("+86 138-1234-5678", "+8613812345678"),
            ("0731-8888 6666", "+867318888 6666"),
            ("0912-345-678", "+886912345678"),
            ("+886 2 2345 6789", "+886223456789"),
        ] {
            let expected = e164.replace(' ', "");
            assert_eq!(phone(raw, "phone").ok(), Some(expected), "{raw}");
        }
    }

    #[test]
    fn non_numbers_are_refused() {
        for raw in ["", "12345", "not a phone", "+86 1", "138123456789999"] {
            assert!(phone(raw, "phone").is_err(), "{raw}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" li@example.com ", "email").ok().as_deref(), Some("li@example.com"));
        assert!(email("li@", "email").is_err());
        assert!(email("两个@地址 空格", "email").is_err());
        assert!(email("l***@example.com", "email").is_err(), "a mask is not an address");
    }
}
