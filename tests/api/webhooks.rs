//! Webhooks (PRODUCT.md §7) against a real HTTP receiver started by each test on 127.0.0.1:
//! management and bad input, Standard Webhooks signatures checked with the reference library,
//! retries with backoff, timeouts, deletion, restarts, the scheduler, and two instances.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::Method;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::articles::{action, create, fields, story};
use crate::helpers::TestApp;

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Ok,
    Status(u16),
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Default)]
struct Shared {
    mode: Option<Mode>,
    received: Vec<Received>,
}

/// A webhook receiver: an actix-web server on a random port that records every request.
pub struct Receiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Arc<Mutex<Shared>>>) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        headers.append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let mode = {
        let mut s = shared.lock().unwrap();
        s.received.push(Received {
            at: Instant::now(),
            headers,
            body: body.to_vec(),
        });
        s.mode.unwrap_or(Mode::Ok)
    };
    match mode {
        Mode::Ok => HttpResponse::NoContent().finish(),
        Mode::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).body("receiver says no")
        }
        Mode::Hang(d) => {
            actix_web::rt::time::sleep(d).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let shared = Arc::new(Mutex::new(Shared {
            mode: Some(mode),
            received: Vec::new(),
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/masthead"),
            shared,
            handle,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().unwrap().mode = Some(mode);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().unwrap().received.len()
    }

    /// Waits until at least `n` requests arrived; panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} deliveries within {within:?}, got {}",
                got.len()
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

/// Fast worker settings for tests: quick polls and retries, a short timeout, loopback allowed.
pub fn fast(settings: &mut masthead::config::Settings) {
    settings.webhook_poll_interval = Duration::from_millis(50);
    settings.webhook_retry_base = Duration::from_millis(200);
    settings.webhook_timeout = Duration::from_secs(2);
    settings.scheduler_interval = Duration::from_millis(200);
}

/// Creates a webhook; returns its JSON (with the secret).
pub async fn webhook(app: &TestApp, token: &str, url: &str, events: Value) -> Value {
    let res = app
        .post("/api/v1/admin/webhooks", &json!({"url": url, "events": events}))
        .bearer(token)
        .send()
        .await;
    res.assert_status(201);
    res.json()
}

async fn deliveries(app: &TestApp, token: &str, hook: &str) -> Vec<Value> {
    let res = app
        .request(Method::GET, &format!("/api/v1/admin/webhooks/{hook}/deliveries"))
        .bearer(token)
        .send()
        .await;
    res.assert_status(200);
    res.json()["data"].as_array().unwrap().clone()
}

/// Waits until the newest delivery of `hook` satisfies `done`; returns it.
async fn wait_for_delivery(
    app: &TestApp,
    token: &str,
    hook: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let list = deliveries(app, token, hook).await;
        if let Some(first) = list.first()
            && done(first)
        {
            return first.clone();
        }
        assert!(
            Instant::now() < deadline,
            "delivery log never got there: {list:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks the Standard Webhooks signature with the reference implementation.
fn verify(secret: &str, received: &Received) {
    let wh = standardwebhooks::Webhook::new(secret).expect("a Standard Webhooks secret");
    wh.verify(&received.body, &received.headers)
        .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
}

#[actix_web::test]
async fn webhooks_are_managed_by_admins_and_the_secret_is_shown_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": "https://hooks.example.com/in", "events": ["article.published", "tag.updated"], "description": "Rebuild the site"}),
        )
        .bearer(&admin)
        .send()
        .await;
    res.assert_status(201);
    let created = res.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("location").unwrap(),
        format!("/api/v1/admin/webhooks/{id}")
    );
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["events"], json!(["article.published", "tag.updated"]));
    assert_eq!(created["active"], true);
    assert_eq!(created["description"], "Rebuild the site");

    let one = app
        .request(Method::GET, &format!("/api/v1/admin/webhooks/{id}"))
        .bearer(&admin)
        .send()
        .await;
    one.assert_status(200);
    assert!(one.json().get("secret").is_none(), "never shown again");
    assert!(!one.text().contains(secret));
    let list = app
        .request(Method::GET, "/api/v1/admin/webhooks")
        .bearer(&admin)
        .send()
        .await;
    list.assert_status(200);
    assert_eq!(list.json()["data"][0]["id"], id.as_str());
    assert!(!list.text().contains(secret));

    let patched = app
        .patch(
            &format!("/api/v1/admin/webhooks/{id}"),
            &json!({"events": ["*"], "active": false, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "description": ""}),
        )
        .bearer(&admin)
        .send()
        .await;
    patched.assert_status(200);
    let body = patched.json();
    assert_eq!(body["events"], json!(["*"]));
    assert_eq!(body["active"], false);
    assert_eq!(body["description"], Value::Null);
    assert!(body.get("secret").is_none() && !patched.text().contains("whsec_"));

    // A chosen secret is taken as given.
    let chosen = app
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": "http://hooks.example.com/", "events": ["*"], "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "active": false}),
        )
        .bearer(&admin)
        .send()
        .await;
    chosen.assert_status(201);
    assert_eq!(chosen.json()["secret"], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_eq!(chosen.json()["active"], false);

    // Only admins.
    let editor = app.token_for("editor").await;
    app.request(Method::GET, "/api/v1/admin/webhooks")
        .bearer(&editor)
        .send()
        .await
        .assert_problem(403);
    app.post(
        "/api/v1/admin/webhooks",
        &json!({"url": "https://a.example/", "events": ["*"]}),
    )
    .bearer(&editor)
    .send()
    .await
    .assert_problem(403);
    app.get("/api/v1/admin/webhooks").await.assert_problem(401);

    app.request(Method::DELETE, &format!("/api/v1/admin/webhooks/{id}"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(204);
    for (method, path) in [
        (Method::GET, format!("/api/v1/admin/webhooks/{id}")),
        (Method::DELETE, format!("/api/v1/admin/webhooks/{id}")),
        (Method::POST, format!("/api/v1/admin/webhooks/{id}/ping")),
        (Method::GET, format!("/api/v1/admin/webhooks/{id}/deliveries")),
        (
            Method::GET,
            format!("/api/v1/admin/webhooks/{id}/deliveries/nope"),
        ),
        (
            Method::POST,
            format!("/api/v1/admin/webhooks/{id}/deliveries/nope/redeliver"),
        ),
    ] {
        let res = app.request(method, &path).bearer(&admin).send().await;
        res.assert_problem(404);
    }
    app.patch(&format!("/api/v1/admin/webhooks/{id}"), &json!({"active": true}))
        .bearer(&admin)
        .send()
        .await
        .assert_problem(404);
}

#[actix_web::test]
async fn bad_webhook_input_is_refused_with_field_errors() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cases = [
        (json!({"url": "ftp://hooks.example.com/", "events": ["*"]}), "url"),
        (json!({"url": "hooks.example.com/in", "events": ["*"]}), "url"),
        (json!({"url": "http://", "events": ["*"]}), "url"),
        (
            json!({"url": "https://user:pw@hooks.example.com/", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://hooks example.com/", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": format!("https://hooks.example.com/{}", "a".repeat(2100)), "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["article.exploded"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["ping", "Article.Published"]}),
            "events[1]",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["*"], "secret": "hunter2"}),
            "secret",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["*"], "secret": "whsec_c2hvcnQ="}),
            "secret",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["*"], "description": "x".repeat(501)}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let res = app
            .post("/api/v1/admin/webhooks", &body)
            .bearer(&admin)
            .send()
            .await;
        let problem = res.assert_problem(422);
        assert_eq!(fields(&problem), [field], "{body}");
    }
    // Wrong types and missing fields are 400/422 problems too, never 500.
    for body in [
        json!({"events": ["*"]}),
        json!({"url": 5, "events": ["*"]}),
        json!({"url": "https://a.example/", "events": "*"}),
    ] {
        let res = app
            .post("/api/v1/admin/webhooks", &body)
            .bearer(&admin)
            .send()
            .await;
        assert!(matches!(res.status, 400 | 422), "{body}: {}", res.status);
        res.assert_problem(res.status);
    }
    let hook = webhook(&app, &admin, "https://hooks.example.com/", json!(["*"])).await;
    let id = hook["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"url": "gopher://x"}), "url"),
        (json!({"events": ["nope"]}), "events[0]"),
        (json!({"events": []}), "events"),
        (json!({"secret": "whsec_"}), "secret"),
    ] {
        let res = app
            .patch(&format!("/api/v1/admin/webhooks/{id}"), &body)
            .bearer(&admin)
            .send()
            .await;
        assert_eq!(fields(&res.assert_problem(422)), [field], "{body}");
    }
    let bad_cursor = app
        .request(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{id}/deliveries?cursor=forged"),
        )
        .bearer(&admin)
        .send()
        .await;
    bad_cursor.assert_problem(400);
}

#[actix_web::test]
async fn production_refuses_private_targets_unless_the_override_allows_them() {
    let production = |s: &mut masthead::config::Settings| {
        s.environment = masthead::config::Environment::Production;
    };
    let app = TestApp::spawn_with(production).await;
    let admin = app.admin_token().await;
    for url in [
        "http://127.0.0.1:9000/in",
        "http://localhost:9000/in",
        "http://10.1.2.3/in",
        "http://192.168.0.10/in",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9000/in",
        "http://[::ffff:127.0.0.1]/in",
        "http://0.0.0.0/in",
        "https://masthead-test.invalid/in",
    ] {
        let res = app
            .post("/api/v1/admin/webhooks", &json!({"url": url, "events": ["*"]}))
            .bearer(&admin)
            .send()
            .await;
        assert_eq!(fields(&res.assert_problem(422)), ["url"], "{url}");
    }
    let hook = webhook(&app, &admin, "http://93.184.216.34/in", json!(["*"])).await;
    let res = app
        .patch(
            &format!("/api/v1/admin/webhooks/{}", hook["id"].as_str().unwrap()),
            &json!({"url": "http://127.0.0.1:1/"}),
        )
        .bearer(&admin)
        .send()
        .await;
    res.assert_problem(422);

    let allowed = TestApp::spawn_with(|s| {
        production(s);
        s.webhook_allow_private = true;
    })
    .await;
    let admin = allowed.admin_token().await;
    webhook(&allowed, &admin, "http://127.0.0.1:9000/in", json!(["*"])).await;

    // Development allows them without the override.
    let dev = TestApp::spawn().await;
    let admin = dev.admin_token().await;
    webhook(&dev, &admin, "http://localhost:9000/in", json!(["*"])).await;
}

#[actix_web::test]
async fn a_publish_is_delivered_signed_with_standard_webhooks_headers_and_logged() {
    let receiver = Receiver::start(Mode::Ok).await;
    let other = Receiver::start(Mode::Ok).await;
    let app = TestApp::spawn_with(fast).await;
    let admin = app.admin_token().await;
    let hook = webhook(&app, &admin, &receiver.url, json!(["article.published"])).await;
    let secret = hook["secret"].as_str().unwrap();
    let hook_id = hook["id"].as_str().unwrap();
    // An inactive webhook and one for other events get nothing.
    let inactive = app
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": other.url, "events": ["*"], "active": false}),
        )
        .bearer(&admin)
        .send()
        .await;
    inactive.assert_status(201);
    webhook(&app, &admin, &other.url, json!(["comment.created"])).await;

    app.post("/api/v1/admin/tags", &json!({"name": "Harbour"}))
        .bearer(&admin)
        .send()
        .await
        .assert_status(201);
    let mut body = story("Harbour bridge reopens");
    body["tags"] = json!(["harbour"]);
    let article = create(&app, &admin, &body).await;
    let article_id = article["id"].as_str().unwrap();
    action(&app, &admin, article_id, "publish")
        .await
        .assert_status(200);

    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let first = &got[0];
    verify(secret, first);
    let payload = first.json();
    assert_eq!(payload["type"], "article.published");
    assert_eq!(first.header("webhook-id"), payload["id"].as_str().unwrap());
    assert_eq!(first.header("content-type"), "application/json");
    let timestamp: i64 = first.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    assert!(first.header("webhook-signature").starts_with("v1,"));
    assert_eq!(payload["data"]["id"], article_id);
    assert_eq!(payload["data"]["headline"], "Harbour bridge reopens");
    assert_eq!(payload["data"]["status"], "published");
    assert!(chrono::DateTime::parse_from_rfc3339(payload["created_at"].as_str().unwrap()).is_ok());
    let keys: Vec<&str> = payload["surrogate_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"articles")
            && keys.contains(&format!("article:{article_id}").as_str())
            && keys.contains(&"articles:tag:harbour"),
        "{keys:?}"
    );

    let logged = wait_for_delivery(&app, &admin, hook_id, Duration::from_secs(5), |d| {
        d["status"] == "succeeded"
    })
    .await;
    assert_eq!(logged["event"], "article.published");
    assert_eq!(logged["event_id"], payload["id"]);
    assert_eq!(logged["attempts"], 1);
    assert_eq!(logged["last_status_code"], 204);
    assert_eq!(logged["last_error"], Value::Null);
    assert!(logged["delivered_at"].is_string());
    let detail = app
        .request(
            Method::GET,
            &format!(
                "/api/v1/admin/webhooks/{hook_id}/deliveries/{}",
                logged["id"].as_str().unwrap()
            ),
        )
        .bearer(&admin)
        .send()
        .await;
    detail.assert_status(200);
    assert_eq!(detail.json()["attempt_log"][0]["status_code"], 204);

    // A ping goes to that webhook alone, signed the same way.
    let ping = app
        .request(Method::POST, &format!("/api/v1/admin/webhooks/{hook_id}/ping"))
        .bearer(&admin)
        .send()
        .await;
    ping.assert_status(202);
    assert_eq!(ping.json()["event"], "ping");
    assert_eq!(ping.json()["status"], "pending");
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    verify(secret, &got[1]);
    assert_eq!(got[1].json()["type"], "ping");
    assert_eq!(got[1].json()["data"]["webhook_id"], hook_id);

    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 2, "nothing else, nothing twice");
    assert_eq!(other.count(), 0, "inactive and non-matching webhooks get nothing");
}

#[actix_web::test]
async fn a_failing_receiver_is_retried_with_growing_delays_until_failed_then_redelivered() {
    let receiver = Receiver::start(Mode::Status(500)).await;
    let app = TestApp::spawn_with(|s| {
        fast(s);
        s.webhook_max_attempts = 4;
    })
    .await;
    let admin = app.admin_token().await;
    let hook = webhook(&app, &admin, &receiver.url, json!(["*"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    app.request(Method::POST, &format!("/api/v1/admin/webhooks/{hook_id}/ping"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(202);

    let got = receiver.wait_for(4, Duration::from_secs(15)).await;
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "every attempt carries the event id"
    );
    // Delays: base 0.2 s doubled per attempt, minus up to half (jitter).
    let gaps: Vec<f64> = got
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    for (i, gap) in gaps.iter().enumerate() {
        let full = 0.2 * f64::from(1u32 << i);
        assert!(
            *gap >= full / 2.0 - 0.02,
            "gap {i} was {gap:.3}s, less than half of {full}s: {gaps:?}"
        );
    }
    assert!(gaps[2] > gaps[0], "the delays grow: {gaps:?}");

    let failed = wait_for_delivery(&app, &admin, hook_id, Duration::from_secs(5), |d| {
        d["status"] == "failed"
    })
    .await;
    assert_eq!(failed["attempts"], 4);
    assert_eq!(failed["last_status_code"], 500);
    assert!(
        failed["last_error"].as_str().unwrap().starts_with("HTTP 500"),
        "{failed}"
    );
    assert_eq!(failed["next_attempt_at"], Value::Null);
    let detail = app
        .request(
            Method::GET,
            &format!(
                "/api/v1/admin/webhooks/{hook_id}/deliveries/{}",
                failed["id"].as_str().unwrap()
            ),
        )
        .bearer(&admin)
        .send()
        .await
        .json();
    let log = detail["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 4, "every attempt is recorded");
    assert!(log.iter().all(|a| a["status_code"] == 500));
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.count(), 4, "no attempt after the maximum");

    // Redelivery: a new delivery of the same event, which the receiver now takes.
    receiver.set_mode(Mode::Ok);
    let res = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/admin/webhooks/{hook_id}/deliveries/{}/redeliver",
                failed["id"].as_str().unwrap()
            ),
        )
        .bearer(&admin)
        .send()
        .await;
    res.assert_status(202);
    let again = res.json();
    assert_ne!(again["id"], failed["id"]);
    assert_eq!(again["event_id"], failed["event_id"]);
    let got = receiver.wait_for(5, Duration::from_secs(5)).await;
    assert_eq!(got[4].header("webhook-id"), ids[0]);
    verify(hook["secret"].as_str().unwrap(), &got[4]);
    let done = wait_for_delivery(&app, &admin, hook_id, Duration::from_secs(5), |d| {
        d["status"] == "succeeded"
    })
    .await;
    assert_eq!(done["id"], again["id"]);
    assert_eq!(
        deliveries(&app, &admin, hook_id).await.len(),
        2,
        "the failed one stays in the log"
    );
}

#[actix_web::test]
async fn a_hanging_receiver_times_out_and_is_retried_while_the_api_stays_fast() {
    let receiver = Receiver::start(Mode::Hang(Duration::from_secs(30))).await;
    let app = TestApp::spawn_with(|s| {
        fast(s);
        s.webhook_timeout = Duration::from_millis(500);
    })
    .await;
    let admin = app.admin_token().await;
    let hook = webhook(&app, &admin, &receiver.url, json!(["*"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    for _ in 0..5 {
        app.request(Method::POST, &format!("/api/v1/admin/webhooks/{hook_id}/ping"))
            .bearer(&admin)
            .send()
            .await
            .assert_status(202);
    }
    receiver.wait_for(5, Duration::from_secs(5)).await;
    // While five deliveries hang, the API answers at once.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        app.get("/api/v1/articles").await.assert_status(200);
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "the API waited for webhooks: {slowest:?}"
    );
    let timed_out = wait_for_delivery(&app, &admin, hook_id, Duration::from_secs(5), |d| {
        d["attempts"].as_i64().unwrap() >= 1
    })
    .await;
    assert!(
        timed_out["last_error"].as_str().unwrap().contains("timed out"),
        "{timed_out}"
    );
    assert_eq!(timed_out["status"], "pending");
    assert_eq!(timed_out["last_status_code"], Value::Null);
    // And retried.
    receiver.wait_for(6, Duration::from_secs(5)).await;
}

#[actix_web::test]
async fn a_receiver_that_refuses_connections_is_retried_and_deliveries_stop_when_the_webhook_is_deleted() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let receiver = Receiver::start(Mode::Status(503)).await;
    let app = TestApp::spawn_with(|s| {
        fast(s);
        s.webhook_max_attempts = 50;
    })
    .await;
    let admin = app.admin_token().await;
    let down = webhook(
        &app,
        &admin,
        &format!("http://127.0.0.1:{closed}/in"),
        json!(["*"]),
    )
    .await;
    let down_id = down["id"].as_str().unwrap();
    app.request(Method::POST, &format!("/api/v1/admin/webhooks/{down_id}/ping"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(202);
    let refused = wait_for_delivery(&app, &admin, down_id, Duration::from_secs(5), |d| {
        d["attempts"].as_i64().unwrap() >= 2
    })
    .await;
    assert!(
        refused["last_error"].as_str().unwrap().contains("connect"),
        "{refused}"
    );
    assert_eq!(refused["status"], "pending");

    let hook = webhook(&app, &admin, &receiver.url, json!(["*"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    app.request(Method::POST, &format!("/api/v1/admin/webhooks/{hook_id}/ping"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(202);
    receiver.wait_for(2, Duration::from_secs(5)).await;
    app.request(Method::DELETE, &format!("/api/v1/admin/webhooks/{hook_id}"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(204);
    // One attempt may have been in flight when it was deleted; none after.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let after_delete = receiver.count();
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.count(),
        after_delete,
        "deliveries stopped with the webhook"
    );
}

#[actix_web::test]
async fn events_committed_before_a_stop_are_delivered_after_the_restart_in_order() {
    let receiver = Receiver::start(Mode::Ok).await;
    // A process whose worker never ran stands in for one killed right after committing.
    let mut app = TestApp::spawn_with(|s| {
        fast(s);
        s.webhook_worker = false;
    })
    .await;
    let admin = app.admin_token().await;
    let hook = webhook(
        &app,
        &admin,
        &receiver.url,
        json!(["article.published", "article.updated"]),
    )
    .await;
    let article = create(&app, &admin, &story("Ferry strike ends")).await;
    let id = article["id"].as_str().unwrap().to_owned();
    action(&app, &admin, &id, "publish").await.assert_status(200);
    for n in 0..3 {
        app.patch(
            &format!("/api/v1/admin/articles/{id}"),
            &json!({"standfirst": format!("Update {n}.")}),
        )
        .bearer(&admin)
        .send()
        .await
        .assert_status(200);
    }
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.count(), 0);

    // The receiver is down when the worker starts: everything waits, in order.
    receiver.set_mode(Mode::Status(503));
    app.restart_with(|s| s.webhook_worker = true).await;
    receiver.wait_for(3, Duration::from_secs(10)).await;
    receiver.set_mode(Mode::Ok);
    let hook_id = hook["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = deliveries(&app, &admin, hook_id).await;
        if log.len() == 4 && log.iter().all(|d| d["status"] == "succeeded") {
            break log;
        }
        assert!(Instant::now() < deadline, "not all delivered: {log:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let delivered = receiver.received();
    // In order per article: the sequence of first arrivals of each event id follows the edits.
    let mut order: Vec<(String, String)> = Vec::new();
    for r in &delivered {
        let p = r.json();
        let pair = (
            p["id"].as_str().unwrap().to_owned(),
            p["data"]["standfirst"].as_str().unwrap_or("").to_owned(),
        );
        if !order.iter().any(|(id, _)| id == &pair.0) {
            order.push(pair);
        }
    }
    let standfirsts: Vec<&str> = order.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(standfirsts.len(), 4);
    assert_eq!(
        &standfirsts[1..],
        ["Update 0.", "Update 1.", "Update 2."],
        "{standfirsts:?}"
    );
    assert_eq!(
        order[0].0,
        log[3]["event_id"].as_str().unwrap(),
        "the publish came first"
    );
}

#[actix_web::test]
async fn a_scheduled_article_fires_article_published_once_without_any_reader() {
    let receiver = Receiver::start(Mode::Ok).await;
    let app = TestApp::spawn_with(fast).await;
    let admin = app.admin_token().await;
    let hook = webhook(
        &app,
        &admin,
        &receiver.url,
        json!(["article.published", "article.scheduled"]),
    )
    .await;
    let article = create(&app, &admin, &story("Budget day")).await;
    let id = article["id"].as_str().unwrap();
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    app.post(
        &format!("/api/v1/admin/articles/{id}/schedule"),
        &json!({"publish_at": due.to_rfc3339()}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    let arrived = chrono::Utc::now();
    assert_eq!(got[0].json()["type"], "article.scheduled");
    let published = got[1].json();
    assert_eq!(published["type"], "article.published");
    assert_eq!(published["data"]["id"], id);
    assert_eq!(published["data"]["status"], "published");
    verify(hook["secret"].as_str().unwrap(), &got[1]);
    let fired = chrono::DateTime::parse_from_rfc3339(published["created_at"].as_str().unwrap()).unwrap();
    assert!(
        fired >= due - chrono::Duration::milliseconds(5),
        "fired before it was due"
    );
    assert!(
        fired <= due + chrono::Duration::milliseconds(1200),
        "fired {fired} for {due}: later than the interval allows"
    );
    assert!(arrived >= due);

    // Saving it afterwards is an update, not a second publish; nothing fires twice.
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "Figures added."}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    let types: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["article.scheduled", "article.published"]);

    // A time already past publishes with the save itself: one event, not two.
    let late = create(&app, &admin, &story("Back-dated")).await;
    app.post(
        &format!("/api/v1/admin/articles/{}/schedule", late["id"].as_str().unwrap()),
        &json!({"publish_at": "2020-01-01T00:00:00Z"}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    receiver.wait_for(3, Duration::from_secs(5)).await;
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.count(), 3);
}

#[actix_web::test]
async fn an_edit_just_after_the_due_time_is_preceded_by_the_published_event() {
    let receiver = Receiver::start(Mode::Ok).await;
    // A scheduler that never comes round in this test: the save itself must fire it.
    let app = TestApp::spawn_with(|s| {
        fast(s);
        s.scheduler_interval = Duration::from_secs(3600);
    })
    .await;
    let admin = app.admin_token().await;
    webhook(
        &app,
        &admin,
        &receiver.url,
        json!(["article.published", "article.updated"]),
    )
    .await;
    let article = create(&app, &admin, &story("Count begins")).await;
    let id = article["id"].as_str().unwrap();
    // The scheduler's first round runs at start; schedule after it.
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(300);
    app.post(
        &format!("/api/v1/admin/articles/{id}/schedule"),
        &json!({"publish_at": due.to_rfc3339()}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    app.patch(
        &format!("/api/v1/admin/articles/{id}"),
        &json!({"standfirst": "First results."}),
    )
    .bearer(&admin)
    .send()
    .await
    .assert_status(200);
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["article.published", "article.updated"]);
}

#[actix_web::test]
async fn two_instances_on_postgresql_send_each_delivery_and_scheduled_event_once() {
    let receiver = Receiver::start(Mode::Ok).await;
    let app = TestApp::spawn_with(fast).await;
    if app.postgres().is_none() {
        // SQLite runs one process; this is about several instances sharing PostgreSQL.
        return;
    }
    let second = masthead::startup::Application::build(app.settings.clone()).expect("a second instance");
    let second_handle = second.handle();
    actix_web::rt::spawn(second.run_until_stopped());
    let admin = app.admin_token().await;
    webhook(&app, &admin, &receiver.url, json!(["*"])).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        let a = create(&app, &admin, &story(&format!("Story {n}"))).await;
        ids.push(a["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..3] {
        action(&app, &admin, id, "publish").await.assert_status(200);
    }
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(800);
    for id in &ids[3..] {
        app.post(
            &format!("/api/v1/admin/articles/{id}/schedule"),
            &json!({"publish_at": due.to_rfc3339()}),
        )
        .bearer(&admin)
        .send()
        .await
        .assert_status(200);
    }
    // 3 published + 3 scheduled + 3 published by the schedulers.
    receiver.wait_for(9, Duration::from_secs(15)).await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let got = receiver.received();
    let mut by_id = std::collections::HashMap::<String, usize>::new();
    for r in &got {
        *by_id.entry(r.header("webhook-id")).or_default() += 1;
    }
    assert_eq!(got.len(), 9, "one delivery per event: {by_id:?}");
    assert!(by_id.values().all(|&n| n == 1), "{by_id:?}");
    let published = got
        .iter()
        .filter(|r| r.json()["type"] == "article.published")
        .count();
    assert_eq!(published, 6, "each scheduled article published once");
    second_handle.stop(false).await;
}

/// A `masthead serve` process on the test's database, with fast webhook settings.
fn serve_process(app: &TestApp) -> std::process::Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap().keep();
    std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
        .arg("serve")
        .env_clear()
        .current_dir(&dir)
        .env("MASTHEAD_DATABASE_URL", &app.settings.database_url)
        .env("MASTHEAD_BIND", format!("127.0.0.1:{port}"))
        .env("MASTHEAD_MEDIA_DIR", dir.join("media"))
        .env(
            "MASTHEAD_JWT_SECRET",
            "test-secret-that-is-long-enough-0123456789",
        )
        .env("MASTHEAD_WEBHOOK_RETRY_BASE", "0.2")
        .env("MASTHEAD_WEBHOOK_POLL_INTERVAL", "0.05")
        .env("MASTHEAD_WEBHOOK_TIMEOUT", "1")
        .env("MASTHEAD_WEBHOOK_MAX_ATTEMPTS", "100")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start masthead serve")
}

#[actix_web::test]
async fn a_process_killed_with_sigkill_loses_nothing_its_successor_delivers_it_once() {
    let receiver = Receiver::start(Mode::Status(503)).await;
    // This server only serves the API here; the worker runs in the processes below.
    let app = TestApp::spawn_with(|s| s.webhook_worker = false).await;
    let admin = app.admin_token().await;
    let hook = webhook(&app, &admin, &receiver.url, json!(["article.published"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    let article = create(&app, &admin, &story("Power cut downtown")).await;
    action(&app, &admin, article["id"].as_str().unwrap(), "publish")
        .await
        .assert_status(200);

    let mut first = serve_process(&app);
    receiver.wait_for(2, Duration::from_secs(20)).await;
    first.kill().unwrap(); // SIGKILL: no shutdown, whatever was in flight is cut
    first.wait().unwrap();
    let attempts_before = receiver.count();
    receiver.set_mode(Mode::Ok);

    let mut second = serve_process(&app);
    let done = wait_for_delivery(&app, &admin, hook_id, Duration::from_secs(20), |d| {
        d["status"] == "succeeded"
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    let log = deliveries(&app, &admin, hook_id).await;
    assert_eq!(log.len(), 1, "one delivery of the one event: {log:?}");
    assert!(done["attempts"].as_i64().unwrap() >= 2, "{done}");
    let got = receiver.received();
    assert!(got.len() > attempts_before);
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == done["event_id"].as_str().unwrap())
    );
    verify(hook["secret"].as_str().unwrap(), got.last().unwrap());
}
