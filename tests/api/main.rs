//! The API test suite: one binary, each test against a real server on a random port with a
//! fresh database (SQLite file, or a PostgreSQL database when `TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod article_images;
mod article_reads;
mod articles;
mod auth;
mod comments;
mod concurrency;
mod contract;
mod events;
mod feeds;
mod foundation;
mod hardening;
mod helpers;
mod image_memory;
mod images;
mod newsroom;
mod photodesk;
mod response_cache;
mod restart;
mod restrip;
mod scaleout;
mod scaleout_listener;
mod site;
mod tags;
mod webhooks;
