//! `TestApp`: starts the real server with a fresh database and speaks HTTP to it.

use std::time::Duration;

use actix_web::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use masthead::config::Settings;
use masthead::startup::Application;
use serde_json::Value;

pub const ADMIN_EMAIL: &str = "admin@news.example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const USER_PASSWORD: &str = "a long enough password";

/// A running test server and everything needed to clean up after it.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The server's media services (its image memory budget), shared with the test.
    pub media: std::sync::Arc<masthead::images::Media>,
    handle: actix_web::dev::ServerHandle,
    client: awc::Client,
    _dir: tempfile::TempDir,
    postgres: Option<PostgresTestDb>,
}

/// A database created for one test on the PostgreSQL server of `TEST_DATABASE_URL`.
pub struct PostgresTestDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PostgresTestDb {
    fn create(admin_url: &str) -> Self {
        let name = format!("masthead_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        PostgresTestDb {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    /// Drops the database now (connections are terminated).
    pub fn drop_now(&self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name));
        }
    }
}

impl Drop for PostgresTestDb {
    fn drop(&mut self) {
        self.drop_now();
    }
}

/// The backend under test: PostgreSQL when `TEST_DATABASE_URL` is set, else SQLite.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A response read whole.
pub struct TestResponse {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the status and that the body is a problem document with that status.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "error bodies are problem+json"
        );
        let body = self.json();
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
            "{body}"
        );
        body
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
}

/// A request being built.
pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl RequestBuilder<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn json(mut self, value: &Value) -> Self {
        self.body = Some((
            "application/json".into(),
            serde_json::to_vec(value).expect("json"),
        ));
        self
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }

    pub async fn send(self) -> TestResponse {
        // A full URL reaches another server (a second instance, a proxy) with this client.
        let url = if self.path.starts_with("http://") {
            self.path.clone()
        } else {
            format!("{}{}", self.app.address, self.path)
        };
        let mut req = self.app.client.request(self.method.clone(), &url);
        for (name, value) in &self.headers {
            req = req.insert_header((name.as_str(), value.as_str()));
        }
        let mut res = match self.body {
            Some((content_type, body)) => {
                req.insert_header(("Content-Type", content_type))
                    .send_body(body)
                    .await
            }
            None => req.send().await,
        }
        .unwrap_or_else(|e| panic!("{} {} failed: {e}", self.method, self.path));
        let body = res
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .expect("read body")
            .to_vec();
        TestResponse {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
        }
    }
}

impl TestApp {
    /// Starts a server with a fresh database and the default test settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server after `customise` adjusted its settings.
    pub async fn spawn_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_after(customise, |_| {}).await
    }

    /// Starts a server after `customise` adjusted its settings and `prepare` worked on its
    /// fresh database (e.g. ran a command before the first start).
    pub async fn spawn_after(
        customise: impl FnOnce(&mut Settings),
        prepare: impl FnOnce(&Settings),
    ) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            masthead::telemetry::init(masthead::config::Environment::Development);
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = postgres_admin_url().map(|admin| PostgresTestDb::create(&admin));
        let database_url = match &postgres {
            Some(pg) => pg.url.clone(),
            None => format!("sqlite://{}", dir.path().join("masthead.db").display()),
        };
        let mut settings = Settings::for_tests(&database_url, dir.path().join("media"));
        settings.bootstrap_admin_email = Some(ADMIN_EMAIL.to_owned());
        settings.bootstrap_admin_password = Some(ADMIN_PASSWORD.to_owned().into());
        customise(&mut settings);
        prepare(&settings);
        let app = Application::build(settings.clone()).expect("the test server builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let media = app.media();
        actix_web::rt::spawn(app.run_until_stopped());
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .disable_redirects()
            .finish();
        TestApp {
            address,
            settings,
            media,
            handle,
            client,
            _dir: dir,
            postgres,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            app: self,
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path).send().await
    }

    /// A GET with a bearer token (an admin read).
    pub async fn get_as(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::GET, path).bearer(token).send().await
    }

    pub fn post(&self, path: &str, body: &Value) -> RequestBuilder<'_> {
        self.request(Method::POST, path).json(body)
    }

    pub fn patch(&self, path: &str, body: &Value) -> RequestBuilder<'_> {
        self.request(Method::PATCH, path).json(body)
    }

    /// Logs in and returns the token pair's JSON.
    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post(
            "/api/v1/auth/login",
            &serde_json::json!({"email": email, "password": password}),
        )
        .send()
        .await
    }

    /// An access token of the bootstrap admin.
    pub async fn admin_token(&self) -> String {
        let res = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        res.assert_status(200);
        res.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Creates a user with `role` through the admin API; returns (user id, access token).
    pub async fn user_with_role(&self, role: &str) -> (String, String) {
        let admin = self.admin_token().await;
        let email = format!("{role}-{}@news.example.com", uuid::Uuid::new_v4().simple());
        let res = self
            .post(
                "/api/v1/admin/users",
                &serde_json::json!({
                    "email": email, "display_name": format!("Test {role}"), "role": role, "password": USER_PASSWORD
                }),
            )
            .bearer(&admin)
            .send()
            .await;
        res.assert_status(201);
        let id = res.json()["id"].as_str().expect("id").to_owned();
        let login = self.login(&email, USER_PASSWORD).await;
        login.assert_status(200);
        (
            id,
            login.json()["access_token"].as_str().expect("token").to_owned(),
        )
    }

    /// An access token for a new user with `role`.
    pub async fn token_for(&self, role: &str) -> String {
        self.user_with_role(role).await.1
    }

    /// Stops this server and starts another on the same database and media directory, as a
    /// restart of the process would; `customise` adjusts the new process's settings.
    pub async fn restart_with(&mut self, customise: impl FnOnce(&mut Settings)) {
        self.handle.stop(true).await;
        let mut settings = self.settings.clone();
        customise(&mut settings);
        let app = Application::build(settings.clone()).expect("the restarted server builds");
        self.address = format!("http://127.0.0.1:{}", app.port());
        self.handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        self.settings = settings;
    }

    /// Starts another instance on this one's database and media storage (settings adjusted by
    /// `customise`), as a second process behind a load balancer; returns its address (pass
    /// `format!("{address}{path}")` to `get`/`request`) and the handle that stops it.
    pub async fn second_instance(
        &self,
        customise: impl FnOnce(&mut Settings),
    ) -> (String, actix_web::dev::ServerHandle) {
        let mut settings = self.settings.clone();
        customise(&mut settings);
        let app = Application::build(settings).expect("a second instance builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        (address, handle)
    }

    pub fn postgres(&self) -> Option<&PostgresTestDb> {
        self.postgres.as_ref()
    }

    /// The SQLite file of this test (None on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.settings
            .database_url
            .strip_prefix("sqlite://")
            .map(std::path::PathBuf::from)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the runtime ends with the test, the PostgreSQL database is dropped next.
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}
