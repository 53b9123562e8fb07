//! Device and app information, and the app's key-value storage.
//!
//! Storage here is the instance's own map with WeChat's limits (1 MB per
//! key, 10 MB in all); persisting it per app id is the host's job.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

const MAX_KEY_BYTES: usize = 1024 * 1024;
const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;

fn system_info(state: &mut HostState, _: Value) -> ApiResult {
    Ok(serde_json::to_value(&state.device).unwrap_or_default())
}

fn window_info(state: &mut HostState, _: Value) -> ApiResult {
    let d = &state.device;
    Ok(json!({
        "pixelRatio": d.pixel_ratio,
        "screenWidth": d.screen_width,
        "screenHeight": d.screen_height,
        "windowWidth": d.window_width,
        "windowHeight": d.window_height,
        "statusBarHeight": d.status_bar_height,
        "safeArea": { "left": 0, "right": d.screen_width, "top": d.status_bar_height, "bottom": d.screen_height, "width": d.screen_width, "height": d.screen_height - d.status_bar_height },
        "screenTop": 0,
    }))
}

fn device_info(state: &mut HostState, _: Value) -> ApiResult {
    let d = &state.device;
    Ok(
        json!({ "brand": d.brand, "model": d.model, "system": d.system, "platform": d.platform, "abi": "arm64", "benchmarkLevel": 1 }),
    )
}

fn app_base_info(state: &mut HostState, _: Value) -> ApiResult {
    let d = &state.device;
    Ok(
        json!({ "SDKVersion": d.sdk_version, "language": d.language, "version": d.version, "theme": d.theme, "enableDebug": false, "host": { "env": "WeChat" } }),
    )
}

fn menu_button(state: &mut HostState, _: Value) -> ApiResult {
    let d = &state.device;
    let top = d.status_bar_height + 4;
    let right = d.window_width - 7;
    Ok(
        json!({ "width": 87, "height": 32, "top": top, "bottom": top + 32, "left": right - 87, "right": right }),
    )
}

fn account_info(state: &mut HostState, _: Value) -> ApiResult {
    let app_id = state.app.app_id.clone().unwrap_or_default();
    Ok(json!({ "miniProgram": { "appId": app_id, "envVersion": "develop", "version": "" } }))
}

fn network_type(_: &mut HostState, _: Value) -> ApiResult {
    Ok(json!({ "networkType": "wifi" }))
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

/// Sync storage calls take positional arguments: `getStorageSync(key)`.
fn positional(args: Value, names: &[&str]) -> Value {
    match args {
        Value::Array(items) => names
            .iter()
            .zip(items)
            .map(|(name, value)| ((*name).to_owned(), value))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other,
    }
}

fn set_storage(state: &mut HostState, args: Value) -> ApiResult {
    let SetOptions { key, data } = options(positional(args, &["key", "data"]))?;
    if key.is_empty() {
        return Err("parameter error: key should not be empty".to_owned());
    }
    let encoded = data.to_string();
    if key.len() + encoded.len() > MAX_KEY_BYTES {
        return Err("exceed max size of a single key (1MB)".to_owned());
    }
    let used: usize = state
        .storage
        .iter()
        .filter(|(k, _)| **k != key)
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if used + key.len() + encoded.len() > MAX_TOTAL_BYTES {
        return Err("exceed storage max size 10MB".to_owned());
    }
    let previous = state.storage.insert(key.clone(), encoded);
    if let Err(reason) = state.persist_storage() {
        // Nothing is lost: the old value stays, in memory as on disk.
        match previous {
            Some(old) => state.storage.insert(key, old),
            None => state.storage.remove(&key),
        };
        return Err(reason);
    }
    Ok(json!({}))
}

fn get_storage(state: &mut HostState, args: Value) -> ApiResult {
    let KeyOptions { key } = options(positional(args, &["key"]))?;
    match state.storage.get(&key) {
        Some(encoded) => {
            Ok(json!({ "data": serde_json::from_str::<Value>(encoded).unwrap_or(Value::Null) }))
        }
        None => Err("data not found".to_owned()),
    }
}

/// `getStorageSync` returns "" for a missing key instead of failing.
fn get_storage_sync(state: &mut HostState, args: Value) -> ApiResult {
    Ok(get_storage(state, args).unwrap_or_else(|_| json!({ "data": "" })))
}

fn remove_storage(state: &mut HostState, args: Value) -> ApiResult {
    let KeyOptions { key } = options(positional(args, &["key"]))?;
    state.storage.remove(&key);
    state.persist_storage()?;
    Ok(json!({}))
}

fn clear_storage(state: &mut HostState, _: Value) -> ApiResult {
    state.storage.clear();
    state.persist_storage()?;
    Ok(json!({}))
}

fn storage_info(state: &mut HostState, _: Value) -> ApiResult {
    let bytes: usize = state.storage.iter().map(|(k, v)| k.len() + v.len()).sum();
    Ok(json!({
        "keys": state.storage.keys().collect::<Vec<_>>(),
        "currentSize": bytes.div_ceil(1024),
        "limitSize": MAX_TOTAL_BYTES / 1024,
    }))
}

pub(super) fn apis() -> Vec<ApiSpec> {
    use ApiKind::{Async, Sync};
    use Capability::{Storage, System};
    let api = |name, kind, capability, handler| ApiSpec {
        name,
        kind,
        capability,
        handler,
    };
    vec![
        api("getSystemInfoSync", Sync, System, system_info),
        api("getSystemInfo", Async, System, system_info),
        api("getWindowInfo", Sync, System, window_info),
        api("getDeviceInfo", Sync, System, device_info),
        api("getAppBaseInfo", Sync, System, app_base_info),
        api("getMenuButtonBoundingClientRect", Sync, System, menu_button),
        api("getAccountInfoSync", Sync, System, account_info),
        api("getNetworkType", Async, System, network_type),
        api("setStorageSync", Sync, Storage, set_storage),
        api("setStorage", Async, Storage, set_storage),
        api("getStorageSync", Sync, Storage, get_storage_sync),
        api("getStorage", Async, Storage, get_storage),
        api("removeStorageSync", Sync, Storage, remove_storage),
        api("removeStorage", Async, Storage, remove_storage),
        api("clearStorageSync", Sync, Storage, clear_storage),
        api("clearStorage", Async, Storage, clear_storage),
        api("getStorageInfoSync", Sync, Storage, storage_info),
        api("getStorageInfo", Async, Storage, storage_info),
    ]
}
