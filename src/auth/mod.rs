//! Who is calling and what they may do: roles, passwords (argon2id), access tokens (JWT),
//! refresh tokens, API keys, and the `Auth<MinRole>` extractor that guards every admin route.

pub mod api_keys;
pub mod dev_secret;
pub mod extract;
pub mod http;
pub mod password;
pub mod store;
pub mod tokens;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use extract::{AdminRole, Auth, AuthorRole, ContributorRole, EditorRole};

/// Editorial roles, each allowed everything the one before it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes own drafts; cannot publish.
    Contributor,
    /// Publishes own articles.
    Author,
    /// All content, comment moderation.
    Editor,
    /// Everything, plus users, API keys, webhooks and site settings.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Contributor => "contributor",
            Role::Author => "author",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "contributor" => Some(Role::Contributor),
            "author" => Some(Role::Author),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The authenticated caller of an editorial request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user, for logins; for an API key, the user who created it (if still present).
    pub user_id: Option<String>,
    /// Set when the caller used an API key.
    pub api_key_id: Option<String>,
    pub role: Role,
}

impl Principal {
    /// Whether the caller's role is at least `role`.
    pub fn has(&self, role: Role) -> bool {
        self.role >= role
    }

    /// 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), crate::error::ApiError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(crate::error::ApiError::Forbidden(format!(
                "This needs the {} role or higher; you are {}",
                role.as_str(),
                self.role.as_str()
            )))
        }
    }
}
