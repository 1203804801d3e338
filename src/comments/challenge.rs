//! The arithmetic challenge of the public comment form ("3 + 9 = ?"): a signed, expiring token
//! that carries the sum. No server session: the token is checked by its HMAC, and its nonce is
//! recorded in the database when used, so it works once even across several server instances.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token carries.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChallengeClaims {
    /// Single-use nonce.
    pub n: String,
    pub a: i32,
    pub b: i32,
    /// '+' or '-'.
    pub op: char,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

impl ChallengeClaims {
    pub fn question(&self) -> String {
        format!("{} {} {} = ?", self.a, self.op, self.b)
    }

    pub fn answer(&self) -> i32 {
        if self.op == '-' {
            self.a - self.b
        } else {
            self.a + self.b
        }
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_default()
    }
}

/// Why a challenge answer was refused; each is a 422 on `challenge_token`/`challenge_answer`.
#[derive(Debug, PartialEq, Eq)]
pub enum ChallengeError {
    Malformed,
    BadSignature,
    Expired,
    WrongAnswer,
}

impl ChallengeError {
    pub fn field_and_message(&self) -> (&'static str, &'static str) {
        match self {
            ChallengeError::Malformed | ChallengeError::BadSignature => {
                ("challenge_token", "is not a valid challenge; fetch a new one")
            }
            ChallengeError::Expired => ("challenge_token", "has expired; fetch a new challenge"),
            ChallengeError::WrongAnswer => ("challenge_answer", "is not the right answer"),
        }
    }
}

/// Issues and checks challenge tokens with a key derived from the server secret.
pub struct Challenges {
    key: Vec<u8>,
    ttl_secs: i64,
}

type HmacSha256 = Hmac<Sha256>;

impl Challenges {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| {
            <HmacSha256 as Mac>::new_from_slice(b"masthead").unwrap_or_else(|_| unreachable!())
        });
        mac.update(b"masthead comment challenge key");
        Challenges {
            key: mac.finalize().into_bytes().to_vec(),
            ttl_secs: ttl_secs as i64,
        }
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// A new challenge and its token.
    pub fn issue(&self) -> (String, ChallengeClaims) {
        let mut rng = rand::thread_rng();
        let (a, b) = (rng.gen_range(1..=10), rng.gen_range(1..=10));
        let (a, b, op) = if rng.gen_bool(0.3) && a != b {
            (a.max(b), a.min(b), '-')
        } else {
            (a, b, '+')
        };
        let claims = ChallengeClaims {
            n: crate::auth::tokens::random_secret(16),
            a,
            b,
            op,
            exp: Utc::now().timestamp() + self.ttl_secs,
        };
        (self.encode(&claims), claims)
    }

    pub fn encode(&self, claims: &ChallengeClaims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(self.sign(&payload))
        )
    }

    /// Checks signature, expiry and answer; the caller then records the nonce as used.
    pub fn verify(&self, token: &str, answer: &str) -> Result<ChallengeClaims, ChallengeError> {
        let (payload, signature) = token.trim().split_once('.').ok_or(ChallengeError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ChallengeError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ChallengeError::Malformed)?;
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.key).map_err(|_| ChallengeError::Malformed)?;
        mac.update(&payload);
        mac.verify_slice(&signature)
            .map_err(|_| ChallengeError::BadSignature)?;
        let claims: ChallengeClaims =
            serde_json::from_slice(&payload).map_err(|_| ChallengeError::Malformed)?;
        if claims.exp <= Utc::now().timestamp() {
            return Err(ChallengeError::Expired);
        }
        match answer.trim().parse::<i32>() {
            Ok(given) if given == claims.answer() => Ok(claims),
            _ => Err(ChallengeError::WrongAnswer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_answer_passes_and_wrong_ones_do_not() {
        let challenges = Challenges::new(b"secret", 600);
        let (token, claims) = challenges.issue();
        assert!(claims.question().ends_with(" = ?"));
        assert!(claims.answer() >= 0);
        assert_eq!(
            challenges.verify(&token, &claims.answer().to_string()),
            Ok(claims)
        );
        let (token, claims) = challenges.issue();
        assert_eq!(
            challenges.verify(&token, &(claims.answer() + 1).to_string()),
            Err(ChallengeError::WrongAnswer)
        );
        assert_eq!(
            challenges.verify(&token, "twelve"),
            Err(ChallengeError::WrongAnswer)
        );
    }

    #[test]
    fn tokens_from_another_secret_expired_or_garbled_are_refused() {
        let ours = Challenges::new(b"secret", 600);
        let theirs = Challenges::new(b"other secret", 600);
        let (token, claims) = theirs.issue();
        assert_eq!(
            ours.verify(&token, &claims.answer().to_string()),
            Err(ChallengeError::BadSignature)
        );
        let expired = ChallengeClaims {
            n: "x".into(),
            a: 1,
            b: 2,
            op: '+',
            exp: Utc::now().timestamp() - 1,
        };
        assert_eq!(
            ours.verify(&ours.encode(&expired), "3"),
            Err(ChallengeError::Expired)
        );
        assert_eq!(ours.verify("garbage", "3"), Err(ChallengeError::Malformed));
    }
}
