//! Preview links (PRODUCT.md §10): a secret URL that shows an article as it is saved now, in any
//! status, to whoever holds it (a front end rendering a draft), until it expires or is revoked.

pub mod http;
pub mod store;
