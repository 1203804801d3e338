//! News images (PRODUCT.md §3): uploads with caption, credit, source and alt text, safe
//! decoding, location metadata removed, and renditions generated once per size and format.
//!
//! Layers: `process` (pixels, blocking) over `container` (the upload's chunks and segments,
//! walked under limits before any decoder runs) and `decode` (the cheapest decoding path and
//! its memory cost), `budget` (the memory budget all image work queues for), `storage` (where
//! bytes live, behind `MediaStore`; `key` names objects), `save` (a new image's object, then
//! its row), `store` (the `images` table), `http` (the JSON API and the public DTO), `media`
//! (`/media/…` byte serving), `demo` (generated demo images), `restrip` (`masthead images
//! restrip`: originals stored before the metadata allowlist brought in line with it).
//! The photo desk (§3a): `form` (the upload's multipart body), `meta` (the field rules),
//! `embedded` (XMP and IPTC-IIM read from the file), `rights` (withdrawal events), `usage`
//! (the articles that use an image).
//!
//! What other modules use: [`load_many`], [`to_public`] and [`ImageDto`] to expand images in
//! their responses, [`image_in_use`] to block deleting an image a published article shows.

pub mod budget;
pub mod container;
pub mod decode;
pub mod demo;
pub mod dto;
pub mod embedded;
pub mod form;
pub mod http;
pub mod key;
pub mod kind;
pub mod media;
pub mod meta;
pub mod process;
pub mod restrip;
pub mod rights;
pub mod save;
pub mod storage;
pub mod store;
pub mod usage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use dto::{ImageDto, to_public};
pub use store::{ImageRow, image_in_use, load_many};

use crate::config::Settings;
use budget::ImageBudget;
use container::AncillaryLimits;
use storage::{LocalStore, MediaStore};

impl AncillaryLimits {
    /// The limits of `MASTHEAD_IMAGE_MAX_METADATA_BYTES`, `_MAX_ICC_BYTES` and `_MAX_CHUNKS`.
    pub fn from_settings(settings: &Settings) -> Self {
        AncillaryLimits {
            max_metadata_bytes: settings.image_max_metadata_bytes,
            max_icc_bytes: settings.image_max_icc_bytes,
            max_chunks: settings.image_max_chunks,
        }
    }
}

/// The media services shared by all requests: the byte store, the per-rendition locks that
/// make concurrent first requests for the same rendition do the work once, and the memory
/// budget every decode queues for.
pub struct Media {
    pub store: Arc<dyn MediaStore>,
    pub budget: ImageBudget,
    locks: KeyedLocks,
}

impl Media {
    /// The store configured by the settings (`MASTHEAD_STORAGE`: the local directory
    /// `MASTHEAD_MEDIA_DIR`, or an S3 bucket, checked now so a wrong bucket or wrong
    /// credentials stop the start with a message naming the setting) and the budget of
    /// `MASTHEAD_IMAGE_MEMORY_BUDGET`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let store: Arc<dyn MediaStore> = match &settings.storage {
            crate::config::Storage::Local => Arc::new(LocalStore::new(settings.media_dir.clone())),
            crate::config::Storage::S3(s3) => Arc::new(storage::S3Store::connect(s3)?),
        };
        Ok(Media::new(
            store,
            ImageBudget::new(settings.image_memory_budget, settings.image_queue_timeout),
        ))
    }

    pub fn new(store: Arc<dyn MediaStore>, budget: ImageBudget) -> Self {
        Media {
            store,
            budget,
            locks: KeyedLocks::default(),
        }
    }

    /// The lock of one key; hold its guard while generating that key's object.
    pub fn lock_for(&self, key: &str) -> KeyLock<'_> {
        KeyLock {
            lock: self.locks.get(key),
            key: key.to_owned(),
            locks: &self.locks,
        }
    }
}

/// The answer to a request the media store failed: 503 with `Retry-After` (the store is
/// down or slow; nothing was written), the cause in the log.
pub fn storage_unavailable(e: std::io::Error) -> crate::error::ApiError {
    tracing::error!(error = %e, "media storage failed");
    crate::error::ApiError::ServiceUnavailable("The media storage is not reachable; try again shortly".into())
}

/// A map of async mutexes by key. Entries are removed when the last user lets go, so the map
/// only holds keys being generated right now. (Within one process; across several processes a
/// rare duplicate generation is harmless because writes are atomic and deterministic.)
#[derive(Default)]
pub struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    fn get(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key.to_owned()).or_default().clone()
    }

    fn release(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only the map's own reference left: nobody waits for this key any more.
        if map.get(key).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(key);
        }
    }
}

/// One key's lock, cleaned out of the map when dropped.
pub struct KeyLock<'a> {
    pub lock: Arc<tokio::sync::Mutex<()>>,
    key: String,
    locks: &'a KeyedLocks,
}

impl Drop for KeyLock<'_> {
    fn drop(&mut self) {
        // Drop our reference first so the count seen by `release` is accurate.
        self.lock = Arc::new(tokio::sync::Mutex::new(()));
        self.locks.release(&self.key);
    }
}
