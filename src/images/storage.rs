//! Where image bytes live: a small key/value interface (`MediaStore`) with two implementations,
//! a local directory (`LocalStore`, the default) and an S3-compatible bucket (`S3Store`, on the
//! `object_store` crate, selected by `MASTHEAD_STORAGE=s3://bucket/prefix`). Handlers only ever
//! see the trait.
//!
//! The interface is blocking on purpose, like diesel: callers run it on the blocking thread pool
//! (`web::block`), never on an async worker. `S3Store` runs its requests on a small runtime of
//! its own (one per process) and waits for them, so it works from any thread and runtime.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use crate::images::key::StorageKey;

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
    /// Whether the store can be used now (`/readyz`); the error says what is wrong.
    fn check_ready(&self) -> io::Result<()>;
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

    fn check_ready(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        if fs::metadata(&self.root)?.permissions().readonly() {
            return Err(io::Error::other(format!("{} is read-only", self.root.display())));
        }
        Ok(())
    }
}

/// Objects in an S3-compatible bucket under a key prefix (`MASTHEAD_STORAGE=s3://bucket/prefix`).
/// Every instance of a cluster sees the same objects, so a rendition generated by one is
/// served by all. Requests are bounded: a store that does not answer fails the request in
/// seconds (503), not after the client library's default minutes of retries.
pub struct S3Store {
    store: object_store::aws::AmazonS3,
    prefix: String,
    /// `s3://bucket/prefix`, for messages.
    name: String,
}

/// The runtime every `S3Store` runs its requests on: two threads for the life of the process
/// (requests wait on the network, not the CPU).
fn s3_runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("masthead-s3")
        .enable_all()
        .build()?;
    // One that lost a race to be first is shut down without waiting, which is allowed even
    // inside another runtime (a plain drop is not).
    if let Err(spare) = RUNTIME.set(runtime) {
        spare.shutdown_background();
    }
    RUNTIME
        .get()
        .ok_or_else(|| io::Error::other("no storage runtime"))
}

/// How long one S3 request may take, and how long connecting may take.
const S3_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const S3_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl S3Store {
    /// Connects to the bucket of `settings` and checks that it exists and that the credentials
    /// may list it; the error names the setting to fix.
    pub fn connect(settings: &crate::config::S3Settings) -> anyhow::Result<S3Store> {
        use object_store::aws::AmazonS3Builder;
        use object_store::{BackoffConfig, ClientOptions, RetryConfig};
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(S3_REQUEST_TIMEOUT)
                    .with_connect_timeout(S3_CONNECT_TIMEOUT)
                    .with_allow_http(true),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: std::time::Duration::from_secs(5),
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secrecy::ExposeSecret::expose_secret(secret));
        }
        let name = format!("s3://{}/{}", settings.bucket, settings.prefix);
        let store = builder
            .build()
            .map_err(|e| anyhow::anyhow!("MASTHEAD_STORAGE={name}: {e}"))?;
        let s3 = S3Store {
            store,
            prefix: settings.prefix.clone(),
            name,
        };
        s3.probe().map_err(|e| {
            // Listing errors come back generic, with the server's XML code in the text.
            let text = e.to_string();
            let code = |c: &str| text.contains(&format!("<Code>{c}</Code>"));
            let hint = match e {
                _ if code("NoSuchBucket") => format!(
                    "MASTHEAD_STORAGE: the bucket `{}` does not exist at {} (create it, or fix the bucket name)",
                    settings.bucket,
                    settings.endpoint.as_deref().unwrap_or("AWS")
                ),
                // NotSignedUp: an access key the server does not know (s3s); any other 403 is
                // a refusal of these credentials for this bucket too.
                _ if code("InvalidAccessKeyId")
                    || code("SignatureDoesNotMatch")
                    || code("AccessDenied")
                    || code("NotSignedUp")
                    || text.contains("403 Forbidden") =>
                {
                    format!(
                        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: the credentials are refused for the bucket `{}` ({e})",
                        settings.bucket
                    )
                }
                _ => format!(
                    "MASTHEAD_S3_ENDPOINT / MASTHEAD_STORAGE: cannot reach the bucket `{}` at {}: {e}",
                    settings.bucket,
                    settings.endpoint.as_deref().unwrap_or("AWS")
                ),
            };
            anyhow::anyhow!(hint)
        })?;
        Ok(s3)
    }

    /// Lists one level under the prefix: proves the bucket exists and the credentials work.
    fn probe(&self) -> object_store::Result<()> {
        use object_store::ObjectStore;
        let prefix = (!self.prefix.is_empty()).then(|| object_store::path::Path::from(self.prefix.as_str()));
        let store = self.store.clone();
        self.run(async move { store.list_with_delimiter(prefix.as_ref()).await.map(|_| ()) })
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?
    }

    fn path(&self, key: &StorageKey) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(key.as_str())
        } else {
            object_store::path::Path::from(format!("{}/{}", self.prefix, key.as_str()))
        }
    }

    /// Runs `work` on the store's runtime and waits for it (from any thread).
    fn run<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        let runtime = s3_runtime()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| io::Error::other("the storage runtime stopped"))
    }
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store").field("name", &self.name).finish()
    }
}

fn s3_error(e: object_store::Error) -> io::Error {
    io::Error::other(format!("S3: {e}"))
}

impl MediaStore for S3Store {
    fn put(&self, key: &StorageKey, bytes: &[u8]) -> io::Result<()> {
        use object_store::ObjectStoreExt;
        // A single PUT: S3 makes the object visible whole or not at all.
        let (store, path) = (self.store.clone(), self.path(key));
        let payload = object_store::PutPayload::from(bytes.to_vec());
        self.run(async move { store.put(&path, payload).await })?
            .map(|_| ())
            .map_err(s3_error)
    }

    fn get(&self, key: &StorageKey) -> io::Result<Option<Vec<u8>>> {
        use object_store::ObjectStoreExt;
        let (store, path) = (self.store.clone(), self.path(key));
        match self.run(async move {
            match store.get(&path).await {
                Ok(found) => found.bytes().await,
                Err(e) => Err(e),
            }
        })? {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(s3_error(e)),
        }
    }

    fn get_head(&self, key: &StorageKey, max: usize) -> io::Result<Option<Vec<u8>>> {
        use object_store::{GetOptions, GetRange, ObjectStore};
        if max == 0 {
            return Ok(self.exists(key)?.then(Vec::new));
        }
        let (store, path) = (self.store.clone(), self.path(key));
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..max as u64)),
            ..GetOptions::default()
        };
        match self.run(async move {
            match store.get_opts(&path, options).await {
                Ok(found) => found.bytes().await,
                Err(e) => Err(e),
            }
        })? {
            Ok(bytes) => {
                let mut bytes = bytes.to_vec();
                bytes.truncate(max);
                Ok(Some(bytes))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            // An empty object has no byte 0 to start a range at.
            Err(e) if e.to_string().contains("416") || e.to_string().to_lowercase().contains("range") => {
                self.get(key).map(|found| {
                    found.map(|mut b| {
                        b.truncate(max);
                        b
                    })
                })
            }
            Err(e) => Err(s3_error(e)),
        }
    }

    fn delete(&self, key: &StorageKey) -> io::Result<()> {
        use object_store::ObjectStoreExt;
        let (store, path) = (self.store.clone(), self.path(key));
        match self.run(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    fn exists(&self, key: &StorageKey) -> io::Result<bool> {
        use object_store::ObjectStoreExt;
        let (store, path) = (self.store.clone(), self.path(key));
        match self.run(async move { store.head(&path).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(s3_error(e)),
        }
    }

    fn delete_prefix(&self, prefix: &StorageKey) -> io::Result<()> {
        use futures_util::StreamExt;
        use object_store::ObjectStore;
        let (store, path) = (self.store.clone(), self.path(prefix));
        self.run(async move {
            let locations = store
                .list(Some(&path))
                .map(|meta| meta.map(|m| m.location))
                .boxed();
            let mut deleted = store.delete_stream(locations);
            while let Some(result) = deleted.next().await {
                match result {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })?
        .map_err(s3_error)
    }

    fn check_ready(&self) -> io::Result<()> {
        self.probe()
            .map_err(|e| io::Error::other(format!("{}: {e}", self.name)))
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
