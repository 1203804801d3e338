//! What a correction is: its kind, its text rules, its public shape, and how it is rendered at
//! the end of an article's `body_html`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// Longest correction text, in characters as sent.
pub const TEXT_MAX: usize = 2000;

/// The kind of a note on an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    /// A fact was wrong and is now right.
    Correction,
    /// Something was unclear and is now explained.
    Clarification,
    /// The story moved on and the article says so.
    Update,
    /// A note from the editors.
    EditorsNote,
}

impl CorrectionKind {
    pub fn parse(raw: &str) -> Option<CorrectionKind> {
        match raw {
            "correction" => Some(CorrectionKind::Correction),
            "clarification" => Some(CorrectionKind::Clarification),
            "update" => Some(CorrectionKind::Update),
            "editors_note" => Some(CorrectionKind::EditorsNote),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionKind::Correction => "correction",
            CorrectionKind::Clarification => "clarification",
            CorrectionKind::Update => "update",
            CorrectionKind::EditorsNote => "editors_note",
        }
    }

    /// The heading a reader sees over a note of this kind.
    pub fn heading(self) -> &'static str {
        match self {
            CorrectionKind::Correction => "Correction",
            CorrectionKind::Clarification => "Clarification",
            CorrectionKind::Update => "Update",
            CorrectionKind::EditorsNote => "Editor's note",
        }
    }
}

/// A new correction (editors and admins).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewCorrection {
    /// `correction`, `clarification`, `update` or `editors_note`.
    #[schema(value_type = CorrectionKind)]
    pub kind: String,
    /// Plain text, 1–2,000 characters as sent (markup is stripped).
    #[schema(
        max_length = 2000,
        example = "An earlier version of this article gave the wrong date for the reopening.",
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub text: String,
}

impl crate::fields::Input for NewCorrection {}

impl NewCorrection {
    /// The kind and the cleaned text, or every invalid field at once.
    pub fn parse(&self) -> Result<(CorrectionKind, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = CorrectionKind::parse(self.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                "must be correction, clarification, update or editors_note",
            ));
        }
        let text = crate::articles::model::plain_text(&self.text).trim().to_owned();
        if self.text.chars().count() > TEXT_MAX {
            errors.push(FieldError::new(
                "text",
                format!("must be at most {TEXT_MAX} characters"),
            ));
        } else if text.is_empty() {
            errors.push(FieldError::new("text", "must not be empty"));
        }
        match kind {
            Some(kind) if errors.is_empty() => Ok((kind, text)),
            _ => Err(errors),
        }
    }
}

/// A correction as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Correction {
    pub id: String,
    pub kind: CorrectionKind,
    #[schema(example = "An earlier version of this article gave the wrong date for the reopening.")]
    pub text: String,
    pub published_at: DateTime<Utc>,
}

/// The corrections block appended to `body_html`: a clearly marked `<aside>` with a heading
/// per note (its kind) and its time; nothing when there are none.
pub fn render_html(corrections: &[Correction]) -> String {
    if corrections.is_empty() {
        return String::new();
    }
    let mut html = String::from("<aside class=\"corrections\">\n");
    for c in corrections {
        let when = c.published_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        html.push_str(&format!(
            "<section class=\"correction correction-{kind}\"><h2>{heading}</h2><p>{text}</p><p><time datetime=\"{when}\">{date}</time></p></section>\n",
            kind = c.kind.as_str(),
            heading = c.kind.heading(),
            text = html_escape::encode_text(&c.text),
            date = c.published_at.format("%-d %B %Y, %H:%M UTC"),
        ));
    }
    html.push_str("</aside>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_and_blank_text_are_refused_together() {
        let bad = NewCorrection {
            kind: "retraction".into(),
            text: "  <b> </b> ".into(),
        };
        let fields: Vec<String> = bad.parse().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["kind", "text"]);
        let good = NewCorrection {
            kind: "editors_note".into(),
            text: "We <i>regret</i> the error.".into(),
        };
        assert_eq!(
            good.parse().unwrap(),
            (CorrectionKind::EditorsNote, "We regret the error.".to_owned())
        );
    }

    #[test]
    fn the_block_names_each_kind_escapes_the_text_and_dates_it() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T09:30:00Z")
            .unwrap()
            .to_utc();
        let html = render_html(&[Correction {
            id: "c1".into(),
            kind: CorrectionKind::Correction,
            text: "1 < 2".into(),
            published_at: at,
        }]);
        assert!(html.starts_with("<aside class=\"corrections\">"));
        assert!(html.contains("<h2>Correction</h2><p>1 &lt; 2</p>"));
        assert!(html.contains("<time datetime=\"2026-12-02T09:30:00Z\">2 December 2026, 09:30 UTC</time>"));
        assert_eq!(render_html(&[]), "");
    }
}
