//! Access tokens (HS256 JWTs with pinned algorithm, `iss`, `aud`, `exp`), opaque refresh tokens
//! and API key secrets. Only hashes of refresh tokens and API keys are stored.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Role;

pub const ISSUER: &str = "masthead";
pub const AUDIENCE: &str = "masthead-editorial";
/// Every API key starts with this, so leaked keys are recognisable (and secret scanners can match).
pub const API_KEY_PREFIX: &str = "mh_";

/// What an access token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// The user's session version when the token was issued.
    pub ver: i32,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A signed access token for the user.
    pub fn issue(&self, user_id: &str, role: Role, session_version: i32) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            ver: session_version,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    /// The claims of a valid token; any defect (signature, algorithm, issuer, audience, expiry)
    /// is an error.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| e.to_string())
    }
}

/// A random URL-safe secret of `bytes` bytes.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The stored form of a refresh token or API key.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new API key: (full secret shown once, short public prefix).
pub fn new_api_key() -> (String, String) {
    let public = random_secret(6);
    let secret = format!("{API_KEY_PREFIX}{public}_{}", random_secret(24));
    (secret, format!("{API_KEY_PREFIX}{public}"))
}
