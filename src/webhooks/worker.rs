//! The delivery worker inside `masthead serve`: fans new events of the outbox out into
//! deliveries, claims the due ones, POSTs each with the Standard Webhooks headers, and records
//! every attempt, retrying with exponential backoff and jitter until `failed`.
//!
//! Everything it knows is in the database: a delivery is claimed for a lease (the timeout plus
//! a margin) before it is sent, and a worker that dies mid-send leaves it to be claimed again
//! when the lease runs out, by a restarted process or another instance. Delivery is therefore
//! at least once; receivers deduplicate on `webhook-id` (the event id).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_tls::connect::openssl::reexports::{SslConnector, SslMethod};
use actix_tls::connect::{Resolve, Resolver};
use chrono::{SubsecRound, Utc};
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::config::{Environment, Settings};
use crate::db::Db;
use crate::time::{now, utc};
use crate::webhooks::Wakeup;
use crate::webhooks::model;
use crate::webhooks::store::{self, Claimed, Outcome};

/// Deliveries one process sends at once.
const MAX_IN_FLIGHT: usize = 64;
/// Deliveries claimed per transaction.
const CLAIM_BATCH: usize = 32;
/// Events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 500;
/// How much of an error answer is kept in `last_error`.
const ERROR_SNIPPET: usize = 200;

/// The worker of one process.
pub struct Worker {
    db: Db,
    settings: Arc<Settings>,
    wakeup: Wakeup,
    client: awc::Client,
    in_flight: Arc<Semaphore>,
    /// Attempts that ended and wait to be recorded, all in one transaction.
    finished: std::cell::RefCell<Vec<Finished>>,
    to_record: tokio::sync::Notify,
}

/// An attempt that ended, to be recorded.
#[derive(Clone)]
struct Finished {
    delivery_id: String,
    attempt: i32,
    outcome: Outcome,
    retry_at: Option<chrono::NaiveDateTime>,
}

impl Worker {
    pub fn new(db: Db, settings: Arc<Settings>, wakeup: Wakeup) -> anyhow::Result<Self> {
        let client = http_client(&settings)?;
        Ok(Worker {
            db,
            settings,
            wakeup,
            client,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            finished: std::cell::RefCell::new(Vec::new()),
            to_record: tokio::sync::Notify::new(),
        })
    }

    /// Runs until the task is dropped (the server stopping aborts it).
    pub async fn run(self) {
        let this = std::rc::Rc::new(self);
        let sender = this.clone();
        let sending = async move {
            loop {
                let busy = sender.clone().tick().await;
                if !busy {
                    sender.wakeup.wait(sender.settings.webhook_poll_interval).await;
                }
            }
        };
        let recording = async move {
            loop {
                this.to_record.notified().await;
                this.record_finished().await;
            }
        };
        futures_util::future::join(sending, recording).await;
    }

    /// Records every attempt that ended since the last time, in one transaction (one commit,
    /// one wait for the disk, however many ended meanwhile), then wakes the sender: the next
    /// delivery about the same subject may now go.
    async fn record_finished(&self) {
        let batch = std::mem::take(&mut *self.finished.borrow_mut());
        if batch.is_empty() {
            return;
        }
        let work = batch.clone();
        let result = self
            .db
            .write(move |conn| {
                work.iter()
                    .map(|f| store::record_attempt(conn, &f.delivery_id, &f.outcome, f.retry_at))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        match result {
            Ok(rows) => {
                for (f, row) in batch.iter().zip(rows) {
                    match row {
                        Some(after) => tracing::info!(
                            delivery = %after.id,
                            webhook = %after.webhook_id,
                            event = %after.event_type,
                            attempt = f.attempt,
                            status = %after.status,
                            status_code = ?f.outcome.status_code,
                            error = f.outcome.error.as_deref().unwrap_or(""),
                            duration_ms = f.outcome.duration_ms,
                            "webhook delivery attempt"
                        ),
                        None => tracing::info!(
                            delivery = %f.delivery_id,
                            "webhook deleted while its delivery was in flight; nothing recorded"
                        ),
                    }
                }
            }
            Err(e) => tracing::warn!(
                deliveries = batch.len(),
                error = %e,
                "could not record webhook attempts; those deliveries are retried when their claims expire"
            ),
        }
        self.wakeup.wake();
    }

    /// One round: fan out new events, then claim and start what is due and fits in flight.
    /// Returns whether there was work (so the loop goes again at once).
    async fn tick(self: std::rc::Rc<Self>) -> bool {
        // Reads first: an idle round takes no write lock (SQLite has one writer for everyone).
        let waiting = self.db.run(store::has_undispatched).await.unwrap_or(true);
        let fanned = if waiting {
            match self.db.write(|conn| store::fan_out(conn, FAN_OUT_BATCH)).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook fan-out failed; retrying shortly");
                    0
                }
            }
        } else {
            0
        };
        let free = self.in_flight.available_permits().min(CLAIM_BATCH);
        if free == 0 {
            return false;
        }
        let at = now();
        if !self
            .db
            .run(move |conn| store::has_due(conn, at))
            .await
            .unwrap_or(true)
        {
            return fanned > 0;
        }
        let lease = self.settings.webhook_timeout + Duration::from_secs(5);
        let lease_until = (at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60)))
            .trunc_subsecs(6);
        let claimed = match self
            .db
            .write(move |conn| store::claim_due(conn, at, lease_until, free as i64))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying shortly");
                Vec::new()
            }
        };
        let started = claimed.len();
        for claim in claimed {
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                return false;
            };
            let this = self.clone();
            actix_rt::spawn(async move {
                this.deliver(claim).await;
                drop(permit);
            });
        }
        fanned > 0 || started > 0
    }

    /// Sends one delivery and hands its outcome to the recorder.
    async fn deliver(&self, claim: Claimed) {
        let started_at = now();
        let clock = Instant::now();
        let result = self.send(&claim).await;
        let duration_ms = i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (status_code, error) = match result {
            Ok((code, problem)) => (Some(i32::from(code)), problem),
            Err(message) => (None, Some(message)),
        };
        let outcome = Outcome {
            started_at,
            duration_ms,
            succeeded: error.is_none(),
            status_code,
            error,
        };
        let attempt = claim.delivery.attempts + 1;
        let retry_at =
            (!outcome.succeeded && (attempt as u32) < self.settings.webhook_max_attempts).then(|| {
                let delay = model::retry_delay(self.settings.webhook_retry_base, attempt as u32);
                (now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(6)))
                    .trunc_subsecs(6)
            });
        self.finished.borrow_mut().push(Finished {
            delivery_id: claim.delivery.id.clone(),
            attempt,
            outcome,
            retry_at,
        });
        self.to_record.notify_one();
    }

    /// POSTs the event: the status code of the answer (with what was wrong unless it is 2xx),
    /// or why there was no answer.
    async fn send(&self, claim: &Claimed) -> Result<(u16, Option<String>), String> {
        let key = model::parse_secret(&claim.secret).map_err(|e| format!("bad secret: {}", e.message))?;
        if self.guarded()
            && let Ok(url) = url::Url::parse(&claim.url)
            && let Some(ip) = literal_ip(&url)
            && model::forbidden_ip(ip)
        {
            return Err("refused: the target is a private address".into());
        }
        let body = serde_json::to_vec(&payload(&claim.event)).map_err(|e| e.to_string())?;
        let timestamp = Utc::now().timestamp();
        let signature = model::sign(&key, &claim.event.id, timestamp, &body);
        let timeout = self.settings.webhook_timeout;
        let request = self
            .client
            .post(&claim.url)
            .insert_header(("content-type", "application/json"))
            .insert_header(("webhook-id", claim.event.id.as_str()))
            .insert_header(("webhook-timestamp", timestamp.to_string()))
            .insert_header(("webhook-signature", signature));
        let exchange = async {
            let mut response = request
                .send_body(body)
                .await
                .map_err(|e| describe_send_error(&e, timeout))?;
            let code = response.status().as_u16();
            // Read (a little of) the answer so the connection can be reused; its text is kept
            // in the log when it is an error.
            let text = response.body().limit(64 * 1024).await.unwrap_or_default();
            if (200..300).contains(&code) {
                return Ok((code, None));
            }
            let snippet: String = String::from_utf8_lossy(&text)
                .chars()
                .take(ERROR_SNIPPET)
                .collect();
            let snippet = snippet.trim();
            Ok((
                code,
                Some(if snippet.is_empty() {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code}: {snippet}")
                }),
            ))
        };
        match actix_rt::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("timed out after {}", humane(timeout))),
        }
    }

    fn guarded(&self) -> bool {
        self.settings.environment == Environment::Production && !self.settings.webhook_allow_private
    }
}

/// The body of a delivery: `{id, type, created_at, data, surrogate_keys}`.
pub fn payload(event: &crate::events::EventRow) -> Value {
    let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    let keys: Vec<&str> = event.surrogate_keys.split_whitespace().collect();
    json!({
        "id": event.id,
        "type": event.event_type,
        "created_at": utc(event.created_at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
        "surrogate_keys": keys,
    })
}

fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

fn humane(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn describe_send_error(e: &awc::error::SendRequestError, timeout: Duration) -> String {
    use awc::error::SendRequestError as E;
    match e {
        E::Timeout => format!("timed out after {}", humane(timeout)),
        E::Connect(c) => format!("could not connect: {c}"),
        other => other.to_string(),
    }
}

/// The HTTP client of the worker: total and connect timeouts, no redirects (a 3xx is a
/// failure, and cannot bounce a delivery to an address the checks refused), TLS through
/// OpenSSL with the system's CA certificates, and in production a DNS resolver that drops
/// private addresses unless `MASTHEAD_WEBHOOK_ALLOW_PRIVATE` is set.
fn http_client(settings: &Settings) -> anyhow::Result<awc::Client> {
    let mut tls = SslConnector::builder(SslMethod::tls())?;
    let probe = openssl_probe::probe();
    if let Some(file) = probe.cert_file
        && let Err(e) = tls.set_ca_file(&file)
    {
        tracing::warn!(file = %file.display(), error = %e, "could not load CA certificates for webhooks");
    }
    tls.set_alpn_protos(b"\x08http/1.1")?;
    let connect_timeout = settings.webhook_timeout.min(Duration::from_secs(5));
    let guard = settings.environment == Environment::Production && !settings.webhook_allow_private;
    let tcp = actix_tls::connect::Connector::new(Resolver::custom(GuardedResolver { guard })).service();
    let connector = awc::Connector::new()
        .connector(tcp)
        .openssl(tls.build())
        .timeout(connect_timeout)
        .handshake_timeout(connect_timeout);
    Ok(awc::Client::builder()
        .connector(connector)
        .timeout(settings.webhook_timeout)
        .disable_redirects()
        .add_default_header((
            "user-agent",
            concat!("Masthead-Webhooks/", env!("CARGO_PKG_VERSION")),
        ))
        .finish())
}

/// The system resolver, minus private addresses when `guard` is set: a host that resolved to a
/// public address when the webhook was saved cannot later send deliveries into the network.
struct GuardedResolver {
    guard: bool,
}

impl Resolve for GuardedResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn std::error::Error>>> {
        let guard = self.guard;
        let target = (host.to_owned(), port);
        Box::pin(async move {
            let addrs = actix_rt::task::spawn_blocking(move || {
                target.to_socket_addrs().map(Iterator::collect::<Vec<_>>)
            })
            .await??;
            if !guard {
                return Ok(addrs);
            }
            let public: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| !model::forbidden_ip(a.ip()))
                .collect();
            if public.is_empty() {
                Err("the host resolves only to private addresses".into())
            } else {
                Ok(public)
            }
        })
    }
}
