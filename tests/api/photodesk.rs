//! The photo desk (issue 14, PRODUCT.md §3a): captions, credits and rights read from the file's
//! XMP and IPTC-IIM (fixtures made by exiftool, `tests/fixtures/photodesk/make.sh`), hostile
//! metadata, the new fields, withdrawal at `rights_expire_at`, the expiring list and usage.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::images::{jpeg, upload};

const BOTH_JPG: &[u8] = include_bytes!("../fixtures/photodesk/both.jpg");
const IIM_JPG: &[u8] = include_bytes!("../fixtures/photodesk/iim.jpg");
const XMP_PNG: &[u8] = include_bytes!("../fixtures/photodesk/xmp.png");
const XMP_WEBP: &[u8] = include_bytes!("../fixtures/photodesk/xmp.webp");

const DST: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";

fn path_of(url: &Value) -> String {
    url.as_str()
        .unwrap()
        .strip_prefix("https://news.example.com")
        .unwrap()
        .to_owned()
}

async fn uploaded(app: &TestApp, token: &str, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Value {
    let res = upload(app, token, name, bytes, fields).await;
    res.assert_status(201);
    res.json()
}

fn time_in(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Sleeps until just past the RFC 3339 time `at` (kept short: a pooled connection idle longer
/// than the server's keep-alive would be closed under the test's feet).
async fn sleep_past(at: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(150)).await;
}

#[actix_web::test]
async fn every_mapped_field_is_read_from_the_file_with_xmp_preferred_over_iim() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = uploaded(&app, &token, "both.jpg", BOTH_JPG, &[]).await;
    assert_eq!(image["caption"], "XMP caption: the harbour at dawn");
    assert_eq!(image["creator"], "Saul Loeb");
    assert_eq!(image["credit"], "Saul Loeb/AFP");
    assert_eq!(image["source"], "AFP");
    assert_eq!(image["copyright"], "© 2026 AFP");
    assert_eq!(image["alt_text"], "A crane lowers a steel span over water");
    assert_eq!(image["usage_terms"], "Editorial use only. No archive.");
    assert_eq!(image["digital_source_type"], format!("{DST}digitalCapture"));
    assert_eq!(image["taken_at"], "2026-03-01T09:20:30Z");
    assert_eq!(image["withdrawn"], false);
    let fields = &image["embedded"]["fields"];
    for (field, from) in [
        ("caption", "XMP dc:description"),
        ("creator", "XMP dc:creator"),
        ("credit", "XMP photoshop:Credit"),
        ("source", "XMP photoshop:Source"),
        ("copyright", "XMP dc:rights"),
        ("alt_text", "XMP Iptc4xmpCore:AltTextAccessibility"),
        ("usage_terms", "XMP xmpRights:UsageTerms"),
        ("digital_source_type", "XMP Iptc4xmpExt:DigitalSourceType"),
        ("taken_at", "XMP photoshop:DateCreated"),
    ] {
        assert_eq!(fields[field]["from"], from, "{field}: {image}");
        assert_eq!(fields[field]["used"], true, "{field}");
    }
    // The admin view keeps what was read; the public one does not carry it.
    let id = image["id"].as_str().unwrap();
    let admin = app
        .request(
            actix_web::http::Method::GET,
            &format!("/api/v1/admin/images/{id}"),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(admin["embedded"], image["embedded"]);
    let public = app.get(&format!("/api/v1/images/{id}")).await.json();
    assert!(public.get("embedded").is_none(), "{public}");
    assert_eq!(public["credit"], "Saul Loeb/AFP");
    // Location (EXIF GPS, XMP location) is not in the served original; the licence is.
    let original = app.get(&path_of(&image["renditions"]["original"])).await;
    original.assert_status(200);
    let has = |needle: &str| {
        original
            .body
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    for gone in ["Secret location", "GPS", "IIM caption", "XMP caption"] {
        assert!(!has(gone), "{gone}");
    }
    for kept in ["Saul Loeb/AFP", "© 2026 AFP", "Editorial use only. No archive."] {
        assert!(has(kept), "{kept}");
    }
    // What the stored original carries reads back to the same licence.
    let again = upload(&app, &token, "again.jpg", &original.body, &[])
        .await
        .json();
    assert_eq!(again["credit"], "Saul Loeb/AFP");
    assert_eq!(again["usage_terms"], "Editorial use only. No archive.");
    assert_eq!(
        again["id"], image["id"],
        "the stored original is its own duplicate"
    );
}

#[actix_web::test]
async fn iim_alone_is_read_in_utf8_and_the_creator_stands_in_for_a_missing_credit() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = uploaded(&app, &token, "iim.jpg", IIM_JPG, &[]).await;
    assert_eq!(image["caption"], "Café terraces reopen in Zürich");
    assert_eq!(image["creator"], "Anna Müller, Jon Doe");
    assert_eq!(image["credit"], "Anna Müller, Jon Doe");
    assert_eq!(image["source"], "Keystone");
    assert_eq!(image["copyright"], "© 2026 Keystone");
    assert_eq!(image["taken_at"], "2026-05-06T05:08:09Z");
    assert!(image["alt_text"].is_null() && image["usage_terms"].is_null());
    let fields = &image["embedded"]["fields"];
    assert_eq!(fields["caption"]["from"], "IIM 2:120");
    assert_eq!(fields["creator"]["from"], "IIM 2:80");
    assert_eq!(fields["credit"]["from"], "IIM 2:80 (no credit in the file)");
    assert_eq!(fields["source"]["from"], "IIM 2:115");
    assert_eq!(fields["copyright"]["from"], "IIM 2:116");
    assert_eq!(fields["taken_at"]["from"], "IIM 2:55+2:60");
}

#[actix_web::test]
async fn png_itxt_and_webp_xmp_are_read() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let png = uploaded(&app, &token, "xmp.png", XMP_PNG, &[]).await;
    assert_eq!(png["caption"], "An illustration of a future harbour");
    assert_eq!(png["creator"], "Desk Illustrator");
    assert_eq!(png["credit"], "Desk Illustrator");
    assert_eq!(png["source"], "Masthead Graphics");
    assert_eq!(
        png["digital_source_type"],
        format!("{DST}trainedAlgorithmicMedia")
    );
    assert_eq!(png["taken_at"], "2026-06-07T00:00:00Z");
    let webp = uploaded(&app, &token, "xmp.webp", XMP_WEBP, &[]).await;
    assert_eq!(webp["content_type"], "image/webp");
    assert_eq!(webp["caption"], "Ferry at the pier");
    assert_eq!(webp["credit"], "Reuters");
    assert_eq!(webp["usage_terms"], "Licensed until the end of 2026");
    assert!(webp["creator"].is_null());
    // The stored WebP keeps the licence (a fresh XMP chunk), still decodes, and reads back.
    let original = app.get(&path_of(&webp["renditions"]["original"])).await;
    original.assert_status(200);
    assert!(original.body.windows(7).any(|w| w == b"Reuters"));
    image::load_from_memory(&original.body).expect("the stored WebP decodes");
    let again = upload(&app, &token, "again.webp", &original.body, &[])
        .await
        .json();
    assert_eq!(again["credit"], "Reuters");
    assert_eq!(again["usage_terms"], "Licensed until the end of 2026");
    assert_eq!(
        again["id"], webp["id"],
        "the stored original is its own duplicate"
    );
}

/// A form cannot carry null (issue 17): the spec types every metadata field as a plain string
/// that may be left out, and a field sent empty is stored as no value (null in responses), never
/// as the text a client might make of its null ("None", "null").
#[actix_web::test]
async fn upload_fields_sent_empty_are_absent_and_the_form_has_no_nullable_field() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let texts = [
        "caption",
        "credit",
        "source",
        "alt_text",
        "copyright",
        "creator",
        "usage_terms",
        "digital_source_type",
    ];
    let mut fields: Vec<(&str, &str)> = texts.iter().map(|name| (*name, "")).collect();
    fields.extend([("taken_at", ""), ("rights_expire_at", "")]);
    let image = uploaded(&app, &token, "both.jpg", BOTH_JPG, &fields).await;
    let id = image["id"].as_str().unwrap();
    let read = app.get_as(&format!("/api/v1/admin/images/{id}"), &token).await;
    read.assert_status(200);
    for answer in [&image, &read.json()] {
        for name in texts.iter().chain(&["taken_at", "rights_expire_at"]) {
            assert!(answer[*name].is_null(), "{name} sent empty is absent: {answer}");
        }
    }

    let spec = app.get("/openapi.json").await.json();
    let form = &spec["components"]["schemas"]["ImageUpload"];
    assert_eq!(form["required"], json!(["file"]), "only the file is required");
    for (name, property) in form["properties"].as_object().unwrap() {
        assert!(
            property["type"].is_string(),
            "{name} is a single type, never nullable: {property}"
        );
    }
}

#[actix_web::test]
async fn a_form_field_wins_over_the_file_and_an_empty_one_means_none() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = uploaded(
        &app,
        &token,
        "both.jpg",
        BOTH_JPG,
        &[
            ("caption", "Typed by the desk"),
            ("credit", ""),
            ("taken_at", "2026-01-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(image["caption"], "Typed by the desk");
    assert!(image["credit"].is_null(), "empty means none: {image}");
    assert_eq!(image["taken_at"], "2026-01-01T00:00:00Z");
    assert_eq!(image["source"], "AFP", "fields left out still come from the file");
    let fields = &image["embedded"]["fields"];
    assert_eq!(fields["caption"]["used"], false);
    assert_eq!(fields["caption"]["value"], "XMP caption: the harbour at dawn");
    assert_eq!(fields["credit"]["used"], false);
    assert_eq!(fields["taken_at"]["used"], false);
    assert_eq!(fields["source"]["used"], true);
}

// --- hostile metadata -----------------------------------------------------------------------

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A fresh JPEG (unique by `seed`) with `segments` spliced in after SOI.
fn jpeg_carrying(seed: u8, segments: &[Vec<u8>]) -> Vec<u8> {
    let base = jpeg(40, 30, seed);
    let mut out = base[..2].to_vec();
    for s in segments {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(&base[2..]);
    out
}

fn xmp_segment(packet: &str) -> Vec<u8> {
    let mut p = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    p.extend_from_slice(packet.as_bytes());
    segment(0xE1, &p)
}

/// An APP13 segment with IIM `data` (raw records) as the IPTC-NAA resource.
fn iim_segment(data: &[u8]) -> Vec<u8> {
    let mut p = b"Photoshop 3.0\08BIM\x04\x04\x00\x00".to_vec();
    p.extend_from_slice(&(data.len() as u32).to_be_bytes());
    p.extend_from_slice(data);
    if data.len() % 2 == 1 {
        p.push(0);
    }
    segment(0xED, &p)
}

fn iim_record(record: u8, dataset: u8, value: &[u8]) -> Vec<u8> {
    let mut r = vec![0x1C, record, dataset];
    r.extend_from_slice(&(value.len() as u16).to_be_bytes());
    r.extend_from_slice(value);
    r
}

fn packet(body: &str) -> String {
    format!(
        r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">{body}</rdf:Description></rdf:RDF></x:xmpmeta>"#
    )
}

#[actix_web::test]
async fn hostile_metadata_never_fails_the_upload_and_reaches_clients_cleaned() {
    let app = TestApp::spawn().await;
    let token = app.token_for("editor").await;

    // Truncated XMP: what was complete is kept.
    let full = packet(
        "<photoshop:Credit>Saul Loeb/AFP</photoshop:Credit><dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">Cut off",
    );
    let image = uploaded(
        &app,
        &token,
        "cut.jpg",
        &jpeg_carrying(1, &[xmp_segment(&full)]),
        &[],
    )
    .await;
    assert_eq!(image["credit"], "Saul Loeb/AFP");
    assert!(image["caption"].is_null());
    assert!(
        !image["embedded"]["notes"].as_array().unwrap().is_empty(),
        "{image}"
    );

    // Entity expansion ("billion laughs"): never expanded.
    let lol = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>{}"#,
        packet("<photoshop:Source>&lol9;AFP</photoshop:Source>")
    );
    let image = uploaded(
        &app,
        &token,
        "lol.jpg",
        &jpeg_carrying(2, &[xmp_segment(&lol)]),
        &[],
    )
    .await;
    assert_eq!(image["source"], "AFP");
    assert!(
        image["embedded"]["notes"].to_string().contains("not expanded"),
        "{image}"
    );

    // Invalid UTF-8 and control characters in IIM (declared UTF-8), markup in XMP.
    let mut iim = iim_record(1, 90, b"\x1b%G");
    iim.extend(iim_record(2, 110, b"Agence \xff\xfe Presse\x07"));
    iim.extend(iim_record(2, 120, b"<script>alert(1)</script> Caption"));
    let image = uploaded(
        &app,
        &token,
        "utf8.jpg",
        &jpeg_carrying(3, &[iim_segment(&iim)]),
        &[],
    )
    .await;
    assert_eq!(image["credit"], "Agence \u{FFFD}\u{FFFD} Presse");
    let id = image["id"].as_str().unwrap().to_owned();

    // A wrong IIM record length: the records before it are kept.
    let mut iim = iim_record(2, 115, b"Reuters");
    iim.extend([0x1C, 2, 120, 0x7F, 0xFF]);
    iim.extend_from_slice(b"short");
    let image = uploaded(
        &app,
        &token,
        "len.jpg",
        &jpeg_carrying(4, &[iim_segment(&iim)]),
        &[],
    )
    .await;
    assert_eq!(image["source"], "Reuters");
    assert!(image["caption"].is_null());
    assert!(
        image["embedded"]["notes"].to_string().contains("past the end"),
        "{image}"
    );

    // An over-long value is cut at a character boundary, not refused.
    let long = "é".repeat(300);
    let body = packet(&format!("<photoshop:Credit>{long}</photoshop:Credit>"));
    let image = uploaded(
        &app,
        &token,
        "long.jpg",
        &jpeg_carrying(5, &[xmp_segment(&body)]),
        &[],
    )
    .await;
    assert_eq!(image["credit"].as_str().unwrap().chars().count(), 200);

    // An unknown digital source type in the file is not used (a note says so), not a 422.
    let body =
        packet("<Iptc4xmpExt:DigitalSourceType>http://example.com/made-up</Iptc4xmpExt:DigitalSourceType>");
    let image = uploaded(
        &app,
        &token,
        "dst.jpg",
        &jpeg_carrying(6, &[xmp_segment(&body)]),
        &[],
    )
    .await;
    assert!(image["digital_source_type"].is_null());
    assert!(
        image["embedded"]["notes"]
            .to_string()
            .contains("DigitalSourceType")
    );

    // Markup read from a file is escaped in body_html.
    let article = crate::articles::published(
        &app,
        &token,
        &json!({
            "headline": "Hostile caption",
            "standfirst": "Escaped.",
            "body": [{"type": "image", "image_id": id}]
        }),
    )
    .await;
    let page = app
        .get(&format!("/api/v1/articles/{}", article["slug"].as_str().unwrap()))
        .await
        .json();
    let html = page["body_html"].as_str().unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Caption"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
}

/// A PNG with an uncompressed iTXt XMP chunk.
fn png_with_xmp(packet: &str) -> Vec<u8> {
    let base = crate::images::encode(&crate::images::picture(30, 20, 9), image::ImageFormat::Png);
    let mut data = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    data.extend_from_slice(packet.as_bytes());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = b"iTXt".to_vec();
    body.extend_from_slice(&data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&masthead::images::container::crc32(&body).to_be_bytes());
    let ihdr_end = 8 + 25;
    let mut out = base[..ihdr_end].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&base[ihdr_end..]);
    out
}

#[actix_web::test]
async fn a_10_mb_xmp_packet_is_read_within_the_metadata_limit_and_passed_over_beyond_it() {
    let padding = " ".repeat(10 * 1024 * 1024);
    let big = packet(&format!(
        "<photoshop:Credit>Big Packet/AFP</photoshop:Credit><!--{padding}-->"
    ));
    // With room for it (the operator raised MASTHEAD_IMAGE_MAX_METADATA_BYTES): read.
    let app = TestApp::spawn_with(|s| s.image_max_metadata_bytes = 16 * 1024 * 1024).await;
    let token = app.token_for("author").await;
    let image = uploaded(&app, &token, "big.png", &png_with_xmp(&big), &[]).await;
    assert_eq!(image["credit"], "Big Packet/AFP");
    // With the default 4 MiB limit it is passed over unread: the upload works, the desk types
    // the credit (an uncompressed packet costs nothing to skip; compressed metadata over the
    // limit is still refused, issue 19).
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let res = upload(&app, &token, "big.png", &png_with_xmp(&big), &[]).await;
    res.assert_status(201);
    assert!(res.json()["credit"].is_null(), "{}", res.json());
}

// --- the new fields -------------------------------------------------------------------------

#[actix_web::test]
async fn the_new_fields_are_validated_editable_and_searchable() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    // Unknown digital source type or a bad time in the form: 422 with the field named.
    for (field, value) in [
        ("digital_source_type", "http://example.com/ai"),
        ("digital_source_type", "trainedAlgorithmicMedia"),
        ("taken_at", "yesterday"),
        ("rights_expire_at", "2026-13-01T00:00:00Z"),
        ("creator", "tab\there"),
    ] {
        let res = upload(&app, &token, "x.jpg", &jpeg(20, 20, 1), &[(field, value)]).await;
        let problem = res.assert_problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let image = uploaded(
        &app,
        &token,
        "x.jpg",
        &jpeg(20, 20, 1),
        &[
            ("creator", "Ana Photographer"),
            (
                "digital_source_type",
                "https://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
            ),
        ],
    )
    .await;
    assert_eq!(
        image["digital_source_type"],
        format!("{DST}digitalCapture"),
        "normalised to http"
    );
    let id = image["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/images/{id}");
    let bad = app
        .patch(
            &path,
            &json!({"digital_source_type": "http://example.com/made-up"}),
        )
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    assert_eq!(bad["errors"][0]["field"], "digital_source_type");
    let bad = app
        .patch(&path, &json!({"rights_expire_at": "next week"}))
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    assert_eq!(bad["errors"][0]["field"], "rights_expire_at");
    let res = app
        .patch(
            &path,
            &json!({
                "creator": "Saul Loeb",
                "usage_terms": "Editorial use only",
                "digital_source_type": format!("{DST}trainedAlgorithmicMedia"),
                "taken_at": "2026-02-03T04:05:06+01:00",
                "rights_expire_at": "2030-01-01T00:00:00Z"
            }),
        )
        .bearer(&token)
        .send()
        .await;
    res.assert_status(200);
    let edited = res.json();
    assert_eq!(edited["creator"], "Saul Loeb");
    assert_eq!(edited["usage_terms"], "Editorial use only");
    assert_eq!(edited["taken_at"], "2026-02-03T03:05:06Z");
    assert_eq!(edited["rights_expire_at"], "2030-01-01T00:00:00Z");
    for q in ["loeb", "EDITORIAL USE", "trainedAlgorithmic"] {
        let found = app
            .request(
                actix_web::http::Method::GET,
                &format!("/api/v1/admin/images?q={}", q.replace(' ', "%20")),
            )
            .bearer(&token)
            .send()
            .await
            .json();
        let ids: Vec<&str> = found["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [id], "{q}");
    }
    // A time is cleared with null, not "" (the spec says date-time).
    let bad = app
        .patch(&path, &json!({"taken_at": ""}))
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    assert_eq!(bad["errors"][0]["field"], "taken_at");
    // The spec states the vocabulary as the server checks it.
    let spec = app.get("/openapi.json").await.json();
    for schema in ["UpdateImage", "ImageUpload"] {
        assert_eq!(
            spec["components"]["schemas"][schema]["properties"]["digital_source_type"]["pattern"],
            masthead::images::meta::DIGITAL_SOURCE_TYPE_PATTERN,
            "{schema}"
        );
    }
    // null clears.
    let cleared = app
        .patch(&path, &json!({"creator": null, "rights_expire_at": null}))
        .bearer(&token)
        .send()
        .await
        .json();
    assert!(cleared["creator"].is_null() && cleared["rights_expire_at"].is_null());
}

// --- withdrawal -----------------------------------------------------------------------------

async fn status_of(app: &TestApp, path: &str) -> u16 {
    app.get(path).await.status
}

#[actix_web::test]
async fn an_image_is_withdrawn_at_rights_expire_at_and_back_when_the_rights_are_extended() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let image = uploaded(
        &app,
        &editor,
        "both.jpg",
        BOTH_JPG,
        &[("rights_expire_at", &time_in(3600))],
    )
    .await;
    let id = image["id"].as_str().unwrap().to_owned();
    let original = path_of(&image["renditions"]["original"]);
    let rendition = path_of(&image["renditions"]["widths"][0]["url"]);
    let metadata = format!("/api/v1/images/{id}");
    // Before expiry: served, but no cache may keep it past the expiry.
    let res = app.get(&original).await;
    res.assert_status(200);
    let cache = res.header("cache-control").unwrap();
    assert!(!cache.contains("immutable"), "{cache}");
    let max_age: u64 = cache.rsplit("max-age=").next().unwrap().parse().unwrap();
    assert!(max_age <= 3600, "{cache}");
    assert_eq!(status_of(&app, &rendition).await, 200);

    let article = crate::articles::published(
        &app,
        &editor,
        &json!({
            "headline": "Harbour bridge reopens",
            "standfirst": "Crews finished overnight.",
            "hero": {"image_id": id},
            "body": [
                {"type": "paragraph", "text": "The bridge reopened at dawn."},
                {"type": "image", "image_id": id, "caption": "At dawn"}
            ]
        }),
    )
    .await;
    let page_path = format!("/api/v1/articles/{}", article["slug"].as_str().unwrap());
    let page = app.get(&page_path).await;
    let keys = page.header("surrogate-key").unwrap();
    assert!(keys.contains(&format!("image:{id}")), "{keys}");
    let page = page.json();
    assert_eq!(page["hero"]["image"]["credit"], "Saul Loeb/AFP");
    assert_eq!(
        page["seo"]["og_image"],
        id.as_str(),
        "the share image defaults to the hero"
    );
    assert!(
        page["seo"]["og_image_url"]
            .as_str()
            .unwrap()
            .contains(&format!("/media/{id}?w=")),
        "{}",
        page["seo"]
    );
    let html = page["body_html"].as_str().unwrap();
    assert!(
        html.contains("<span class=\"credit\">Saul Loeb/AFP</span> <span class=\"source\">AFP</span>"),
        "{html}"
    );

    // The rights end: every public read of the image is 410, the article keeps its text.
    let path = format!("/api/v1/admin/images/{id}");
    let res = app
        .patch(&path, &json!({"rights_expire_at": time_in(-60)}))
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json()["withdrawn"], true);
    for p in [&original, &rendition, &metadata] {
        let problem = app.get(p).await.assert_problem(410);
        assert!(
            problem["detail"].as_str().unwrap().contains("withdrawn"),
            "{problem}"
        );
    }
    let page = app.get(&page_path).await.json();
    assert!(page["hero"]["image"].is_null(), "{}", page["hero"]);
    assert_eq!(page["hero"]["withdrawn"], true);
    assert!(page["body"][1]["image"].is_null());
    assert_eq!(page["body"][1]["withdrawn"], true);
    assert!(page["body"][0].get("withdrawn").is_none());
    assert!(page["seo"]["og_image_url"].is_null());
    let html = page["body_html"].as_str().unwrap();
    assert!(html.contains("The bridge reopened at dawn."), "{html}");
    assert!(!html.contains("<figure"), "{html}");
    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"][0]["hero"]["withdrawn"], true);
    assert!(list["data"][0]["hero"]["image"].is_null());
    // The desk still sees it.
    let admin = app
        .request(actix_web::http::Method::GET, &path)
        .bearer(&editor)
        .send()
        .await;
    admin.assert_status(200);
    assert_eq!(admin.json()["withdrawn"], true);

    // Rights extended: back everywhere.
    app.patch(&path, &json!({"rights_expire_at": time_in(86_400)}))
        .bearer(&editor)
        .send()
        .await
        .assert_status(200);
    for p in [&original, &rendition, &metadata] {
        assert_eq!(status_of(&app, p).await, 200, "{p}");
    }
    let page = app.get(&page_path).await.json();
    assert_eq!(page["hero"]["image"]["id"], id.as_str());
    assert!(page["hero"].get("withdrawn").is_none());
    assert!(page["body_html"].as_str().unwrap().contains("<figure"));
}

#[actix_web::test]
async fn the_withdrawal_happens_when_the_time_passes_without_any_write() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let expires = time_in(2);
    let image = uploaded(
        &app,
        &token,
        "x.jpg",
        &jpeg(30, 20, 7),
        &[("rights_expire_at", &expires)],
    )
    .await;
    let metadata = format!("/api/v1/images/{}", image["id"].as_str().unwrap());
    let original = path_of(&image["renditions"]["original"]);
    assert_eq!(status_of(&app, &metadata).await, 200);
    assert_eq!(status_of(&app, &original).await, 200);
    sleep_past(&expires).await;
    app.get(&metadata).await.assert_problem(410);
    app.get(&original).await.assert_problem(410);
}

#[actix_web::test]
async fn cached_articles_show_the_image_withdrawn_once_its_rights_expire_without_any_write() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let expires = time_in(3);
    let image = uploaded(
        &app,
        &editor,
        "x.jpg",
        &jpeg(30, 20, 9),
        &[("rights_expire_at", &expires)],
    )
    .await;
    let article = crate::articles::published(
        &app,
        &editor,
        &json!({
            "headline": "Ferry strike ends",
            "standfirst": "Boats sail again.",
            "hero": {"image_id": image["id"]},
            "body": [{"type": "paragraph", "text": "The first ferry left at six."}]
        }),
    )
    .await;
    let path = format!("/api/v1/articles/{}", article["slug"].as_str().unwrap());
    // Read twice: the second answer may come from the response cache.
    for _ in 0..2 {
        let page = app.get(&path).await.json();
        assert_eq!(page["hero"]["image"]["id"], image["id"]);
    }
    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"][0]["hero"]["image"]["id"], image["id"]);
    sleep_past(&expires).await;
    let page = app.get(&path).await.json();
    assert_eq!(page["hero"]["withdrawn"], true, "{}", page["hero"]);
    assert!(page["hero"]["image"].is_null());
    let list = app.get("/api/v1/articles").await.json();
    assert_eq!(list["data"][0]["hero"]["withdrawn"], true);
}

/// Runs what the scheduler runs: `record_due_withdrawals` in a write transaction.
fn record_due_withdrawals(app: &TestApp) -> usize {
    use diesel::Connection;
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let mut conn = db.get().unwrap();
    conn.transaction(|c| {
        masthead::images::rights::record_due_withdrawals(c, &app.settings, masthead::time::now())
    })
    .unwrap()
}

/// The `image.updated` events of one image: (data, surrogate keys).
fn image_events(app: &TestApp, id: &str) -> Vec<(Value, String)> {
    use diesel::prelude::*;
    use masthead::db::schema::events;
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let mut conn = db.get().unwrap();
    let rows: Vec<(String, String)> = events::table
        .filter(events::event_type.eq("image.updated"))
        .filter(events::subject.eq(format!("image:{id}")))
        .order(events::seq.asc())
        .select((events::data, events::surrogate_keys))
        .load(&mut *conn)
        .unwrap();
    rows.into_iter()
        .map(|(d, k)| (serde_json::from_str(&d).unwrap(), k))
        .collect()
}

#[actix_web::test]
async fn each_withdrawal_by_the_clock_is_recorded_once_as_an_image_updated_event() {
    // The scheduler would record them too: keep it out of the way, this test counts.
    let app = TestApp::spawn_with(|s| s.scheduler_interval = std::time::Duration::from_secs(3600)).await;
    let token = app.token_for("editor").await;
    let expires = time_in(2);
    let image = uploaded(
        &app,
        &token,
        "x.jpg",
        &jpeg(30, 20, 10),
        &[("rights_expire_at", &expires)],
    )
    .await;
    let id = image["id"].as_str().unwrap().to_owned();
    assert_eq!(record_due_withdrawals(&app), 0, "not expired yet");
    sleep_past(&expires).await;
    assert_eq!(record_due_withdrawals(&app), 1);
    assert_eq!(record_due_withdrawals(&app), 0, "once per expiry");
    let events = image_events(&app, &id);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0["withdrawn"], true);
    assert_eq!(events[0].1, format!("image:{id}"));
    // Extended, then expired again: recorded again.
    let path = format!("/api/v1/admin/images/{id}");
    let expires = time_in(1);
    app.patch(&path, &json!({"rights_expire_at": expires}))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    sleep_past(&expires).await;
    assert_eq!(record_due_withdrawals(&app), 1);
    // Withdrawn by an edit: the edit's own event is the news, nothing is recorded later.
    app.patch(&path, &json!({"rights_expire_at": time_in(3600)}))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    app.patch(&path, &json!({"rights_expire_at": time_in(-60)}))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    assert_eq!(record_due_withdrawals(&app), 0);
    assert_eq!(image_events(&app, &id).len(), 5, "two by the clock, three edits");
}

#[actix_web::test]
async fn an_upload_whose_rights_already_expired_is_stored_withdrawn_and_says_so() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = uploaded(
        &app,
        &token,
        "x.jpg",
        &jpeg(30, 20, 8),
        &[("rights_expire_at", "2020-01-01T00:00:00Z")],
    )
    .await;
    assert_eq!(image["withdrawn"], true);
    assert_eq!(image["rights_expire_at"], "2020-01-01T00:00:00Z");
    app.get(&format!("/api/v1/images/{}", image["id"].as_str().unwrap()))
        .await
        .assert_problem(410);
    app.get(&path_of(&image["renditions"]["original"]))
        .await
        .assert_problem(410);
}

#[actix_web::test]
async fn expiring_before_lists_what_is_about_to_expire_soonest_first() {
    let app = TestApp::spawn().await;
    let token = app.token_for("contributor").await;
    let author = app.token_for("author").await;
    let later = uploaded(
        &app,
        &author,
        "a.jpg",
        &jpeg(20, 20, 11),
        &[("rights_expire_at", &time_in(10 * 86_400))],
    )
    .await;
    let soon = uploaded(
        &app,
        &author,
        "b.jpg",
        &jpeg(20, 20, 12),
        &[("rights_expire_at", &time_in(2 * 86_400))],
    )
    .await;
    let gone = uploaded(
        &app,
        &author,
        "c.jpg",
        &jpeg(20, 20, 13),
        &[("rights_expire_at", &time_in(-86_400))],
    )
    .await;
    uploaded(&app, &author, "d.jpg", &jpeg(20, 20, 14), &[]).await;
    let list = |before: String, extra: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let res = app
                .request(
                    actix_web::http::Method::GET,
                    &format!(
                        "/api/v1/admin/images?expiring_before={}{extra}",
                        before.replace('+', "%2B")
                    ),
                )
                .bearer(&token)
                .send()
                .await;
            res.assert_status(200);
            res.json()
        }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&list(time_in(5 * 86_400), "").await), [id(&gone), id(&soon)]);
    assert_eq!(
        ids(&list(time_in(30 * 86_400), "").await),
        [id(&gone), id(&soon), id(&later)]
    );
    // Pages follow the same order.
    let first = list(time_in(30 * 86_400), "&limit=2").await;
    assert_eq!(ids(&first), [id(&gone), id(&soon)]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .request(
            actix_web::http::Method::GET,
            &format!(
                "/api/v1/admin/images?expiring_before={}&limit=2&cursor={cursor}",
                time_in(30 * 86_400)
            ),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(ids(&rest), [id(&later)]);
    app.request(
        actix_web::http::Method::GET,
        "/api/v1/admin/images?expiring_before=soon",
    )
    .bearer(&token)
    .send()
    .await
    .assert_problem(400);
}

#[actix_web::test]
async fn usage_lists_the_articles_that_use_an_image_in_hero_body_or_seo() {
    let app = TestApp::spawn().await;
    let editor = app.token_for("editor").await;
    let image = uploaded(&app, &editor, "x.jpg", &jpeg(30, 20, 21), &[]).await;
    let unused = uploaded(&app, &editor, "y.jpg", &jpeg(30, 20, 22), &[]).await;
    let id = image["id"].as_str().unwrap();
    let hero = crate::articles::published(
        &app,
        &editor,
        &json!({"headline": "Hero story", "standfirst": "s", "hero": {"image_id": id},
            "body": [{"type": "paragraph", "text": "Text."}]}),
    )
    .await;
    let body = crate::articles::create(
        &app,
        &editor,
        &json!({"headline": "Body story", "standfirst": "s", "body": [{"type": "image", "image_id": id}]}),
    )
    .await;
    let seo = crate::articles::create(
        &app,
        &editor,
        &json!({"headline": "Share story", "standfirst": "s", "body": [], "seo": {"og_image": id}}),
    )
    .await;
    crate::articles::create(
        &app,
        &editor,
        &json!({"headline": "Other", "standfirst": "s", "body": []}),
    )
    .await;
    let contributor = app.token_for("contributor").await;
    let res = app
        .request(
            actix_web::http::Method::GET,
            &format!("/api/v1/admin/images/{id}/usage"),
        )
        .bearer(&contributor)
        .send()
        .await;
    res.assert_status(200);
    let usage = res.json();
    let mut rows: Vec<(String, String, String, Value)> = usage["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert!(u["slug"].is_string(), "{u}");
            (
                u["id"].as_str().unwrap().to_owned(),
                u["headline"].as_str().unwrap().to_owned(),
                u["status"].as_str().unwrap().to_owned(),
                u["used_in"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    let hid = |a: &Value| a["id"].as_str().unwrap().to_owned();
    assert_eq!(
        rows,
        [
            (hid(&body), "Body story".into(), "draft".into(), json!(["body"])),
            (
                hid(&hero),
                "Hero story".into(),
                "published".into(),
                json!(["hero"])
            ),
            (hid(&seo), "Share story".into(), "draft".into(), json!(["seo"])),
        ]
    );
    assert_eq!(usage["next_cursor"], Value::Null);
    let none = app
        .request(
            actix_web::http::Method::GET,
            &format!("/api/v1/admin/images/{}/usage", unused["id"].as_str().unwrap()),
        )
        .bearer(&contributor)
        .send()
        .await
        .json();
    assert_eq!(none["data"], json!([]));
    app.request(
        actix_web::http::Method::GET,
        "/api/v1/admin/images/00000000-0000-0000-0000-000000000000/usage",
    )
    .bearer(&contributor)
    .send()
    .await
    .assert_problem(404);
    app.get(&format!("/api/v1/admin/images/{id}/usage"))
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn the_scheduler_announces_a_withdrawal_by_the_clock_without_any_request() {
    let app = TestApp::spawn_with(|s| s.scheduler_interval = std::time::Duration::from_millis(200)).await;
    let token = app.token_for("editor").await;
    let expires = time_in(1);
    let image = uploaded(
        &app,
        &token,
        "x.jpg",
        &jpeg(30, 20, 11),
        &[("rights_expire_at", &expires)],
    )
    .await;
    let id = image["id"].as_str().unwrap().to_owned();
    sleep_past(&expires).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while image_events(&app, &id).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no image.updated within 5 s of the expiry"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let events = image_events(&app, &id);
    assert_eq!(events.len(), 1, "once per expiry");
    assert_eq!(events[0].0["withdrawn"], true);
}

#[actix_web::test]
async fn a_site_logo_whose_rights_expire_is_withdrawn_from_the_site_too() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let expires = time_in(1);
    let logo = uploaded(
        &app,
        &admin,
        "logo.png",
        &jpeg(40, 20, 12),
        &[("rights_expire_at", &expires)],
    )
    .await;
    let id = logo["id"].as_str().unwrap().to_owned();
    app.patch("/api/v1/admin/site", &json!({"logo_image_id": id}))
        .bearer(&admin)
        .send()
        .await
        .assert_status(200);
    let site = app.get("/api/v1/site").await.json();
    assert_eq!(site["logo"]["id"], id.as_str());
    let site = app.get("/api/v1/site").await.json(); // from the cache
    assert_eq!(site["logo"]["id"], id.as_str());
    sleep_past(&expires).await;
    let site = app.get("/api/v1/site").await.json();
    assert!(site["logo"].is_null(), "{site}");
    assert_eq!(site["logo_image_id"], id.as_str());
}
