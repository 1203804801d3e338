//! HTTP plumbing shared by every resource: health endpoints, the unknown-route fallback,
//! security and cache headers, request counting for `/metrics`, problem+json for every error
//! (including the ones the HTTP/1 codec makes before the app runs).

pub mod caching;
pub mod client_ip;
pub mod conditional;
pub mod fallback;
pub mod health;
pub mod json;
pub mod middleware;
pub mod problems;
pub mod response_cache;
pub mod wire;
