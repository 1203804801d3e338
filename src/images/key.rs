//! Storage keys: the one safe way to name an object in any `MediaStore` (and the one check the
//! settings use for an S3 key prefix), kept apart so that `config` and `storage` need not
//! import each other.

/// A validated storage key: `/`-separated segments of `[A-Za-z0-9._-]`, none empty, none `.`
/// or `..`, no leading `/`. Anything a client sends is turned into a key only through the
/// constructors of this module, so a key can never escape the store's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    /// Checks `raw` and wraps it; `None` if it is not a safe key.
    pub fn parse(raw: &str) -> Option<StorageKey> {
        let ok = !raw.is_empty()
            && raw.len() <= 512
            && raw.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        ok.then(|| StorageKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
