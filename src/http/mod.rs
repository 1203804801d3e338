//! HTTP plumbing shared by every resource: health endpoints, the unknown-route fallback,
//! security and cache headers, request counting for `/metrics`.

pub mod caching;
pub mod client_ip;
pub mod fallback;
pub mod health;
pub mod middleware;
