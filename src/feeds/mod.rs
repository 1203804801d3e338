//! Distribution formats (PRODUCT.md §11): RSS 2.0, Atom 1.0 and JSON Feed 1.1 of the latest
//! public articles, sitemaps (index, one per month, Google News), and the schema.org
//! `NewsArticle` JSON-LD that public articles carry. All built from the same content as the
//! public API and served through its response cache. See docs/distribution.md.

pub mod http;
pub mod jsonld;
pub mod render;
pub mod sitemap;
pub mod store;
