//! One JS fixture per `wx` API of the 100 that real apps use most
//! (`tests/fixtures/apis/top100.tsv`, ranked by how many apps call each).
//! Every fixture calls its API the way apps do and at least once in a way
//! that fails, and logs what came back; the log is snapshotted, so a result
//! shape or errMsg that drifts from WeChat's shows up as a diff.
//!
//! Fixtures run in one app with a host that has every provider a phone
//! would (fixture location and photos, an echoing network, a platform that
//! logs in) and a user who agrees to every prompt and taps the first choice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bonsai_compiler::Compiler;
use bonsai_engine::api::AnswerSender;
use bonsai_engine::api::device::{ChosenLocation, FixtureDevice, Location, MediaFile, ScanResult};
use bonsai_engine::api::network::{
    Completion, Domains, HttpRequest, HttpResponse, NetworkProvider,
};
use bonsai_engine::api::platform::{PlatformClient, PlatformRequest};
use bonsai_engine::api::scope::PromptPolicy;
use bonsai_engine::api::ui::{DialogAnswer, DialogKind};
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_package::{LoadOptions, PackageFiles};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/apis")
}

/// A 2×1 PNG: what the fixture camera shoots and the network serves.
fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&2u32.to_be_bytes());
    png.extend_from_slice(&1u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0]);
    png
}

/// Echoes each request back as JSON; `.png` URLs serve an image.
#[derive(Debug)]
struct EchoNetwork;

impl NetworkProvider for EchoNetwork {
    fn request(&self, request: HttpRequest, done: Completion) {
        let (content_type, body) = if request.url.contains(".png") {
            ("image/png", tiny_png())
        } else {
            let echo = serde_json::json!({
                "url": request.url,
                "method": request.method,
                "body": String::from_utf8_lossy(&request.body),
            });
            ("application/json", echo.to_string().into_bytes())
        };
        let header = [("Content-Type".to_owned(), content_type.to_owned())].into();
        done(Ok(HttpResponse {
            status_code: 200,
            header,
            body,
        }));
    }
}

/// A platform whose user is signed in and pays whatever is asked (and has
/// subscription messages on, except for the template `TEMPLATE_SWITCHED_OFF`),
/// and whose registry has a newer version of every app.
#[derive(Debug)]
struct FixturePlatform;

impl PlatformClient for FixturePlatform {
    fn request(&self, app_id: &str, request: PlatformRequest, answer: AnswerSender) {
        // A user who switched subscription messages off: WeChat's errCode 20004.
        if let PlatformRequest::RequestSubscribeMessage { template_ids } = &request
            && template_ids.iter().any(|id| id == "TEMPLATE_SWITCHED_OFF")
        {
            answer.fail_with_code(20004, "The main switch is switched off");
            return;
        }
        let result = match request {
            PlatformRequest::Login => {
                Ok(serde_json::json!({ "code": format!("code-for-{app_id}") }))
            }
            PlatformRequest::CheckSession => Ok(serde_json::json!({})),
            PlatformRequest::RequestPayment { .. } => Ok(serde_json::json!({})),
            PlatformRequest::RequestSubscribeMessage { template_ids } => Ok(template_ids
                .into_iter()
                .map(|id| (id, serde_json::json!("accept")))
                .collect()),
            PlatformRequest::GetUserProfile { .. } => Ok(serde_json::json!({
                "userInfo": { "nickName": "微信用户", "avatarUrl": "", "gender": 0, "country": "", "province": "", "city": "", "language": "zh_CN" },
            })),
            PlatformRequest::CheckForUpdate => Ok(serde_json::json!({ "hasUpdate": true })),
            PlatformRequest::DownloadUpdate | PlatformRequest::ApplyUpdate => {
                Ok(serde_json::json!({}))
            }
        };
        answer.send(result);
    }
}

fn device() -> FixtureDevice {
    FixtureDevice {
        location: Some(Location {
            latitude: 31.2304,
            longitude: 121.4737,
            speed: 0.0,
            accuracy: 65.0,
            altitude: 0.0,
            vertical_accuracy: 0.0,
            horizontal_accuracy: 65.0,
        }),
        chosen_location: Some(ChosenLocation {
            name: "外滩".to_owned(),
            address: "上海市黄浦区中山东一路".to_owned(),
            latitude: 31.2400,
            longitude: 121.4900,
        }),
        media: vec![MediaFile {
            bytes: tiny_png(),
            extension: "png".to_owned(),
            file_type: "image".to_owned(),
            width: 2,
            height: 1,
            duration: 0.0,
        }],
        scan: Some(ScanResult {
            result: "https://shop.example/p/42".to_owned(),
            scan_type: "QR_CODE".to_owned(),
            char_set: "utf-8".to_owned(),
            path: String::new(),
        }),
        address: None,
    }
}

const APP_JSON: &str = r#"{
  "pages": ["pages/index/index", "pages/second/second", "pages/tab/tab"],
  "tabBar": { "list": [
    { "pagePath": "pages/index/index", "text": "Home" },
    { "pagePath": "pages/tab/tab", "text": "Tab" }
  ] },
  "permission": { "scope.userLocation": { "desc": "to find the nearest shop" } },
  "requiredPrivateInfos": ["getLocation", "chooseLocation"]
}"#;

/// Runs one fixture as the body of an async function in the index page's
/// onLoad, answers every prompt, and returns what it logged.
fn run_fixture(source: &str) -> String {
    let mut files = PackageFiles::new();
    files.insert("app.json", APP_JSON);
    files.insert("project.config.json", r#"{"appid":"wxfixture00000001"}"#);
    files.insert("app.js", "App({})");
    files.insert(
        "pages/index/index.wxml",
        "<view id=\"box\" class=\"box\">{{out}}</view><canvas type=\"2d\" id=\"c\"></canvas>",
    );
    files.insert(
        "pages/index/index.js",
        format!(
            "const log = (label, value) => console.log(label, JSON.stringify(value));\n\
             Page({{ data: {{ out: '' }}, onLoad() {{ (async () => {{\n{source}\n}})().catch((e) => console.log('threw', e && (e.errMsg || e.message))); }} }})"
        ),
    );
    for page in ["second", "tab"] {
        files.insert(
            format!("pages/{page}/{page}.wxml"),
            format!("<view>{page}</view>"),
        );
        files.insert(
            format!("pages/{page}/{page}.js"),
            format!("Page({{ onLoad(q) {{ console.log('{page} onLoad', JSON.stringify(q)); }} }})"),
        );
    }
    let (manifest, diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    let (compiled, diagnostics) = Compiler::new().compile(&manifest);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    let options = EngineOptions {
        network: Some(Arc::new(EchoNetwork)),
        domains: Domains::all(vec!["api.shop.example".to_owned()]),
        device_provider: Some(Arc::new(device())),
        platform: Some(Arc::new(FixturePlatform)),
        prompt_policy: PromptPolicy::Ask,
        ..EngineOptions::default()
    };
    let mut instance = AppInstance::new(Arc::new(compiled), &options).expect("instance starts");
    instance.launch(&LaunchOptions::default());
    // The user: agrees, confirms, taps the first item. Bounded, in case a
    // fixture keeps asking.
    for _ in 0..20 {
        instance.advance(2_000);
        let Some(dialog) = instance.ui().dialogs.first().cloned() else {
            break;
        };
        let answer = match dialog.kind {
            DialogKind::ActionSheet { .. } => DialogAnswer::Tap(0),
            _ => DialogAnswer::Confirm,
        };
        instance.answer_dialog(dialog.id, &answer);
    }
    let mut out: Vec<String> = instance
        .console()
        .into_iter()
        .filter(|m| !m.text.contains("is not supported by Bonsai yet"))
        .map(|m| m.text)
        .collect();
    for error in instance.errors() {
        out.push(format!("uncaught: {}", error.message));
    }
    out.join("\n")
}

/// The top-100 list: (name, apps using it).
fn top100() -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(fixtures_dir().join("top100.tsv")).expect("top100.tsv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split('\t');
            let name = cells.next()?.strip_prefix("wx.")?.to_owned();
            let count = cells.next()?.parse().ok()?;
            Some((name, count))
        })
        .collect()
}

/// Out of scope, as the issue says: vendor cloud and XR/VK runtimes.
fn excluded(name: &str) -> bool {
    name.starts_with("cloud.")
        || name.contains("VK")
        || name.contains("Xr")
        || name.starts_with("xr")
}

#[test]
fn every_fixture_matches_its_snapshot() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".js")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for name in &names {
        let source =
            std::fs::read_to_string(fixtures_dir().join(format!("{name}.js"))).expect("fixture");
        let output = run_fixture(&source);
        let outcome = std::panic::catch_unwind(|| {
            insta::with_settings!({ snapshot_suffix => name.as_str(), prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!("api", output);
            });
        });
        if outcome.is_err() {
            failures.push(name.clone());
        }
    }
    assert!(failures.is_empty(), "snapshots differ for: {failures:?}");
}

#[test]
fn at_least_90_of_the_top_100_have_a_fixture() {
    let top = top100();
    assert_eq!(top.len(), 100);
    let in_scope: Vec<&String> = top
        .iter()
        .map(|(n, _)| n)
        .filter(|n| !excluded(n))
        .collect();
    let covered: Vec<&&String> = in_scope
        .iter()
        .filter(|n| fixtures_dir().join(format!("{n}.js")).exists())
        .collect();
    let missing: Vec<&&String> = in_scope.iter().filter(|n| !covered.contains(n)).collect();
    assert!(
        covered.len() >= 90,
        "{} of {} in-scope top-100 APIs have fixtures; missing: {missing:?}",
        covered.len(),
        in_scope.len()
    );
}
