//! User domain types, validated on construction.

use crate::error::{ApiError, FieldError};

/// An email address as entered, with its normalised (lower-case) form for uniqueness.
#[derive(Debug, Clone)]
pub struct Email {
    pub display: String,
    pub normalized: String,
}

impl Email {
    pub fn parse(raw: &str, field: &str) -> Result<Email, FieldError> {
        let trimmed = raw.trim();
        let valid = raw.chars().count() <= 254
            && trimmed.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
            })
            && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(FieldError::new(field, "must be an email address"));
        }
        Ok(Email {
            display: trimmed.to_owned(),
            normalized: trimmed.to_lowercase(),
        })
    }
}

/// The name shown as an article's byline: 1–120 characters as sent (the same limits the spec
/// states, so a client validating against the spec agrees with the server), not blank, no
/// control characters; stored trimmed.
pub fn display_name(raw: &str, field: &str) -> Result<String, FieldError> {
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if raw.chars().count() > 120 {
        return Err(FieldError::new(field, "must be at most 120 characters"));
    }
    Ok(name.to_owned())
}

/// Collects field errors and fails with all of them at once.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}
