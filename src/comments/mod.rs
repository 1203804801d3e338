//! Reader comments: the arithmetic challenge, submission rules, threads and moderation.

pub mod challenge;
pub mod http;
pub mod model;
pub mod store;
