//! The rules of an image's newsroom metadata, stated once for the upload form, `PATCH` and the
//! values read from the file (PRODUCT.md §3, §3a): the text fields and their lengths, how typed
//! text is checked (refused when too long or with control characters) and how embedded text is
//! cleaned (control characters removed, cut at a character boundary), the IPTC digital source
//! type vocabulary, and the times (`taken_at`, `rights_expire_at`).

use chrono::{DateTime, NaiveDateTime};

use crate::error::FieldError;

/// The text fields and their maximum length in characters.
pub const TEXT_LIMITS: [(&str, usize); 8] = [
    ("caption", 2000),
    ("credit", 200),
    ("source", 200),
    ("alt_text", 1000),
    ("copyright", 300),
    ("creator", 200),
    ("usage_terms", 1000),
    ("digital_source_type", 200),
];

/// The maximum length of a text field (200 for a name not listed).
pub fn max_len(field: &str) -> usize {
    TEXT_LIMITS
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(200, |(_, max)| *max)
}

/// Whether a character may appear in a metadata text: no control characters except the line
/// feed (captions and usage terms have paragraphs).
fn allowed(c: char) -> bool {
    !c.is_control() || c == '\n'
}

/// Typed input: trimmed; empty means none; too long or with control characters is refused.
pub fn check_text(field: &str, raw: &str) -> Result<Option<String>, FieldError> {
    let max = max_len(field);
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if !text.chars().all(allowed) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Text read from a file: `\r\n` and `\r` become line feeds, other control characters are
/// removed, the result is trimmed and cut to the field's length at a character boundary.
/// Empty means none.
pub fn clean_embedded(field: &str, raw: &str) -> Option<String> {
    let max = max_len(field);
    let normalised = raw.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = normalised.chars().filter(|&c| allowed(c)).collect();
    let cut: String = kept.trim().chars().take(max).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_owned())
}

/// The IPTC NewsCodes "Digital Source Type" vocabulary
/// (<http://cv.iptc.org/newscodes/digitalsourcetype/>), current and retired codes: files made
/// before a code was retired still carry it.
pub const DIGITAL_SOURCE_TYPES: [&str; 20] = [
    "digitalCapture",
    "computationalCapture",
    "negativeFilm",
    "positiveFilm",
    "print",
    "humanEdits",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicallyEnhanced",
    "digitalCreation",
    "dataDrivenMedia",
    "trainedAlgorithmicMedia",
    "algorithmicMedia",
    "screenCapture",
    "virtualRecording",
    "composite",
    "compositeCapture",
    "compositeSynthetic",
    // Retired, still found in files.
    "minorHumanEdits",
    "digitalArt",
    "softwareImage",
];

/// The vocabulary's namespace; codes are URIs under it.
pub const DIGITAL_SOURCE_TYPE_BASE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";

/// A digital source type URI of the vocabulary, exactly (no surrounding space), in its canonical
/// `http://` form (`https://` is accepted and normalised); `None` for anything else.
pub fn digital_source_type(raw: &str) -> Option<String> {
    let code = raw
        .strip_prefix(DIGITAL_SOURCE_TYPE_BASE)
        .or_else(|| raw.strip_prefix("https://cv.iptc.org/newscodes/digitalsourcetype/"))?;
    DIGITAL_SOURCE_TYPES
        .contains(&code)
        .then(|| format!("{DIGITAL_SOURCE_TYPE_BASE}{code}"))
}

/// The spec's pattern for a typed `digital_source_type`: empty, or a URI of the vocabulary
/// (kept equal to [`DIGITAL_SOURCE_TYPES`] by a test).
pub const DIGITAL_SOURCE_TYPE_PATTERN: &str = r"^(https?://cv\.iptc\.org/newscodes/digitalsourcetype/(digitalCapture|computationalCapture|negativeFilm|positiveFilm|print|humanEdits|compositeWithTrainedAlgorithmicMedia|algorithmicallyEnhanced|digitalCreation|dataDrivenMedia|trainedAlgorithmicMedia|algorithmicMedia|screenCapture|virtualRecording|composite|compositeCapture|compositeSynthetic|minorHumanEdits|digitalArt|softwareImage))?$";

/// Typed `digital_source_type`: empty means none; anything but a vocabulary URI is refused.
pub fn check_digital_source_type(raw: &str) -> Result<Option<String>, FieldError> {
    if raw.is_empty() {
        return Ok(None);
    }
    digital_source_type(raw).map(Some).ok_or_else(|| {
        FieldError::new(
            "digital_source_type",
            format!("must be an IPTC digital source type URI, e.g. {DIGITAL_SOURCE_TYPE_BASE}digitalCapture"),
        )
    })
}

/// Typed times (`taken_at`, `rights_expire_at`) in the upload form: RFC 3339, stored as UTC;
/// empty means none (JSON edits clear them with `null`, see [`check_time_value`]).
pub fn check_time(field: &str, raw: &str) -> Result<Option<NaiveDateTime>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| Some(t.naive_utc()))
        .map_err(|_| FieldError::new(field, "must be an RFC 3339 time, e.g. 2026-12-31T23:00:00Z"))
}

/// A time in a JSON edit: RFC 3339; an empty string is refused (`null` clears), as the spec's
/// `date-time` format says.
pub fn check_time_value(field: &str, raw: &str) -> Result<Option<NaiveDateTime>, FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new(
            field,
            "must be an RFC 3339 time; send null to clear it",
        ));
    }
    check_time(field, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_text_is_cleaned_and_cut_at_a_character_boundary() {
        assert_eq!(
            clean_embedded("credit", " Saul\u{0}\u{7} Loeb/AFP\r\n"),
            Some("Saul Loeb/AFP".into())
        );
        let long = "é".repeat(250);
        let cut = clean_embedded("credit", &long).unwrap();
        assert_eq!(cut.chars().count(), 200);
        assert!(clean_embedded("credit", "\u{1}\u{2} ").is_none());
        assert_eq!(clean_embedded("caption", "a\rb"), Some("a\nb".into()));
    }

    #[test]
    fn digital_source_types_are_the_iptc_vocabulary() {
        assert_eq!(
            digital_source_type("https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"),
            Some("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia".into())
        );
        assert!(digital_source_type("http://cv.iptc.org/newscodes/digitalsourcetype/madeUp").is_none());
        assert!(digital_source_type("digitalCapture").is_none());
        assert!(check_digital_source_type("").unwrap().is_none());
        assert!(check_digital_source_type(" http://cv.iptc.org/newscodes/digitalsourcetype/print").is_err());
        let codes = DIGITAL_SOURCE_TYPE_PATTERN
            .split_once("digitalsourcetype/(")
            .and_then(|(_, rest)| rest.split_once("))?$"))
            .map(|(codes, _)| codes.split('|').collect::<Vec<_>>())
            .unwrap();
        assert_eq!(
            codes, DIGITAL_SOURCE_TYPES,
            "the spec's pattern lists the vocabulary"
        );
    }
}
