//! Several instances (PRODUCT.md §9): images in a real S3-compatible server shared by two
//! instances, the store failing under an upload (503, no row) or stalling (other writes go on),
//! `/readyz` per dependency, and rate limits that hold across instances on PostgreSQL. The
//! cache-purge listener's tests are in `scaleout_listener.rs`.
//!
//! The S3 tests need a server: `.ci/run` starts one (scripts/s3-server) and sets
//! `TEST_S3_ENDPOINT`, `TEST_S3_BUCKET`, `TEST_S3_REGION`, `TEST_S3_ACCESS_KEY_ID` and
//! `TEST_S3_SECRET_ACCESS_KEY`. Without `TEST_S3_ENDPOINT` they pass without running on a
//! developer's machine, and fail under CI (`CI` set), so CI cannot skip them by accident.
//! The wrong-credentials test needs a server that checks signatures (moto does not):
//! `scripts/s3-server start-signing` runs s3s-fs and prints the `TEST_S3_SIGNING_*` settings.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::Method;
use futures_util::future::join_all;
use masthead::config::{S3Settings, Settings, Storage};
use serde_json::json;

use crate::helpers::TestApp;
use crate::images::{jpeg, upload};

/// The test server's bucket settings, each test under a prefix of its own; `None` (outside
/// CI) when no S3 server is configured.
pub fn s3_settings() -> Option<S3Settings> {
    let Ok(endpoint) = std::env::var("TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the S3 tests: TEST_S3_ENDPOINT is not set (see .ci/run, scripts/s3-server)"
        );
        eprintln!("TEST_S3_ENDPOINT is not set: S3 test not run (README, Tests)");
        return None;
    };
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set with TEST_S3_ENDPOINT"));
    Some(S3Settings {
        bucket: var("TEST_S3_BUCKET"),
        prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
        endpoint: Some(endpoint),
        region: std::env::var("TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        path_style: true,
        access_key_id: Some(var("TEST_S3_ACCESS_KEY_ID")),
        secret_access_key: Some(var("TEST_S3_SECRET_ACCESS_KEY").into()),
    })
}

pub fn on_s3(s3: &S3Settings) -> impl FnOnce(&mut Settings) + use<> {
    let s3 = s3.clone();
    move |settings: &mut Settings| settings.storage = Storage::S3(s3)
}

/// The same bucket reached through a TCP proxy the test can stall or cut.
fn through_a_proxy(s3: S3Settings) -> (Proxy, S3Settings) {
    let endpoint = s3.endpoint.clone().unwrap();
    let proxy = Proxy::start(endpoint.trim_start_matches("http://").trim_end_matches('/'));
    let through = S3Settings {
        endpoint: Some(proxy.url()),
        ..s3
    };
    (proxy, through)
}

fn path_of(url: &str) -> String {
    url.strip_prefix("https://news.example.com").unwrap().to_owned()
}

#[actix_web::test]
async fn on_s3_images_live_in_the_bucket_and_one_instances_rendition_is_served_by_another() {
    let Some(s3) = s3_settings() else { return };
    let app = TestApp::spawn_with(on_s3(&s3)).await;
    let token = app.token_for("author").await;
    let bytes = jpeg(900, 600, 11);
    let res = upload(&app, &token, "harbour.jpg", &bytes, &[("caption", "The harbour")]).await;
    res.assert_status(201);
    let image = res.json();
    let id = image["id"].as_str().unwrap().to_owned();
    assert!(
        !app.settings.media_dir.exists(),
        "nothing is written to the local media directory"
    );

    // The original: whole, in ranges, immutable.
    let original = path_of(image["renditions"]["original"].as_str().unwrap());
    let whole = app.get(&original).await;
    whole.assert_status(200);
    assert_eq!(
        whole.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let part = app
        .request(Method::GET, &original)
        .header("Range", "bytes=0-9")
        .send()
        .await;
    part.assert_status(206);
    assert_eq!(part.body, whole.body[..10]);

    // A rendition made by the first instance is found stored by a second one.
    let (second, second_handle) = app.second_instance(on_s3(&s3)).await;
    let rendition = format!("/media/{id}?w=320");
    let made = app.get(&rendition).await;
    made.assert_status(200);
    assert_eq!(made.header("x-masthead-rendition").as_deref(), Some("generated"));
    let reused = app.get(&format!("{second}{rendition}")).await;
    reused.assert_status(200);
    assert_eq!(reused.header("x-masthead-rendition").as_deref(), Some("stored"));
    assert_eq!(reused.body, made.body);
    let ready = app.get(&format!("{second}/readyz")).await;
    ready.assert_status(200);
    assert_eq!(ready.json()["checks"], json!({"database": "ok", "storage": "ok"}));

    // Deleting the image removes its objects; neither instance serves it any more.
    let editor = app.token_for("editor").await;
    app.request(Method::DELETE, &format!("/api/v1/admin/images/{id}"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
    app.get(&format!("{second}{original}")).await.assert_problem(404);
    let original_key = masthead::images::storage::StorageKey::parse(&format!("originals/{id}.jpg")).unwrap();
    assert!(
        !app.media.store.exists(&original_key).unwrap(),
        "the original object is deleted"
    );
    second_handle.stop(true).await;
}

#[actix_web::test]
async fn a_wrong_bucket_or_an_unreachable_endpoint_stop_the_start_with_the_setting_named() {
    let Some(s3) = s3_settings() else { return };
    let app = TestApp::spawn().await;
    let start = |s3: S3Settings| {
        let mut settings = app.settings.clone();
        settings.storage = Storage::S3(s3);
        match masthead::startup::Application::build(settings) {
            Ok(_) => panic!("the server started with bad storage settings"),
            Err(e) => format!("{e:#}"),
        }
    };
    let no_bucket = start(S3Settings {
        bucket: format!("no-such-bucket-{}", uuid::Uuid::new_v4().simple()),
        ..s3.clone()
    });
    assert!(no_bucket.starts_with("MASTHEAD_STORAGE"), "{no_bucket}");
    assert!(no_bucket.contains("does not exist"), "{no_bucket}");
    // Wrong credentials: moto accepts any, so they are tested against the server that checks
    // signatures (`wrong_s3_credentials_stop_the_start_naming_the_credential_settings`).
    let nobody_home = start(S3Settings {
        endpoint: Some(format!("http://127.0.0.1:{}", closed_port())),
        ..s3
    });
    assert!(nobody_home.contains("MASTHEAD_S3_ENDPOINT"), "{nobody_home}");
}

/// The server that checks signatures (s3s-fs, `scripts/s3-server start-signing`); `None`
/// outside CI when it is not running.
fn signing_s3_settings() -> Option<S3Settings> {
    let Ok(endpoint) = std::env::var("TEST_S3_SIGNING_ENDPOINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the credentials test: TEST_S3_SIGNING_ENDPOINT is not set (see .ci/run, scripts/s3-server)"
        );
        eprintln!("TEST_S3_SIGNING_ENDPOINT is not set: credentials test not run (README, Tests)");
        return None;
    };
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set with TEST_S3_SIGNING_ENDPOINT"))
    };
    Some(S3Settings {
        bucket: var("TEST_S3_SIGNING_BUCKET"),
        prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        path_style: true,
        access_key_id: Some(var("TEST_S3_SIGNING_ACCESS_KEY_ID")),
        secret_access_key: Some(var("TEST_S3_SIGNING_SECRET_ACCESS_KEY").into()),
    })
}

#[actix_web::test]
async fn wrong_s3_credentials_stop_the_start_naming_the_credential_settings() {
    let Some(s3) = signing_s3_settings() else { return };
    // The right key works, uploads included: the server does check what we sign.
    let app = TestApp::spawn_with(on_s3(&s3)).await;
    let token = app.token_for("author").await;
    upload(&app, &token, "signed.jpg", &jpeg(320, 240, 41), &[])
        .await
        .assert_status(201);
    let start = |s3: S3Settings| {
        let mut settings = app.settings.clone();
        settings.storage = Storage::S3(s3);
        match masthead::startup::Application::build(settings) {
            Ok(_) => panic!("the server started with wrong credentials"),
            Err(e) => format!("{e:#}"),
        }
    };
    for wrong in [
        S3Settings {
            secret_access_key: Some("not-the-secret".to_owned().into()),
            ..s3.clone()
        },
        S3Settings {
            access_key_id: Some("nobody".into()),
            ..s3.clone()
        },
    ] {
        let err = start(wrong);
        assert!(
            err.starts_with("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: the credentials are refused"),
            "{err}"
        );
        assert!(!err.contains("not-the-secret"), "the secret is not echoed: {err}");
    }
}

#[actix_web::test]
async fn the_store_dying_mid_upload_is_a_503_with_no_row_and_readyz_names_the_storage() {
    let Some(s3) = s3_settings() else { return };
    let (proxy, through_proxy) = through_a_proxy(s3);
    let app = TestApp::spawn_with(on_s3(&through_proxy)).await;
    let token = app.token_for("author").await;
    let before = upload(&app, &token, "before.jpg", &jpeg(600, 400, 1), &[]).await;
    before.assert_status(201);
    let before_id = before.json()["id"].as_str().unwrap().to_owned();

    // The server dies while the next upload's bytes are on their way to it.
    proxy.die_after_upload_bytes(32 * 1024);
    let big = jpeg(2000, 1500, 2);
    assert!(
        big.len() > 64 * 1024,
        "the upload is big enough to be cut: {}",
        big.len()
    );
    let res = upload(&app, &token, "cut.jpg", &big, &[]).await;
    let problem = res.assert_problem(503);
    assert!(res.header("retry-after").is_some());
    assert!(
        problem["detail"].as_str().unwrap().contains("storage"),
        "{problem}"
    );
    assert!(proxy.is_down(), "the upload reached the store before it died");

    // Nothing was recorded: the list has the first image only.
    let list = app
        .request(Method::GET, "/api/v1/admin/images")
        .bearer(&token)
        .send()
        .await;
    list.assert_status(200);
    let ids: Vec<_> = list.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![before_id.clone()]);

    // While it is down: renditions and originals are 503, readiness names the storage.
    app.get(&format!("/media/{before_id}?w=320"))
        .await
        .assert_problem(503);
    app.get(&format!("/media/{before_id}/original"))
        .await
        .assert_problem(503);
    let ready = app.get("/readyz").await.assert_problem(503);
    let detail = ready["detail"].as_str().unwrap();
    assert!(
        detail.contains("media storage") && !detail.contains("database"),
        "{detail}"
    );

    // Back up: everything works again without a restart.
    proxy.revive();
    app.get("/readyz").await.assert_status(200);
    app.get(&format!("/media/{before_id}?w=320"))
        .await
        .assert_status(200);
    upload(&app, &token, "again.jpg", &big, &[])
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn on_postgresql_two_instances_share_the_login_and_comment_limits() {
    let app = TestApp::spawn_with(|s| {
        s.login_max_attempts = 6;
        s.comments_per_minute = 3;
        s.comments_auto_approve = true;
    })
    .await;
    if app.postgres().is_none() {
        // One SQLite database is one instance; its limits are kept in the process.
        return;
    }
    let (second, second_handle) = app
        .second_instance(|s| {
            s.login_max_attempts = 6;
            s.comments_per_minute = 3;
        })
        .await;
    // Comments: three per minute per address across both instances.
    let admin = app.admin_token().await;
    let (_, slug) = crate::comments::published_article(&app, &admin, "Harbour reopens").await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        let base = if n % 2 == 0 { "" } else { second.as_str() };
        statuses.push(post_comment(&app, base, &slug, n).await);
    }
    assert_eq!(statuses, vec![201, 201, 201, 429, 429]);

    let wrong = json!({"email": "nobody@news.example.com", "password": "wrong password here"});
    // The admin's login above was the address's first of six; alternating between the
    // instances, the seventh attempt is refused: one limit, not two.
    for n in 0..5 {
        let base = if n % 2 == 0 { "" } else { second.as_str() };
        app.post(&format!("{base}/api/v1/auth/login"), &wrong)
            .send()
            .await
            .assert_status(401);
    }
    for base in [second.as_str(), ""] {
        let res = app
            .post(&format!("{base}/api/v1/auth/login"), &wrong)
            .send()
            .await;
        res.assert_problem(429);
        let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
    }

    second_handle.stop(true).await;
}

#[actix_web::test]
async fn concurrent_uploads_of_the_same_bytes_leave_one_image_and_one_object() {
    let app = TestApp::spawn().await;
    let token = app.token_for("author").await;
    let bytes = jpeg(640, 480, 21);
    let answers = join_all((0..4).map(|_| upload(&app, &token, "same.jpg", &bytes, &[]))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        vec![200, 200, 200, 201],
        "one upload stored it, the others found it"
    );
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    // Each upload that lost the race deleted the object it wrote: one original on disk.
    let originals: Vec<_> = std::fs::read_dir(app.settings.media_dir.join("originals"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with(".tmp-"))
        .collect();
    let id = ids.into_iter().next().unwrap();
    assert_eq!(originals, vec![format!("{id}.jpg")]);
}

#[actix_web::test]
async fn a_slow_object_write_does_not_hold_up_other_writes() {
    // The object is written before the database transaction: on SQLite, whose one write lock
    // a transaction holds, a stalled PUT would otherwise stall every editorial write.
    let Some(s3) = s3_settings() else { return };
    let (proxy, through_proxy) = through_a_proxy(s3);
    let app = TestApp::spawn_with(on_s3(&through_proxy)).await;
    let token = app.token_for("author").await;
    proxy.stall_uploads(true);
    let bytes = jpeg(800, 600, 31);
    let uploading = upload(&app, &token, "slow.jpg", &bytes, &[]);
    let meanwhile = async {
        // Once the PUT is held at the proxy, an editorial write goes through at once.
        let waiting = std::time::Instant::now();
        while !proxy.has_stalled() {
            assert!(
                waiting.elapsed().as_secs() < 20,
                "the upload never reached the store"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let started = std::time::Instant::now();
        let created = app
            .post(
                "/api/v1/admin/articles",
                &crate::articles::story("Written while an upload waits"),
            )
            .bearer(&token)
            .send()
            .await;
        let took = started.elapsed();
        created.assert_status(201);
        assert!(proxy.has_stalled(), "the upload was still writing its object");
        proxy.stall_uploads(false);
        took
    };
    let (uploaded, took) = futures_util::future::join(uploading, meanwhile).await;
    uploaded.assert_status(201);
    assert!(
        took < std::time::Duration::from_secs(3),
        "the write waited {took:?} for the upload's object"
    );
}

async fn post_comment(app: &TestApp, base: &str, slug: &str, n: usize) -> u16 {
    let (token, answer) = crate::comments::solved_challenge(app).await;
    app.post(
        &format!("{base}/api/v1/articles/{slug}/comments"),
        &json!({
            "author_name": format!("Reader {n}"),
            "author_email": "reader@example.org",
            "body": format!("Comment number {n} on the harbour."),
            "challenge_token": token,
            "challenge_answer": answer,
            "website": ""
        }),
    )
    .send()
    .await
    .status
}

/// A port with nothing listening on it.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP proxy in front of the S3 server (or PostgreSQL) that can "kill" it: close every connection and
/// refuse new ones, at once or as soon as an upload has sent some bytes; then revive it.
pub(crate) struct Proxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    down: AtomicBool,
    /// When non-zero: die once a connection has sent this many bytes towards the server.
    die_after: AtomicUsize,
    /// While set, bytes towards the server are held back (a store that stopped reading).
    stall: AtomicBool,
    /// Set once bytes were held back by `stall`.
    stalled: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl ProxyState {
    fn kill(&self) {
        self.down.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Proxy {
    pub(crate) fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let upstream = upstream.to_owned();
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if shared.down.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                {
                    let mut open = shared.open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = shared.clone();
                std::thread::spawn(move || pipe(client, server, Some(up)));
                std::thread::spawn(move || pipe(s2, c2, None));
            }
        });
        Proxy { port, state }
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection through it and refuses new ones until [`Proxy::revive`].
    pub(crate) fn kill(&self) {
        self.state.kill();
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn die_after_upload_bytes(&self, bytes: usize) {
        self.state.die_after.store(bytes, Ordering::SeqCst);
    }

    fn stall_uploads(&self, on: bool) {
        if on {
            self.state.stalled.store(false, Ordering::SeqCst);
        }
        self.state.stall.store(on, Ordering::SeqCst);
    }

    fn has_stalled(&self) -> bool {
        self.state.stalled.load(Ordering::SeqCst)
    }

    fn is_down(&self) -> bool {
        self.state.down.load(Ordering::SeqCst)
    }

    pub(crate) fn revive(&self) {
        self.state.die_after.store(0, Ordering::SeqCst);
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.kill();
    }
}

/// Copies `from` to `to` until either closes; towards the server (`watch`), counts the bytes
/// and kills the proxy when the armed threshold is passed.
fn pipe(mut from: TcpStream, mut to: TcpStream, watch: Option<Arc<ProxyState>>) {
    let mut buf = [0u8; 16 * 1024];
    // Bytes sent since the proxy was armed (a kept-alive connection carried others before).
    let mut since_armed: Option<usize> = None;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(state) = &watch {
            while state.stall.load(Ordering::SeqCst) {
                state.stalled.store(true, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let limit = state.die_after.load(Ordering::SeqCst);
            let sent = if limit > 0 {
                *since_armed.get_or_insert(0) + n
            } else {
                0
            };
            if limit > 0 {
                since_armed = Some(sent);
            }
            if limit > 0 && sent > limit {
                // Forward part of this chunk, then die: the server saw half an upload.
                let _ = to.write_all(&buf[..n / 2]);
                state.kill();
                break;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
