//! The newsroom metadata embedded in an upload (PRODUCT.md §3a): the XMP packet (JPEG `APP1`,
//! PNG `iTXt` `XML:com.adobe.xmp`, WebP `XMP `) and the IPTC-IIM records (JPEG `APP13`
//! Photoshop resource `0x0404`), found by the container walk under its limits
//! ([`crate::images::container`]) and mapped to the image's fields, XMP preferred over IIM.
//!
//! Everything here is hostile input and nothing here fails an upload: a broken packet keeps
//! the fields read before the fault and adds a note; entity references are never expanded (the
//! XML parser, `quick-xml`, does not read DTDs); text is cleaned like the form's, but cut
//! rather than refused ([`meta::clean_embedded`]). The IIM reader is ours: IIM is a flat list
//! of `0x1C, record, dataset, length, bytes` entries, and the one crate that reads it (`iptc`)
//! walks the whole JPEG itself with unchecked indexing, so it can panic on a truncated file.
//!
//! The mapping, the XMP reader and the IIM reader are about 600 lines; the tests of hostile
//! packets take the file past 700.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::images::container::Raw;
use crate::images::meta;

/// One value read from the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmbeddedField {
    /// The value, cleaned (control characters removed, cut to the field's length).
    #[schema(example = "Saul Loeb/AFP")]
    pub value: String,
    /// Where it was read: the XMP property or the IIM dataset.
    #[schema(example = "XMP photoshop:Credit")]
    pub from: String,
    /// Whether the image took it: `false` when the upload form sent the field (the form wins).
    pub used: bool,
}

/// What was read from the file's embedded metadata at upload, field by field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Embedded {
    /// By image field name (`caption`, `creator`, `credit`, `source`, `copyright`, `alt_text`,
    /// `usage_terms`, `digital_source_type`, `taken_at`).
    pub fields: BTreeMap<String, EmbeddedField>,
    /// What could not be read and why (a malformed packet, an unknown digital source type…).
    pub notes: Vec<String>,
}

impl Embedded {
    /// The value read for `field`, if any.
    pub fn value(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(|f| f.value.as_str())
    }

    fn put(&mut self, field: &str, value: Option<String>, from: &str) {
        if self.fields.contains_key(field) {
            return;
        }
        if let Some(value) = value {
            self.fields.insert(
                field.to_owned(),
                EmbeddedField {
                    value,
                    from: from.to_owned(),
                    used: true,
                },
            );
        }
    }
}

// --- XMP ----------------------------------------------------------------------------------

const RDF: &[u8] = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const DC: &[u8] = b"http://purl.org/dc/elements/1.1/";
const PHOTOSHOP: &[u8] = b"http://ns.adobe.com/photoshop/1.0/";
const XMP_RIGHTS: &[u8] = b"http://ns.adobe.com/xap/1.0/rights/";
const IPTC_CORE: &[u8] = b"http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/";
const IPTC_EXT: &[u8] = b"http://iptc.org/std/Iptc4xmpExt/2008-02-29/";

/// The XMP properties read: namespace, local name, and the label used in `from`.
const XMP_PROPERTIES: [(&[u8], &str, &str); 9] = [
    (DC, "description", "dc:description"),
    (DC, "creator", "dc:creator"),
    (DC, "rights", "dc:rights"),
    (PHOTOSHOP, "Credit", "photoshop:Credit"),
    (PHOTOSHOP, "Source", "photoshop:Source"),
    (PHOTOSHOP, "DateCreated", "photoshop:DateCreated"),
    (
        IPTC_CORE,
        "AltTextAccessibility",
        "Iptc4xmpCore:AltTextAccessibility",
    ),
    (XMP_RIGHTS, "UsageTerms", "xmpRights:UsageTerms"),
    (IPTC_EXT, "DigitalSourceType", "Iptc4xmpExt:DigitalSourceType"),
];

/// No value we keep is longer than this many bytes of text, however long the packet.
const MAX_VALUE_BYTES: usize = 16 * 1024;

fn property(ns: &ResolveResult<'_>, local: &[u8]) -> Option<usize> {
    let ResolveResult::Bound(ns) = ns else {
        return None;
    };
    XMP_PROPERTIES
        .iter()
        .position(|(n, l, _)| *n == ns.as_ref() && l.as_bytes() == local)
}

fn is_rdf(ns: &ResolveResult<'_>, local: &[u8], name: &[u8]) -> bool {
    matches!(ns, ResolveResult::Bound(n) if n.as_ref() == RDF) && local == name
}

fn push_bounded(buf: &mut String, text: &str) {
    let room = MAX_VALUE_BYTES.saturating_sub(buf.len());
    if room == 0 {
        return;
    }
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(&text[..end]);
}

/// A property being read: its index, the depth it opened at, its list items so far.
struct Open {
    index: usize,
    depth: usize,
    items: Vec<(Option<String>, String)>,
    lang: Option<String>,
    buf: String,
}

/// The properties of an XMP packet, by label: a language alternative gives its `x-default`
/// item (else the first), a list its items joined with ", ", a simple property its text or
/// `rdf:resource`. The first occurrence wins. A malformed packet keeps what was complete.
pub fn read_xmp(packet: &[u8], notes: &mut Vec<String>) -> BTreeMap<&'static str, String> {
    let text = String::from_utf8_lossy(packet);
    let mut reader = quick_xml::reader::NsReader::from_str(&text);
    reader.config_mut().trim_text(false);
    let mut found: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut depth = 0usize;
    let mut open: Option<Open> = None;
    let mut skipped_entities = false;
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok(e) => e,
            Err(e) => {
                notes.push(format!(
                    "the XMP packet is malformed ({e}); the properties read before the fault are kept"
                ));
                break;
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                if let Some(o) = open.as_mut() {
                    if is_rdf(&ns, local, b"li") {
                        o.buf.clear();
                        o.lang = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.as_ref() == b"xml:lang")
                            .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                        if empty {
                            o.items.push((o.lang.take(), String::new()));
                        }
                    }
                } else if let Some(index) = property(&ns, local) {
                    let resource = e
                        .attributes()
                        .flatten()
                        .find(|a| {
                            let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
                            is_rdf(&ans, alocal.as_ref(), b"resource")
                        })
                        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
                        .map(|v| v.into_owned());
                    if empty {
                        if let Some(v) = resource {
                            found.entry(XMP_PROPERTIES[index].2).or_insert(v);
                        }
                    } else {
                        open = Some(Open {
                            index,
                            depth,
                            items: Vec::new(),
                            lang: None,
                            buf: resource.unwrap_or_default(),
                        });
                    }
                } else {
                    // Simple properties written as attributes (`<rdf:Description
                    // photoshop:Credit="AFP">`).
                    for attr in e.attributes().flatten() {
                        let (ans, alocal) = reader.resolver().resolve_attribute(attr.key);
                        if let Some(index) = property(&ans, alocal.as_ref())
                            && let Ok(v) = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        {
                            found.entry(XMP_PROPERTIES[index].2).or_insert_with(|| {
                                let mut s = String::new();
                                push_bounded(&mut s, &v);
                                s
                            });
                        }
                    }
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                let local = e.local_name();
                if open.as_ref().is_some_and(|o| o.depth == depth) {
                    if let Some(o) = open.take() {
                        let value = finish(&o);
                        found.entry(XMP_PROPERTIES[o.index].2).or_insert(value);
                    }
                } else if let Some(o) = open.as_mut()
                    && local.as_ref() == b"li"
                {
                    let item = std::mem::take(&mut o.buf);
                    o.items.push((o.lang.take(), item));
                }
            }
            Event::Text(ref t) => {
                if let Some(o) = open.as_mut() {
                    push_bounded(&mut o.buf, &t.xml10_content().unwrap_or_default());
                }
            }
            Event::CData(ref t) => {
                if let Some(o) = open.as_mut() {
                    push_bounded(&mut o.buf, &t.xml10_content().unwrap_or_default());
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(o) = open.as_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        o.buf.push(c);
                    } else if let Some(s) = std::str::from_utf8(r)
                        .ok()
                        .and_then(quick_xml::escape::resolve_predefined_entity)
                    {
                        o.buf.push_str(s);
                    } else {
                        skipped_entities = true;
                    }
                }
            }
            Event::DocType(_) => skipped_entities = true,
            Event::Eof => break,
            _ => {}
        }
    }
    if skipped_entities {
        notes.push("the XMP packet declares or uses entities; they were not expanded".into());
    }
    found
}

fn finish(o: &Open) -> String {
    if o.items.is_empty() {
        return o.buf.trim().to_owned();
    }
    let (_, label, _) = XMP_PROPERTIES[o.index];
    let alternatives = matches!(
        label,
        "description" | "rights" | "AltTextAccessibility" | "UsageTerms"
    );
    if alternatives {
        o.items
            .iter()
            .find(|(lang, _)| lang.as_deref() == Some("x-default"))
            .or_else(|| o.items.first())
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    } else {
        o.items
            .iter()
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Writes an XMP packet holding `fields` (image field name → value) under the properties
/// PRODUCT.md §3a reads them from, values escaped: how the demo pictures carry their credits,
/// like an agency's files do. Unknown field names are left out.
pub fn xmp_packet(fields: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (field, value) in fields {
        let v = quick_xml::escape::escape(*value);
        let alt = |prop: &str| {
            format!("<{prop}><rdf:Alt><rdf:li xml:lang=\"x-default\">{v}</rdf:li></rdf:Alt></{prop}>")
        };
        let simple = |prop: &str| format!("<{prop}>{v}</{prop}>");
        body.push_str(&match *field {
            "caption" => alt("dc:description"),
            "copyright" => alt("dc:rights"),
            "alt_text" => alt("Iptc4xmpCore:AltTextAccessibility"),
            "usage_terms" => alt("xmpRights:UsageTerms"),
            "creator" => format!("<dc:creator><rdf:Seq><rdf:li>{v}</rdf:li></rdf:Seq></dc:creator>"),
            "credit" => simple("photoshop:Credit"),
            "source" => simple("photoshop:Source"),
            "taken_at" => simple("photoshop:DateCreated"),
            "digital_source_type" => simple("Iptc4xmpExt:DigitalSourceType"),
            _ => continue,
        });
    }
    format!(
        "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\" xmlns:xmpRights=\"http://ns.adobe.com/xap/1.0/rights/\" \
xmlns:Iptc4xmpCore=\"http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/\" \
xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\">{body}</rdf:Description></rdf:RDF>\
</x:xmpmeta><?xpacket end=\"w\"?>"
    )
}

/// The fields of the licence read from the file (creator, credit, source, copyright, usage
/// terms), written back into the stored original as a fresh XMP packet, so the file a client
/// downloads still says whose it is and on what terms; location and everything else stay out.
/// JPEG, PNG and WebP (a GIF original is left as it is). Deterministic in the upload, so
/// identical uploads still share one image.
pub fn keep_rights(stored: Vec<u8>, kind: crate::images::kind::ImageKind, read: &Embedded) -> Vec<u8> {
    let fields: Vec<(&str, &str)> = ["creator", "credit", "source", "copyright", "usage_terms"]
        .into_iter()
        .filter_map(|f| read.value(f).map(|v| (f, v)))
        .collect();
    if fields.is_empty() {
        return stored;
    }
    crate::images::container::with_xmp(&stored, kind, &xmp_packet(&fields)).unwrap_or(stored)
}

// --- IPTC-IIM -----------------------------------------------------------------------------

/// The IPTC-NAA resource (`0x0404`) among Photoshop image resources (`8BIM` blocks).
fn iptc_resource<'a>(resources: &'a [u8], notes: &mut Vec<String>) -> Option<&'a [u8]> {
    let mut i = 0;
    while i + 12 <= resources.len() {
        if &resources[i..i + 4] != b"8BIM" {
            notes.push("the Photoshop resources (APP13) are malformed; IIM was not read".into());
            return None;
        }
        let id = u16::from_be_bytes([resources[i + 4], resources[i + 5]]);
        // A Pascal name, padded so length byte + name is even.
        let name_len = usize::from(resources[i + 6]);
        let size_at = i + 6 + ((name_len + 2) & !1);
        let size = resources
            .get(size_at..size_at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)?;
        let data_at = size_at + 4;
        let Some(data) = data_at
            .checked_add(size)
            .and_then(|end| resources.get(data_at..end))
        else {
            notes.push("a Photoshop resource runs past the end of APP13; IIM was not read".into());
            return None;
        };
        if id == 0x0404 {
            return Some(data);
        }
        i = data_at + size + (size & 1);
    }
    None
}

/// The IIM datasets as `(record, dataset, bytes)`; a record whose length runs past the end
/// stops the reading (the earlier ones are kept).
fn iim_records<'a>(data: &'a [u8], notes: &mut Vec<String>) -> Vec<(u8, u8, &'a [u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= data.len() {
        if data[i] != 0x1C {
            // Padding after the last record is common; anything else ends the list.
            if data[i..].iter().any(|&b| b != 0) {
                notes.push("the IIM data has bytes that are not records; the rest was not read".into());
            }
            break;
        }
        let (record, dataset) = (data[i + 1], data[i + 2]);
        let mut len = usize::from(u16::from_be_bytes([data[i + 3], data[i + 4]]));
        let mut at = i + 5;
        if len & 0x8000 != 0 {
            // Extended length: the low 15 bits count the bytes holding the length.
            let n = len & 0x7FFF;
            let Some(bytes) = data.get(at..at + n).filter(|_| n <= 4) else {
                notes.push("an IIM record has a malformed extended length; the rest was not read".into());
                break;
            };
            len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            at += n;
        }
        let Some(value) = at.checked_add(len).and_then(|end| data.get(at..end)) else {
            notes.push(format!(
                "IIM record {record}:{dataset} claims {len} bytes past the end of the data; it and the rest were not read"
            ));
            break;
        };
        out.push((record, dataset, value));
        i = at + len;
    }
    out
}

/// IIM text: UTF-8 when the file says so (1:90 `ESC % G`), invalid sequences replaced; else
/// UTF-8 if it is valid, else Latin-1 (the old default of wire software).
fn iim_text(bytes: &[u8], utf8: bool) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) if utf8 => String::from_utf8_lossy(bytes).into_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The IIM fields read, by dataset label (`2:120`…); repeated datasets (2:80 By-line) joined.
fn read_iim(resources: &[u8], notes: &mut Vec<String>) -> BTreeMap<&'static str, String> {
    let mut found = BTreeMap::new();
    let Some(data) = iptc_resource(resources, notes) else {
        return found;
    };
    let records = iim_records(data, notes);
    let utf8 = records
        .iter()
        .any(|(r, d, v)| *r == 1 && *d == 90 && v.windows(3).any(|w| w == b"\x1b%G"));
    for (record, dataset, value) in records {
        let label = match (record, dataset) {
            (2, 120) => "2:120",
            (2, 80) => "2:80",
            (2, 110) => "2:110",
            (2, 115) => "2:115",
            (2, 116) => "2:116",
            (2, 55) => "2:55",
            (2, 60) => "2:60",
            _ => continue,
        };
        let mut text = String::new();
        push_bounded(&mut text, &iim_text(value, utf8));
        found
            .entry(label)
            .and_modify(|v: &mut String| {
                if label == "2:80" && !text.trim().is_empty() {
                    v.push_str(", ");
                    push_bounded(v, text.trim());
                }
            })
            .or_insert_with(|| text.trim().to_owned());
    }
    found
}

// --- times --------------------------------------------------------------------------------

/// `photoshop:DateCreated`: an XMP date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, with optional
/// `Thh:mm[:ss[.s]]` and zone). Without a zone the time is taken as UTC.
fn xmp_date(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.naive_utc());
    }
    for fmt in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(&raw.replace('Z', "+00:00"), fmt) {
            return Some(t.naive_utc());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Some(t);
        }
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d"))
        .or_else(|_| NaiveDate::parse_from_str(&format!("{raw}-01-01"), "%Y-%m-%d"))
        .ok()?;
    Some(date.and_time(NaiveTime::MIN))
}

/// IIM 2:55 (`CCYYMMDD`) and 2:60 (`HHMMSS±HHMM`); without a time, midnight UTC.
fn iim_date(date: &str, time: Option<&str>) -> Option<NaiveDateTime> {
    let date = NaiveDate::parse_from_str(date.trim(), "%Y%m%d").ok()?;
    let Some(time) = time.map(str::trim).filter(|t| t.len() >= 6) else {
        return Some(date.and_time(NaiveTime::MIN));
    };
    let local = NaiveTime::parse_from_str(time.get(..6)?, "%H%M%S").ok()?;
    let at = date.and_time(local);
    let offset = time.get(6..).filter(|z| z.len() == 5).and_then(|z| {
        let sign = match z.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let h: i64 = z.get(1..3)?.parse().ok()?;
        let m: i64 = z.get(3..5)?.parse().ok()?;
        Some(sign * (h * 60 + m))
    });
    Some(at - chrono::Duration::minutes(offset.unwrap_or(0)))
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

// --- mapping ------------------------------------------------------------------------------

/// Reads and maps the blocks (PRODUCT.md §3a), XMP preferred over IIM field by field.
pub fn read(raw: &Raw) -> Embedded {
    let mut notes = raw.notes.clone();
    let xmp = raw
        .xmp
        .as_deref()
        .map(|p| read_xmp(p, &mut notes))
        .unwrap_or_default();
    let iim = raw
        .photoshop
        .as_deref()
        .map(|p| read_iim(p, &mut notes))
        .unwrap_or_default();
    let mut out = Embedded::default();
    let text = |field: &str, v: Option<&String>| v.and_then(|v| meta::clean_embedded(field, v));
    let pairs: [(&str, &str, Option<&str>); 6] = [
        ("caption", "dc:description", Some("2:120")),
        ("creator", "dc:creator", Some("2:80")),
        ("credit", "photoshop:Credit", Some("2:110")),
        ("source", "photoshop:Source", Some("2:115")),
        ("copyright", "dc:rights", Some("2:116")),
        ("alt_text", "Iptc4xmpCore:AltTextAccessibility", None),
    ];
    for (field, xmp_label, iim_label) in
        pairs
            .into_iter()
            .chain([("usage_terms", "xmpRights:UsageTerms", None)])
    {
        out.put(
            field,
            text(field, xmp.get(xmp_label)),
            &format!("XMP {xmp_label}"),
        );
        if let Some(iim_label) = iim_label {
            out.put(
                field,
                text(field, iim.get(iim_label)),
                &format!("IIM {iim_label}"),
            );
        }
    }
    // No credit in the file: the photographer is the credit.
    if let Some(creator) = out.fields.get("creator").cloned() {
        out.put(
            "credit",
            Some(creator.value),
            &format!("{} (no credit in the file)", creator.from),
        );
    }
    if let Some(raw_type) = xmp.get("Iptc4xmpExt:DigitalSourceType") {
        match meta::digital_source_type(raw_type.trim()) {
            Some(uri) => out.put(
                "digital_source_type",
                Some(uri),
                "XMP Iptc4xmpExt:DigitalSourceType",
            ),
            None => notes.push(
                "Iptc4xmpExt:DigitalSourceType is not an IPTC digital source type URI; it was not used"
                    .into(),
            ),
        }
    }
    if let Some(raw_date) = xmp.get("photoshop:DateCreated") {
        match xmp_date(raw_date) {
            Some(t) => out.put("taken_at", Some(rfc3339(t)), "XMP photoshop:DateCreated"),
            None => notes.push("photoshop:DateCreated is not a date; it was not used".into()),
        }
    }
    if let Some(date) = iim.get("2:55") {
        match iim_date(date, iim.get("2:60").map(String::as_str)) {
            Some(t) => out.put("taken_at", Some(rfc3339(t)), "IIM 2:55+2:60"),
            None => notes.push("IIM 2:55 Date Created is not a date; it was not used".into()),
        }
    }
    for note in notes {
        let mut n = String::new();
        push_bounded(&mut n, &note);
        if out.notes.len() < 20 {
            out.notes
                .push(meta::clean_embedded("caption", &n).unwrap_or_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:Credit="Saul Loeb/AFP"
  xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">
 <dc:description><rdf:Alt><rdf:li xml:lang="fr">Le port</rdf:li><rdf:li xml:lang="x-default">The harbour &amp; the bridge</rdf:li></rdf:Alt></dc:description>
 <dc:creator><rdf:Seq><rdf:li>Saul Loeb</rdf:li><rdf:li>Ann Other</rdf:li></rdf:Seq></dc:creator>
 <photoshop:DateCreated>2026-03-01T10:20:30+01:00</photoshop:DateCreated>
 <Iptc4xmpExt:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"/>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

    #[test]
    fn xmp_alternatives_lists_attributes_and_resources_are_read() {
        let mut notes = Vec::new();
        let found = read_xmp(PACKET.as_bytes(), &mut notes);
        assert_eq!(found["dc:description"], "The harbour & the bridge");
        assert_eq!(found["dc:creator"], "Saul Loeb, Ann Other");
        assert_eq!(found["photoshop:Credit"], "Saul Loeb/AFP");
        assert_eq!(found["photoshop:DateCreated"], "2026-03-01T10:20:30+01:00");
        assert!(found["Iptc4xmpExt:DigitalSourceType"].ends_with("digitalCapture"));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn truncated_and_entity_laden_packets_keep_what_was_complete() {
        let mut notes = Vec::new();
        let cut = &PACKET[..PACKET.find("<photoshop:DateCreated>").unwrap() + 30];
        let found = read_xmp(cut.as_bytes(), &mut notes);
        assert_eq!(found["dc:creator"], "Saul Loeb, Ann Other");
        assert!(!found.contains_key("photoshop:DateCreated"));
        let lol = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"><photoshop:Source>&b;AFP</photoshop:Source></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let mut notes = Vec::new();
        let found = read_xmp(lol.as_bytes(), &mut notes);
        assert_eq!(found["photoshop:Source"], "AFP");
        assert!(notes.iter().any(|n| n.contains("not expanded")), "{notes:?}");
    }

    fn iim(records: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut data = Vec::new();
        for (r, d, v) in records {
            data.extend_from_slice(&[0x1C, *r, *d]);
            data.extend_from_slice(&(v.len() as u16).to_be_bytes());
            data.extend_from_slice(v);
        }
        let mut res = b"8BIM\x04\x04\x00\x00".to_vec();
        res.extend_from_slice(&(data.len() as u32).to_be_bytes());
        res.extend_from_slice(&data);
        res
    }

    #[test]
    fn iim_is_read_with_its_character_set_and_bad_lengths_stop_it() {
        let res = iim(&[
            (1, 90, b"\x1b%G"),
            (2, 80, b"Saul Loeb"),
            (2, 80, b"Ann Other"),
            (2, 120, b"Caf\xc3\xa9 \xff"),
            (2, 55, b"20260301"),
            (2, 60, b"102030+0100"),
        ]);
        let mut notes = Vec::new();
        let found = read_iim(&res, &mut notes);
        assert_eq!(found["2:80"], "Saul Loeb, Ann Other");
        assert_eq!(found["2:120"], "Café \u{FFFD}");
        assert_eq!(
            iim_date(&found["2:55"], Some(&found["2:60"]))
                .map(rfc3339)
                .as_deref(),
            Some("2026-03-01T09:20:30Z")
        );
        let mut bad = iim(&[(2, 110, b"AFP")]);
        bad.extend_from_slice(&[0x1C, 2, 115, 0x7F, 0xFF, b'x']);
        let n = bad.len() as u32 - 12;
        bad[8..12].copy_from_slice(&n.to_be_bytes());
        let mut notes = Vec::new();
        let found = read_iim(&bad, &mut notes);
        assert_eq!(found["2:110"], "AFP");
        assert!(!found.contains_key("2:115"));
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn a_written_packet_reads_back() {
        let packet = xmp_packet(&[
            ("caption", "Fish & <chips>"),
            ("creator", "Ana"),
            ("usage_terms", "No archive"),
        ]);
        let e = read(&Raw {
            xmp: Some(packet.into_bytes()),
            ..Raw::default()
        });
        assert_eq!(e.value("caption"), Some("Fish & <chips>"));
        assert_eq!(e.value("credit"), Some("Ana"));
        assert_eq!(e.value("usage_terms"), Some("No archive"));
        assert!(e.notes.is_empty(), "{:?}", e.notes);
    }

    #[test]
    fn xmp_wins_over_iim_and_the_creator_stands_in_for_a_missing_credit() {
        let raw = Raw {
            xmp: Some(
                PACKET
                    .replace(r#" photoshop:Credit="Saul Loeb/AFP""#, "")
                    .into_bytes(),
            ),
            photoshop: Some(iim(&[(2, 120, b"IIM caption"), (2, 115, b"AFP")])),
            notes: Vec::new(),
        };
        let e = read(&raw);
        assert_eq!(e.value("caption"), Some("The harbour & the bridge"));
        assert_eq!(e.fields["caption"].from, "XMP dc:description");
        assert_eq!(e.value("source"), Some("AFP"));
        assert_eq!(e.fields["source"].from, "IIM 2:115");
        assert_eq!(e.value("credit"), Some("Saul Loeb, Ann Other"));
        assert_eq!(e.value("taken_at"), Some("2026-03-01T09:20:30Z"));
        assert_eq!(
            xmp_date("2026-03").map(rfc3339).as_deref(),
            Some("2026-03-01T00:00:00Z")
        );
    }
}
