//! Password hashing with argon2id (the argon2 crate's defaults: OWASP's
//! recommended parameters), stored as PHC strings.

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).ok().and_then(|parsed| verify_parsed(&parsed, password)).unwrap_or(false)
}

thread_local! {
    /// Each thread's argon2 working memory, kept between checks.
    ///
    /// argon2's own verify allocates its 19 MiB per check and frees it; glibc
    /// then raises its mmap threshold and keeps later blocks in the thread's
    /// heap, so memory grew with every login (145 MiB after six sequential
    /// logins, 470 MiB in a storm with two hashing threads). Logins hash on
    /// the gate's fixed threads (`gate`), so this is m_cost × permits, once.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2's `verify_password`, but in the thread's kept memory.
fn verify_parsed(hash: &PasswordHash<'_>, password: &str) -> Option<bool> {
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = hash.version.map(Version::try_from).transpose().ok()?.unwrap_or_default();
    let params = Params::try_from(hash).ok()?;
    let expected = hash.hash?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    let blocks_needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, Block::default());
        }
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut blocks[..blocks_needed]).ok()
    })?;
    // `Output`'s equality is constant-time.
    Some(Output::new(&computed).ok()? == expected)
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
    fn kept_memory_verifies_like_argon2_itself() {
        use argon2::PasswordVerifier;
        let stored = hash("correct horse battery").unwrap_or_default();
        let parsed = PasswordHash::new(&stored).ok();
        for attempt in ["correct horse battery", "correct horse batterx", ""] {
            let theirs = parsed.as_ref().is_some_and(|p| Argon2::default().verify_password(attempt.as_bytes(), p).is_ok());
            assert_eq!(verify(&stored, attempt), theirs, "{attempt:?}");
        }
        // A hash of other parameters (m=8 MiB, t=1) is read from the hash itself.
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
