//! Comment domain rules: what a reader may submit, statuses, and thread depth.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Failure, StoreError};
use crate::error::{ApiError, FieldError};
use crate::users::model::Email;

/// What storing a comment can fail with: a field the reader must fix (a used challenge, a
/// parent elsewhere or too deep), or the database.
#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommentError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        CommentError::Invalid(FieldError::new(field, message))
    }

    pub fn challenge_used() -> Self {
        CommentError::invalid("challenge_token", "was already used; fetch a new challenge")
    }

    pub fn parent_elsewhere() -> Self {
        CommentError::invalid("parent_id", "is not a comment on this article")
    }

    pub fn too_deep() -> Self {
        CommentError::invalid(
            "parent_id",
            format!("replies may nest at most {MAX_DEPTH} levels deep"),
        )
    }
}

impl Failure for CommentError {
    fn is_retryable(&self) -> bool {
        matches!(self, CommentError::Store(e) if e.is_retryable())
    }
}

impl From<CommentError> for ApiError {
    fn from(err: CommentError) -> Self {
        match err {
            CommentError::Invalid(field) => ApiError::validation(vec![field]),
            CommentError::Store(e) => ApiError::from(e),
        }
    }
}

/// Longest comment body, in characters.
pub const MAX_BODY_CHARS: usize = 5000;
/// Longest author name, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Deepest reply level: a top-level comment is depth 1, replies to it 2, their replies 3.
pub const MAX_DEPTH: i32 = 3;

/// Moderation state of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    Pending,
    Approved,
    Rejected,
    Spam,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Rejected => "rejected",
            CommentStatus::Spam => "spam",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(CommentStatus::Pending),
            "approved" => Some(CommentStatus::Approved),
            "rejected" => Some(CommentStatus::Rejected),
            "spam" => Some(CommentStatus::Spam),
            _ => None,
        }
    }
}

/// A validated submission (the challenge is checked separately).
#[derive(Debug, Clone)]
pub struct NewCommentInput {
    pub author_name: String,
    pub author_email: Option<String>,
    pub body: String,
    pub parent_id: Option<String>,
}

impl NewCommentInput {
    pub fn parse(
        author_name: &str,
        author_email: Option<&str>,
        body: &str,
        parent_id: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let name = author_name.trim();
        if name.is_empty() {
            errors.push(FieldError::new("author_name", "must not be empty"));
        } else if author_name.chars().count() > MAX_NAME_CHARS {
            errors.push(FieldError::new(
                "author_name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        let email = match author_email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(raw) => match Email::parse(raw, "author_email") {
                Ok(email) => Some(email.display),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            None => None,
        };
        let text = body.trim();
        let control = |s: &str| {
            s.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        };
        if control(name) {
            errors.push(FieldError::new(
                "author_name",
                "must not contain control characters",
            ));
        }
        if control(text) {
            errors.push(FieldError::new("body", "must not contain control characters"));
        }
        if text.is_empty() {
            errors.push(FieldError::new("body", "must not be empty"));
        } else if body.chars().count() > MAX_BODY_CHARS {
            errors.push(FieldError::new(
                "body",
                format!("must be at most {MAX_BODY_CHARS} characters"),
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(NewCommentInput {
            author_name: name.to_owned(),
            author_email: email,
            body: text.to_owned(),
            parent_id: parent_id
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        })
    }
}

/// A keyed hash of a network address: lets moderators see that comments share an origin without
/// storing the address.
pub fn address_hash(secret: &[u8], address: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| {
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"masthead").unwrap_or_else(|_| unreachable!())
    });
    mac.update(b"comment address:");
    mac.update(address.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_trimmed_and_bounded() {
        let ok = NewCommentInput::parse(" Ann ", None, "  Great piece.  ", None).unwrap();
        assert_eq!(ok.body, "Great piece.");
        assert_eq!(ok.author_name, "Ann");
        assert!(NewCommentInput::parse("Ann", None, "   ", None).is_err());
        assert!(NewCommentInput::parse("Ann", None, &"x".repeat(5001), None).is_err());
        assert!(NewCommentInput::parse("Ann", None, &"é".repeat(5000), None).is_ok());
        assert!(NewCommentInput::parse("Ann", Some("nope"), "hi", None).is_err());
    }

    #[test]
    fn address_hashes_are_keyed() {
        assert_eq!(address_hash(b"k", "1.2.3.4"), address_hash(b"k", "1.2.3.4"));
        assert_ne!(address_hash(b"k", "1.2.3.4"), address_hash(b"j", "1.2.3.4"));
        assert!(!address_hash(b"k", "1.2.3.4").contains("1.2.3.4"));
    }
}
