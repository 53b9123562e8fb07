//! Device APIs: location, photos and videos, the code scanner, the phone.
//!
//! What a user would produce on a phone (a position, a photo, a scanned
//! code, an address) comes from a [`DeviceProvider`] the host configures:
//! fixtures in tests, the browser in preview. Without one these calls fail
//! with a clear errMsg; the engine never makes up a position or a photo.
//!
//! Effects with nothing to answer (vibrating, keeping the screen on, dialling
//! a number, previewing images, opening a map) succeed as in the devtools and
//! become state of the instance ([`DeviceEffects`]), like a toast, so a test
//! or the preview can see that the app asked for them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::scope::{consent, require_private_info};
use super::{
    AnswerSender, ApiKind, ApiResult, ApiSpec, Capability, defer, fail_with_code, options,
};
use crate::HostState;

/// What an app asks the device for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "api", rename_all = "camelCase")]
pub enum DeviceRequest {
    #[serde(rename_all = "camelCase")]
    GetLocation {
        /// `wgs84` or `gcj02`.
        coordinates: String,
        altitude: bool,
        /// `getFuzzyLocation`: a position rounded to about a kilometre.
        fuzzy: bool,
    },
    #[serde(rename_all = "camelCase")]
    ChooseLocation {
        latitude: Option<f64>,
        longitude: Option<f64>,
    },
    #[serde(rename_all = "camelCase")]
    ChooseMedia {
        count: u32,
        /// `image`, `video`.
        media_type: Vec<String>,
        /// `album`, `camera`.
        source_type: Vec<String>,
    },
    #[serde(rename_all = "camelCase")]
    ScanCode {
        only_from_camera: bool,
        scan_type: Vec<String>,
    },
    ChooseAddress,
}

/// A position, as `wx.getLocation` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub speed: f64,
    #[serde(default = "default_accuracy")]
    pub accuracy: f64,
    #[serde(default)]
    pub altitude: f64,
    #[serde(default)]
    pub vertical_accuracy: f64,
    #[serde(default = "default_accuracy")]
    pub horizontal_accuracy: f64,
}

fn default_accuracy() -> f64 {
    65.0
}

/// A place the user picked on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChosenLocation {
    pub name: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// A photo or video the user picked or shot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    /// The file's bytes (base64 in JSON fixtures).
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
    /// `jpg`, `png`, `mp4`…
    pub extension: String,
    /// `image` or `video`.
    #[serde(default = "image")]
    pub file_type: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    /// Seconds, for videos.
    #[serde(default)]
    pub duration: f64,
}

fn image() -> String {
    "image".to_owned()
}

/// What the scanner read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    pub result: String,
    #[serde(default = "qr_code")]
    pub scan_type: String,
    #[serde(default = "utf8")]
    pub char_set: String,
    /// The mini-program path a WeChat code leads to.
    #[serde(default)]
    pub path: String,
}

fn qr_code() -> String {
    "QR_CODE".to_owned()
}

fn utf8() -> String {
    "utf-8".to_owned()
}

/// A delivery address, as `wx.chooseAddress` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub user_name: String,
    #[serde(default)]
    pub postal_code: String,
    pub province_name: String,
    pub city_name: String,
    pub county_name: String,
    #[serde(default)]
    pub street_name: String,
    pub detail_info: String,
    #[serde(default)]
    pub national_code: String,
    pub tel_number: String,
}

/// A provider's answer to a [`DeviceRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "camelCase")]
pub enum DeviceAnswer {
    Location(Location),
    ChosenLocation(ChosenLocation),
    Media { files: Vec<MediaFile> },
    Scan(ScanResult),
    Address(Address),
}

/// Where a device answer goes once the provider has it.
pub type DeviceCompletion = Box<dyn FnOnce(Result<DeviceAnswer, String>) + Send>;

/// Answers device requests for an instance. Implementations may answer
/// later and from another thread (the preview asks the browser). An error is
/// the errMsg reason, e.g. `"cancel"` when the user backs out.
pub trait DeviceProvider: std::fmt::Debug + Send + Sync {
    fn request(&self, request: DeviceRequest, done: DeviceCompletion);
}

/// A provider answering from fixed data: what tests and `bonsai run
/// --device` use. A request without a fixture fails, naming what is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureDevice {
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub chosen_location: Option<ChosenLocation>,
    /// Offered to chooseImage/chooseMedia/chooseVideo, first ones first.
    #[serde(default)]
    pub media: Vec<MediaFile>,
    #[serde(default)]
    pub scan: Option<ScanResult>,
    #[serde(default)]
    pub address: Option<Address>,
}

impl FixtureDevice {
    fn answer(&self, request: &DeviceRequest) -> Result<DeviceAnswer, String> {
        let missing = |what: &str| format!("no {what} fixture is configured for this run");
        match request {
            DeviceRequest::GetLocation { .. } => self
                .location
                .clone()
                .map(DeviceAnswer::Location)
                .ok_or_else(|| missing("location")),
            DeviceRequest::ChooseLocation { .. } => self
                .chosen_location
                .clone()
                .map(DeviceAnswer::ChosenLocation)
                .ok_or_else(|| missing("chosenLocation")),
            DeviceRequest::ChooseMedia {
                count, media_type, ..
            } => {
                let files: Vec<MediaFile> = self
                    .media
                    .iter()
                    .filter(|f| media_type.is_empty() || media_type.contains(&f.file_type))
                    .take(*count as usize)
                    .cloned()
                    .collect();
                if files.is_empty() {
                    Err(missing("media"))
                } else {
                    Ok(DeviceAnswer::Media { files })
                }
            }
            DeviceRequest::ScanCode { .. } => self
                .scan
                .clone()
                .map(DeviceAnswer::Scan)
                .ok_or_else(|| missing("scan")),
            DeviceRequest::ChooseAddress => self
                .address
                .clone()
                .map(DeviceAnswer::Address)
                .ok_or_else(|| missing("address")),
        }
    }
}

impl DeviceProvider for FixtureDevice {
    fn request(&self, request: DeviceRequest, done: DeviceCompletion) {
        done(self.answer(&request));
    }
}

/// Effects the app asked of the phone or the super app (vibrating,
/// dialling, opening another mini program…), in order, and the screen's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceEffects {
    /// `{"api": "vibrateShort", "type": "light"}`, `{"api": "makePhoneCall", …}`…
    pub log: Vec<Value>,
    pub keep_screen_on: bool,
    /// 0–1; `None` until the app sets it (the system brightness).
    pub screen_brightness: Option<f64>,
}

/// Asks the host's provider, answering the call when it replies.
fn ask(
    state: &mut HostState,
    request: DeviceRequest,
    finish: impl FnOnce(&mut HostState, Result<Value, String>) -> ApiResult + 'static,
) -> ApiResult {
    let Some(provider) = state.device_provider.clone() else {
        return Err(
            "not supported: this host has no device provider (configure fixtures, e.g. `bonsai run --device fixtures.json`)"
                .to_owned(),
        );
    };
    let (waiting, sender) = defer(state, finish);
    provider.request(request, Box::new(move |answer| send(sender, answer)));
    Ok(waiting)
}

fn send(sender: AnswerSender, answer: Result<DeviceAnswer, String>) {
    sender.send(answer.and_then(|a| serde_json::to_value(a).map_err(|e| e.to_string())));
}

fn answer_of(result: Result<Value, String>) -> Result<DeviceAnswer, String> {
    serde_json::from_value(result?).map_err(|e| format!("the device provider answered badly: {e}"))
}

fn unexpected(answer: &DeviceAnswer) -> String {
    format!("the device provider answered the wrong request: {answer:?}")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationOptions {
    #[serde(default = "wgs84", rename = "type")]
    coordinates: String,
    #[serde(default)]
    altitude: bool,
}

fn wgs84() -> String {
    "wgs84".to_owned()
}

fn location_api(
    state: &mut HostState,
    args: Value,
    api: &'static str,
    scope: &str,
    fuzzy: bool,
) -> ApiResult {
    require_private_info(state, api)?;
    let LocationOptions {
        coordinates,
        altitude,
    } = options(args.clone())?;
    if coordinates != "wgs84" && coordinates != "gcj02" {
        return Err(format!(
            "parameter error: type should be wgs84 or gcj02, got {coordinates}"
        ));
    }
    if let Some(waiting) = consent(state, api, scope, &args)? {
        return Ok(waiting);
    }
    let request = DeviceRequest::GetLocation {
        coordinates,
        altitude,
        fuzzy,
    };
    ask(state, request, finish_location)
}

fn finish_location(_: &mut HostState, result: Result<Value, String>) -> ApiResult {
    match answer_of(result)? {
        DeviceAnswer::Location(location) => {
            serde_json::to_value(location).map_err(|e| e.to_string())
        }
        other => Err(unexpected(&other)),
    }
}

fn get_location(state: &mut HostState, args: Value) -> ApiResult {
    location_api(state, args, "getLocation", "scope.userLocation", false)
}

fn get_fuzzy_location(state: &mut HostState, args: Value) -> ApiResult {
    location_api(
        state,
        args,
        "getFuzzyLocation",
        "scope.userFuzzyLocation",
        true,
    )
}

#[derive(Deserialize)]
struct ChooseLocationOptions {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

fn choose_location(state: &mut HostState, args: Value) -> ApiResult {
    require_private_info(state, "chooseLocation")?;
    let ChooseLocationOptions {
        latitude,
        longitude,
    } = options(args)?;
    let request = DeviceRequest::ChooseLocation {
        latitude,
        longitude,
    };
    ask(state, request, |_, result| match answer_of(result)? {
        DeviceAnswer::ChosenLocation(place) => {
            serde_json::to_value(place).map_err(|e| e.to_string())
        }
        other => Err(unexpected(&other)),
    })
}

fn choose_address(state: &mut HostState, args: Value) -> ApiResult {
    require_private_info(state, "chooseAddress")?;
    let _: Value = options(args)?;
    ask(
        state,
        DeviceRequest::ChooseAddress,
        |_, result| match answer_of(result)? {
            DeviceAnswer::Address(address) => {
                serde_json::to_value(address).map_err(|e| e.to_string())
            }
            other => Err(unexpected(&other)),
        },
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChooseMediaOptions {
    #[serde(default = "nine")]
    count: u32,
    #[serde(default = "image_and_video")]
    media_type: Vec<String>,
    #[serde(default = "album_and_camera")]
    source_type: Vec<String>,
}

fn nine() -> u32 {
    9
}

fn image_and_video() -> Vec<String> {
    vec!["image".to_owned(), "video".to_owned()]
}

fn album_and_camera() -> Vec<String> {
    vec!["album".to_owned(), "camera".to_owned()]
}

/// The picked files, stored as temp files the app can read.
fn picked_files(
    state: &mut HostState,
    result: Result<Value, String>,
) -> Result<Vec<Value>, String> {
    let files = match answer_of(result)? {
        DeviceAnswer::Media { files } => files,
        other => return Err(unexpected(&other)),
    };
    Ok(files
        .into_iter()
        .map(|file| {
            let size = file.bytes.len();
            let path = state.create_temp_file(file.bytes, &file.extension);
            json!({
                "tempFilePath": path,
                "size": size,
                "fileType": file.file_type,
                "width": file.width,
                "height": file.height,
                "duration": file.duration,
            })
        })
        .collect())
}

fn choose_media_request(args: Value, media_type: Option<&str>) -> Result<DeviceRequest, String> {
    let ChooseMediaOptions {
        count,
        media_type: requested,
        source_type,
    } = options(args)?;
    if count == 0 || count > 20 {
        return Err("parameter error: count should be between 1 and 20".to_owned());
    }
    Ok(DeviceRequest::ChooseMedia {
        count,
        media_type: media_type.map_or(requested, |t| vec![t.to_owned()]),
        source_type,
    })
}

fn choose_media(state: &mut HostState, args: Value) -> ApiResult {
    let request = choose_media_request(args, None)?;
    ask(state, request, |state, result| {
        let files = picked_files(state, result)?;
        let all_images = files.iter().all(|f| f["fileType"] == "image");
        let all_videos = files.iter().all(|f| f["fileType"] == "video");
        let kind = match (all_images, all_videos) {
            (true, _) => "image",
            (_, true) => "video",
            _ => "mix",
        };
        Ok(json!({ "tempFiles": files, "type": kind }))
    })
}

fn choose_image(state: &mut HostState, args: Value) -> ApiResult {
    let request = choose_media_request(args, Some("image"))?;
    ask(state, request, |state, result| {
        let files = picked_files(state, result)?;
        let paths: Vec<&Value> = files.iter().map(|f| &f["tempFilePath"]).collect();
        let temp_files: Vec<Value> = files
            .iter()
            .map(|f| json!({ "path": f["tempFilePath"], "size": f["size"] }))
            .collect();
        Ok(json!({ "tempFilePaths": paths, "tempFiles": temp_files }))
    })
}

fn choose_video(state: &mut HostState, args: Value) -> ApiResult {
    let mut request = choose_media_request(args, Some("video"))?;
    if let DeviceRequest::ChooseMedia { count, .. } = &mut request {
        *count = 1;
    }
    ask(state, request, |state, result| {
        let file = picked_files(state, result)?
            .into_iter()
            .next()
            .ok_or("the device provider picked no video")?;
        Ok(json!({
            "tempFilePath": file["tempFilePath"],
            "duration": file["duration"],
            "size": file["size"],
            "width": file["width"],
            "height": file["height"],
        }))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanOptions {
    #[serde(default)]
    only_from_camera: bool,
    #[serde(default = "bar_and_qr_code")]
    scan_type: Vec<String>,
}

fn bar_and_qr_code() -> Vec<String> {
    vec!["barCode".to_owned(), "qrCode".to_owned()]
}

fn scan_code(state: &mut HostState, args: Value) -> ApiResult {
    let ScanOptions {
        only_from_camera,
        scan_type,
    } = options(args)?;
    let request = DeviceRequest::ScanCode {
        only_from_camera,
        scan_type,
    };
    ask(state, request, |_, result| match answer_of(result)? {
        DeviceAnswer::Scan(scan) => {
            let raw = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                scan.result.as_bytes(),
            );
            let mut value = serde_json::to_value(scan).map_err(|e| e.to_string())?;
            value["rawData"] = json!(raw);
            Ok(value)
        }
        other => Err(unexpected(&other)),
    })
}

/// Records an effect; `fields` are the options WeChat documents for it.
pub(super) fn record(state: &mut HostState, api: &str, fields: Value) -> ApiResult {
    let mut entry = json!({ "api": api });
    if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
        entry.extend(fields);
    }
    state.effects.log.push(entry);
    Ok(json!({}))
}

#[derive(Deserialize)]
struct VibrateOptions {
    #[serde(default = "light", rename = "type")]
    strength: String,
}

fn light() -> String {
    "light".to_owned()
}

fn vibrate_short(state: &mut HostState, args: Value) -> ApiResult {
    let VibrateOptions { strength } = options(args)?;
    if !["heavy", "medium", "light"].contains(&strength.as_str()) {
        return Err(format!(
            "parameter error: type should be heavy, medium or light, got {strength}"
        ));
    }
    record(state, "vibrateShort", json!({ "type": strength }))
}

fn vibrate_long(state: &mut HostState, _: Value) -> ApiResult {
    record(state, "vibrateLong", json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneOptions {
    phone_number: String,
}

fn make_phone_call(state: &mut HostState, args: Value) -> ApiResult {
    let PhoneOptions { phone_number } = options(args)?;
    if phone_number.trim().is_empty() {
        return Err("parameter error: phoneNumber should not be empty".to_owned());
    }
    record(
        state,
        "makePhoneCall",
        json!({ "phoneNumber": phone_number }),
    )
}

#[derive(Deserialize)]
struct PreviewOptions {
    urls: Vec<String>,
    #[serde(default)]
    current: Option<String>,
}

fn preview_image(state: &mut HostState, args: Value) -> ApiResult {
    let PreviewOptions { urls, current } = options(args)?;
    if urls.is_empty() {
        return Err("parameter error: urls should not be empty".to_owned());
    }
    let current = current.unwrap_or_else(|| urls[0].clone());
    record(
        state,
        "previewImage",
        json!({ "urls": urls, "current": current }),
    )
}

#[derive(Deserialize)]
struct OpenLocationOptions {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
}

fn open_location(state: &mut HostState, args: Value) -> ApiResult {
    let OpenLocationOptions {
        latitude,
        longitude,
        name,
        address,
    } = options(args)?;
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err("parameter error: latitude or longitude out of range".to_owned());
    }
    record(
        state,
        "openLocation",
        json!({ "latitude": latitude, "longitude": longitude, "name": name, "address": address }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeepScreenOnOptions {
    keep_screen_on: bool,
}

fn set_keep_screen_on(state: &mut HostState, args: Value) -> ApiResult {
    let KeepScreenOnOptions { keep_screen_on } = options(args)?;
    state.effects.keep_screen_on = keep_screen_on;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct BrightnessOptions {
    value: f64,
}

fn set_screen_brightness(state: &mut HostState, args: Value) -> ApiResult {
    let BrightnessOptions { value } = options(args)?;
    if !(0.0..=1.0).contains(&value) {
        return Err("parameter error: value should be between 0 and 1".to_owned());
    }
    state.effects.screen_brightness = Some(value);
    Ok(json!({}))
}

fn get_screen_brightness(state: &mut HostState, _: Value) -> ApiResult {
    // Phones report the system brightness until the app sets its own.
    Ok(json!({ "value": state.effects.screen_brightness.unwrap_or(0.5) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SaveToAlbumOptions {
    file_path: String,
}

fn save_to_album(state: &mut HostState, args: Value) -> ApiResult {
    let SaveToAlbumOptions { file_path } = options(args.clone())?;
    if let Some(waiting) = consent(
        state,
        "saveImageToPhotosAlbum",
        "scope.writePhotosAlbum",
        &args,
    )? {
        return Ok(waiting);
    }
    state.read_file(&file_path)?;
    record(
        state,
        "saveImageToPhotosAlbum",
        json!({ "filePath": file_path }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MiniProgramOptions {
    app_id: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    extra_data: Value,
    #[serde(default = "release")]
    env_version: String,
}

fn release() -> String {
    "release".to_owned()
}

/// Leaving for another mini program: recorded, and the user agrees (the
/// devtools simulate it the same way); this app stays open underneath.
fn navigate_to_mini_program(state: &mut HostState, args: Value) -> ApiResult {
    let MiniProgramOptions {
        app_id,
        path,
        extra_data,
        env_version,
    } = options(args)?;
    if app_id.is_empty() {
        return Err("parameter error: appId is required".to_owned());
    }
    record(
        state,
        "navigateToMiniProgram",
        json!({ "appId": app_id, "path": path, "extraData": extra_data, "envVersion": env_version }),
    )
}

fn exit_mini_program(state: &mut HostState, _: Value) -> ApiResult {
    record(state, "exitMiniProgram", json!({}))
}

fn navigate_back_mini_program(state: &mut HostState, args: Value) -> ApiResult {
    let extra: Value = options(args)?;
    record(
        state,
        "navigateBackMiniProgram",
        json!({ "extraData": extra.get("extraData") }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerServiceOptions {
    #[serde(default)]
    ext_info: Value,
    corp_id: String,
}

fn open_customer_service_chat(state: &mut HostState, args: Value) -> ApiResult {
    let CustomerServiceOptions { ext_info, corp_id } = options(args)?;
    record(
        state,
        "openCustomerServiceChat",
        json!({ "extInfo": ext_info, "corpId": corp_id }),
    )
}

/// A headless device's radios are off (its profile says so too:
/// `bluetoothEnabled`/`wifiEnabled` are false), and WeChat says so with the
/// errCodes it documents: 10001 "not available" (当前蓝牙适配器不可用) for
/// Bluetooth, 12005 "wifi not turned on" for Wi-Fi.
fn bluetooth_off(state: &mut HostState, _: Value) -> ApiResult {
    fail_with_code(state, 10001, "not available")
}

fn wifi_off(state: &mut HostState, _: Value) -> ApiResult {
    fail_with_code(state, 12005, "wifi not turned on")
}

pub(super) fn apis() -> Vec<ApiSpec> {
    let api = |name, capability, handler| ApiSpec {
        name,
        kind: ApiKind::Async,
        capability,
        handler,
    };
    use Capability::{Device, Location, Media};
    vec![
        api("getLocation", Location, get_location),
        api("getFuzzyLocation", Location, get_fuzzy_location),
        api("chooseLocation", Location, choose_location),
        api("chooseAddress", Location, choose_address),
        api("openLocation", Device, open_location),
        api("chooseMedia", Media, choose_media),
        api("chooseImage", Media, choose_image),
        api("chooseVideo", Media, choose_video),
        api("previewImage", Media, preview_image),
        api("saveImageToPhotosAlbum", Media, save_to_album),
        api("scanCode", Media, scan_code),
        api("makePhoneCall", Device, make_phone_call),
        api("vibrateShort", Device, vibrate_short),
        api("vibrateLong", Device, vibrate_long),
        api("setKeepScreenOn", Device, set_keep_screen_on),
        api("setScreenBrightness", Device, set_screen_brightness),
        api("getScreenBrightness", Device, get_screen_brightness),
        api("navigateToMiniProgram", Device, navigate_to_mini_program),
        api(
            "navigateBackMiniProgram",
            Device,
            navigate_back_mini_program,
        ),
        api("exitMiniProgram", Device, exit_mini_program),
        api(
            "openCustomerServiceChat",
            Device,
            open_customer_service_chat,
        ),
        api("openBluetoothAdapter", Device, bluetooth_off),
        api("closeBluetoothAdapter", Device, bluetooth_off),
        api("getBluetoothAdapterState", Device, bluetooth_off),
        api("startBluetoothDevicesDiscovery", Device, bluetooth_off),
        api("startWifi", Device, wifi_off),
        api("getWifiList", Device, wifi_off),
        api("getConnectedWifi", Device, wifi_off),
    ]
}

/// Fixture files carry their bytes as base64 text.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
