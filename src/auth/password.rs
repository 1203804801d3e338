//! Password hashing with argon2id. Verification of an unknown account runs against a dummy
//! hash so that it takes as long as a wrong password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (bounds hashing work).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Hashes and verifies passwords with the configured argon2id cost.
pub struct Passwords {
    argon2: Argon2<'static>,
    dummy_hash: String,
}

impl Passwords {
    pub fn new(memory_kib: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib.max(8), 2, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon2
            .hash_password(b"dummy password for unknown accounts", &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        Ok(Passwords { argon2, dummy_hash })
    }

    /// 422 for passwords that are too short or too long.
    pub fn validate(password: &str, field: &str) -> Result<(), ApiError> {
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ApiError::invalid(
                field,
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ApiError::invalid(
                field,
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(())
    }

    /// A PHC-format argon2id hash with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String, ApiError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(format!("argon2: {e}")))
    }

    /// Whether `password` matches `hash`; with `None` it checks against the dummy hash and
    /// returns false, taking the same time.
    pub fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let target = hash.unwrap_or(&self.dummy_hash);
        let ok = match PasswordHash::new(target) {
            Ok(parsed) => self.argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        };
        ok && hash.is_some()
    }
}
