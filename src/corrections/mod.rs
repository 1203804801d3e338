//! Corrections and clarifications (PRODUCT.md §10): append-only notes on an article, each with
//! its kind and time, shown with the article and on the newsroom's transparency page. No route
//! edits or deletes one; a mistaken note is followed by another.

pub mod http;
pub mod model;
pub mod store;
