//! Typed settings read from `MASTHEAD_*` environment variables (and an optional `.env` file),
//! validated once at start so a bad setting fails with one clear message. About 800 lines
//! with its tests: one flat list of every setting is easier to check against `.env.example`
//! (a test does) than settings spread over the modules that use them.

use std::path::PathBuf;
use std::time::Duration;

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Secrets shorter than this are refused in production.
pub const MIN_SECRET_BYTES: usize = 32;

/// Where Masthead runs: development starts with safe-enough defaults, production refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// A setting that could not be used, with the variable's name in the message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.into(),
    }
}

/// Every setting of the server. See `.env.example` for the list with defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: String,
    /// Where the cache-purge listener connects (`MASTHEAD_LISTEN_DATABASE_URL`, PostgreSQL
    /// only); `None` = `database_url`. Behind a transaction-mode pooler `LISTEN` needs a
    /// session connection of its own (docs/deployment.md).
    pub listen_database_url: Option<String>,
    pub bind: String,
    pub jwt_secret: SecretString,
    /// True when no secret was configured (development): the server then replaces the random
    /// one generated here with the secret it keeps in the database (`auth::dev_secret`).
    pub jwt_secret_generated: bool,
    pub media_dir: PathBuf,
    /// Where image bytes live (`MASTHEAD_STORAGE`): the local `media_dir` or an S3 bucket.
    pub storage: Storage,
    pub public_url: String,
    pub cors_origins: Vec<String>,
    pub run_migrations: bool,
    pub json_limit_bytes: usize,
    /// Longest request URI (path and query) answered; longer is 414.
    pub max_uri_bytes: usize,
    pub max_upload_bytes: usize,
    /// Largest image accepted, in pixels (width × height); bigger uploads are refused (422)
    /// before any pixel buffer is allocated.
    pub max_image_pixels: u64,
    /// The rendition widths `/media/{id}?w=` may ask for (sorted, ascending).
    pub image_widths: Vec<u32>,
    /// The aspect ratios (`w:h`) a rendition box may have: `h` must be `w × h / w` of one of
    /// them, rounded (so the variants per image stay few and bounded).
    pub image_ratios: Vec<(u32, u32)>,
    /// Memory all image decoding together may use at once, in bytes; jobs queue for it.
    pub image_memory_budget: u64,
    /// How long an image job waits for the budget before its request is answered 503.
    pub image_queue_timeout: Duration,
    /// Metadata an upload may carry, in bytes after decompression (EXIF, XMP, ICC, text…).
    pub image_max_metadata_bytes: u64,
    /// Largest ICC colour profile accepted, in bytes after decompression.
    pub image_max_icc_bytes: u64,
    /// Chunks or segments an upload may have besides its pixel data.
    pub image_max_chunks: u32,
    pub cache_max_age: u32,
    pub cache_stale_while_revalidate: u32,
    /// Full-text searches run at once (each ranks up to 2,000 matches); more wait in line.
    pub search_concurrency: usize,
    /// Memory the in-process cache of public responses may hold; 0 turns it off.
    pub response_cache_bytes: u64,
    /// Longest a cached public response is kept (writes purge it at once, those of other
    /// instances through PostgreSQL notices; the TTL bounds what a CLI write leaves stale).
    pub response_cache_ttl: Duration,
    pub article_path: String,
    /// Articles in each feed (RSS, Atom, JSON Feed).
    pub feed_size: u32,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<SecretString>,
    pub db_pool_size: u32,
    /// How long a statement waits for a lock held by another connection before the request is
    /// answered 503 (SQLite `busy_timeout`, PostgreSQL `lock_timeout`).
    pub db_busy_timeout: Duration,
    /// argon2 memory cost in KiB (tests lower it to stay fast).
    pub argon2_memory_kib: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Login attempts allowed per address and per account in `login_window`.
    pub login_max_attempts: u32,
    pub login_window: Duration,
    /// New comments are approved at once instead of pending.
    pub comments_auto_approve: bool,
    /// Comments accepted per client address per minute.
    pub comments_per_minute: u32,
    /// Lifetime of a comment challenge token.
    pub comment_challenge_ttl: Duration,
    /// Longest a webhook delivery may take, connecting included (`MASTHEAD_WEBHOOK_TIMEOUT`).
    pub webhook_timeout: Duration,
    /// First retry delay of a failed delivery; each next one doubles, with jitter.
    pub webhook_retry_base: Duration,
    /// Attempts of a delivery before it is `failed`.
    pub webhook_max_attempts: u32,
    /// Webhook targets on loopback, link-local or private addresses are allowed in production.
    pub webhook_allow_private: bool,
    /// Whether this process runs the delivery worker and the scheduler.
    pub webhook_worker: bool,
    /// How often the worker looks for new events and due retries.
    pub webhook_poll_interval: Duration,
    /// How often due scheduled articles are looked for (the bound on their event's delay).
    pub scheduler_interval: Duration,
}

/// Where image bytes live (PRODUCT.md §9).
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// Files under `MASTHEAD_MEDIA_DIR` (the default).
    Local,
    /// An S3-compatible bucket: `MASTHEAD_STORAGE=s3://bucket/prefix`.
    S3(S3Settings),
}

/// The object store of `MASTHEAD_STORAGE=s3://…` and the `MASTHEAD_S3_*` / `AWS_*` settings.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// `MASTHEAD_S3_ENDPOINT`: the server's URL (Garage, MinIO, …); AWS's own when unset.
    pub endpoint: Option<String>,
    /// `MASTHEAD_S3_REGION` (default `us-east-1`; Garage's default is `garage`).
    pub region: String,
    /// `MASTHEAD_S3_PATH_STYLE`: `http://host/bucket/key` instead of `http://bucket.host/key`
    /// (default true when an endpoint is set: what self-hosted servers expect).
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
}

impl PartialEq for S3Settings {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.bucket,
            &self.prefix,
            &self.endpoint,
            &self.region,
            self.path_style,
            &self.access_key_id,
        ) == (
            &other.bucket,
            &other.prefix,
            &other.endpoint,
            &other.region,
            other.path_style,
            &other.access_key_id,
        )
    }
}

fn parse_storage(get: &impl Fn(&str) -> Option<String>) -> Result<Storage, ConfigError> {
    const NAME: &str = "MASTHEAD_STORAGE";
    let raw = match get(NAME) {
        None => return Ok(Storage::Local),
        Some(raw) if raw == "local" => return Ok(Storage::Local),
        Some(raw) => raw,
    };
    let Some(rest) = raw.strip_prefix("s3://") else {
        return Err(invalid(
            NAME,
            format!("`{raw}` is neither `local` nor `s3://bucket/prefix`"),
        ));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    if !bucket_ok {
        return Err(invalid(
            NAME,
            format!("`{bucket}` is not a bucket name (3 to 63 of a-z, 0-9, `-` and `.`)"),
        ));
    }
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty() && crate::images::key::StorageKey::parse(prefix).is_none() {
        return Err(invalid(
            NAME,
            format!("the prefix `{prefix}` may only have segments of A-Z, a-z, 0-9, `.`, `_` and `-`"),
        ));
    }
    let endpoint = get("MASTHEAD_S3_ENDPOINT");
    if let Some(e) = &endpoint
        && url::Url::parse(e).map_or(true, |u| !matches!(u.scheme(), "http" | "https"))
    {
        return Err(invalid(
            "MASTHEAD_S3_ENDPOINT",
            format!("`{e}` is not an http(s) URL"),
        ));
    }
    let path_style = parse_bool(get, "MASTHEAD_S3_PATH_STYLE", endpoint.is_some())?;
    let access_key_id = get("AWS_ACCESS_KEY_ID");
    let secret_access_key = get("AWS_SECRET_ACCESS_KEY").map(SecretString::from);
    if access_key_id.is_some() != secret_access_key.is_some() {
        return Err(invalid(
            "AWS_ACCESS_KEY_ID",
            "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither",
        ));
    }
    Ok(Storage::S3(S3Settings {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        endpoint,
        region: get("MASTHEAD_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        path_style,
        access_key_id,
        secret_access_key,
    }))
}

impl Settings {
    /// Reads settings from the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, which returns a variable's value if set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let environment = match get("MASTHEAD_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "MASTHEAD_ENV",
                    format!("must be `development` or `production`, not `{other}`"),
                ));
            }
        };

        let (jwt_secret, jwt_secret_generated) = match get("MASTHEAD_JWT_SECRET") {
            Some(secret) if secret.len() >= MIN_SECRET_BYTES => (secret, false),
            Some(_) if environment == Environment::Production => {
                return Err(invalid(
                    "MASTHEAD_JWT_SECRET",
                    format!(
                        "is shorter than {MIN_SECRET_BYTES} bytes; production needs a strong secret (e.g. `openssl rand -hex 32`)"
                    ),
                ));
            }
            None if environment == Environment::Production => {
                return Err(invalid(
                    "MASTHEAD_JWT_SECRET",
                    format!(
                        "is required in production: set at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`)"
                    ),
                ));
            }
            Some(short) => (short, false),
            None => {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                (hex::encode(bytes), true)
            }
        };

        let database_url = get("MASTHEAD_DATABASE_URL").unwrap_or_else(|| "sqlite://masthead.db".into());
        crate::db::DatabaseUrl::parse(&database_url)
            .map_err(|e| invalid("MASTHEAD_DATABASE_URL", e.to_string()))?;

        let listen_database_url = parse_listen_url(&get, &database_url)?;

        let bind = get("MASTHEAD_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            return Err(invalid("MASTHEAD_BIND", format!("`{bind}` is not host:port")));
        }

        let public_url = get("MASTHEAD_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        url::Url::parse(&public_url)
            .map_err(|e| invalid("MASTHEAD_PUBLIC_URL", format!("`{public_url}` is not a URL: {e}")))?;

        let cors_origins = get("MASTHEAD_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();

        let bootstrap_admin_email = get("MASTHEAD_BOOTSTRAP_ADMIN_EMAIL");
        let bootstrap_admin_password = get("MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD").map(SecretString::from);

        Ok(Settings {
            environment,
            database_url,
            listen_database_url,
            bind,
            jwt_secret: SecretString::from(jwt_secret),
            jwt_secret_generated,
            media_dir: PathBuf::from(get("MASTHEAD_MEDIA_DIR").unwrap_or_else(|| "./media".into())),
            storage: parse_storage(&get)?,
            public_url,
            cors_origins,
            run_migrations: parse_bool(&get, "MASTHEAD_RUN_MIGRATIONS", true)?,
            json_limit_bytes: parse_num(&get, "MASTHEAD_JSON_LIMIT_BYTES", 1024 * 1024)?,
            max_uri_bytes: parse_num(&get, "MASTHEAD_MAX_URI_BYTES", 8192)?,
            max_upload_bytes: parse_num(&get, "MASTHEAD_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)?,
            max_image_pixels: parse_num(&get, "MASTHEAD_MAX_IMAGE_PIXELS", 50_000_000)?,
            image_widths: parse_sizes(&get, "MASTHEAD_IMAGE_WIDTHS", &[320, 640, 960, 1280, 1920])?,
            image_ratios: parse_ratios(&get, "MASTHEAD_IMAGE_RATIOS", &[(16, 9), (1, 1)])?,
            image_memory_budget: parse_bytes(&get, "MASTHEAD_IMAGE_MEMORY_BUDGET", 512 * 1024 * 1024)?,
            image_queue_timeout: Duration::from_secs(parse_num(
                &get,
                "MASTHEAD_IMAGE_QUEUE_TIMEOUT_SECS",
                10,
            )?),
            image_max_metadata_bytes: parse_bytes(
                &get,
                "MASTHEAD_IMAGE_MAX_METADATA_BYTES",
                4 * 1024 * 1024,
            )?,
            image_max_icc_bytes: parse_bytes(&get, "MASTHEAD_IMAGE_MAX_ICC_BYTES", 1024 * 1024)?,
            image_max_chunks: parse_num(&get, "MASTHEAD_IMAGE_MAX_CHUNKS", 1000)?,
            cache_max_age: parse_num(&get, "MASTHEAD_CACHE_MAX_AGE", 60)?,
            cache_stale_while_revalidate: parse_num(&get, "MASTHEAD_CACHE_STALE_WHILE_REVALIDATE", 600)?,
            search_concurrency: parse_num(&get, "MASTHEAD_SEARCH_CONCURRENCY", 2)?,
            response_cache_bytes: parse_bytes(&get, "MASTHEAD_RESPONSE_CACHE_SIZE", 32 * 1024 * 1024)?,
            response_cache_ttl: Duration::from_secs(parse_num(&get, "MASTHEAD_RESPONSE_CACHE_TTL_SECS", 60)?),
            article_path: get("MASTHEAD_ARTICLE_PATH").unwrap_or_else(|| "/{yyyy}/{mm}/{slug}".into()),
            feed_size: match parse_num(&get, "MASTHEAD_FEED_SIZE", 50)? {
                n @ 1..=1000 => n,
                n => {
                    return Err(invalid(
                        "MASTHEAD_FEED_SIZE",
                        format!("`{n}` is not between 1 and 1000"),
                    ));
                }
            },
            access_token_ttl: Duration::from_secs(parse_num(&get, "MASTHEAD_ACCESS_TOKEN_TTL_SECS", 900)?),
            refresh_token_ttl: Duration::from_secs(parse_num(
                &get,
                "MASTHEAD_REFRESH_TOKEN_TTL_SECS",
                30 * 24 * 3600,
            )?),
            bootstrap_admin_email,
            bootstrap_admin_password,
            db_pool_size: parse_num(&get, "MASTHEAD_DB_POOL_SIZE", 10)?,
            db_busy_timeout: Duration::from_millis(parse_num(&get, "MASTHEAD_DB_BUSY_TIMEOUT_MS", 5000)?),
            argon2_memory_kib: parse_num(&get, "MASTHEAD_ARGON2_MEMORY_KIB", 19 * 1024)?,
            trusted_proxies: parse_ips(&get, "MASTHEAD_TRUSTED_PROXIES")?,
            login_max_attempts: parse_num(&get, "MASTHEAD_LOGIN_MAX_ATTEMPTS", 10)?,
            login_window: Duration::from_secs(parse_num(&get, "MASTHEAD_LOGIN_WINDOW_SECS", 300)?),
            comments_auto_approve: parse_bool(&get, "MASTHEAD_COMMENTS_AUTO_APPROVE", false)?,
            comments_per_minute: parse_num(&get, "MASTHEAD_COMMENTS_PER_MINUTE", 5)?,
            comment_challenge_ttl: Duration::from_secs(parse_num(
                &get,
                "MASTHEAD_COMMENT_CHALLENGE_TTL_SECS",
                600,
            )?),
            webhook_timeout: parse_secs(&get, "MASTHEAD_WEBHOOK_TIMEOUT", 10.0)?,
            webhook_retry_base: parse_secs(&get, "MASTHEAD_WEBHOOK_RETRY_BASE", 30.0)?,
            webhook_max_attempts: match parse_num(&get, "MASTHEAD_WEBHOOK_MAX_ATTEMPTS", 8u32)? {
                n @ 1..=100 => n,
                _ => {
                    return Err(invalid(
                        "MASTHEAD_WEBHOOK_MAX_ATTEMPTS",
                        "must be between 1 and 100",
                    ));
                }
            },
            webhook_allow_private: parse_bool(&get, "MASTHEAD_WEBHOOK_ALLOW_PRIVATE", false)?,
            webhook_worker: parse_bool(&get, "MASTHEAD_WEBHOOK_WORKER", true)?,
            webhook_poll_interval: parse_secs(&get, "MASTHEAD_WEBHOOK_POLL_INTERVAL", 1.0)?,
            scheduler_interval: parse_secs(&get, "MASTHEAD_SCHEDULER_INTERVAL", 5.0)?,
        })
    }

    /// Settings for a test server: development mode, a fixed secret, the given database.
    pub fn for_tests(database_url: &str, media_dir: PathBuf) -> Self {
        let mut settings = Self::from_lookup(|key| match key {
            "MASTHEAD_DATABASE_URL" => Some(database_url.to_owned()),
            "MASTHEAD_BIND" => Some("127.0.0.1:0".to_owned()),
            "MASTHEAD_PUBLIC_URL" => Some("https://news.example.com".to_owned()),
            "MASTHEAD_JWT_SECRET" => Some("test-secret-that-is-long-enough-0123456789".to_owned()),
            "MASTHEAD_ARGON2_MEMORY_KIB" => Some("256".to_owned()),
            "MASTHEAD_DB_POOL_SIZE" => Some("4".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("test settings are valid: {e}"));
        settings.media_dir = media_dir;
        settings
    }

    /// The URL the cache-purge listener connects to: `MASTHEAD_LISTEN_DATABASE_URL`, else the
    /// database's own; `None` on SQLite (one process per file: nobody to listen to).
    pub fn listen_url(&self) -> Option<&str> {
        match &self.listen_database_url {
            Some(url) => Some(url),
            None => self
                .database_url
                .starts_with("postgres")
                .then_some(self.database_url.as_str()),
        }
    }

    /// The secret's bytes, for signing tokens.
    pub fn jwt_secret_bytes(&self) -> &[u8] {
        self.jwt_secret.expose_secret().as_bytes()
    }
}

/// `MASTHEAD_LISTEN_DATABASE_URL`: a PostgreSQL URL, and only with a PostgreSQL database (on
/// SQLite there is no listener: a value there is a mistake worth saying, not ignoring). The URL
/// is not echoed: it may hold a password.
fn parse_listen_url(
    get: &impl Fn(&str) -> Option<String>,
    database_url: &str,
) -> Result<Option<String>, ConfigError> {
    const NAME: &str = "MASTHEAD_LISTEN_DATABASE_URL";
    let Some(url) = get(NAME) else {
        return Ok(None);
    };
    match crate::db::DatabaseUrl::parse(&url) {
        Ok(crate::db::DatabaseUrl::Postgres(_)) => {}
        _ => {
            return Err(invalid(
                NAME,
                "is not a postgres:// URL: the cache-purge listener uses PostgreSQL's LISTEN",
            ));
        }
    }
    if !database_url.starts_with("postgres") {
        return Err(invalid(
            NAME,
            "is set but MASTHEAD_DATABASE_URL is not PostgreSQL: the listener only runs on \
             PostgreSQL (unset it)",
        ));
    }
    Ok(Some(url))
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(name, format!("`{other}` is not true or false"))),
    }
}

fn parse_ips(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    get(name)
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse()
                        .map_err(|_| invalid(name, format!("`{p}` is not an IP address")))
                })
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

/// A comma-separated list of rendition sizes (1–8192 pixels, at most 32 of them), sorted.
fn parse_sizes(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &[u32],
) -> Result<Vec<u32>, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default.to_vec());
    };
    let mut sizes = raw
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.parse::<u32>() {
            Ok(n) if (1..=8192).contains(&n) => Ok(n),
            _ => Err(invalid(name, format!("`{p}` is not a size between 1 and 8192"))),
        })
        .collect::<Result<Vec<u32>, _>>()?;
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() || sizes.len() > 32 {
        return Err(invalid(name, "needs between 1 and 32 sizes"));
    }
    Ok(sizes)
}

/// A comma-separated list of aspect ratios `w:h` (each side 1–100, at most 8 ratios).
fn parse_ratios(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &[(u32, u32)],
) -> Result<Vec<(u32, u32)>, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default.to_vec());
    };
    let mut ratios = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = part
            .split_once(':')
            .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
            .filter(|&(w, h)| (1..=100).contains(&w) && (1..=100).contains(&h));
        match parsed {
            Some(r) if !ratios.contains(&r) => ratios.push(r),
            Some(_) => {}
            None => return Err(invalid(name, format!("`{part}` is not a ratio like 16:9"))),
        }
    }
    if ratios.len() > 8 {
        return Err(invalid(name, "allows at most 8 ratios"));
    }
    Ok(ratios)
}

/// A size in bytes: a number, optionally with `KiB`, `MiB` or `GiB`.
fn parse_bytes(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let trimmed = raw.trim();
    let (digits, unit) = trimmed.split_at(
        trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len()),
    );
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        "GiB" => 1024 * 1024 * 1024,
        _ => {
            return Err(invalid(
                name,
                format!("`{raw}` is not a size like 536870912 or 512MiB"),
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| invalid(name, format!("`{raw}` is not a size like 536870912 or 512MiB")))
}

/// A duration in seconds, fractions allowed (`0.5`), more than zero and at most a day.
fn parse_secs(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: f64,
) -> Result<Duration, ConfigError> {
    let secs = match get(name) {
        None => default,
        Some(raw) => raw
            .parse::<f64>()
            .map_err(|_| invalid(name, format!("`{raw}` is not a number of seconds")))?,
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(invalid(name, "must be more than 0 and at most 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| invalid(name, format!("`{raw}` is not a valid number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn storage_is_local_by_default_and_s3_from_a_url() {
        assert_eq!(settings(&[]).unwrap().storage, Storage::Local);
        let s3 = settings(&[
            ("MASTHEAD_STORAGE", "s3://news-media/prod/images/"),
            ("MASTHEAD_S3_ENDPOINT", "http://127.0.0.1:3900"),
            ("AWS_ACCESS_KEY_ID", "GK1"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ])
        .unwrap();
        let Storage::S3(s3) = s3.storage else {
            panic!("not s3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("news-media", "prod/images")
        );
        assert!(s3.path_style, "path style is the default with an endpoint");
        for (pairs, name) in [
            (&[("MASTHEAD_STORAGE", "gcs://x")][..], "MASTHEAD_STORAGE"),
            (&[("MASTHEAD_STORAGE", "s3://Bad_Bucket")][..], "MASTHEAD_STORAGE"),
            (
                &[("MASTHEAD_STORAGE", "s3://ok-bucket/../x")][..],
                "MASTHEAD_STORAGE",
            ),
            (
                &[
                    ("MASTHEAD_STORAGE", "s3://ok-bucket"),
                    ("MASTHEAD_S3_ENDPOINT", "ftp://x"),
                ][..],
                "MASTHEAD_S3_ENDPOINT",
            ),
            (
                &[
                    ("MASTHEAD_STORAGE", "s3://ok-bucket"),
                    ("AWS_ACCESS_KEY_ID", "GK1"),
                ][..],
                "AWS_ACCESS_KEY_ID",
            ),
        ] {
            let err = settings(pairs).unwrap_err().to_string();
            assert!(err.starts_with(name), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn the_listener_url_is_postgresql_only_and_defaults_to_the_database_url() {
        let pg = "postgres://masthead@127.0.0.1/masthead";
        let s = settings(&[("MASTHEAD_DATABASE_URL", pg)]).expect("valid");
        assert_eq!(s.listen_url(), Some(pg));
        let session = "postgresql://masthead@db-direct:5432/masthead";
        let s = settings(&[
            ("MASTHEAD_DATABASE_URL", pg),
            ("MASTHEAD_LISTEN_DATABASE_URL", session),
        ])
        .expect("valid");
        assert_eq!(s.listen_url(), Some(session));
        assert_eq!(settings(&[]).expect("defaults").listen_url(), None);
        for pairs in [
            &[
                ("MASTHEAD_DATABASE_URL", pg),
                ("MASTHEAD_LISTEN_DATABASE_URL", "sqlite://other.db"),
            ][..],
            &[("MASTHEAD_LISTEN_DATABASE_URL", pg)][..],
        ] {
            let err = settings(pairs).unwrap_err().to_string();
            assert!(err.starts_with("MASTHEAD_LISTEN_DATABASE_URL: "), "{err}");
            assert!(!err.contains("other.db"), "the URL is not echoed: {err}");
        }
    }

    /// `.env.example` is the list of settings (PRODUCT.md §0): every variable the settings
    /// read is in it, and it lists nothing they do not read.
    #[test]
    fn env_example_lists_exactly_the_settings_read() {
        use std::collections::BTreeSet;
        let asked = std::cell::RefCell::new(BTreeSet::new());
        Settings::from_lookup(|key| {
            asked.borrow_mut().insert(key.to_owned());
            // S3 storage and PostgreSQL, so the settings read only with them are asked too.
            match key {
                "MASTHEAD_STORAGE" => Some("s3://bucket".to_owned()),
                "MASTHEAD_DATABASE_URL" => Some("postgres://db/masthead".to_owned()),
                _ => None,
            }
        })
        .expect("valid");
        let listed: BTreeSet<String> = include_str!("../.env.example")
            .lines()
            .filter_map(|line| line.trim_start_matches(['#', ' ']).split_once('='))
            .map(|(key, _)| key.to_owned())
            .filter(|key| {
                !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            })
            .collect();
        assert_eq!(asked.into_inner(), listed);
    }

    #[test]
    fn development_generates_a_secret_when_none_is_set() {
        let s = settings(&[]).expect("defaults are valid");
        assert!(s.jwt_secret_generated);
        assert_eq!(s.database_url, "sqlite://masthead.db");
        assert_eq!(s.bind, "127.0.0.1:8080");
    }

    #[test]
    fn production_refuses_a_missing_secret() {
        let err = settings(&[("MASTHEAD_ENV", "production")]).expect_err("must refuse");
        assert!(err.to_string().contains("MASTHEAD_JWT_SECRET"), "{err}");
    }

    #[test]
    fn production_refuses_a_short_secret() {
        let err = settings(&[("MASTHEAD_ENV", "production"), ("MASTHEAD_JWT_SECRET", "short")])
            .expect_err("must refuse");
        assert!(err.to_string().contains("shorter than 32"), "{err}");
    }

    #[test]
    fn production_accepts_a_strong_secret() {
        let s = settings(&[
            ("MASTHEAD_ENV", "production"),
            ("MASTHEAD_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .expect("valid");
        assert!(!s.jwt_secret_generated);
    }

    #[test]
    fn unknown_environment_and_bad_numbers_are_refused() {
        assert!(settings(&[("MASTHEAD_ENV", "staging")]).is_err());
        let err = settings(&[("MASTHEAD_MAX_UPLOAD_BYTES", "lots")]).expect_err("must refuse");
        assert!(err.to_string().contains("MASTHEAD_MAX_UPLOAD_BYTES"));
        assert!(settings(&[("MASTHEAD_DATABASE_URL", "mysql://x")]).is_err());
    }

    #[test]
    fn image_memory_settings_take_sizes_with_units() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.image_memory_budget, 512 * 1024 * 1024);
        assert_eq!(s.image_max_icc_bytes, 1024 * 1024);
        let s = settings(&[("MASTHEAD_IMAGE_MEMORY_BUDGET", "256MiB")]).expect("valid");
        assert_eq!(s.image_memory_budget, 256 * 1024 * 1024);
        let s = settings(&[("MASTHEAD_IMAGE_MEMORY_BUDGET", "1000000")]).expect("valid");
        assert_eq!(s.image_memory_budget, 1_000_000);
        for bad in ["lots", "1TB", "-5", "99999999999999GiB"] {
            assert!(
                settings(&[("MASTHEAD_IMAGE_MEMORY_BUDGET", bad)]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn rendition_sizes_are_parsed_sorted_and_bounded() {
        let s = settings(&[("MASTHEAD_IMAGE_WIDTHS", "640, 320,640")]).expect("valid");
        assert_eq!(s.image_widths, vec![320, 640]);
        assert_eq!(
            settings(&[]).expect("defaults").image_widths,
            vec![320, 640, 960, 1280, 1920]
        );
        assert!(settings(&[("MASTHEAD_IMAGE_WIDTHS", "0")]).is_err());
        assert!(settings(&[("MASTHEAD_IMAGE_RATIOS", "big")]).is_err());
        assert!(settings(&[("MASTHEAD_IMAGE_RATIOS", "16:0")]).is_err());
        let s = settings(&[("MASTHEAD_IMAGE_RATIOS", "4:3, 1:1,4:3")]).expect("valid");
        assert_eq!(s.image_ratios, vec![(4, 3), (1, 1)]);
        assert!(settings(&[("MASTHEAD_MAX_IMAGE_PIXELS", "-1")]).is_err());
    }

    #[test]
    fn webhook_durations_take_fractions_of_a_second() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.webhook_retry_base, Duration::from_secs(30));
        assert_eq!(s.webhook_timeout, Duration::from_secs(10));
        assert_eq!(s.scheduler_interval, Duration::from_secs(5));
        assert_eq!(s.webhook_max_attempts, 8);
        let s = settings(&[("MASTHEAD_WEBHOOK_RETRY_BASE", "0.25")]).expect("valid");
        assert_eq!(s.webhook_retry_base, Duration::from_millis(250));
        for bad in ["0", "-1", "soon", "NaN", "inf"] {
            assert!(
                settings(&[("MASTHEAD_WEBHOOK_RETRY_BASE", bad)]).is_err(),
                "{bad}"
            );
        }
        assert!(settings(&[("MASTHEAD_WEBHOOK_MAX_ATTEMPTS", "0")]).is_err());
    }
}
