//! Where image bytes live: a small key/value interface (`MediaStore`) with a local-directory
//! implementation. Handlers only ever see the trait, so an S3-compatible store (for example
//! on the `object_store` crate, selected by `MASTHEAD_STORAGE=s3://bucket/prefix`) can be added
//! as a second implementation without touching them.
//!
//! The interface is blocking on purpose, like diesel: callers run it on the blocking thread pool
//! (`web::block`), never on an async worker. An object-store implementation would keep a tokio
//! runtime handle and `block_on` its futures there.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// A place to keep blobs by key. Writes are atomic: a reader sees the old object, the new
/// object or nothing, never half a file.
pub trait MediaStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there.
    fn put(&self, key: &StorageKey, bytes: &[u8]) -> io::Result<()>;
    /// The object's bytes, or `None` if there is none.
    fn get(&self, key: &StorageKey) -> io::Result<Option<Vec<u8>>>;
    /// At most the first `max` bytes of the object (an image's header, to price its decoding
    /// before the whole file is read). A store that cannot read part of an object reads all.
    fn get_head(&self, key: &StorageKey, max: usize) -> io::Result<Option<Vec<u8>>> {
        Ok(self.get(key)?.map(|mut bytes| {
            bytes.truncate(max);
            bytes
        }))
    }
    /// Removes the object; removing a missing object is not an error.
    fn delete(&self, key: &StorageKey) -> io::Result<()>;
    /// Whether an object exists under `key`.
    fn exists(&self, key: &StorageKey) -> io::Result<bool>;
    /// Removes every object whose key starts with `prefix/` (an image's renditions).
    fn delete_prefix(&self, prefix: &StorageKey) -> io::Result<()>;
}

/// Objects as files under a root directory (`MASTHEAD_MEDIA_DIR`), keys as relative paths.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`. Safe because `StorageKey` admits no `..`, no absolute paths.
    pub fn path_of(&self, key: &StorageKey) -> PathBuf {
        key.as_str()
            .split('/')
            .fold(self.root.clone(), |p, seg| p.join(seg))
    }
}

impl MediaStore for LocalStore {
    fn put(&self, key: &StorageKey, bytes: &[u8]) -> io::Result<()> {
        let path = self.path_of(key);
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("storage key has no parent directory"))?;
        fs::create_dir_all(dir)?;
        // Write a uniquely named temporary file in the same directory, flush it to disk, then
        // rename it over the target: rename within a filesystem is atomic, so a crash leaves
        // either the old file or the new one (plus at worst a stray `.tmp-` file).
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn get(&self, key: &StorageKey) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path_of(key)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn get_head(&self, key: &StorageKey, max: usize) -> io::Result<Option<Vec<u8>>> {
        use std::io::Read;
        match fs::File::open(self.path_of(key)) {
            Ok(file) => {
                let mut head = Vec::with_capacity(max.min(1024 * 1024));
                file.take(max as u64).read_to_end(&mut head)?;
                Ok(Some(head))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &StorageKey) -> io::Result<()> {
        match fs::remove_file(self.path_of(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn exists(&self, key: &StorageKey) -> io::Result<bool> {
        self.path_of(key).try_exists()
    }

    fn delete_prefix(&self, prefix: &StorageKey) -> io::Result<()> {
        match fs::remove_dir_all(self.path_of(prefix)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/./b",
            "a\\b",
            "a b",
            "ä",
        ] {
            assert!(StorageKey::parse(bad).is_none(), "{bad:?}");
        }
        assert!(StorageKey::parse("originals/0192-abc.jpg").is_some());
    }

    #[test]
    fn local_store_round_trips_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = StorageKey::parse("renditions/abc/w320.jpeg").unwrap();
        assert!(!store.exists(&key).unwrap());
        assert_eq!(store.get(&key).unwrap(), None);
        store.put(&key, b"one").unwrap();
        store.put(&key, b"two").unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some(&b"two"[..]));
        let leftovers = fs::read_dir(store.path_of(&key).parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary files remain");
        store
            .delete_prefix(&StorageKey::parse("renditions/abc").unwrap())
            .unwrap();
        assert!(!store.exists(&key).unwrap());
        store.delete(&key).unwrap();
    }
}
