//! Device profiles: what `wx.getSystemInfoSync` reports and the window size
//! the backend gives glass-easel.

use serde::Serialize;

/// The subset of WeChat's system info a device determines.
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
    pub language: String,
    pub version: String,
    #[serde(rename = "SDKVersion")]
    pub sdk_version: String,
    pub theme: String,
}

impl DeviceProfile {
    /// The WeChat devtools' simulator of an iPhone 14-class phone, which is
    /// what developers test in: it reports `platform: "devtools"` (apps
    /// branch on that, e.g. to skip ads) with the phone's screen.
    pub fn devtools_iphone() -> Self {
        DeviceProfile {
            brand: "devtools".into(),
            system: "iOS 10.0.1".into(),
            platform: "devtools".into(),
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
            language: "zh_CN".into(),
            version: "8.0.50".into(),
            sdk_version: "3.4.0".into(),
            theme: "light".into(),
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
            ..Self::iphone()
        }
    }
}

impl Default for DeviceProfile {
    fn default() -> Self {
        Self::devtools_iphone()
    }
}
