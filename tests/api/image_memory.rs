//! Image work under bounds (issue #19): uploads whose metadata would inflate without limit are
//! refused before anything is inflated, the stored original keeps only what rendering needs,
//! and every decode waits for the memory budget (503 with `Retry-After` when it stays spent).
//! The memory a burst really takes is measured by `scripts/image-memory-check.sh`.

use std::io::Write;
use std::time::Duration;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

use crate::helpers::TestApp;
use crate::images::{encode, jpeg, upload};

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// zlib of `n` zero bytes, written in pieces so the test never holds `n` bytes.
fn zlib_zeros(n: usize) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1024 * 1024];
    let mut left = n;
    while left > 0 {
        let part = left.min(block.len());
        e.write_all(&block[..part]).unwrap();
        left -= part;
    }
    e.finish().unwrap()
}

fn small_png() -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| {
        Rgb([x as u8 * 6, y as u8 * 8, 90])
    }));
    encode(&img, ImageFormat::Png)
}

/// `small_png` with `extra` chunks right after IHDR.
fn png_with(extra: &[Vec<u8>]) -> Vec<u8> {
    let png = small_png();
    let ihdr_end = 8 + 25;
    let mut out = png[..ihdr_end].to_vec();
    for chunk in extra {
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// An `iCCP` chunk whose profile inflates to `n` bytes.
fn iccp_of(n: usize) -> Vec<u8> {
    let mut data = b"Display P3\0\0".to_vec();
    data.extend_from_slice(&zlib_zeros(n));
    png_chunk(b"iCCP", &data)
}

#[actix_web::test]
async fn a_png_whose_icc_profile_inflates_to_64_mib_is_refused_with_422_without_inflating_it() {
    // Fixtures first: a slow step between requests outlives the server's keep-alive.
    let bomb = png_with(&[iccp_of(64 * 1024 * 1024)]);
    assert!(bomb.len() < 100 * 1024, "{} bytes on the wire", bomb.len());
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let started = std::time::Instant::now();
    let res = upload(&app, &token, "bomb.png", &bomb, &[]).await;
    let body = res.assert_problem(422);
    assert!(body["detail"].as_str().unwrap().contains("ICC"), "{body}");
    assert_eq!(body["errors"][0]["field"], "file");
    // Stopping at the 1 MiB limit takes milliseconds; inflating 64 MiB would take far longer.
    assert!(started.elapsed() < Duration::from_secs(5));

    // The limit is a setting.
    let strict = TestApp::spawn_with(|s| s.image_max_icc_bytes = 1024).await;
    let token = strict.token_for("author").await;
    upload(&strict, &token, "p3.png", &png_with(&[iccp_of(4096)]), &[])
        .await
        .assert_problem(422);
}

#[actix_web::test]
async fn an_ordinary_icc_profile_is_kept_and_text_chunks_are_dropped_from_the_stored_original() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let mut ztxt = b"Comment\0\0".to_vec();
    ztxt.extend_from_slice(&zlib(b"shot at 52.5N 13.4E"));
    let png = png_with(&[
        iccp_of(3000),
        png_chunk(b"tEXt", b"Location\x0052.5N 13.4E"),
        png_chunk(b"zTXt", &ztxt),
        png_chunk(b"prIv", b"vendor data"),
    ]);
    let res = upload(&app, &token, "p3.png", &png, &[]).await;
    res.assert_status(201);
    let image = res.json();
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(40), Some(30))
    );
    let id = image["id"].as_str().unwrap();
    let original = app.get(&format!("/media/{id}/original")).await;
    original.assert_status(200);
    let has = |needle: &[u8]| original.body.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"iCCP"), "the colour profile is kept");
    assert!(!has(b"tEXt") && !has(b"zTXt") && !has(b"prIv") && !has(b"52.5N"));
    image::load_from_memory(&original.body).expect("still a valid PNG");
    app.get(&format!("/media/{id}?w=320")).await.assert_status(200);
}

#[actix_web::test]
async fn compressed_text_bombs_and_floods_of_chunks_are_refused_with_422() {
    let mut ztxt = b"Comment\0\0".to_vec();
    ztxt.extend_from_slice(&zlib_zeros(32 * 1024 * 1024));
    let mut itxt = b"XML:com.adobe.xmp\0\x01\0\0\0".to_vec();
    itxt.extend_from_slice(&zlib_zeros(32 * 1024 * 1024));
    let flood: Vec<Vec<u8>> = (0..1200).map(|_| png_chunk(b"tEXt", b"k\0v")).collect();
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    for (name, file) in [
        ("ztxt.png", png_with(&[png_chunk(b"zTXt", &ztxt)])),
        ("itxt.png", png_with(&[png_chunk(b"iTXt", &itxt)])),
        ("flood.png", png_with(&flood)),
    ] {
        let body = upload(&app, &token, name, &file, &[]).await.assert_problem(422);
        assert!(
            body["detail"].as_str().unwrap().contains("carries"),
            "{name}: {body}"
        );
    }
}

/// `jpeg` with `segments` (marker, payload) spliced in after SOI.
fn jpeg_with(segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let base = jpeg(64, 48, 3);
    let mut out = base[..2].to_vec();
    for (marker, payload) in segments {
        out.extend_from_slice(&[0xFF, *marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.extend_from_slice(&base[2..]);
    out
}

#[actix_web::test]
async fn a_jpeg_with_an_oversized_icc_profile_or_too_much_metadata_is_refused_with_422() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    // 20 ICC_PROFILE segments of 60 KB: a 1.2 MB profile, over the 1 MiB default.
    let icc: Vec<(u8, Vec<u8>)> = (1..=20u8)
        .map(|n| {
            let mut p = b"ICC_PROFILE\0".to_vec();
            p.extend_from_slice(&[n, 20]);
            p.extend_from_slice(&vec![0u8; 60_000]);
            (0xE2, p)
        })
        .collect();
    let body = upload(&app, &token, "icc.jpg", &jpeg_with(&icc), &[])
        .await
        .assert_problem(422);
    assert!(body["detail"].as_str().unwrap().contains("ICC"), "{body}");
    // 80 XMP-sized APP1 segments: 5 MB of metadata, over the 4 MiB default.
    let xmp: Vec<(u8, Vec<u8>)> = (0..80)
        .map(|_| {
            let mut p = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
            p.extend_from_slice(&vec![b' '; 65_000]);
            (0xE1, p)
        })
        .collect();
    upload(&app, &token, "xmp.jpg", &jpeg_with(&xmp), &[])
        .await
        .assert_problem(422);
    // Within the limits: accepted, and what follows the end of the image is not stored.
    let mut ok = jpeg_with(&[(0xFE, b"a comment".to_vec())]);
    ok.extend_from_slice(b"appended archive");
    let res = upload(&app, &token, "ok.jpg", &ok, &[]).await;
    res.assert_status(201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let original = app.get(&format!("/media/{id}/original")).await;
    assert!(original.body.ends_with(&[0xFF, 0xD9]));
    assert!(!original.body.windows(9).any(|w| w == b"a comment"));
}

#[actix_web::test]
async fn renditions_wait_for_the_memory_budget_and_get_503_with_retry_after_when_it_stays_spent() {
    let app = TestApp::spawn_with(|s| s.image_queue_timeout = Duration::from_millis(300)).await;
    let token = app.token_for("author").await;
    let res = upload(&app, &token, "photo.jpg", &jpeg(1600, 900, 7), &[]).await;
    res.assert_status(201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    app.get(&format!("/media/{id}?w=320")).await.assert_status(200);

    // Someone else holds the whole budget.
    let held = app
        .media
        .budget
        .reserve(u64::MAX)
        .await
        .expect("the budget is free");
    let res = app.get(&format!("/media/{id}?w=640")).await;
    res.assert_problem(503);
    assert_eq!(res.header("retry-after").as_deref(), Some("1"));
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    // A stored rendition needs no decoding and is still served.
    let stored = app.get(&format!("/media/{id}?w=320")).await;
    stored.assert_status(200);
    assert_eq!(stored.header("x-masthead-rendition").as_deref(), Some("stored"));
    // Uploads decode too, so they wait in the same line.
    upload(&app, &token, "other.jpg", &jpeg(200, 100, 8), &[])
        .await
        .assert_problem(503);

    // A request that arrives while the budget is spent is served as soon as it is given back.
    let path = format!("/media/{id}?w=960");
    let waiting = app.get(&path);
    let release = async {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        drop(held);
    };
    let (res, ()) = futures_util::future::join(waiting, release).await;
    res.assert_status(200);
    app.get(&format!("/media/{id}?w=640")).await.assert_status(200);
    assert_eq!(app.media.budget.available_bytes(), app.media.budget.total_bytes());
}

#[actix_web::test]
async fn an_image_that_needs_more_than_the_whole_budget_is_refused_at_upload_with_422() {
    // A 2000×1500 WebP decodes whole: ~24 MB, three times the budget.
    let webp = encode(
        &DynamicImage::ImageRgb8(RgbImage::from_fn(2000, 1500, |x, _| Rgb([x as u8, 0, 0]))),
        ImageFormat::WebP,
    );
    let app = TestApp::spawn_with(|s| s.image_memory_budget = 8 * 1024 * 1024).await;
    let token = app.token_for("author").await;
    let body = upload(&app, &token, "big.webp", &webp, &[])
        .await
        .assert_problem(422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("MASTHEAD_IMAGE_MEMORY_BUDGET"),
        "{body}"
    );
    // A small one fits.
    upload(&app, &token, "small.jpg", &jpeg(300, 200, 1), &[])
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn a_large_png_and_jpeg_render_every_allowed_size_through_the_reduced_decoders() {
    // Left half red, right half blue, so a wrong crop or a garbled reduction shows.
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(2600, 1950, |x, _| {
        if x < 1300 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    }));
    let files = [
        ("big.png", encode(&img, ImageFormat::Png)),
        ("big.jpg", encode(&img, ImageFormat::Jpeg)),
    ];
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    for (name, bytes) in &files {
        let res = upload(&app, &token, name, bytes, &[]).await;
        res.assert_status(201);
        let id = res.json()["id"].as_str().unwrap().to_owned();
        // Shrunk by 8, 4, 2 and 2 while decoding.
        for (query, size) in [
            ("w=320", (320, 240)),
            ("w=640&h=360", (640, 360)),
            ("w=960&h=960", (960, 960)),
            ("w=1280&h=720&fit=contain", (960, 720)),
        ] {
            let res = app.get(&format!("/media/{id}?{query}&format=png")).await;
            res.assert_status(200);
            let out = image::load_from_memory(&res.body).unwrap().to_rgb8();
            assert_eq!(out.dimensions(), size, "{name} {query}");
            let (w, h) = out.dimensions();
            let left = out.get_pixel(w / 8, h / 2).0;
            let right = out.get_pixel(w - w / 8, h / 2).0;
            assert!(left[0] > 180 && left[2] < 60, "{name} {query}: {left:?}");
            assert!(right[2] > 180 && right[0] < 60, "{name} {query}: {right:?}");
        }
    }
}
