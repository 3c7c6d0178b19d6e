//! Access tokens (JWT) and refresh tokens (opaque).
//!
//! Tokens this service issues are HS256 with its own secret. Tokens of an
//! external identity provider are accepted with that provider's public key
//! and its one algorithm (RS256 or ES256). Each key verifies exactly one
//! algorithm, so an HS256 token "signed" with the public key is refused.

use std::io::Write;
use std::path::Path;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::AuthSettings;
use crate::error::ApiError;
use crate::vocab::{Role, Vocabulary};

/// The claims of an access token this service issues.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: String,
    pub name: String,
    pub role: Role,
    pub park: Option<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// The user's token version when issued; a change of role, park,
    /// password or active flag raises it and ends older tokens.
    pub tv: i32,
    /// The refresh-token family (one login) the token belongs to.
    pub sid: String,
}

/// A verified token, before the database checks that it is still live.
#[derive(Debug, Clone)]
pub enum Verified {
    Local(AccessClaims),
    External { username: String, role: Role, park: Option<String>, jti: Option<String>, exp: i64 },
}

impl Verified {
    fn exp(&self) -> i64 {
        match self {
            Verified::Local(claims) => claims.exp,
            Verified::External { exp, .. } => *exp,
        }
    }
}

struct External {
    algorithm: Algorithm,
    key: DecodingKey,
    issuer: String,
    audience: String,
    role_claim: String,
    park_claim: String,
    username_claim: String,
}

/// Seconds of clock difference allowed on `exp` and `nbf`.
const LEEWAY: i64 = 30;

/// How long a verified token is remembered, and how many at most.
const VERIFIED_FOR: std::time::Duration = std::time::Duration::from_secs(60);
const VERIFIED_KEPT: u64 = 10_000;

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    pub trust_forwarded_for: bool,
    external: Option<External>,
    /// Tokens whose signature and claims passed, by their exact text: the
    /// signature check (base64, HMAC, the claims' JSON) was a sixth of a
    /// read by id's CPU. A changed token is another key; `exp` is checked
    /// again on every use. Revocation is the live check's (`Rechecks`).
    verified: moka::sync::Cache<String, Verified>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("JWT_SECRET must be at least 32 bytes")]
    ShortSecret,
    #[error("cannot keep the generated secret in {path}: {source}")]
    SecretFile { path: String, source: std::io::Error },
    #[error("cannot read the identity provider's public key {path}: {reason}")]
    PublicKey { path: String, reason: String },
    #[error("JWT_PUBLIC_KEY_ALG must be RS256 or ES256, not {0}")]
    Algorithm(String),
    #[error("an external public key needs JWT_EXTERNAL_ISSUER and JWT_EXTERNAL_AUDIENCE")]
    ExternalClaims,
    #[error("jwt: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl TokenKeys {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, KeyError> {
        let secret = match &settings.jwt_secret {
            Some(secret) if secret.len() < 32 => return Err(KeyError::ShortSecret),
            Some(secret) => secret.clone().into_bytes(),
            None => kept_secret(Path::new(&settings.data_dir))?,
        };
        let external = settings.jwt_public_key_file.as_ref().map(|path| external_key(settings, path)).transpose()?;
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret)?,
            decoding: DecodingKey::from_secret(&secret)?,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            access_ttl: settings.access_token_ttl,
            refresh_ttl: settings.refresh_token_ttl,
            trust_forwarded_for: settings.trust_forwarded_for,
            external,
            verified: moka::sync::Cache::builder().max_capacity(VERIFIED_KEPT).time_to_live(VERIFIED_FOR).build(),
        })
    }

    /// Signs an access token for a user; returns it with its claims.
    pub fn issue(&self, user_id: &str, username: &str, role: Role, park: Option<&str>, tv: i32, sid: &str) -> Result<(String, AccessClaims), ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            name: username.to_owned(),
            role,
            park: park.map(str::to_owned),
            iat: now,
            nbf: now,
            exp: now + self.access_ttl,
            jti: uuid::Uuid::now_v7().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            tv,
            sid: sid.to_owned(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("jwt encode: {e}")))?;
        Ok((token, claims))
    }

    /// Checks signature, algorithm, issuer, audience and validity times
    /// (the signature once a minute for a token in use).
    pub fn verify(&self, token: &str) -> Result<Verified, ApiError> {
        if let Some(verified) = self.verified.get(token) {
            if verified.exp() >= chrono::Utc::now().timestamp() - LEEWAY {
                return Ok(verified);
            }
            self.verified.invalidate(token);
        }
        let verified = self.verify_signed(token)?;
        self.verified.insert(token.to_owned(), verified.clone());
        Ok(verified)
    }

    fn verify_signed(&self, token: &str) -> Result<Verified, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("invalid token: {why}"));
        let header = decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg == Algorithm::HS256 {
            let mut validation = Validation::new(Algorithm::HS256);
            self.require(&mut validation, &self.issuer, &self.audience);
            let data = decode::<AccessClaims>(token, &self.decoding, &validation).map_err(|e| invalid(reason(&e)))?;
            return Ok(Verified::Local(data.claims));
        }
        let Some(ext) = self.external.as_ref().filter(|ext| ext.algorithm == header.alg) else {
            return Err(invalid("unsupported algorithm"));
        };
        let mut validation = Validation::new(ext.algorithm);
        self.require(&mut validation, &ext.issuer, &ext.audience);
        let data = decode::<serde_json::Map<String, serde_json::Value>>(token, &ext.key, &validation)
            .map_err(|e| invalid(reason(&e)))?;
        let claims = data.claims;
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let role = text(&ext.role_claim)
            .and_then(|r| Role::parse(&r))
            .ok_or_else(|| invalid("no valid role claim"))?;
        let park = text(&ext.park_claim);
        if !role.is_provincial() {
            match &park {
                None => return Err(invalid("a park role needs a park claim")),
                Some(code) if !crate::parks::is_code(code) => return Err(invalid("the park claim is not a park code")),
                Some(_) => {}
            }
        }
        let username = text(&ext.username_claim).or_else(|| text("sub")).ok_or_else(|| invalid("no subject"))?;
        Ok(Verified::External {
            username,
            role,
            park: if role.is_provincial() { None } else { park },
            jti: text("jti"),
            exp: claims.get("exp").and_then(|v| v.as_i64()).unwrap_or_default(),
        })
    }

    fn require(&self, validation: &mut Validation, issuer: &str, audience: &str) {
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY as u64;
    }
}

fn reason(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not yet valid",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "unsupported algorithm",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        _ => "malformed",
    }
}

fn external_key(settings: &AuthSettings, path: &str) -> Result<External, KeyError> {
    let pem = std::fs::read(path).map_err(|e| KeyError::PublicKey { path: path.into(), reason: e.to_string() })?;
    let (algorithm, key) = match settings.jwt_public_key_alg.as_str() {
        "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem(&pem)),
        "ES256" => (Algorithm::ES256, DecodingKey::from_ec_pem(&pem)),
        other => return Err(KeyError::Algorithm(other.into())),
    };
    let key = key.map_err(|e| KeyError::PublicKey { path: path.into(), reason: e.to_string() })?;
    let (Some(issuer), Some(audience)) = (&settings.jwt_external_issuer, &settings.jwt_external_audience) else {
        return Err(KeyError::ExternalClaims);
    };
    Ok(External {
        algorithm,
        key,
        issuer: issuer.clone(),
        audience: audience.clone(),
        role_claim: settings.jwt_role_claim.clone(),
        park_claim: settings.jwt_park_claim.clone(),
        username_claim: settings.jwt_username_claim.clone(),
    })
}

/// The generated secret, created once with owner-only permissions so that
/// tokens survive a restart.
fn kept_secret(dir: &Path) -> Result<Vec<u8>, KeyError> {
    let path = dir.join("jwt-secret");
    let err = |source| KeyError::SecretFile { path: path.display().to_string(), source };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(dir).map_err(err)?;
    let secret = random_token(48);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(err)?;
    file.write_all(secret.as_bytes()).map_err(err)?;
    tracing::info!(path = %path.display(), "generated a JWT secret");
    Ok(secret.into_bytes())
}

/// `bytes` random bytes from the OS, base64url.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// How a refresh token is stored: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Option<TokenKeys> {
        TokenKeys::from_settings(&AuthSettings::with_secret("0123456789abcdef0123456789abcdef")).ok()
    }

    #[test]
    fn issued_tokens_verify() {
        let Some(keys) = keys() else { panic!("keys") };
        let Ok((token, claims)) = keys.issue("u1", "zhang", Role::ParkStaff, Some("yueyang"), 3, "s1") else {
            panic!("issue")
        };
        match keys.verify(&token) {
            Ok(Verified::Local(c)) => {
                assert_eq!((c.sub, c.role, c.park, c.tv, c.jti), ("u1".into(), Role::ParkStaff, Some("yueyang".into()), 3, claims.jti))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_remembered_token_is_checked_again_once_expired_and_only_its_exact_text_is_remembered() {
        let Some(keys) = keys() else { panic!("keys") };
        let Ok((token, _)) = keys.issue("u1", "zhang", Role::ParkStaff, Some("yueyang"), 3, "s1") else { panic!("issue") };
        assert!(keys.verify(&token).is_ok());
        assert!(keys.verified.contains_key(&token), "a verified token is remembered");
        let Some((signed, signature)) = token.rsplit_once('.') else { panic!("three parts") };
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{signed}.{flipped}{}", &signature[1..]);
        assert!(keys.verify(&forged).is_err(), "another text is verified on its own");
        // Remembered claims past their expiry: the signature check runs again and refuses.
        let Some(Verified::Local(mut claims)) = keys.verified.get(&token) else { panic!("remembered") };
        claims.exp = chrono::Utc::now().timestamp() - LEEWAY - 1;
        let Ok(expired) = encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding) else { panic!("encode") };
        keys.verified.insert(expired.clone(), Verified::Local(claims));
        assert!(keys.verify(&expired).is_err(), "an expired token is refused though remembered");
        assert!(!keys.verified.contains_key(&expired));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(TokenKeys::from_settings(&AuthSettings::with_secret("short")), Err(KeyError::ShortSecret)));
    }

    #[test]
    fn secret_file_is_kept_owner_only() {
        let dir = std::env::temp_dir().join(format!("ir-secret-{}", uuid::Uuid::now_v7()));
        let first = kept_secret(&dir).unwrap_or_default();
        let second = kept_secret(&dir).unwrap_or_default();
        assert!(first.len() >= 32);
        assert_eq!(first, second, "the same secret after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("jwt-secret")).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
