//! Where package zips live: an `object_store` (a local directory, S3 or an
//! S3-compatible store such as MinIO, or memory for tests), addressed by
//! content. A package's key is `sha256/<64 hex digits>.zip`, so writing the
//! same zip twice writes the same object, and an object written by an
//! upload that then failed (or was killed) is an orphan nobody points at:
//! harmless, and reused if the same zip is uploaded again.
//!
//! Store URLs:
//! - `file:///abs/dir` (or a plain directory path): one file per package
//!   under `dir/sha256/`. object_store writes a staging file and renames it
//!   into place, so a reader never sees half an object.
//! - `s3://bucket` or `s3://bucket/prefix`: credentials, region and endpoint
//!   from the `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` for MinIO-style
//!   stores, `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
//! - `memory://`: in this process only (tests).

use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;

use crate::error::PlatformError;

/// The package store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// The URL it was opened from, for messages.
    url: String,
}

impl BlobStore {
    /// Opens the store a URL names (see the module docs). A local directory
    /// is created when missing.
    pub fn from_url(url: &str) -> Result<BlobStore, PlatformError> {
        let bad =
            |reason: String| PlatformError::Config(format!("package store `{url}`: {reason}"));
        let inner: Arc<dyn ObjectStore> = if url == "memory://" || url == "memory:" {
            Arc::new(InMemory::new())
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket name (s3://bucket/prefix)".to_owned()));
            }
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| bad(e.to_string()))?;
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            }
        } else {
            let dir = match url.strip_prefix("file://") {
                Some(path) => percent_decode(path)
                    .ok_or_else(|| bad("not a valid file URL (file:///absolute/dir)".to_owned()))?,
                None if url.contains("://") => {
                    return Err(bad(
                        "unknown scheme; use file:///dir, s3://bucket/prefix or memory://"
                            .to_owned(),
                    ));
                }
                None => url.to_owned(),
            };
            if dir.is_empty() {
                return Err(bad("no directory".to_owned()));
            }
            std::fs::create_dir_all(&dir).map_err(|e| bad(format!("creating {dir}: {e}")))?;
            Arc::new(LocalFileSystem::new_with_prefix(&dir).map_err(|e| bad(e.to_string()))?)
        };
        Ok(BlobStore {
            inner,
            url: url.to_owned(),
        })
    }

    /// A store in memory, for tests.
    pub fn memory() -> BlobStore {
        BlobStore {
            inner: Arc::new(InMemory::new()),
            url: "memory://".to_owned(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object store itself (tests use it to damage a package).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// `sha256/<hex>.zip`.
    pub fn key(sha256: &str) -> ObjectPath {
        ObjectPath::from(format!("sha256/{sha256}.zip"))
    }

    /// Stores a package under its hash. Overwrites: the content is the same
    /// by construction, and a damaged object gets repaired.
    pub(crate) async fn put(&self, sha256: &str, bytes: Bytes) -> Result<(), object_store::Error> {
        self.inner
            .put(&BlobStore::key(sha256), bytes.into())
            .await?;
        Ok(())
    }

    /// The stored bytes, unverified; `None` when there is no such object.
    pub(crate) async fn get(&self, sha256: &str) -> Result<Option<Bytes>, object_store::Error> {
        match self.inner.get(&BlobStore::key(sha256)).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Decodes `%XX` escapes; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `file://` URL of a directory, percent-encoding what a URL can't hold.
pub fn file_url(dir: &std::path::Path) -> String {
    let mut url = String::from("file://");
    for byte in dir.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_round_trip() {
        let dir = std::path::Path::new("/tmp/a b/p%q");
        let url = file_url(dir);
        assert_eq!(url, "file:///tmp/a%20b/p%25q");
        assert_eq!(
            percent_decode(url.trim_start_matches("file://")).as_deref(),
            Some("/tmp/a b/p%q")
        );
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn bad_store_urls_are_config_errors() {
        for url in ["ftp://x/y", "s3://", "s3:///prefix", "file://%zz"] {
            assert!(
                matches!(BlobStore::from_url(url), Err(PlatformError::Config(_))),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn packages_are_stored_by_hash() {
        let store = BlobStore::memory();
        assert_eq!(store.get("ab").await.ok(), Some(None));
        store
            .put("ab", Bytes::from_static(b"zip"))
            .await
            .expect("put");
        assert_eq!(
            store.get("ab").await.ok().flatten(),
            Some(Bytes::from_static(b"zip"))
        );
        assert_eq!(BlobStore::key("ab").as_ref(), "sha256/ab.zip");
    }
}
