//! Tags (PRODUCT.md §4): public list and lookup with published article counts, admin CRUD.

pub mod http;
pub mod store;
