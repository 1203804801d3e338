//! Diesel queries on `webhooks`, `webhook_deliveries` and `webhook_attempts`, and the worker's
//! reads of the `events` outbox. Claims take rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! so several instances never take the same event or delivery; SQLite has one writer.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::schema::{events, webhook_attempts, webhook_deliveries, webhooks};
use crate::db::{DbConn, StoreError};
use crate::events::EventRow;
use crate::time::{new_id, now};

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Never prints the secret (it must not reach a log).
impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("events", &self.events)
            .field("active", &self.active)
            .field("secret", &"***")
            .finish_non_exhaustive()
    }
}

/// Changes to a webhook; `None` leaves a field as it is (`description: Some(None)` clears it).
#[derive(Default, Clone, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub secret: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub claimed_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

impl DeliveryRow {
    /// A new pending delivery of `event` to `webhook_id`, due at once.
    pub fn pending(webhook_id: &str, event: &EventRow, at: NaiveDateTime) -> Self {
        DeliveryRow {
            id: new_id(),
            webhook_id: webhook_id.to_owned(),
            event_seq: event.seq,
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            subject: event.subject.clone(),
            status: PENDING.into(),
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: Some(at),
            claimed_until: None,
            created_at: at,
            delivered_at: None,
        }
    }
}

/// One attempt, as the worker saw it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub attempt: i32,
    pub started_at: NaiveDateTime,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &WebhookRow) -> Result<WebhookRow, StoreError> {
    diesel::insert_into(webhooks::table).values(row).execute(conn)?;
    find(conn, &row.id)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<WebhookRow, StoreError> {
    Ok(webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)?)
}

/// Webhooks in creation order (ids are time-ordered), after `after`.
pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<WebhookRow>, StoreError> {
    let mut q = webhooks::table
        .order(webhooks::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(webhooks::id.gt(after.to_owned()));
    }
    Ok(q.select(WebhookRow::as_select()).load(conn)?)
}

pub fn update(conn: &mut DbConn, id: &str, changes: &WebhookChanges) -> Result<WebhookRow, StoreError> {
    let changes = WebhookChanges {
        updated_at: Some(now()),
        ..changes.clone()
    };
    let n = diesel::update(webhooks::table.find(id))
        .set(&changes)
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    find(conn, id)
}

/// Deletes a webhook with its deliveries and their attempts: pending deliveries stop.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .select(webhook_deliveries::id);
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)))
        .execute(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id))).execute(conn)?;
    let n = diesel::delete(webhooks::table.find(id)).execute(conn)?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// A webhook's deliveries, newest first, after the `(created_at, id)` cursor.
pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: &str,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            webhook_deliveries::created_at
                .lt(at)
                .or(webhook_deliveries::created_at
                    .eq(at)
                    .and(webhook_deliveries::id.lt(id))),
        );
    }
    Ok(q.select(DeliveryRow::as_select()).load(conn)?)
}

pub fn find_delivery(conn: &mut DbConn, webhook_id: &str, id: &str) -> Result<DeliveryRow, StoreError> {
    Ok(webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(DeliveryRow::as_select())
        .first(conn)?)
}

pub fn insert_delivery(conn: &mut DbConn, row: &DeliveryRow) -> Result<DeliveryRow, StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values(row)
        .execute(conn)?;
    Ok(row.clone())
}

/// The attempts of a delivery, first first.
pub fn attempts(conn: &mut DbConn, delivery_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq(delivery_id))
        .order(webhook_attempts::attempt.asc())
        .select(AttemptRow::as_select())
        .load(conn)?)
}

pub fn event_by_seq(conn: &mut DbConn, seq: i64) -> Result<EventRow, StoreError> {
    Ok(events::table
        .find(seq)
        .select(EventRow::as_select())
        .first(conn)?)
}

/// The newest event about `subject`.
pub fn latest_event(conn: &mut DbConn, subject: &str) -> Result<EventRow, StoreError> {
    Ok(events::table
        .filter(events::subject.eq(subject))
        .order(events::seq.desc())
        .select(EventRow::as_select())
        .first(conn)?)
}

/// Marks an event handed on (a ping, which goes to one webhook only and is never fanned out).
pub fn mark_dispatched(conn: &mut DbConn, seq: i64) -> Result<(), StoreError> {
    diesel::update(events::table.find(seq))
        .set(events::dispatched_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Fans the oldest events not yet handed on out into one pending delivery per matching active
/// webhook, and marks them handed on; returns how many events it took. Run it inside
/// `Db::write`. On PostgreSQL one instance at a time does it (a transaction-level advisory
/// lock; the others skip the round).
pub fn fan_out(conn: &mut DbConn, limit: i64) -> Result<usize, StoreError> {
    let claim = "SELECT seq FROM events WHERE dispatched_at IS NULL ORDER BY seq LIMIT";
    let seqs: Vec<Seq> = match conn {
        DbConn::Postgres(c) => {
            // One instance fans out at a time (the others skip the round rather than wait), so
            // deliveries are created in event order: two instances taking neighbouring batches
            // side by side could otherwise let a later event about a subject be sent before
            // the delivery of an earlier one exists.
            #[derive(QueryableByName)]
            struct Got {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                got: bool,
            }
            let lock: Got =
                diesel::sql_query("SELECT pg_try_advisory_xact_lock(7310643) AS got").get_result(c)?;
            if !lock.got {
                return Ok(0);
            }
            diesel::sql_query(format!("{claim} $1 FOR UPDATE SKIP LOCKED"))
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
        DbConn::Sqlite(c) => diesel::sql_query(format!("{claim} ?"))
            .bind::<BigInt, _>(limit)
            .load(c)?,
    };
    let seqs: Vec<i64> = seqs.into_iter().map(|s| s.seq).collect();
    if seqs.is_empty() {
        return Ok(0);
    }
    let batch: Vec<EventRow> = events::table
        .filter(events::seq.eq_any(&seqs))
        .order(events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)?;
    let hooks: Vec<(String, String)> = webhooks::table
        .filter(webhooks::active.eq(true))
        .select((webhooks::id, webhooks::events))
        .load(conn)?;
    let at = now();
    let rows: Vec<DeliveryRow> = batch
        .iter()
        .flat_map(|event| {
            hooks
                .iter()
                .filter(|(_, filter)| super::model::EventFilter::stored_matches(filter, &event.event_type))
                .map(|(id, _)| DeliveryRow::pending(id, event, at))
                .collect::<Vec<_>>()
        })
        .collect();
    // One statement per row: batch inserts do not compile for the two-backend connection.
    for row in &rows {
        diesel::insert_into(webhook_deliveries::table)
            .values(row)
            .execute(conn)?;
    }
    diesel::update(events::table.filter(events::seq.eq_any(&seqs)))
        .set(events::dispatched_at.eq(Some(at)))
        .execute(conn)?;
    Ok(batch.len())
}

/// A delivery taken by this worker, with what it needs to send it (no `Debug`: it holds the
/// secret).
#[derive(Clone)]
pub struct Claimed {
    pub delivery: DeliveryRow,
    pub url: String,
    pub secret: String,
    pub event: EventRow,
}

/// Deliveries one webhook may have in flight (claimed, across instances) before the claim
/// passes it over: a dead or slow receiver cannot take every sending slot from the others.
pub const PER_WEBHOOK_IN_FLIGHT: i64 = 16;

#[derive(QueryableByName)]
struct HookLoad {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    in_flight: i64,
}

/// Whether any event waits to be fanned out (a read: no write lock when there is none).
pub fn has_undispatched(conn: &mut DbConn) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        events::table.filter(events::dispatched_at.is_null()),
    ))
    .get_result(conn)?)
}

/// Whether any pending delivery is due (a read: no write lock when there is none).
pub fn has_due(conn: &mut DbConn, at: NaiveDateTime) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(at)),
    ))
    .get_result(conn)?)
}

/// Takes up to `limit` due deliveries of active webhooks for this worker until `lease_until`,
/// webhook by webhook (in random order, so none always goes first), each up to its room under
/// [`PER_WEBHOOK_IN_FLIGHT`]: a webhook whose receiver hangs costs one count per round, not a
/// scan of its backlog. A delivery waits while an older one to the same webhook about the
/// same subject is pending, so a receiver gets each article's events in order even across
/// retries (pings, which have no order, excepted). Run it inside `Db::write`.
pub fn claim_due(
    conn: &mut DbConn,
    at: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    use rand::seq::SliceRandom;
    let load = "SELECT w.id AS id, (SELECT COUNT(*) FROM webhook_deliveries f \
         WHERE f.webhook_id = w.id AND f.status = 'pending' AND f.claimed_until >= $1) AS in_flight \
         FROM webhooks w WHERE w.active";
    let mut hooks: Vec<HookLoad> = match conn {
        DbConn::Postgres(c) => diesel::sql_query(load).bind::<Timestamp, _>(at).load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(load.replace('$', "?"))
            .bind::<Timestamp, _>(at)
            .load(c)?,
    };
    hooks.shuffle(&mut rand::thread_rng());
    let due = "SELECT d.id FROM webhook_deliveries d \
         WHERE d.webhook_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2 \
         AND (d.claimed_until IS NULL OR d.claimed_until < $2) \
         AND (d.event_type = 'ping' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
             WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject AND e.status = 'pending' \
             AND e.event_seq < d.event_seq)) \
         ORDER BY d.next_attempt_at, d.event_seq LIMIT $3";
    let mut ids: Vec<String> = Vec::new();
    for hook in hooks {
        let room = (PER_WEBHOOK_IN_FLIGHT - hook.in_flight).min(limit - ids.len() as i64);
        if room <= 0 {
            continue;
        }
        let found: Vec<Id> = match conn {
            DbConn::Postgres(c) => diesel::sql_query(format!("{due} FOR UPDATE SKIP LOCKED"))
                .bind::<Text, _>(&hook.id)
                .bind::<Timestamp, _>(at)
                .bind::<BigInt, _>(room)
                .load(c)?,
            DbConn::Sqlite(c) => diesel::sql_query(due.replace('$', "?"))
                .bind::<Text, _>(&hook.id)
                .bind::<Timestamp, _>(at)
                .bind::<BigInt, _>(room)
                .load(c)?,
        };
        ids.extend(found.into_iter().map(|r| r.id));
        if ids.len() as i64 >= limit {
            break;
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set(webhook_deliveries::claimed_until.eq(Some(lease_until)))
        .execute(conn)?;
    let deliveries: Vec<DeliveryRow> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order(webhook_deliveries::event_seq.asc())
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let hook_ids: Vec<&str> = deliveries.iter().map(|d| d.webhook_id.as_str()).collect();
    let hooks: HashMap<String, (String, String)> = webhooks::table
        .filter(webhooks::id.eq_any(hook_ids))
        .select((webhooks::id, webhooks::url, webhooks::secret))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, url, secret)| (id, (url, secret)))
        .collect();
    let seqs: Vec<i64> = deliveries.iter().map(|d| d.event_seq).collect();
    let events_by_seq: HashMap<i64, EventRow> = events::table
        .filter(events::seq.eq_any(seqs))
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|e| (e.seq, e))
        .collect();
    Ok(deliveries
        .into_iter()
        .filter_map(|delivery| {
            let (url, secret) = hooks.get(&delivery.webhook_id)?.clone();
            let event = events_by_seq.get(&delivery.event_seq)?.clone();
            Some(Claimed {
                delivery,
                url,
                secret,
                event,
            })
        })
        .collect())
}

/// What one attempt ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub started_at: NaiveDateTime,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub succeeded: bool,
}

/// Records an attempt and moves the delivery on: `succeeded`, due again at `retry_at`, or
/// `failed` when `retry_at` is `None`. A delivery deleted meanwhile (its webhook was) is left
/// alone. Returns the delivery as it now is.
pub fn record_attempt(
    conn: &mut DbConn,
    delivery_id: &str,
    outcome: &Outcome,
    retry_at: Option<NaiveDateTime>,
) -> Result<Option<DeliveryRow>, StoreError> {
    let Some(current) = webhook_deliveries::table
        .find(delivery_id)
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let attempt = current.attempts + 1;
    diesel::insert_into(webhook_attempts::table)
        .values(&AttemptRow {
            id: new_id(),
            delivery_id: delivery_id.to_owned(),
            attempt,
            started_at: outcome.started_at,
            duration_ms: outcome.duration_ms,
            status_code: outcome.status_code,
            error: outcome.error.clone(),
        })
        .execute(conn)?;
    let at = now();
    let (status, next, delivered) = if outcome.succeeded {
        (SUCCEEDED, None, Some(at))
    } else if let Some(retry_at) = retry_at {
        (PENDING, Some(retry_at), None)
    } else {
        (FAILED, None, None)
    };
    diesel::update(webhook_deliveries::table.find(delivery_id))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(attempt),
            webhook_deliveries::last_status_code.eq(outcome.status_code),
            webhook_deliveries::last_error.eq(&outcome.error),
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::delivered_at.eq(delivered),
        ))
        .execute(conn)?;
    Ok(webhook_deliveries::table
        .find(delivery_id)
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}
