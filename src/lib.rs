//! Masthead: a headless CMS for news publishers. The library holds the whole server so that the
//! binary (`main.rs`) and the integration tests build exactly the same application.

pub mod articles;
pub mod auth;
pub mod comments;
pub mod config;
pub mod corrections;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod feeds;
pub mod fields;
pub mod http;
pub mod images;
pub mod openapi;
pub mod pagination;
pub mod previews;
pub mod ratelimit;
pub mod scheduler;
pub mod site;
pub mod startup;
pub mod state;
pub mod tags;
pub mod telemetry;
pub mod time;
pub mod users;
pub mod webhooks;
