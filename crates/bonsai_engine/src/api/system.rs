//! Device and app information, from the instance's device profile.

use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability};
use crate::HostState;

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
