//! Typed request fields: each rule of a write (not blank, at most N characters, a slug, an
//! http(s) URL, an RFC 3339 time, at most N items…) is stated once, as a type with
//! `Deserialize`, and a request is parsed into those types by serde. [`parse`] keeps the path
//! of every error (`body[3].level`, `seo.canonical_url`) and reports one error per top-level
//! field at once, so an editor sees everything that is wrong with a form in one answer.

mod text;
pub mod url;

pub use text::{Bounded, HeadingLevel, HttpUrl, Id, InlineHtml, NotBlank, Patch, PlainText, Slug, Time};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::FieldError;

/// A JSON write (the body `http::json::Valid` extracts).
pub trait Input: DeserializeOwned {
    /// Parses the write, or lists what is wrong with it: by default [`parse`]. A write with
    /// rules serde cannot state alone (an article's blocks, each parsed on its own) adds them.
    fn from_json(value: Value) -> Result<Self, Vec<FieldError>> {
        parse(value)
    }
}

/// Parses `value` into `T`, or lists what is wrong with it.
///
/// serde stops at the first error, so when the whole value does not parse each top-level member
/// is parsed again on its own (as `{"key": value}`; the write types take every field as
/// optional, and a required field missing from such a one-member object is not that member's
/// fault): every invalid member is then reported once, with its path. Errors inside one member
/// (a nested object, an array) are its first error.
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, Vec<FieldError>> {
    let first = match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(parsed) => return Ok(parsed),
        Err(e) => e,
    };
    let mut errors = Vec::new();
    if let Value::Object(members) = &value
        && members.len() > 1
    {
        for (key, member) in members {
            let alone = Value::Object([(key.clone(), member.clone())].into_iter().collect());
            if let Err(e) = serde_path_to_error::deserialize::<_, T>(&alone)
                && !is_missing_at_root(&e)
            {
                errors.push(field_error("", &e));
            }
        }
    }
    if errors.is_empty() {
        errors.push(field_error("", &first));
    }
    Err(errors)
}

/// Parses one item of a list, naming its errors under `prefix` (`body[3]`).
pub fn parse_at<T: DeserializeOwned>(prefix: &str, value: &Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| field_error(prefix, &e))
}

fn is_missing_at_root(e: &serde_path_to_error::Error<serde_json::Error>) -> bool {
    e.path().iter().next().is_none() && e.inner().to_string().starts_with("missing field `")
}

/// The error as an API field error: its path under `prefix`, and serde's message with the
/// "missing field" case turned into "is required" on the missing field's own path.
fn field_error(prefix: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let inner = e.path().to_string();
    let mut path = match (prefix, inner.as_str()) {
        (p, ".") => p.to_owned(),
        ("", inner) => inner.to_owned(),
        (p, inner) if inner.starts_with('[') => format!("{p}{inner}"),
        (p, inner) => format!("{p}.{inner}"),
    };
    let message = e.inner().to_string();
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(missing);
        return FieldError::new(path, "is required");
    }
    if path.is_empty() {
        // The request body itself (not an object, say), as actix's JSON extractor names it.
        path = "body".to_owned();
    }
    FieldError::new(path, message)
}
