//! What of the `wx` surface Bonsai implements, for `docs/api-coverage.md`.
//!
//! APIs in the Rust registry are listed from it; the ones the JS host
//! implements (they need JS objects or the page stack) are listed here. A
//! test checks both lists against the `wx` object an instance really has, so
//! the document cannot drift from the code.

use std::fmt::Write as _;

use super::registry;

/// Global event subscriptions (`wx.on<Name>` / `wx.off<Name>`): registering
/// works; a listener runs when the host emits its event.
pub const APP_EVENTS: &[&str] = &[
    "ThemeChange",
    "WindowResize",
    "NetworkStatusChange",
    "NetworkWeakChange",
    "MemoryWarning",
    "KeyboardHeightChange",
    "MenuButtonBoundingClientRectWeightChange",
    "AppShow",
    "AppHide",
    "Error",
    "UnhandledRejection",
    "PageNotFound",
    "LazyLoadError",
    "AudioInterruptionBegin",
    "AudioInterruptionEnd",
    "UserCaptureScreen",
    "LocaleChange",
    "AccelerometerChange",
    "CompassChange",
    "DeviceMotionChange",
    "GyroscopeChange",
    "LocationChange",
    "BLEConnectionStateChange",
    "BluetoothAdapterStateChange",
];

/// APIs js/host.js implements, with what each still lacks.
const JS_APIS: &[(&str, Option<&str>)] = &[
    ("navigateTo", None),
    ("redirectTo", None),
    ("switchTab", None),
    ("reLaunch", None),
    ("navigateBack", None),
    ("nextTick", None),
    (
        "canIUse",
        Some(
            "`${API}.${method}.${param}.${option}` is true for any field of an implemented API (fields are not tracked one by one); `${component}.${attribute}.${option}` for any attribute of a built-in component",
        ),
    ),
    ("getLaunchOptionsSync", None),
    ("getEnterOptionsSync", None),
    ("startPullDownRefresh", None),
    ("createAnimation", None),
    ("arrayBufferToBase64", None),
    ("base64ToArrayBuffer", None),
    (
        "getExptInfoSync",
        Some("no experiments are configured: always {}"),
    ),
    (
        "getUpdateManager",
        Some("always up to date until the platform registry serves versions"),
    ),
    (
        "getPerformance",
        Some("now() only; no entries are recorded"),
    ),
    (
        "pageScrollTo",
        Some("scrolls at once after `duration` (no animation)"),
    ),
    (
        "createSelectorQuery",
        Some(
            "rects from headless layout: text measured without fonts; no grid, floats or transforms",
        ),
    ),
    (
        "createIntersectionObserver",
        Some("ratios from headless layout, rechecked after renders and page scrolls"),
    ),
    (
        "createCanvasContext",
        Some("drawing calls are recorded; there are no pixels"),
    ),
    (
        "getBackgroundAudioManager",
        Some(
            "state and events only: no sound, nothing decodes src (duration 0, time does not advance, onEnded/onTimeUpdate never fire)",
        ),
    ),
    (
        "createInnerAudioContext",
        Some(
            "state and events only: no sound, nothing decodes src (duration 0, time does not advance, onEnded/onTimeUpdate never fire)",
        ),
    ),
    (
        "createWebAudioContext",
        Some(
            "the node graph builds, starts and stops silently; parameter ramps jump to their value; decodeAudioData fails (no decoder)",
        ),
    ),
    (
        "createVideoContext",
        Some(
            "no video: play/pause/seek/full-screen/picture-in-picture keep state and fire the video component's play, pause, seekcomplete, fullscreenchange, enter/leavepictureinpicture events; no timeupdate or ended; danmu, status bar and rate are ignored",
        ),
    ),
    (
        "createCameraContext",
        Some(
            "takePhoto and startRecord/stopRecord take their files from the device provider (as chooseMedia from the camera; fail without one); video thumbnails are blank PNGs; setZoom echoes; onCameraFrame never delivers frames",
        ),
    ),
    (
        "createLivePusherContext",
        Some(
            "no streaming: methods succeed with no effect; snapshot is a blank PNG of the window size",
        ),
    ),
    (
        "createLivePlayerContext",
        Some(
            "no streaming: methods succeed with no effect; snapshot is a blank PNG of the window size",
        ),
    ),
    (
        "createOffscreenCanvas",
        Some(
            "2d contexts record calls, webgl contexts are null (the default type, as in WeChat); toDataURL is a blank PNG",
        ),
    ),
    (
        "canvasToTempFilePath",
        Some(
            "a blank (transparent) PNG of the requested size, also for fileType jpg; canvasId canvases count as 300x150 (element sizes are not read); at most 4096x4096",
        ),
    ),
    (
        "createContext",
        Some("legacy: calls are recorded as getActions() actions; there are no pixels"),
    ),
    (
        "drawCanvas",
        Some("legacy: succeeds and keeps the actions; there are no pixels"),
    ),
    (
        "worklet",
        Some(
            "Skyline without a UI thread: shared/derived values are plain, worklets run on the JS thread, timing/spring/decay jump to their end and call back finished=true in a later task",
        ),
    ),
    (
        "router",
        Some(
            "Skyline: route builders register but are never run (no custom transitions headless); getRouteContext gives an empty object",
        ),
    ),
    (
        "createInterstitialAd",
        Some("ads never fill outside WeChat: load/show reject, onError fires"),
    ),
    (
        "createRewardedVideoAd",
        Some("ads never fill outside WeChat: load/show reject, onError fires"),
    ),
    (
        "getFileSystemManager",
        Some(
            "USER_DATA_PATH, saved and temp files, sandboxed per app (200 MB): access, appendFile, copyFile, getFileInfo, getSavedFileList, mkdir, readdir, readFile, removeSavedFile, rename, rmdir, saveFile, stat, truncate, unlink, writeFile (with …Sync forms); no file descriptors (open/read/write/fstat…), unzip, readCompressedFile or code-package paths",
        ),
    ),
    ("getStorageSync", None),
    ("setStorageSync", None),
    ("removeStorageSync", None),
    ("onSocketOpen", None),
    ("onSocketMessage", None),
    ("onSocketClose", None),
    ("onSocketError", None),
    ("saveFile", None),
    ("getSavedFileList", None),
    ("getSavedFileInfo", None),
    ("removeSavedFile", None),
    ("getFileInfo", None),
];

/// Registry APIs that do less than WeChat's.
const PARTIAL: &[(&str, &str)] = &[
    (
        "getNetworkType",
        "always reports wifi, signalStrength 0, no system proxy (no network provider yet)",
    ),
    ("getSystemInfo", "from the device profile"),
    ("getSystemInfoSync", "from the device profile"),
    (
        "openSetting",
        "only while the user taps (fails \"can only be invoked by user TAP gesture.\" otherwise); the settings page closes unchanged: returns the current authSetting",
    ),
    ("openBluetoothAdapter", RADIO_NOTE),
    ("closeBluetoothAdapter", RADIO_NOTE),
    ("getBluetoothAdapterState", RADIO_NOTE),
    ("startBluetoothDevicesDiscovery", RADIO_NOTE),
    ("startWifi", RADIO_NOTE),
    ("getWifiList", RADIO_NOTE),
    ("getConnectedWifi", RADIO_NOTE),
    (
        "getImageInfo",
        "wxfile:// and network images; package images are not loaded headless",
    ),
    (
        "navigateToMiniProgram",
        "only while the user taps; recorded as a device effect; the other mini program does not run",
    ),
    ("login", PLATFORM_NOTE),
    ("checkSession", PLATFORM_NOTE),
    ("requestPayment", PLATFORM_NOTE),
    ("requestSubscribeMessage", TAP_PLATFORM_NOTE),
    ("getUserProfile", TAP_PLATFORM_NOTE),
];

const RADIO_NOTE: &str = "a headless device has Bluetooth and Wi-Fi off (getSystemInfo says so): fails as WeChat does then, \"not available\" with errCode 10001, \"wifi not turned on\" with errCode 12005";

const PLATFORM_NOTE: &str = "goes to the host's platform client (`PlatformClient`); fails \"not supported\" while none is configured";

const TAP_PLATFORM_NOTE: &str = "only while the user taps (a tap handler, or a modal's or action sheet's callback); goes to the host's platform client (`PlatformClient`); fails \"not supported\" while none is configured";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Implemented,
    Partial(String),
    Unsupported(&'static str),
}

/// Every name Bonsai's `wx` implements (fully or partly).
pub fn implemented_names() -> Vec<String> {
    let mut names: Vec<String> = registry().iter().map(|s| s.name.to_owned()).collect();
    names.extend(JS_APIS.iter().map(|(n, _)| (*n).to_owned()));
    for event in APP_EVENTS {
        names.push(format!("on{event}"));
        names.push(format!("off{event}"));
    }
    names.sort();
    names.dedup();
    names
}

/// How Bonsai supports one `wx` name.
pub fn support(name: &str) -> Support {
    if let Some((_, note)) = PARTIAL.iter().find(|(n, _)| *n == name) {
        return Support::Partial((*note).to_owned());
    }
    if registry().iter().any(|s| s.name == name) {
        return Support::Implemented;
    }
    if let Some((_, note)) = JS_APIS.iter().find(|(n, _)| *n == name) {
        return note.map_or(Support::Implemented, |n| Support::Partial(n.to_owned()));
    }
    let event = name.strip_prefix("on").or_else(|| name.strip_prefix("off"));
    if event.is_some_and(|e| APP_EVENTS.contains(&e)) {
        return Support::Partial(
            "listeners register; the event fires when the host emits it".to_owned(),
        );
    }
    Support::Unsupported(unsupported_reason(name))
}

fn unsupported_reason(name: &str) -> &'static str {
    const PLATFORM: &[&str] = &["getUserInfo", "requestOrderPayment"];
    if name.starts_with("cloud") || name.contains("VK") || name.contains("Xr") {
        "vendor cloud and XR/VK runtimes are out of scope"
    } else if PLATFORM.contains(&name) {
        "needs the platform server (login, payment, messages): not yet"
    } else {
        "not implemented yet: fails with \"<name>:fail not supported\""
    }
}

/// `docs/api-coverage.md` for the official list of names (one per line).
pub fn markdown(official: &str) -> String {
    let names: Vec<&str> = official
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let supports: Vec<(&str, Support)> = names.iter().map(|n| (*n, support(n))).collect();
    let count = |f: fn(&Support) -> bool| supports.iter().filter(|(_, s)| f(s)).count();
    let implemented = count(|s| matches!(s, Support::Implemented));
    let partial = count(|s| matches!(s, Support::Partial(_)));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# wx API coverage\n\nGenerated from the engine's API registry by `BONSAI_UPDATE_DOCS=1 cargo test -p bonsai_engine --test api_coverage`; do not edit.\nThe names are the {} `wx.*` APIs of miniprogram-api-typings.\n\n- implemented: {implemented}\n- partial: {partial}\n- unsupported: {}\n\n| API | support | notes |\n| --- | --- | --- |",
        names.len(),
        names.len() - implemented - partial
    );
    for (name, support) in &supports {
        let (label, note) = match support {
            Support::Implemented => ("implemented", String::new()),
            Support::Partial(note) => ("partial", note.clone()),
            Support::Unsupported(reason) => ("unsupported", (*reason).to_owned()),
        };
        let _ = writeln!(out, "| `wx.{name}` | {label} | {note} |");
    }
    out
}
