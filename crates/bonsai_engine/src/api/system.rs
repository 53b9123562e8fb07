//! Device and app information, from the instance's device profile.
//!
//! `getSystemInfoSync` reports every field of miniprogram-api-typings'
//! `SystemInfo`; `getWindowInfo`, `getDeviceInfo` and `getAppBaseInfo`
//! report their parts of it from the same profile, so they always agree.
//! `theme` is there only when app.json sets `darkmode: true`, as in WeChat.

use serde_json::{Map, Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability};
use crate::HostState;

/// Whether app.json opts into dark mode (`"darkmode": true`), which is
/// when WeChat reports `theme`.
fn darkmode(state: &HostState) -> bool {
    state
        .app
        .app_config
        .as_ref()
        .and_then(|config| config.get("darkmode"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn window(state: &HostState) -> Map<String, Value> {
    let d = &state.device;
    object(json!({
        "pixelRatio": d.pixel_ratio,
        "screenWidth": d.screen_width,
        "screenHeight": d.screen_height,
        "windowWidth": d.window_width,
        "windowHeight": d.window_height,
        "statusBarHeight": d.status_bar_height,
        "safeArea": d.safe_area(),
        "screenTop": 0,
    }))
}

fn device(state: &HostState) -> Map<String, Value> {
    let d = &state.device;
    object(json!({
        "abi": d.abi,
        "benchmarkLevel": d.benchmark_level,
        "brand": d.brand,
        "model": d.model,
        "platform": d.platform,
        "system": d.system,
    }))
}

fn app_base(state: &HostState) -> Map<String, Value> {
    let d = &state.device;
    let mut info = object(json!({
        "SDKVersion": d.sdk_version,
        "enableDebug": d.enable_debug,
        "host": { "appId": d.host_app_id },
        "language": d.language,
        "version": d.version,
    }));
    if darkmode(state) {
        info.insert("theme".to_owned(), json!(d.theme));
    }
    info
}

fn system_info(state: &mut HostState, _: Value) -> ApiResult {
    let d = &state.device;
    let mut info = window(state);
    info.remove("screenTop");
    info.extend(device(state));
    info.remove("abi");
    info.extend(app_base(state));
    info.extend(object(json!({
        "fontSizeSetting": d.font_size_setting,
        "deviceOrientation": d.device_orientation,
        "bluetoothEnabled": d.bluetooth_enabled,
        "locationEnabled": d.location_enabled,
        "wifiEnabled": d.wifi_enabled,
        "albumAuthorized": d.album_authorized,
        "cameraAuthorized": d.camera_authorized,
        "locationAuthorized": d.location_authorized,
        "microphoneAuthorized": d.microphone_authorized,
        "notificationAuthorized": d.notification_authorized,
        "notificationAlertAuthorized": d.notification_alert_authorized,
        "notificationBadgeAuthorized": d.notification_badge_authorized,
        "notificationSoundAuthorized": d.notification_sound_authorized,
        "phoneCalendarAuthorized": d.phone_calendar_authorized,
        "locationReducedAccuracy": d.location_reduced_accuracy,
    })));
    Ok(Value::Object(info))
}

fn window_info(state: &mut HostState, _: Value) -> ApiResult {
    Ok(Value::Object(window(state)))
}

fn device_info(state: &mut HostState, _: Value) -> ApiResult {
    Ok(Value::Object(device(state)))
}

fn app_base_info(state: &mut HostState, _: Value) -> ApiResult {
    Ok(Value::Object(app_base(state)))
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

/// The network as the devtools report a desktop's: Wi-Fi, no proxy, and
/// no signal strength to measure.
fn network_type(_: &mut HostState, _: Value) -> ApiResult {
    Ok(json!({ "networkType": "wifi", "signalStrength": 0, "hasSystemProxy": false }))
}

pub(super) fn apis() -> Vec<ApiSpec> {
    use ApiKind::{Async, Sync};
    use Capability::System;
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
    ]
}
