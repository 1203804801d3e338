//! Editor accounts: the domain types, their store and the admin-only HTTP API.

pub mod http;
pub mod model;
pub mod store;
