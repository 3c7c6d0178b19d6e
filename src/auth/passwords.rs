//! Password hashing with argon2id (the argon2 crate's defaults: OWASP's
//! recommended parameters), stored as PHC strings.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{ApiError, FieldError};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// Checks a new password's length (in characters).
pub fn check_new(password: &str, field: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(FieldError::new(field, "length", format!("must be {MIN_LEN} to {MAX_LEN} characters")));
    }
    Ok(())
}

pub fn hash(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))
}

/// True when `password` matches the stored hash. A hash that cannot be read
/// matches nothing.
///
/// argon2 allocates its 19 MiB of working memory per check and frees it. That
/// memory goes back to the system only because `crate::memory` fixes glibc's
/// mmap threshold: with the default, moving threshold, later blocks stayed in
/// the heap and memory grew with every login (145 MiB after six sequential
/// logins, 470 MiB in a storm with two hashing threads).
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Spends the same time as a real check, so an unknown username cannot be
/// told from a wrong password by timing.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not a real password, only for timing").unwrap_or_default());
    let _ = verify(dummy, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash("correct horse battery").unwrap_or_default();
        let b = hash("correct horse battery").unwrap_or_default();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify(&a, "correct horse battery"));
        assert!(!verify(&a, "correct horse battery!"));
        assert!(!verify("garbage", "anything"));
    }

    #[test]
    fn hashes_of_other_parameters_are_read_from_the_hash() {
        use argon2::{Algorithm, Params, Version};
        // m=8 MiB, t=1: not the defaults `hash` writes.
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap_or_default());
        let salt = SaltString::generate(&mut OsRng);
        let other = small.hash_password(b"another password", &salt).map(|h| h.to_string()).unwrap_or_default();
        assert!(verify(&other, "another password"));
        assert!(!verify(&other, "correct horse battery"));
    }

    #[test]
    fn length_rule() {
        assert!(check_new("short", "password").is_err());
        assert!(check_new("十个汉字的密码足够长了", "password").is_ok());
    }
}
