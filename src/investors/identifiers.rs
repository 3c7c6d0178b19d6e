//! Company identifiers, checked rather than merely shaped.
//!
//! - Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters
//!   from a 31-character alphabet (no I, O, S, V, Z); the last is a check
//!   character, 31 minus the weighted sum (weights 3^i mod 31) modulo 31.
//! - Taiwan's business administration number (統一編號): 8 digits, weights
//!   1,2,1,2,1,2,4,1; the digits of each product are added. Since April 2023
//!   the Ministry of Finance requires the total to be divisible by 5 (it was
//!   10; every number valid under the old rule stays valid). When the seventh
//!   digit is 7 its product 28 adds to 10, which counts as either 1 or 0.

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const UBN_WEIGHTS: [u32; 8] = [1, 2, 1, 2, 1, 2, 4, 1];
/// The divisor of the current rule (財政部, effective 2023-04-01).
const UBN_DIVISOR: u32 = 5;

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Format,
    Checksum,
}

/// Upper-cases and strips spaces; returns the code when it is valid.
pub fn unified_social_credit_code(raw: &str) -> Result<String, Invalid> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return Err(Invalid::Format);
    }
    let values: Option<Vec<u32>> =
        bytes.iter().map(|b| USCC_ALPHABET.iter().position(|a| a == b).map(|p| p as u32)).collect();
    let values = values.ok_or(Invalid::Format)?;
    // Characters 3 to 8 are the administrative division code: digits.
    if !bytes[2..8].iter().all(u8::is_ascii_digit) {
        return Err(Invalid::Format);
    }
    let sum: u32 = values[..17].iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        return Err(Invalid::Checksum);
    }
    Ok(code)
}

/// Strips spaces; returns the number when it is valid.
pub fn taiwan_business_id(raw: &str) -> Result<String, Invalid> {
    let id: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Format);
    }
    let digits: Vec<u32> = id.bytes().map(|b| u32::from(b - b'0')).collect();
    let total: u32 = digits
        .iter()
        .zip(UBN_WEIGHTS)
        .map(|(d, w)| {
            let product = d * w;
            product / 10 + product % 10
        })
        .sum();
    // 7 × 4 = 28 → 2 + 8 = 10, counted above as 1 + 0 = 1… or as 0.
    let valid = total.is_multiple_of(UBN_DIVISOR) || (digits[6] == 7 && (total - 1).is_multiple_of(UBN_DIVISOR));
    if valid { Ok(id) } else { Err(Invalid::Checksum) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes() {
        for valid in ["91350100M000100Y43", "91110000100010433L", "91310000MA1FL1MMXL", " 91350100m000100y43 "] {
            assert!(unified_social_credit_code(valid).is_ok(), "{valid}");
        }
        assert_eq!(unified_social_credit_code("91350100m000100y43").ok().as_deref(), Some("91350100M000100Y43"));
        for (invalid, why) in [
            ("91350100M000100Y44", Invalid::Checksum),
            ("911100007109272770", Invalid::Checksum),
            ("91350100M000100Y4", Invalid::Format),
            ("9135010OM000100Y43", Invalid::Format), // letter O is not in the alphabet
            ("91AB0100M000100Y43", Invalid::Format), // division code must be digits
            ("", Invalid::Format),
        ] {
            assert_eq!(unified_social_credit_code(invalid), Err(why), "{invalid}");
        }
    }

    #[test]
    fn taiwan_business_ids() {
        for valid in ["22099131", "04595257", "10458575"] {
            assert!(taiwan_business_id(valid).is_ok(), "{valid}");
        }
        // Valid under the current divisor 5, not under the old divisor 10.
        assert!(taiwan_business_id("04595252").is_ok());
        // A 7 in the seventh place: valid only when its 10 counts as 0.
        assert!(taiwan_business_id("10000070").is_ok());
        assert_eq!(taiwan_business_id("10000071"), Err(Invalid::Checksum));
        for (invalid, why) in [("12345678", Invalid::Checksum), ("2209913", Invalid::Format), ("2209913A", Invalid::Format)] {
            assert_eq!(taiwan_business_id(invalid), Err(why), "{invalid}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::contact;

    proptest! {
        /// No input makes a validator panic, and whatever one accepts it accepts again.
        #[test]
        fn validators_never_panic(s in "\\PC{0,40}") {
            if let Ok(code) = unified_social_credit_code(&s) {
                prop_assert_eq!(unified_social_credit_code(&code), Ok(code.clone()));
            }
            if let Ok(id) = taiwan_business_id(&s) {
                prop_assert_eq!(taiwan_business_id(&id), Ok(id.clone()));
            }
            let _ = contact::phone(&s, "phone");
            let _ = contact::email(&s, "email");
            let _ = super::super::name_key(&s);
        }

        /// Every 17-character body has exactly one check character that makes a valid code.
        #[test]
        fn exactly_one_check_character(body in "[0-9A-HJ-NP-RT-UW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RT-UW-Y]{9}") {
            let valid = USCC_ALPHABET.iter().filter(|c| unified_social_credit_code(&format!("{body}{}", **c as char)).is_ok()).count();
            prop_assert_eq!(valid, 1);
        }
    }
}
