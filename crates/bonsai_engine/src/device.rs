//! Device profiles: what `wx.getSystemInfoSync` (and `getWindowInfo`,
//! `getDeviceInfo`, `getAppBaseInfo`) reports and the window size the
//! backend gives glass-easel.

use serde::Serialize;

/// The part of WeChat's system info a device determines. Field names are
/// the ones `wx.getSystemInfoSync` reports (camelCase), so the JS host can
/// read the profile as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProfile {
    pub brand: String,
    pub model: String,
    pub system: String,
    pub platform: String,
    pub pixel_ratio: f64,
    pub screen_width: u32,
    pub screen_height: u32,
    pub window_width: u32,
    pub window_height: u32,
    pub status_bar_height: u32,
    /// The unsafe strip at the bottom of the screen in portrait (the home
    /// indicator): `safeArea.bottom` is `screenHeight` minus this.
    pub safe_area_bottom_inset: u32,
    pub language: String,
    pub version: String,
    #[serde(rename = "SDKVersion")]
    pub sdk_version: String,
    /// The system theme; apps only see it when app.json sets `darkmode: true`.
    pub theme: String,
    /// The user's font size setting, in px.
    pub font_size_setting: u32,
    /// WeChat's performance grade (-1: unknown, ≥1 better is higher).
    pub benchmark_level: i32,
    /// `portrait` or `landscape`.
    pub device_orientation: String,
    /// Whether vConsole debugging is on (`wx.setEnableDebug`).
    pub enable_debug: bool,
    /// The application binary interface (`getDeviceInfo().abi`).
    pub abi: String,
    /// The app id of the super app the mini program runs in
    /// (`getAppBaseInfo().host.appId`); empty in the devtools.
    pub host_app_id: String,
    /// The system's Bluetooth switch. Bonsai's devices have no radio, so
    /// its profiles have it off, and the Bluetooth APIs fail as on a phone
    /// with Bluetooth off (errCode 10001).
    pub bluetooth_enabled: bool,
    /// The system's Wi-Fi switch; off like Bluetooth (the Wi-Fi APIs fail
    /// with errCode 12005). The network itself still reports `wifi`.
    pub wifi_enabled: bool,
    /// The system's location switch.
    pub location_enabled: bool,
    /// Whether WeChat may use each of the phone's capabilities (the system
    /// permissions WeChat itself holds, not the mini program's scopes).
    pub album_authorized: bool,
    pub camera_authorized: bool,
    pub location_authorized: bool,
    pub microphone_authorized: bool,
    pub notification_authorized: bool,
    pub notification_alert_authorized: bool,
    pub notification_badge_authorized: bool,
    pub notification_sound_authorized: bool,
    pub phone_calendar_authorized: bool,
    /// iOS's approximate location (`true`: fuzzy).
    pub location_reduced_accuracy: bool,
}

impl DeviceProfile {
    /// The WeChat devtools' simulator of an iPhone 14-class phone, which is
    /// what developers test in: it reports `platform: "devtools"` (apps
    /// branch on that, e.g. to skip ads) with the phone's screen, and every
    /// permission granted, as the devtools do.
    pub fn devtools_iphone() -> Self {
        DeviceProfile {
            brand: "devtools".into(),
            system: "iOS 10.0.1".into(),
            platform: "devtools".into(),
            benchmark_level: 1,
            ..Self::iphone()
        }
    }

    /// An iPhone 14-class phone as WeChat on the device reports it.
    pub fn iphone() -> Self {
        DeviceProfile {
            brand: "iPhone".into(),
            model: "iPhone 14".into(),
            system: "iOS 17.0".into(),
            platform: "ios".into(),
            pixel_ratio: 3.0,
            screen_width: 390,
            screen_height: 844,
            window_width: 390,
            window_height: 753,
            status_bar_height: 47,
            safe_area_bottom_inset: 34,
            language: "zh_CN".into(),
            version: "8.0.50".into(),
            sdk_version: "3.4.0".into(),
            theme: "light".into(),
            font_size_setting: 16,
            // Android only: iOS reports -1 (unknown).
            benchmark_level: -1,
            device_orientation: "portrait".into(),
            enable_debug: false,
            abi: "arm64".into(),
            host_app_id: String::new(),
            bluetooth_enabled: false,
            wifi_enabled: false,
            location_enabled: true,
            album_authorized: true,
            camera_authorized: true,
            location_authorized: true,
            microphone_authorized: true,
            notification_authorized: true,
            notification_alert_authorized: true,
            notification_badge_authorized: true,
            notification_sound_authorized: true,
            phone_calendar_authorized: true,
            location_reduced_accuracy: false,
        }
    }

    /// A mid-range Android phone.
    pub fn android() -> Self {
        DeviceProfile {
            brand: "Xiaomi".into(),
            model: "Redmi Note 12".into(),
            system: "Android 13".into(),
            platform: "android".into(),
            pixel_ratio: 2.75,
            screen_width: 393,
            screen_height: 873,
            window_width: 393,
            window_height: 780,
            status_bar_height: 32,
            safe_area_bottom_inset: 0,
            benchmark_level: 25,
            abi: "arm64-v8a".into(),
            ..Self::iphone()
        }
    }

    /// The safe area in portrait (`safeArea` of `getSystemInfoSync` and
    /// `getWindowInfo`): below the status bar, above the home indicator.
    pub fn safe_area(&self) -> serde_json::Value {
        let top = self.status_bar_height;
        let bottom = self
            .screen_height
            .saturating_sub(self.safe_area_bottom_inset)
            .max(top);
        serde_json::json!({
            "left": 0,
            "right": self.screen_width,
            "top": top,
            "bottom": bottom,
            "width": self.screen_width,
            "height": bottom - top,
        })
    }
}

impl Default for DeviceProfile {
    fn default() -> Self {
        Self::devtools_iphone()
    }
}
