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
    /// An iPhone 14-class phone, WeChat's most common shape.
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
        Self::iphone()
    }
}
