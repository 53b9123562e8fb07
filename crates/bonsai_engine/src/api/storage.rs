//! The app's key-value storage (`wx.setStorage` and friends) with WeChat's
//! limits: 1 MB per key, 10 MB in all, kept per app id.
//!
//! Writes change the instance's map at once and reach the host's
//! [`StorageBackend`](crate::StorageBackend) once per task (write-behind):
//! a loop of ten thousand `setStorageSync` calls saves once, not ten
//! thousand times. Each save is atomic (the backend's promise), so a crash
//! loses at most the task in progress and never mixes old and new entries.
//! A save that fails keeps the entries in memory and is retried after the
//! next task.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::{HostState, StorageBackend};

const MAX_KEY_BYTES: usize = 1024 * 1024;
const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;

/// One app's storage: JSON-encoded values by key.
#[derive(Debug)]
pub(crate) struct AppStorage {
    entries: BTreeMap<String, String>,
    /// Sum of key and value lengths, kept as entries change (the quota
    /// check must not rescan every key on each write).
    bytes: usize,
    dirty: bool,
    app_id: String,
    backend: Option<Arc<dyn StorageBackend>>,
}

fn entry_bytes(key: &str, encoded: &str) -> usize {
    key.len() + encoded.len()
}

impl AppStorage {
    pub(crate) fn load(app_id: String, backend: Option<Arc<dyn StorageBackend>>) -> AppStorage {
        let entries = backend
            .as_ref()
            .map(|b| b.load(&app_id))
            .unwrap_or_default();
        let bytes = entries.iter().map(|(k, v)| entry_bytes(k, v)).sum();
        AppStorage {
            entries,
            bytes,
            dirty: false,
            app_id,
            backend,
        }
    }

    /// The JSON text stored under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Stores `encoded` (JSON) under `key` within WeChat's limits.
    pub(crate) fn set(&mut self, key: &str, encoded: String) -> Result<(), String> {
        if key.is_empty() {
            return Err("parameter error: key should not be empty".to_owned());
        }
        let size = entry_bytes(key, &encoded);
        if size > MAX_KEY_BYTES {
            return Err("exceed max size of a single key (1MB)".to_owned());
        }
        let replaced = self.get(key).map_or(0, |old| entry_bytes(key, old));
        let total = self.bytes - replaced + size;
        if total > MAX_TOTAL_BYTES {
            return Err("exceed storage max size 10MB".to_owned());
        }
        self.bytes = total;
        self.entries.insert(key.to_owned(), encoded);
        self.dirty = true;
        Ok(())
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= entry_bytes(key, &old);
            self.dirty = true;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.dirty |= !self.entries.is_empty();
        self.entries.clear();
        self.bytes = 0;
    }

    /// Saves the entries if they changed since the last save.
    pub(crate) fn flush(&mut self) -> Result<(), String> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(backend) = &self.backend {
            backend.save(&self.app_id, &self.entries)?;
        }
        self.dirty = false;
        Ok(())
    }

    fn info(&self) -> Value {
        json!({
            "keys": self.entries.keys().collect::<Vec<_>>(),
            "currentSize": self.bytes.div_ceil(1024),
            "limitSize": MAX_TOTAL_BYTES / 1024,
        })
    }
}

#[derive(Deserialize)]
struct KeyOptions {
    key: String,
}

#[derive(Deserialize)]
struct SetOptions {
    key: String,
    data: Value,
}

fn set_storage(state: &mut HostState, args: Value) -> ApiResult {
    let SetOptions { key, data } = options(args)?;
    state.storage.set(&key, data.to_string())?;
    Ok(json!({}))
}

fn get_storage(state: &mut HostState, args: Value) -> ApiResult {
    let KeyOptions { key } = options(args)?;
    match state.storage.get(&key) {
        Some(encoded) => {
            Ok(json!({ "data": serde_json::from_str::<Value>(encoded).unwrap_or(Value::Null) }))
        }
        None => Err("data not found".to_owned()),
    }
}

fn remove_storage(state: &mut HostState, args: Value) -> ApiResult {
    let KeyOptions { key } = options(args)?;
    state.storage.remove(&key);
    Ok(json!({}))
}

fn clear_storage(state: &mut HostState, _: Value) -> ApiResult {
    state.storage.clear();
    Ok(json!({}))
}

fn storage_info(state: &mut HostState, _: Value) -> ApiResult {
    Ok(state.storage.info())
}

/// The async forms and the whole-storage sync ones. `getStorageSync`,
/// `setStorageSync` and `removeStorageSync` are the hot path: the JS host
/// calls [`crate::host`]'s dedicated `storage*` natives for them, skipping
/// the generic JSON round trip.
pub(super) fn apis() -> Vec<ApiSpec> {
    use ApiKind::{Async, Sync};
    let api = |name, kind, handler| ApiSpec {
        name,
        kind,
        capability: Capability::Storage,
        handler,
    };
    vec![
        api("setStorage", Async, set_storage),
        api("getStorage", Async, get_storage),
        api("removeStorage", Async, remove_storage),
        api("clearStorageSync", Sync, clear_storage),
        api("clearStorage", Async, clear_storage),
        api("getStorageInfoSync", Sync, storage_info),
        api("getStorageInfo", Async, storage_info),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_tracked_as_entries_change() {
        let mut storage = AppStorage::load("wxapp".to_owned(), None);
        let big = "x".repeat(MAX_KEY_BYTES - 10);
        for i in 0..10 {
            storage
                .set(&format!("k{i}"), big.clone())
                .expect("under the quota");
        }
        assert_eq!(
            storage.set("k10", big.clone()),
            Err("exceed storage max size 10MB".to_owned())
        );
        // Replacing a key frees its old size first.
        storage.set("k0", big.clone()).expect("a replacement fits");
        storage.remove("k1");
        storage.set("k10", big).expect("room after a removal");
        assert_eq!(
            storage.set("huge", "y".repeat(MAX_KEY_BYTES)),
            Err("exceed max size of a single key (1MB)".to_owned())
        );
        storage.clear();
        assert_eq!(storage.bytes, 0);
    }
}
