//! `masthead images restrip` (issue #19): originals stored before the metadata allowlist are
//! brought in line with it. The old state cannot be made through the API any more (uploads
//! are stripped), so each test writes an original the way the old code stored it, straight into
//! the media store with a row describing it, then runs the real command and checks through the
//! API what a client now gets.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::helpers::TestApp;
use crate::images::{contains, jpeg, jpeg_with_gps, upload};

/// Replaces image `id`'s original with `bytes` and makes its row describe them, as an upload
/// before the allowlist left it.
fn store_the_old_way(app: &TestApp, id: &str, bytes: &[u8]) {
    let key = masthead::images::storage::StorageKey::parse(&format!("originals/{id}.jpg")).unwrap();
    app.media.store.put(&key, bytes).unwrap();
    let db = masthead::db::Db::open(&app.settings.database_url, 1).unwrap();
    let mut conn = db.get().unwrap();
    let sha = hex::encode(Sha256::digest(bytes));
    masthead::images::store::set_file(&mut conn, id, &sha, bytes.len() as i64).unwrap();
}

/// Runs `masthead images restrip [args]` on the test server's database and media directory.
fn restrip(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
        .args(["images", "restrip"])
        .args(args)
        .env_clear()
        .env("MASTHEAD_DATABASE_URL", &app.settings.database_url)
        .env("MASTHEAD_MEDIA_DIR", Path::new(&app.settings.media_dir))
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run masthead");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.success(), text)
}

#[actix_web::test]
async fn restrip_rewrites_old_originals_in_place_and_keeps_their_urls_and_renditions() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let photo = jpeg(400, 300, 23);
    let res = upload(&app, &token, "photo.jpg", &photo, &[]).await;
    res.assert_status(201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let today = app.get(&format!("/media/{id}/original")).await.body;
    let rendition = app.get(&format!("/media/{id}?w=320")).await;
    rendition.assert_status(200);

    // Before the allowlist the upload was kept as it came: GPS and the camera in EXIF.
    let old = jpeg_with_gps(&photo);
    store_the_old_way(&app, &id, &old);
    let served = app.get(&format!("/media/{id}/original")).await;
    assert!(
        contains(&served.body, b"SpyCam"),
        "the old original is what is served"
    );

    // A dry run says what it would do and writes nothing.
    let (ok, out) = restrip(&app, &["--dry-run"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("would rewrite {id}")), "{out}");
    assert!(contains(
        &app.get(&format!("/media/{id}/original")).await.body,
        b"SpyCam"
    ));

    let (ok, out) = restrip(&app, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("rewrote {id}: {} → {} bytes", old.len(), today.len())),
        "{out}"
    );
    assert!(
        out.contains("1 checked, 1 rewritten, 0 already in line, 0 left"),
        "{out}"
    );

    // Same URL, now what an upload stores today: no EXIF, no GPS; the row follows the file.
    let original = app.get(&format!("/media/{id}/original")).await;
    original.assert_status(200);
    assert!(!contains(&original.body, b"SpyCam") && !contains(&original.body, b"Exif"));
    assert_eq!(original.body, today);
    assert_eq!(
        original.header("etag").unwrap(),
        format!("\"{}\"", hex::encode(Sha256::digest(&today)))
    );
    let admin = app.get_as(&format!("/api/v1/admin/images/{id}"), &token).await;
    assert_eq!(admin.json()["bytes"], today.len());
    // The rendition made before is still served as it was, and new ones are made.
    let again = app.get(&format!("/media/{id}?w=320")).await;
    again.assert_status(200);
    assert_eq!(again.header("x-masthead-rendition").as_deref(), Some("stored"));
    assert_eq!(again.body, rendition.body);
    let new = app.get(&format!("/media/{id}?w=640&format=webp")).await;
    new.assert_status(200);
    assert_eq!(new.header("x-masthead-rendition").as_deref(), Some("generated"));

    // Idempotent: a second run finds nothing to do.
    let (ok, out) = restrip(&app, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("1 checked, 0 rewritten, 1 already in line"), "{out}");
}

#[actix_web::test]
async fn restrip_reports_an_original_todays_checks_refuse_and_fails_after_doing_the_rest() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let mut ids = Vec::new();
    for seed in [31, 32] {
        let res = upload(&app, &token, "photo.jpg", &jpeg(200, 150, seed), &[]).await;
        res.assert_status(201);
        ids.push(res.json()["id"].as_str().unwrap().to_owned());
    }
    // One old original was cut short (no end-of-image marker); the other carries GPS.
    let broken = jpeg_with_gps(&jpeg(200, 150, 31));
    store_the_old_way(&app, &ids[0], &broken[..broken.len() - 2]);
    store_the_old_way(&app, &ids[1], &jpeg_with_gps(&jpeg(200, 150, 32)));

    let (ok, out) = restrip(&app, &[]);
    assert!(!ok, "a refused original fails the command: {out}");
    assert!(out.contains(&format!("left {} as it is", ids[0])), "{out}");
    assert!(out.contains(&format!("rewrote {}", ids[1])), "{out}");
    assert!(
        out.contains("2 checked, 1 rewritten, 0 already in line, 1 left as they were"),
        "{out}"
    );
    let fixed = app.get(&format!("/media/{}/original", ids[1])).await;
    assert!(!contains(&fixed.body, b"SpyCam"));
}

#[actix_web::test]
async fn restrip_works_on_originals_in_an_s3_bucket() {
    let Some(s3) = crate::scaleout::s3_settings() else {
        return;
    };
    let app = TestApp::spawn_with(crate::scaleout::on_s3(&s3)).await;
    let token = app.token_for("author").await;
    let photo = jpeg(300, 200, 41);
    let res = upload(&app, &token, "photo.jpg", &photo, &[]).await;
    res.assert_status(201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let today = app.get(&format!("/media/{id}/original")).await.body;
    store_the_old_way(&app, &id, &jpeg_with_gps(&photo));
    assert!(contains(
        &app.get(&format!("/media/{id}/original")).await.body,
        b"SpyCam"
    ));

    // The command's own work on the server's store (the CLI builds the same from the settings).
    let db = masthead::db::Db::open(&app.settings.database_url, 2).unwrap();
    let mut lines = Vec::new();
    let summary = masthead::images::restrip::run(&db, &app.media, &app.settings, false, |l| {
        lines.push(l.to_owned())
    })
    .await
    .unwrap();
    assert_eq!((summary.checked, summary.rewritten), (1, 1), "{lines:?}");
    assert_eq!(app.get(&format!("/media/{id}/original")).await.body, today);
    app.get(&format!("/media/{id}?w=320")).await.assert_status(200);
    let again = masthead::images::restrip::run(&db, &app.media, &app.settings, false, |_| {})
        .await
        .unwrap();
    assert_eq!((again.rewritten, again.unchanged), (0, 1));
}
