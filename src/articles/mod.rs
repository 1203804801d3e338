//! Articles (PRODUCT.md §2): typed body blocks, slugs with history, revisions, roles,
//! read-time scheduling, the editorial API and the cached public delivery API.

pub mod http;
pub mod model;
pub mod store;
