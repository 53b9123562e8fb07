//! `wx` APIs as an app calls them: the callback and Promise conventions,
//! errMsg shapes, dialogs the host answers, storage limits, and capabilities
//! denied by the grant.

mod support;

use std::sync::Arc;

use bonsai_compiler::Compiler;
use bonsai_engine::api::ui::{DialogAnswer, DialogKind};
use bonsai_engine::api::{Capability, Grant};
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_package::{LoadOptions, PackageFiles};
use support::{logs, run_page};

/// Runs `script` as the body of a page's onLoad and returns the instance.
fn run(script: &str, options: &EngineOptions) -> AppInstance {
    run_page(
        "<view id=\"out\">{{out}}</view>",
        &format!("data: {{ out: '' }}, onLoad() {{\n{script}\n}}"),
        options,
    )
}

#[test]
fn callbacks_and_promises_follow_wechat() {
    let instance = run(
        r#"
        wx.setStorageSync('k', { a: 1 });
        console.log('sync', JSON.stringify(wx.getStorageSync('k')), JSON.stringify(wx.getStorageSync('missing')));
        wx.getStorage({ key: 'k', success: (r) => console.log('success', r.errMsg, JSON.stringify(r.data)), complete: (r) => console.log('complete', r.errMsg) });
        wx.getStorage({ key: 'missing', fail: (r) => console.log('fail', r.errMsg) });
        wx.getStorage({ key: 'k' }).then((r) => console.log('then', r.errMsg));
        wx.getStorage({ key: 'missing' }).catch((r) => console.log('catch', r.errMsg));
        console.log('info', JSON.stringify(wx.getStorageInfoSync().keys));
        console.log('canIUse', wx.canIUse('getStorage'), wx.canIUse('startSoterAuthentication'));
        "#,
        &EngineOptions::default(),
    );
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    insta::assert_snapshot!(logs(&instance).join("\n"), @r#"
    sync {"a":1} ""
    info ["k"]
    canIUse true false
    then getStorage:ok
    catch getStorage:fail data not found
    success getStorage:ok {"a":1}
    complete getStorage:ok
    fail getStorage:fail data not found
    "#);
}

#[test]
fn bad_arguments_fail_with_errmsg_not_a_crash() {
    let instance = run(
        r#"
        wx.showToast({ title: 42, fail: (r) => console.log(r.errMsg.split(':').slice(0, 2).join(':')) });
        try { wx.setStorageSync(); } catch (e) { console.log('threw', e.message.split(':').slice(0, 2).join(':')); }
        "#,
        &EngineOptions::default(),
    );
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    assert_eq!(
        logs(&instance),
        [
            "threw setStorageSync:fail parameter error",
            "showToast:fail parameter error"
        ]
    );
}

#[test]
fn storage_quota_is_enforced() {
    let instance = run(
        r#"
        const big = 'x'.repeat(600 * 1024);
        try { wx.setStorageSync('too-big', big + big); } catch (e) { console.log(e.message); }
        let stored = 0;
        for (let i = 0; i < 20; i += 1) {
          try { wx.setStorageSync('k' + i, big); stored += 1; } catch (e) { console.log(e.message); break; }
        }
        console.log('stored', stored);
        "#,
        &EngineOptions::default(),
    );
    assert_eq!(
        logs(&instance),
        [
            "setStorageSync:fail exceed max size of a single key (1MB)",
            "setStorageSync:fail exceed storage max size 10MB",
            "stored 17"
        ]
    );
}

#[test]
fn a_denied_capability_fails_every_call() {
    let options = EngineOptions {
        grant: Grant::default().deny(Capability::Storage),
        ..EngineOptions::default()
    };
    let instance = run(
        r#"
        try { wx.getStorageSync('k'); } catch (e) { console.log(e.message); }
        wx.setStorage({ key: 'k', data: 1, fail: (r) => console.log(r.errMsg) });
        console.log(wx.getSystemInfoSync().platform);
        "#,
        &options,
    );
    assert_eq!(
        logs(&instance),
        [
            "getStorageSync:fail permission denied: this app may not use Storage APIs",
            "devtools",
            "setStorage:fail permission denied: this app may not use Storage APIs"
        ]
    );
}

#[test]
fn dialogs_wait_for_the_host_to_answer() {
    let mut instance = run(
        r#"
        wx.showModal({ title: 'Delete?', content: 'It is gone for good', success: (r) => {
          console.log('modal', r.errMsg, r.confirm, r.cancel);
          this.setData({ out: r.confirm ? 'deleted' : 'kept' });
        } });
        wx.showActionSheet({ itemList: ['Camera', 'Album'] })
          .then((r) => console.log('sheet', r.tapIndex))
          .catch((r) => console.log('sheet', r.errMsg));
        "#,
        &EngineOptions::default(),
    );
    let ui = instance.ui();
    assert_eq!(ui.dialogs.len(), 2);
    assert!(matches!(&ui.dialogs[0].kind, DialogKind::Modal { title, .. } if title == "Delete?"));
    assert!(logs(&instance).is_empty(), "nothing answered yet");
    assert!(instance.answer_dialog(ui.dialogs[0].id, &DialogAnswer::Confirm));
    assert!(instance.answer_dialog(ui.dialogs[1].id, &DialogAnswer::Cancel));
    assert!(
        !instance.answer_dialog(ui.dialogs[1].id, &DialogAnswer::Cancel),
        "answered once only"
    );
    assert_eq!(
        logs(&instance),
        [
            "modal showModal:ok true false",
            "sheet showActionSheet:fail cancel"
        ]
    );
    assert!(instance.page_wxml(Default::default()).contains("deleted"));
    assert!(instance.ui().dialogs.is_empty());
}

/// A host's storage, in memory, shared by the instances of a test.
#[derive(Debug, Default)]
struct MemoryStorage(
    std::sync::Mutex<std::collections::HashMap<String, std::collections::BTreeMap<String, String>>>,
);

impl bonsai_engine::StorageBackend for MemoryStorage {
    fn load(&self, app_id: &str) -> std::collections::BTreeMap<String, String> {
        self.0
            .lock()
            .expect("test storage lock")
            .get(app_id)
            .cloned()
            .unwrap_or_default()
    }

    fn save(
        &self,
        app_id: &str,
        entries: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), String> {
        self.0
            .lock()
            .expect("test storage lock")
            .insert(app_id.to_owned(), entries.clone());
        Ok(())
    }
}

fn app_with_id(app_id: &str, script: &str, storage: &Arc<MemoryStorage>) -> AppInstance {
    let mut files = PackageFiles::new();
    files.insert("project.config.json", format!("{{\"appid\":\"{app_id}\"}}"));
    files.insert("app.json", r#"{"pages":["pages/index/index"]}"#);
    files.insert("pages/index/index.wxml", "<view />");
    files.insert(
        "pages/index/index.js",
        format!("Page({{ onLoad() {{\n{script}\n}} }})"),
    );
    let (manifest, _) = bonsai_package::load(&files, &LoadOptions::default());
    let (compiled, _) = Compiler::new().compile(&manifest);
    let options = EngineOptions {
        storage: Some(storage.clone()),
        ..EngineOptions::default()
    };
    let mut instance = AppInstance::new(Arc::new(compiled), &options).expect("instance starts");
    instance.launch(&LaunchOptions::default());
    instance
}

#[test]
fn storage_persists_per_app_id_and_apps_never_share_it() {
    let storage = Arc::new(MemoryStorage::default());
    let writer = app_with_id("wxaaaa", "wx.setStorageSync('token', 'secret-a')", &storage);
    assert!(writer.errors().is_empty(), "{:?}", writer.errors());
    let show = "console.log(JSON.stringify(wx.getStorageSync('token')))";
    let other_app = app_with_id("wxbbbb", show, &storage);
    assert_eq!(logs(&other_app), ["\"\""]);
    let same_app_later = app_with_id("wxaaaa", show, &storage);
    assert_eq!(logs(&same_app_later), ["\"secret-a\""]);
}

#[test]
fn small_apis_behave_like_wechat() {
    let instance = run(
        r#"
        const buffer = wx.base64ToArrayBuffer(wx.arrayBufferToBase64(new Uint8Array([0, 1, 254, 255, 7]).buffer));
        console.log('base64', wx.arrayBufferToBase64(new Uint8Array([77, 97, 110]).buffer), Array.from(new Uint8Array(buffer)).join(','));
        wx.setClipboardData({ data: 'copied', success: () => wx.getClipboardData({ success: (r) => console.log('clipboard', r.data) }) });
        wx.setNavigationBarColor({ frontColor: '#ff0000', backgroundColor: '#000000', fail: (r) => console.log(r.errMsg) });
        wx.reportEvent('buy', { sku: 1 });
        console.log('env', wx.env.USER_DATA_PATH);
        "#,
        &EngineOptions::default(),
    );
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    assert_eq!(
        logs(&instance),
        [
            "base64 TWFu 0,1,254,255,7",
            "env wxfile://usr",
            "setNavigationBarColor:fail invalid frontColor: only #ffffff and #000000 are allowed",
            "clipboard copied",
        ]
    );
    let ui = instance.ui();
    assert_eq!(ui.clipboard.as_deref(), Some("copied"));
    assert_eq!(ui.reported_events.len(), 1);
}

#[test]
fn scopes_are_asked_once_and_remembered() {
    let script = r#"
        wx.authorize({ scope: 'scope.userLocation', success: () => console.log('granted'), fail: (r) => console.log(r.errMsg) });
        wx.authorize({ scope: 'scope.bogus', fail: (r) => console.log(r.errMsg) });
        "#;
    // Headless, nobody answers: denied, and getSetting says so.
    let denied = run(
        &format!(
            "{script}\nwx.getSetting({{ success: (r) => console.log(JSON.stringify(r.authSetting)) }});"
        ),
        &EngineOptions::default(),
    );
    assert_eq!(
        logs(&denied),
        [
            "authorize:fail auth deny",
            "authorize:fail invalid scope: scope.bogus",
            r#"{"scope.userLocation":false}"#
        ]
    );
    // A host that asks: the prompt waits, the answer sticks.
    let options = EngineOptions {
        prompt_policy: bonsai_engine::api::scope::PromptPolicy::Ask,
        ..EngineOptions::default()
    };
    let mut asked = run(script, &options);
    let dialog = asked.ui().dialogs[0].clone();
    assert_eq!(
        dialog.kind,
        DialogKind::Authorize {
            scope: "scope.userLocation".to_owned()
        }
    );
    assert!(asked.answer_dialog(dialog.id, &DialogAnswer::Confirm));
    assert!(asked.ui().dialogs.is_empty());
    assert_eq!(
        logs(&asked),
        ["authorize:fail invalid scope: scope.bogus", "granted"]
    );
}

/// Answers every request at once with the URL it was asked for.
#[derive(Debug)]
struct EchoNetwork;

impl bonsai_engine::api::network::NetworkProvider for EchoNetwork {
    fn request(
        &self,
        request: bonsai_engine::api::network::HttpRequest,
        done: bonsai_engine::api::network::Completion,
    ) {
        done(Ok(bonsai_engine::api::network::HttpResponse {
            status_code: 200,
            header: Default::default(),
            body: serde_json::json!({ "url": request.url, "method": request.method })
                .to_string()
                .into_bytes(),
        }));
    }
}

#[test]
fn requests_go_through_the_allow_list_and_the_provider() {
    let script = r#"
        wx.request({ url: 'https://api.shop.example/products', success: (r) => console.log('ok', r.errMsg, r.statusCode, JSON.stringify(r.data)) });
        wx.request({ url: 'https://evil.example/steal', fail: (r) => console.log(r.errMsg) });
        wx.request({ url: 'http://api.shop.example/plain', fail: (r) => console.log(r.errMsg) });
        "#;
    let options = EngineOptions {
        network: Some(Arc::new(EchoNetwork)),
        domains: bonsai_engine::api::network::Domains::all(vec!["api.shop.example".to_owned()]),
        ..EngineOptions::default()
    };
    let instance = run(script, &options);
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    assert_eq!(
        logs(&instance),
        [
            r#"ok request:ok 200 {"url":"https://api.shop.example/products","method":"GET"}"#,
            "request:fail url not in domain list: https://evil.example/steal",
            "request:fail url not in domain list: http://api.shop.example/plain (only https is allowed)",
        ]
    );
    let offline = run(
        "wx.request({ url: 'https://api.shop.example/x', fail: (r) => console.log(r.errMsg) })",
        &EngineOptions {
            domains: bonsai_engine::api::network::Domains::all(vec!["api.shop.example".to_owned()]),
            ..EngineOptions::default()
        },
    );
    assert_eq!(
        logs(&offline),
        ["request:fail no network: this host has no network provider"]
    );
}

/// An app from `app.json` and the index page's WXML and script.
fn app(app_json: &str, wxml: &str, script: &str) -> AppInstance {
    let mut files = PackageFiles::new();
    files.insert("app.json", app_json.to_owned());
    files.insert("pages/index/index.wxml", wxml.to_owned());
    files.insert("pages/index/index.js", script.to_owned());
    let (manifest, diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (compiled, diagnostics) = Compiler::new().compile(&manifest);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let mut instance =
        AppInstance::new(Arc::new(compiled), &EngineOptions::default()).expect("instance starts");
    instance.launch(&LaunchOptions::default());
    instance
}

#[test]
fn tap_only_apis_run_while_the_user_taps_and_its_microtasks_only() {
    let mut instance = app(
        r#"{"pages":["pages/index/index"]}"#,
        r#"<button id="tap" bindtap="onTap">settings</button><view id="press" bindlongpress="onPress">x</view><view id="other" bindchange="onTap">y</view>"#,
        r#"
        const open = (label) => wx.openSetting({
          success: (r) => console.log(label, r.errMsg),
          fail: (r) => console.log(label, r.errMsg),
        });
        Page({
          onLoad() { open('onLoad'); },
          onTap() {
            open('tap');
            Promise.resolve().then(() => open('tap microtask'));
            setTimeout(() => open('tap timer'), 0);
          },
          onPress() { open('longpress'); },
        })
        "#,
    );
    instance.tap("#tap").expect("tap");
    let press = instance.query("#press").expect("selector").expect("node");
    instance.dispatch(press, "longpress", serde_json::json!({}));
    let other = instance.query("#other").expect("selector").expect("node");
    instance.dispatch(other, "change", serde_json::json!({}));
    instance.advance(10);
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    let gesture = "openSetting:fail can only be invoked by user TAP gesture.";
    assert_eq!(
        logs(&instance),
        [
            format!("onLoad {gesture}"),
            "tap openSetting:ok".to_owned(),
            "tap microtask openSetting:ok".to_owned(),
            format!("tap timer {gesture}"),
            "longpress openSetting:ok".to_owned(),
            // A `change` event is not the user's tap.
            format!("tap {gesture}"),
            format!("tap microtask {gesture}"),
            format!("tap timer {gesture}"),
        ]
    );
}

#[test]
fn a_modal_the_user_answered_is_a_tap_and_an_authorize_prompt_is_not() {
    let options = EngineOptions {
        prompt_policy: bonsai_engine::api::scope::PromptPolicy::Ask,
        ..EngineOptions::default()
    };
    let mut instance = run(
        r#"
        const open = (label) => wx.navigateToMiniProgram({ appId: 'wx1234567890abcdef', complete: (r) => console.log(label, r.errMsg) });
        wx.showModal({ title: 'Go?', success: () => open('modal') });
        wx.showActionSheet({ itemList: ['Go'] }).then(() => open('sheet'));
        wx.authorize({ scope: 'scope.userLocation', complete: () => open('authorize') });
        "#,
        &options,
    );
    for dialog in instance.ui().dialogs {
        let answer = match dialog.kind {
            DialogKind::ActionSheet { .. } => DialogAnswer::Tap(0),
            _ => DialogAnswer::Confirm,
        };
        assert!(instance.answer_dialog(dialog.id, &answer));
    }
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    assert_eq!(
        logs(&instance),
        [
            "modal navigateToMiniProgram:ok",
            "sheet navigateToMiniProgram:ok",
            "authorize navigateToMiniProgram:fail can only be invoked by user TAP gesture.",
        ]
    );
}

#[test]
fn theme_is_reported_only_with_darkmode() {
    let script = r#"Page({ onLoad() {
        console.log(typeof wx.getSystemInfoSync().theme, typeof wx.getAppBaseInfo().theme);
    } })"#;
    let light = app(r#"{"pages":["pages/index/index"]}"#, "<view />", script);
    assert_eq!(logs(&light), ["undefined undefined"]);
    let dark = app(
        r#"{"pages":["pages/index/index"],"darkmode":true,"themeLocation":"theme.json"}"#,
        "<view />",
        &script.replace("typeof ", ""),
    );
    assert!(dark.errors().is_empty(), "{:?}", dark.errors());
    assert_eq!(logs(&dark), ["light light"]);
}

#[test]
fn sync_reads_see_every_write_and_return_fresh_copies() {
    let instance = run(
        r#"
        wx.setStorageSync('cart', { n: 1 });
        const first = wx.getStorageSync('cart');
        first.n = 99;
        console.log('copy', wx.getStorageSync('cart').n);
        wx.setStorage({ key: 'cart', data: { n: 2 }, success: () => {
          console.log('after setStorage', wx.getStorageSync('cart').n);
          wx.clearStorageSync();
          console.log('after clear', JSON.stringify(wx.getStorageSync('cart')));
          wx.setStorageSync('cart', { n: 3 });
          wx.removeStorage({ key: 'cart', success: () => console.log('after removeStorage', JSON.stringify(wx.getStorageSync('cart'))) });
        } });
        "#,
        &EngineOptions::default(),
    );
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    assert_eq!(
        logs(&instance),
        [
            "copy 1",
            "after setStorage 2",
            "after clear \"\"",
            "after removeStorage \"\""
        ]
    );
}

#[test]
fn exported_animations_end_as_styles() {
    let mut instance = run_page(
        "<view id=\"box\" style=\"color: red\" animation=\"{{anim}}\">box</view>",
        r#"data: { anim: null },
        onLoad() {
          const a = wx.createAnimation({ duration: 300, timingFunction: 'ease' });
          a.translateX(100).rotate(45).step().opacity(0.5).scale(2).width(80).step({ duration: 500 });
          this.setData({ anim: a.export() });
        }"#,
        &EngineOptions::default(),
    );
    instance.settle();
    let box_id = instance.query("#box").expect("selector").expect("the box");
    let style = instance.tree().get(box_id).expect("node").style.clone();
    assert_eq!(
        style,
        "color: red;transform:scale(2);opacity:0.5;width:80px;transform-origin:50% 50% 0;transition:all 500ms ease 0ms"
    );
}
