//! Signing a delivery: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`
//! over `"<t>.<body>"` with the hook's secret (its UTF-8 bytes). The time is
//! inside the signed text, so a receiver can refuse old replays.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header a delivery carries.
pub const HEADER: &str = "X-Signature";

/// A new secret: 32 random bytes, hex, with a prefix that says what it is.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", hex(&bytes))
}

/// The `X-Signature` value of `body` sent at `unix_seconds`.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_seconds},v1={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_and_the_secret_are_signed() {
        let signed = sign("Jefe", 7, b"body");
        assert!(signed.starts_with("t=7,v1="), "{signed}");
        assert_eq!(signed.len(), "t=7,v1=".len() + 64);
        assert_ne!(sign("Jefe", 7, b"body"), sign("Jefe", 8, b"body"), "the time is signed");
        assert_ne!(sign("Jefe", 7, b"body"), sign("Jeff", 7, b"body"), "the secret is used");
    }

    /// RFC 4231, test case 2: the MAC is HMAC-SHA256 and the hex is lower case.
    #[test]
    fn rfc_4231_case_2() {
        let mut mac = match Hmac::<Sha256>::new_from_slice(b"Jefe") {
            Ok(mac) => mac,
            Err(_) => unreachable!(),
        };
        mac.update(b"what do ya want for nothing?");
        assert_eq!(hex(&mac.finalize().into_bytes()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn secrets_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 6 + 64);
    }
}
