//! Images: upload (real JPEG/PNG/WebP/GIF bytes made here), every bad input of issue 5,
//! metadata editing and search, the public metadata, originals and renditions.

use std::io::Cursor;

use actix_web::http::Method;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

/// A multipart/form-data body: text fields and one file.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        Multipart {
            boundary: format!("----masthead-test-{}", uuid::Uuid::new_v4().simple()),
            body: Vec::new(),
        }
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    pub fn file(mut self, name: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

/// A picture with some structure (so encoders produce realistic files), unique per `seed`.
pub fn picture(width: u32, height: u32, seed: u8) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            seed.wrapping_add(((x / 7 + y / 5) % 40) as u8),
        ])
    }))
}

pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::WebP => DynamicImage::ImageRgba8(image.to_rgba8())
            .write_to(&mut out, format)
            .unwrap(),
        _ => image.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    encode(&picture(width, height, seed), ImageFormat::Jpeg)
}

/// Uploads `bytes` with optional metadata fields as the given token.
pub async fn upload(
    app: &TestApp,
    token: &str,
    filename: &str,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> TestResponse {
    let mut form = Multipart::new();
    for (name, value) in fields {
        form = form.text(name, value);
    }
    let (content_type, body) = form
        .file("file", filename, "application/octet-stream", bytes)
        .finish();
    app.request(Method::POST, "/api/v1/admin/images")
        .bearer(token)
        .raw(&content_type, body)
        .send()
        .await
}

async fn upload_ok(app: &TestApp, token: &str, bytes: &[u8]) -> Value {
    let res = upload(app, token, "photo.jpg", bytes, &[]).await;
    res.assert_status(201);
    res.json()
}

fn path_of(url: &str) -> String {
    url.strip_prefix("https://news.example.com").unwrap().to_owned()
}

/// A JPEG with an EXIF APP1 segment holding GPS tags (latitude 52°N, longitude 13°E) and the
/// camera make, spliced in after SOI by hand, as phones write them.
pub fn jpeg_with_gps(base: &[u8]) -> Vec<u8> {
    // Big-endian TIFF: IFD0 with Make and a GPS IFD pointer; the GPS IFD with 4 tags.
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    // IFD0 at 8: 2 entries.
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // Make (0x010F), ASCII, count 8, offset 38.
    tiff.extend_from_slice(&[0x01, 0x0F, 0x00, 0x02, 0, 0, 0, 8, 0, 0, 0, 38]);
    // GPSInfo (0x8825), LONG, 1, offset 46.
    tiff.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 46]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // next IFD
    assert_eq!(tiff.len(), 38);
    tiff.extend_from_slice(b"SpyCam\x00\x00"); // 38..46
    // GPS IFD at 46: 4 entries, then 0, then the rationals at 46+2+48+4 = 100.
    tiff.extend_from_slice(&4u16.to_be_bytes());
    tiff.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 2, b'N', 0, 0, 0]); // GPSLatitudeRef
    tiff.extend_from_slice(&[0x00, 0x02, 0x00, 0x05, 0, 0, 0, 3, 0, 0, 0, 100]); // GPSLatitude
    tiff.extend_from_slice(&[0x00, 0x03, 0x00, 0x02, 0, 0, 0, 2, b'E', 0, 0, 0]); // GPSLongitudeRef
    tiff.extend_from_slice(&[0x00, 0x04, 0x00, 0x05, 0, 0, 0, 3, 0, 0, 0, 124]); // GPSLongitude
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 100);
    for v in [52u32, 1, 31, 1, 1234, 100, 13, 1, 24, 1, 5678, 100] {
        tiff.extend_from_slice(&v.to_be_bytes());
    }
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = base[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&base[2..]);
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[actix_web::test]
async fn uploading_jpeg_png_webp_and_gif_records_type_dimensions_and_metadata() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let cases = [
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Png, "image/png"),
        (ImageFormat::WebP, "image/webp"),
        (ImageFormat::Gif, "image/gif"),
    ];
    for (i, (format, content_type)) in cases.into_iter().enumerate() {
        let bytes = encode(&picture(120, 80, i as u8 * 50), format);
        // The file name lies on purpose: the type comes from the bytes.
        let res = upload(
            &app,
            &token,
            "upload.bin",
            &bytes,
            &[
                ("caption", "Firefighters contain the blaze near the harbour."),
                ("credit", "Saul Loeb/AFP"),
                ("source", "AFP"),
                ("alt_text", "Three firefighters spray water on a warehouse"),
                ("copyright", "© 2026 AFP"),
                ("focal_x", "0.25"),
                ("focal_y", "0.75"),
            ],
        )
        .await;
        res.assert_status(201);
        let image = res.json();
        assert_eq!(image["content_type"], content_type, "{image}");
        assert_eq!(image["width"], 120);
        assert_eq!(image["height"], 80);
        assert_eq!(
            image["caption"],
            "Firefighters contain the blaze near the harbour."
        );
        assert_eq!(image["credit"], "Saul Loeb/AFP");
        assert_eq!(image["source"], "AFP");
        assert_eq!(image["alt_text"], "Three firefighters spray water on a warehouse");
        assert_eq!(image["copyright"], "© 2026 AFP");
        assert_eq!(image["focal_point"], json!({"x": 0.25, "y": 0.75}));
        assert_eq!(image["sha256"].as_str().unwrap().len(), 64);
        assert!(image["bytes"].as_i64().unwrap() > 0);
        let id = image["id"].as_str().unwrap();
        assert_eq!(
            res.header("location").unwrap(),
            format!("/api/v1/admin/images/{id}")
        );
        assert_eq!(
            image["renditions"]["original"],
            format!("https://news.example.com/media/{id}/original")
        );
        let original = app.get(&format!("/media/{id}/original")).await;
        original.assert_status(200);
        assert_eq!(original.header("content-type").unwrap(), content_type);
        assert_eq!(original.body.len() as i64, image["bytes"].as_i64().unwrap());
    }
}

#[actix_web::test]
async fn identical_uploads_are_deduplicated_by_sha256() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let bytes = jpeg(64, 48, 1);
    let first = upload_ok(&app, &token, &bytes).await;
    let again = upload(
        &app,
        &token,
        "copy.jpg",
        &bytes,
        &[("caption", "Another caption")],
    )
    .await;
    again.assert_status(200);
    assert_eq!(again.json()["id"], first["id"]);
    assert_eq!(
        again.json()["caption"],
        Value::Null,
        "the existing image is returned unchanged"
    );
    let list = app
        .request(Method::GET, "/api/v1/admin/images")
        .bearer(&token)
        .send()
        .await;
    assert_eq!(list.json()["data"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_text_file_named_png_is_refused_with_415() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let res = upload(
        &app,
        &token,
        "photo.png",
        b"just some text, not an image at all\n",
        &[],
    )
    .await;
    res.assert_problem(415);
}

#[actix_web::test]
async fn a_body_that_is_not_multipart_is_refused_with_415() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let res = app
        .post("/api/v1/admin/images", &json!({"file": "x"}))
        .bearer(&token)
        .send()
        .await;
    res.assert_problem(415);
}

#[actix_web::test]
async fn truncated_and_corrupt_images_are_refused_with_422() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let png = encode(&picture(200, 150, 3), ImageFormat::Png);
    let res = upload(&app, &token, "cut.png", &png[..png.len() / 2], &[]).await;
    let problem = res.assert_problem(422);
    assert_eq!(problem["errors"][0]["field"], "file");

    let jpeg = jpeg(200, 150, 4);
    let res = upload(&app, &token, "cut.jpg", &jpeg[..jpeg.len() / 3], &[]).await;
    res.assert_problem(422);

    // Right magic bytes, garbage after them.
    let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
    garbage.extend_from_slice(&[0x42; 300]);
    upload(&app, &token, "garbage.png", &garbage, &[])
        .await
        .assert_problem(422);

    let webp = encode(&picture(200, 150, 5), ImageFormat::WebP);
    upload(&app, &token, "cut.webp", &webp[..webp.len() - 40], &[])
        .await
        .assert_problem(422);
    let gif = encode(&picture(200, 150, 6), ImageFormat::Gif);
    upload(&app, &token, "cut.gif", &gif[..gif.len() * 2 / 3], &[])
        .await
        .assert_problem(422);
}

#[actix_web::test]
async fn an_upload_over_the_byte_limit_is_refused_with_413() {
    let app = TestApp::spawn_with(|s| s.max_upload_bytes = 2_000).await;
    let token = app.token_for("author").await;
    let big = encode(&picture(300, 300, 9), ImageFormat::Png);
    assert!(big.len() > 2_000);
    upload(&app, &token, "big.png", &big, &[])
        .await
        .assert_problem(413);
    // Small enough to pass the Content-Length check, too big once streamed in.
    let medium = jpeg(300, 200, 9);
    assert!(medium.len() > 2_000 && medium.len() < 60_000, "{}", medium.len());
    upload(&app, &token, "medium.jpg", &medium, &[])
        .await
        .assert_problem(413);
    // Under the limit still works.
    let small = encode(&picture(8, 8, 9), ImageFormat::Png);
    upload(&app, &token, "small.png", &small, &[])
        .await
        .assert_status(201);
}

/// A PNG whose header claims 100000×100000 pixels (a decompression bomb's calling card).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // A tiny IDAT and IEND: the decoder must refuse before ever reading them.
    for (kind, data) in [
        (
            &b"IDAT"[..],
            &[0x78u8, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01][..],
        ),
        (b"IEND", &[]),
    ] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[actix_web::test]
async fn huge_dimensions_are_refused_with_422_before_decoding() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let started = std::time::Instant::now();
    let res = upload(&app, &token, "bomb.png", &png_claiming(100_000, 100_000), &[]).await;
    let problem = res.assert_problem(422);
    assert!(
        problem["detail"].as_str().unwrap().contains("pixels"),
        "{problem}"
    );
    assert!(
        started.elapsed().as_secs() < 5,
        "refused from the header, not by decoding"
    );
}

#[actix_web::test]
async fn the_pixel_limit_is_configurable() {
    let app = TestApp::spawn_with(|s| s.max_image_pixels = 100 * 100).await;
    let token = app.token_for("author").await;
    upload(&app, &token, "a.jpg", &jpeg(101, 100, 1), &[])
        .await
        .assert_problem(422);
    upload(&app, &token, "b.jpg", &jpeg(100, 100, 1), &[])
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn upload_needs_a_file_and_valid_metadata() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let (ct, body) = Multipart::new().text("caption", "No file").finish();
    let res = app
        .request(Method::POST, "/api/v1/admin/images")
        .bearer(&token)
        .raw(&ct, body)
        .send()
        .await;
    assert_eq!(res.assert_problem(422)["errors"][0]["field"], "file");

    let long = "x".repeat(201);
    let res = upload(
        &app,
        &token,
        "a.jpg",
        &jpeg(10, 10, 1),
        &[("credit", &long), ("focal_x", "1.5"), ("colour", "red")],
    )
    .await;
    let problem = res.assert_problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["credit", "focal_x", "colour"]);
}

#[actix_web::test]
async fn contributors_cannot_upload_and_editors_alone_delete() {
    let app = TestApp::spawn().await;
    let contributor = app.token_for("contributor").await;
    upload(&app, &contributor, "a.jpg", &jpeg(10, 10, 1), &[])
        .await
        .assert_problem(403);
    let author = app.token_for("author").await;
    let image = upload_ok(&app, &author, &jpeg(10, 10, 1)).await;
    let path = format!("/api/v1/admin/images/{}", image["id"].as_str().unwrap());
    app.request(Method::DELETE, &path)
        .bearer(&author)
        .send()
        .await
        .assert_problem(403);
    // Contributors may still browse images to pick one for a draft.
    app.request(Method::GET, &path)
        .bearer(&contributor)
        .send()
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn gps_exif_is_stripped_from_the_served_original_and_renditions() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let with_gps = jpeg_with_gps(&jpeg(400, 300, 7));
    assert!(contains(&with_gps, b"Exif") && contains(&with_gps, b"SpyCam"));
    let image = upload_ok(&app, &token, &with_gps).await;
    let id = image["id"].as_str().unwrap();
    let original = app.get(&format!("/media/{id}/original")).await;
    original.assert_status(200);
    assert!(!contains(&original.body, b"Exif"), "no EXIF block left");
    assert!(!contains(&original.body, b"SpyCam"));
    assert!(
        !contains(&original.body, &[0x00, 0x00, 0x00, 52, 0x00, 0x00, 0x00, 0x01]),
        "no GPS rationals"
    );
    // Everything after the metadata is byte-for-byte the upload: no re-encoding.
    assert!(with_gps.ends_with(&original.body[2..]));
    assert_eq!(image["bytes"].as_u64().unwrap() as usize, original.body.len());
    let rendition = app.get(&format!("/media/{id}?w=320")).await;
    rendition.assert_status(200);
    assert!(!contains(&rendition.body, b"Exif"));
}

#[actix_web::test]
async fn exif_orientation_is_kept_on_the_original_and_applied_to_renditions() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    // A landscape JPEG tagged "rotate 90°" (orientation 6): displayed as portrait.
    let base = jpeg(640, 320, 5);
    let mut tiff =
        b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00"
            .to_vec();
    tiff.splice(0..0, b"Exif\x00\x00".iter().copied());
    let mut rotated = base[..2].to_vec();
    rotated.extend_from_slice(&[0xFF, 0xE1]);
    rotated.extend_from_slice(&((tiff.len() + 2) as u16).to_be_bytes());
    rotated.extend_from_slice(&tiff);
    rotated.extend_from_slice(&base[2..]);
    let image = upload_ok(&app, &token, &rotated).await;
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(320), Some(640))
    );
    let id = image["id"].as_str().unwrap();
    let rendition = app.get(&format!("/media/{id}?w=320")).await;
    let decoded = image::load_from_memory(&rendition.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 640));
}

#[actix_web::test]
async fn the_original_has_a_strong_etag_answers_304_and_is_immutable() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = upload_ok(&app, &token, &jpeg(50, 40, 2)).await;
    let path = format!("/media/{}/original", image["id"].as_str().unwrap());
    let res = app.get(&path).await;
    res.assert_status(200);
    let etag = res.header("etag").unwrap();
    assert_eq!(etag, format!("\"{}\"", image["sha256"].as_str().unwrap()));
    assert_eq!(
        res.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(res.header("accept-ranges").as_deref(), Some("bytes"));
    let again = app
        .request(Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await;
    again.assert_status(304);
    assert!(again.body.is_empty());
    // Ranges.
    let part = app
        .request(Method::GET, &path)
        .header("Range", "bytes=0-9")
        .send()
        .await;
    part.assert_status(206);
    assert_eq!(part.body, res.body[..10]);
    assert_eq!(
        part.header("content-range").unwrap(),
        format!("bytes 0-9/{}", res.body.len())
    );
    app.request(Method::GET, &path)
        .header("Range", "bytes=999999-")
        .send()
        .await
        .assert_status(416);
}

#[actix_web::test]
async fn renditions_are_generated_once_then_served_from_storage() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = upload_ok(&app, &token, &jpeg(1000, 600, 3)).await;
    let id = image["id"].as_str().unwrap().to_owned();
    let path = format!("/media/{id}?w=640");
    // Eight concurrent first requests: exactly one does the work.
    let responses = futures_util::future::join_all((0..8).map(|_| app.get(&path))).await;
    let generated = responses
        .iter()
        .filter(|r| r.header("x-masthead-rendition").as_deref() == Some("generated"))
        .count();
    assert_eq!(generated, 1);
    for r in &responses {
        r.assert_status(200);
        assert_eq!(r.body, responses[0].body);
    }
    let first = &responses[0];
    assert_eq!(first.header("content-type").as_deref(), Some("image/jpeg"));
    assert_eq!(
        first.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let decoded = image::load_from_memory(&first.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (640, 384));
    let later = app.get(&path).await;
    assert_eq!(later.header("x-masthead-rendition").as_deref(), Some("stored"));
    let stored = app
        .settings
        .media_dir
        .join("renditions")
        .join(&id)
        .join("w640-h0-contain.jpeg");
    assert!(
        stored.is_file(),
        "stored through the media store at {}",
        stored.display()
    );
    // Its ETag answers 304.
    let etag = later.header("etag").unwrap();
    app.request(Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await
        .assert_status(304);
}

#[actix_web::test]
async fn cover_crops_to_the_exact_box_around_the_focal_point() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    // Left half black, right half white; focal point far right.
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(1200, 600, |x, _| {
        if x < 600 {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    }));
    let bytes = encode(&img, ImageFormat::Png);
    let res = upload(
        &app,
        &token,
        "a.png",
        &bytes,
        &[("focal_x", "0.9"), ("focal_y", "0.5")],
    )
    .await;
    res.assert_status(201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let cover = app
        .get(&format!("/media/{id}?w=320&h=320&fit=cover&format=png"))
        .await;
    cover.assert_status(200);
    assert_eq!(cover.header("content-type").as_deref(), Some("image/png"));
    let decoded = image::load_from_memory(&cover.body).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (320, 320));
    // The crop is the right-most 600×600 square: all white.
    assert_eq!(decoded.get_pixel(5, 160).0, [255, 255, 255]);

    let contain = app
        .get(&format!("/media/{id}?w=320&h=180&fit=contain&format=webp"))
        .await;
    contain.assert_status(200);
    assert_eq!(contain.header("content-type").as_deref(), Some("image/webp"));
    let decoded = image::load_from_memory(&contain.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 160));
    let contain = app.get(&format!("/media/{id}?w=640&h=360&fit=contain")).await;
    contain.assert_status(200);
    let decoded = image::load_from_memory(&contain.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (640, 320));
}

#[actix_web::test]
async fn unknown_rendition_sizes_and_parameters_are_400() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = upload_ok(&app, &token, &jpeg(100, 100, 1)).await;
    let id = image["id"].as_str().unwrap();
    for query in [
        "w=321",
        "w=640&h=1",
        "w=640&h=480",
        "w=640&h=180",
        "h=99999",
        "h=361",
        "w=abc",
        "w=640&fit=stretch",
        "w=640&format=bmp",
        "w=-1",
    ] {
        app.get(&format!("/media/{id}?{query}")).await.assert_problem(400);
    }
}

/// `w` is optional (issue 17): `?h=` alone picks the widest width that `h` is a height of, and
/// no size at all the widest width; the spec says so and lists the widths as an enum.
#[actix_web::test]
async fn a_rendition_without_w_takes_the_width_from_h_or_the_widest() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = upload_ok(&app, &token, &jpeg(2400, 1600, 3)).await;
    let id = image["id"].as_str().unwrap();

    let by_height = app.get(&format!("/media/{id}?h=360")).await;
    by_height.assert_status(200);
    let decoded = image::load_from_memory(&by_height.body).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (640, 360),
        "h=360 is 640×360 (16:9)"
    );
    let same = app.get(&format!("/media/{id}?w=640&h=360")).await;
    assert_eq!(
        by_height.header("etag"),
        same.header("etag"),
        "the same rendition"
    );

    // 640 is the height of 640 (1:1) and of no wider width at 16:9 in the default set.
    let square = app.get(&format!("/media/{id}?h=640&fit=cover")).await;
    square.assert_status(200);
    let decoded = image::load_from_memory(&square.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (640, 640));

    let widest = app.get(&format!("/media/{id}")).await;
    widest.assert_status(200);
    let decoded = image::load_from_memory(&widest.body).unwrap();
    assert_eq!(decoded.width(), 1920, "no size: the widest width");

    let spec = app.get("/openapi.json").await.json();
    let params = spec["paths"]["/media/{id}"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let w = params.iter().find(|p| p["name"] == "w").unwrap();
    assert_eq!(w["required"], false, "{w}");
    assert_eq!(w["schema"]["enum"], json!([320, 640, 960, 1280, 1920]), "{w}");
}

#[actix_web::test]
async fn path_traversal_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    for path in [
        "/media/..%2F..%2Fetc%2Fpasswd/original",
        "/media/..%2F..%2Fetc%2Fpasswd?w=320",
        "/media/../x",
        "/media/%2e%2e/original",
        "/media/00000000-0000-0000-0000-000000000000/original",
        "/media/00000000-0000-0000-0000-000000000000?w=320",
        "/media/not-an-id/original",
        "/api/v1/images/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/images/00000000-0000-0000-0000-000000000000",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status, 404, "{path}: {}", res.text());
    }
}

#[actix_web::test]
async fn a_deleted_image_and_its_renditions_are_gone() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let editor = app.token_for("editor").await;
    let image = upload_ok(&app, &token, &jpeg(700, 500, 8)).await;
    let id = image["id"].as_str().unwrap();
    app.get(&format!("/media/{id}?w=320")).await.assert_status(200);
    app.request(Method::DELETE, &format!("/api/v1/admin/images/{id}"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
    app.get(&format!("/media/{id}?w=320")).await.assert_problem(404);
    app.get(&format!("/media/{id}?w=640")).await.assert_problem(404);
    app.get(&format!("/media/{id}/original"))
        .await
        .assert_problem(404);
    app.get(&format!("/api/v1/images/{id}")).await.assert_problem(404);
    assert!(!app.settings.media_dir.join("renditions").join(id).exists());
    app.request(Method::DELETE, &format!("/api/v1/admin/images/{id}"))
        .bearer(&editor)
        .send()
        .await
        .assert_problem(404);
}

#[actix_web::test]
async fn metadata_is_editable_and_the_public_view_has_srcset_and_caching() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let image = upload_ok(&app, &token, &jpeg(1000, 500, 4)).await;
    let id = image["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/images/{id}");
    let res = app
        .patch(
            &path,
            &json!({"caption": "  Crowds gather in the square.  ", "credit": "Jane Doe/Masthead Wire",
                    "focal_point": {"x": 0.2, "y": 0.3}}),
        )
        .bearer(&token)
        .send()
        .await;
    res.assert_status(200);
    let updated = res.json();
    assert_eq!(updated["caption"], "Crowds gather in the square.");
    assert_eq!(updated["credit"], "Jane Doe/Masthead Wire");
    assert_eq!(updated["focal_point"], json!({"x": 0.2, "y": 0.3}));
    // null clears, absent keeps.
    let res = app
        .patch(&path, &json!({"caption": null}))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(res.json()["caption"], Value::Null);
    assert_eq!(res.json()["credit"], "Jane Doe/Masthead Wire");
    // Bad values.
    let problem = app
        .patch(
            &path,
            &json!({"focal_point": {"x": 2, "y": -1}, "alt_text": "a".repeat(1001)}),
        )
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);
    app.patch(&path, &json!({"width": 5}))
        .bearer(&token)
        .send()
        .await
        .assert_problem(422);
    app.patch(
        "/api/v1/admin/images/00000000-0000-0000-0000-000000000000",
        &json!({"caption": "x"}),
    )
    .bearer(&token)
    .send()
    .await
    .assert_problem(404);

    let public = app.get(&format!("/api/v1/images/{id}")).await;
    public.assert_status(200);
    let body = public.json();
    assert_eq!(body["credit"], "Jane Doe/Masthead Wire");
    let widths: Vec<u64> = body["renditions"]["widths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["width"].as_u64().unwrap())
        .collect();
    assert_eq!(widths, [320, 640, 960, 1000], "never wider than the picture");
    let srcset = body["renditions"]["srcset"].as_str().unwrap();
    assert!(
        srcset.starts_with(&format!("https://news.example.com/media/{id}?w=320 320w, ")),
        "{srcset}"
    );
    assert!(srcset.ends_with("?w=1280 1000w"), "{srcset}");
    // Every srcset URL works.
    for w in body["renditions"]["widths"].as_array().unwrap() {
        app.get(&path_of(w["url"].as_str().unwrap()))
            .await
            .assert_status(200);
    }
    let etag = public.header("etag").unwrap();
    assert!(
        public
            .header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );
    assert_eq!(public.header("surrogate-key").unwrap(), format!("image:{id}"));
    assert!(public.header("last-modified").is_some());
    app.request(Method::GET, &format!("/api/v1/images/{id}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .assert_status(304);
}

#[actix_web::test]
async fn the_admin_list_searches_caption_credit_and_source_with_keyset_pages() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let metas = [
        ("Flood waters rise in the valley", "Saul Loeb/AFP", "AFP"),
        (
            "Council votes on the budget",
            "Jane Doe/Masthead Wire",
            "Masthead Wire",
        ),
        ("Harbour at dusk", "Ana Ruiz/Reuters", "Reuters"),
        ("100% turnout_in the village", "Li Wei/AFP", "AFP"),
    ];
    for (i, (caption, credit, source)) in metas.iter().enumerate() {
        upload(
            &app,
            &token,
            "a.jpg",
            &jpeg(20, 20, i as u8 * 30),
            &[("caption", caption), ("credit", credit), ("source", source)],
        )
        .await
        .assert_status(201);
    }
    let search = |q: &str| {
        let path = format!("/api/v1/admin/images?q={q}");
        let token = token.clone();
        let app = &app;
        async move {
            let res = app.request(Method::GET, &path).bearer(&token).send().await;
            res.assert_status(200);
            assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
            res.json()["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["caption"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        search("afp").await,
        ["100% turnout_in the village", "Flood waters rise in the valley"]
    );
    assert_eq!(search("COUNCIL").await, ["Council votes on the budget"]);
    assert_eq!(search("reuters").await, ["Harbour at dusk"]);
    assert_eq!(
        search("100%25").await,
        ["100% turnout_in the village"],
        "% is literal"
    );
    assert_eq!(search("e_v").await, Vec::<String>::new(), "_ is literal");
    assert_eq!(search("").await.len(), 4);

    // Keyset pages of 3 then 1, newest first, no overlap.
    let res = app
        .request(Method::GET, "/api/v1/admin/images?limit=3")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(res["data"].as_array().unwrap().len(), 3);
    assert_eq!(res["data"][0]["caption"], "100% turnout_in the village");
    let cursor = res["next_cursor"].as_str().unwrap();
    let next = app
        .request(
            Method::GET,
            &format!("/api/v1/admin/images?limit=3&cursor={cursor}"),
        )
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(next["data"].as_array().unwrap().len(), 1);
    assert_eq!(next["data"][0]["caption"], "Flood waters rise in the valley");
    assert_eq!(next["next_cursor"], Value::Null);
    app.request(Method::GET, "/api/v1/admin/images?cursor=forged")
        .bearer(&token)
        .send()
        .await
        .assert_problem(400);
}

#[actix_web::test]
async fn demo_images_load_once_with_captions_and_credits_read_from_their_files() {
    let app = TestApp::spawn().await;
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let store = masthead::images::storage::LocalStore::new(app.settings.media_dir.clone());
    let mut conn = db.get().unwrap();
    let ids = masthead::images::demo::load_demo_images(&mut conn, &store, 50_000_000).unwrap();
    assert_eq!(ids.len(), 4);
    let again = masthead::images::demo::load_demo_images(&mut conn, &store, 50_000_000).unwrap();
    assert_eq!(ids, again, "idempotent");
    let rows = masthead::images::load_many(&mut conn, &ids).unwrap();
    assert_eq!(rows.len(), 4);
    let settings = app.settings.clone();
    for id in &ids {
        let dto = masthead::images::to_public(&rows[id], &settings);
        assert!(dto.credit.as_deref().unwrap().contains('/'));
        assert!(dto.caption.is_some() && dto.alt_text.is_some() && dto.source.is_some());
        assert!(dto.creator.is_some() && dto.usage_terms.is_some() && dto.digital_source_type.is_some());
        // Read from the pictures' embedded XMP by the upload's reader, not typed in.
        let embedded: Value = serde_json::from_str(rows[id].embedded.as_deref().unwrap()).unwrap();
        assert_eq!(embedded["fields"]["credit"]["from"], "XMP photoshop:Credit");
        assert_eq!(
            embedded["fields"]["caption"]["value"],
            dto.caption.as_deref().unwrap()
        );
        let public = app.get(&format!("/api/v1/images/{id}")).await;
        public.assert_status(200);
        app.get(&path_of(&dto.renditions.original))
            .await
            .assert_status(200);
        app.get(&path_of(&dto.renditions.widths[0].url))
            .await
            .assert_status(200);
    }
    assert_eq!(rows[&ids[3]].content_type, "image/png");
}
