//! The field types of writes, each one rule with its `Deserialize`: plain and inline text with
//! their limits, ids, slugs, http(s) URLs, RFC 3339 times, heading levels, bounded lists, and
//! [`Patch`] (absent, null or a value). Their limits are the ones the spec states for the fields
//! that use them (`maxLength`, `maxItems`, `pattern`), which `the_spec_states_the_limits_of_the_types`
//! (tests/api/contract.rs) holds together.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::articles::model::{SLUG_MAX, plain_text, sanitize_inline};
use crate::fields::url::check_http_url;

/// A field of a partial update: absent (leave it as it is), `null` (clear it) or a value.
/// Fields of this type need `#[serde(default)]`, so that absent is `Absent`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Patch::Null, Patch::Value))
    }
}

impl<T> Patch<T> {
    /// `None` when absent (no change), `Some(None)` when null, `Some(Some(v))` for a value.
    pub fn change(self) -> Option<Option<T>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(v) => Some(Some(v)),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }
}

fn too_long<E: de::Error>(max: usize, len: usize) -> E {
    E::custom(format!("must be at most {max} characters, not {len}"))
}

/// Plain text: markup removed, entities decoded, trimmed; at most `MAX` characters as sent
/// (the spec's `maxLength` counts the text as sent). May be empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PlainText<const MAX: usize>(pub String);

impl<'de, const MAX: usize> Deserialize<'de> for PlainText<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let len = raw.chars().count();
        if len > MAX {
            return Err(too_long(MAX, len));
        }
        Ok(PlainText(plain_text(&raw).trim().to_owned()))
    }
}

impl<const MAX: usize> PlainText<MAX> {
    /// The text, or `None` when it is empty (an empty optional field clears it).
    pub fn non_empty(self) -> Option<String> {
        Some(self.0).filter(|t| !t.is_empty())
    }
}

/// [`PlainText`] that must not be empty once its markup is gone (a headline, a tag name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct NotBlank<const MAX: usize>(pub String);

impl<'de, const MAX: usize> Deserialize<'de> for NotBlank<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let PlainText(text) = PlainText::<MAX>::deserialize(d)?;
        if text.is_empty() {
            return Err(de::Error::custom("must not be empty"));
        }
        Ok(NotBlank(text))
    }
}

/// Inline rich text (bold, italic, links), sanitised; must not be blank once sanitised.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct InlineHtml(pub String);

impl<'de> Deserialize<'de> for InlineHtml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let clean = sanitize_inline(&String::deserialize(d)?);
        if plain_text(&clean).trim().is_empty() {
            return Err(de::Error::custom("must not be empty"));
        }
        Ok(InlineHtml(clean))
    }
}

impl InlineHtml {
    /// An optional inline text (a caption): blank or missing is `None`.
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<InlineHtml>, D::Error> {
        let raw = Option::<String>::deserialize(d)?;
        Ok(raw
            .map(|r| sanitize_inline(&r))
            .filter(|clean| !plain_text(clean).trim().is_empty())
            .map(InlineHtml))
    }
}

/// The id of something the write refers to (an image): trimmed, 1–`MAX` characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Id<const MAX: usize>(pub String);

impl<'de, const MAX: usize> Deserialize<'de> for Id<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let id = raw.trim();
        if id.is_empty() || raw.chars().count() > MAX {
            return Err(de::Error::custom(format!("must be an id of 1–{MAX} characters")));
        }
        Ok(Id(id.to_owned()))
    }
}

/// An explicit slug: lowercase letters, digits and single hyphens, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Slug(pub String);

impl Slug {
    pub fn parse(raw: &str) -> Option<Slug> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= SLUG_MAX
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        ok.then(|| Slug(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Slug::parse(&String::deserialize(d)?).ok_or_else(|| {
            de::Error::custom("must be lowercase letters, digits and single hyphens (at most 200 characters)")
        })
    }
}

/// An absolute http(s) URL by the rule of [`check_http_url`], kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct HttpUrl(pub String);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        check_http_url(&raw).map_err(de::Error::custom)?;
        Ok(HttpUrl(raw))
    }
}

/// An RFC 3339 time, kept as UTC without offset (as times are stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time(pub NaiveDateTime);

impl Time {
    pub fn parse(raw: &str) -> Option<Time> {
        DateTime::parse_from_rfc3339(raw.trim())
            .ok()
            .map(|t| Time(t.with_timezone(&Utc).naive_utc()))
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Time::parse(&String::deserialize(d)?)
            .ok_or_else(|| de::Error::custom("must be an RFC 3339 time such as 2026-12-03T00:01:00Z"))
    }
}

/// A subheading level: 2, 3 or 4 (`3.0` too: JSON Schema counts it as the integer 3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadingLevel(pub u8);

impl<'de> Deserialize<'de> for HeadingLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Level;
        impl Visitor<'_> for Level {
            type Value = HeadingLevel;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("2, 3 or 4")
            }
            fn visit_f64<E: de::Error>(self, level: f64) -> Result<HeadingLevel, E> {
                if level.fract() == 0.0 && (2.0..=4.0).contains(&level) {
                    Ok(HeadingLevel(level as u8))
                } else {
                    Err(E::custom("must be 2, 3 or 4"))
                }
            }
            fn visit_u64<E: de::Error>(self, level: u64) -> Result<HeadingLevel, E> {
                self.visit_f64(level as f64)
            }
            fn visit_i64<E: de::Error>(self, level: i64) -> Result<HeadingLevel, E> {
                self.visit_f64(level as f64)
            }
        }
        d.deserialize_any(Level)
    }
}

/// A list of `MIN`–`MAX` items. Past `MAX` the rest is only counted, never kept, so an array of
/// 16 384 tags costs no more than its bytes (and never becomes a query with 16 384 variables).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Bounded<T, const MAX: usize, const MIN: usize = 0>(pub Vec<T>);

impl<'de, T: Deserialize<'de>, const MAX: usize, const MIN: usize> Deserialize<'de> for Bounded<T, MAX, MIN> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T, const MAX: usize, const MIN: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize, const MIN: usize> Visitor<'de> for Items<T, MAX, MIN> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an array of at most {MAX} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX));
                while items.len() < MAX {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => break,
                    }
                }
                let mut more = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    more += 1;
                }
                if more > 0 {
                    return Err(de::Error::custom(format!(
                        "must have at most {MAX} items, not {}",
                        MAX + more
                    )));
                }
                if items.len() < MIN {
                    return Err(de::Error::custom(format!(
                        "must have at least {MIN} item{}",
                        if MIN == 1 { "" } else { "s" }
                    )));
                }
                Ok(items)
            }
        }
        d.deserialize_seq(Items::<T, MAX, MIN>(PhantomData)).map(Bounded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    struct Form {
        #[serde(default)]
        kicker: Patch<PlainText<10>>,
        tags: Option<Bounded<String, 2>>,
        level: Option<HeadingLevel>,
    }

    fn parse(v: serde_json::Value) -> Result<Form, String> {
        crate::fields::parse::<Form>(v).map_err(|e| {
            e.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    #[test]
    fn absent_null_and_a_value_are_three_things() {
        assert_eq!(parse(json!({})).map(|f| f.kicker), Ok(Patch::Absent));
        assert_eq!(parse(json!({"kicker": null})).map(|f| f.kicker), Ok(Patch::Null));
        assert_eq!(
            parse(json!({"kicker": " <b>x</b>"})).map(|f| f.kicker),
            Ok(Patch::Value(PlainText("x".into())))
        );
    }

    #[test]
    fn every_invalid_field_is_named_at_once() {
        let err =
            parse(json!({"kicker": "much too long", "tags": ["a", "b", "c", "d"], "level": 5})).unwrap_err();
        assert_eq!(
            parse(json!({"tags": ["a", "b"]})).map(|f| f.tags),
            Ok(Some(Bounded(vec!["a".to_owned(), "b".to_owned()])))
        );
        let mut err: Vec<&str> = err.split("; ").collect();
        err.sort();
        assert_eq!(
            err,
            [
                "kicker: must be at most 10 characters, not 13",
                "level: must be 2, 3 or 4",
                "tags: must have at most 2 items, not 4"
            ]
        );
        assert_eq!(
            parse(json!({"level": 3.0})).map(|f| f.level),
            Ok(Some(HeadingLevel(3)))
        );
    }
}
