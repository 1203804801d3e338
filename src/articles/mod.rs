//! Articles (PRODUCT.md §2): typed body blocks, slugs with history, revisions, roles,
//! read-time scheduling, the editorial API and the cached public delivery API.
//!
//! Layers, top to bottom: `public` and `editorial` (handlers) → `input` (what editors send),
//! `view` (what responses show), `changes` (events and cache keys) → `domain` (the rules and
//! `ArticleError`) and `store` (diesel) → `model` (blocks, statuses, text rules).

pub mod body;
pub mod changes;
pub mod domain;
pub mod editorial;
pub mod input;
pub mod model;
pub mod public;
pub mod store;
pub mod view;

pub use view::{ArticleDto, build, canonical_url};
