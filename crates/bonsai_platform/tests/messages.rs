//! Subscribe messages through the real router, on SQLite and on Postgres:
//! templates, consent (wx.requestSubscribeMessage), subscribeMessage.send
//! and the inbox.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use bonsai_platform::PlatformError;
use bonsai_platform::identity;
use bonsai_platform::messages::{self, SubscribeChoice, SubscribeResult};
use common::{Backend, TestPlatform, errcode};
use serde_json::{Value, json};

struct Setup {
    platform: TestPlatform,
    appid: String,
    token: String,
    user: String,
    openid: String,
    template: String,
}

/// An app with an "order shipped" template, a user, and a token.
async fn setup(backend: Backend) -> Setup {
    let platform = TestPlatform::start(backend).await;
    let (appid, secret) = platform.create_app(json!({ "name": "Shop" })).await;
    let user = platform
        .create_user(json!({ "id": "alice", "nickname": "Alice" }))
        .await;
    let (status, template) = platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{appid}/message-templates"),
            Some(json!({
                "title": "订单发货通知",
                "keywords": [
                    { "name": "character_string1", "label": "订单号" },
                    { "name": "thing2", "label": "商品名称" },
                    { "name": "amount3", "label": "金额" },
                    { "name": "time4", "label": "发货时间" },
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{template}");
    let template = template["template_id"].as_str().expect("id").to_owned();
    let token = platform.access_token(&appid, &secret).await;
    // alice uses the app: her openid is one the app's server knows.
    platform.login_code(&appid, &user).await;
    let openid = identity::openid_of(&platform.state, &appid, &user);
    Setup {
        platform,
        appid,
        token,
        user,
        openid,
        template,
    }
}

fn shipped_data() -> Value {
    json!({
        "character_string1": { "value": "SO-2024-0001" },
        "thing2": { "value": "盆景 · 迷你罗汉松" },
        "amount3": { "value": "¥128.00" },
        "time4": { "value": "2024年5月1日 15:01" },
    })
}

impl Setup {
    async fn subscribe(&self, decision: &str) -> Value {
        let (status, body) = self
            .platform
            .admin(
                Method::POST,
                "/admin/messages/subscribe",
                Some(json!({
                    "appid": self.appid,
                    "user": self.user,
                    "template_ids": [self.template],
                    "decision": decision,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"].clone()
    }

    async fn send(&self, body: Value) -> Value {
        self.send_with_token(&self.token, body).await
    }

    async fn send_with_token(&self, token: &str, body: Value) -> Value {
        let (status, answer) = self
            .platform
            .post(
                &format!("/cgi-bin/message/subscribe/send?access_token={token}"),
                &body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    fn message(&self) -> Value {
        json!({
            "touser": self.openid,
            "template_id": self.template,
            "page": "pages/order/detail?id=SO-2024-0001",
            "data": shipped_data(),
            "miniprogram_state": "developer",
            "lang": "zh_CN",
        })
    }

    async fn inbox(&self) -> Value {
        let (status, body) = self
            .platform
            .admin(
                Method::GET,
                &format!("/admin/users/{}/messages", self.user),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn assert_refused(body: &Value, code: i64, message: &str) {
    assert_eq!(errcode(body), code, "{body}");
    let errmsg = body["errmsg"].as_str().unwrap_or_default();
    assert!(
        errmsg.starts_with(&format!("{message} rid: ")),
        "errmsg {errmsg:?} should be {message:?} and a rid"
    );
}

async fn templates_are_checked_and_listed(backend: Backend) {
    let s = setup(backend).await;
    let base = format!("/admin/apps/{}/message-templates", s.appid);
    let (status, created) = s
        .platform
        .admin(
            Method::POST,
            &base,
            Some(json!({
                "template_id": "tpl_refund-1",
                "title": "退款通知",
                "keywords": [{ "name": "amount1" }, { "name": "site2", "kind": "thing" }],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created,
        json!({
            "template_id": "tpl_refund-1",
            "appid": s.appid,
            "title": "退款通知",
            "keywords": [
                { "name": "amount1", "kind": "amount", "label": "amount1" },
                { "name": "site2", "kind": "thing", "label": "site2" },
            ],
            "created_at": common::START_MILLIS,
        })
    );
    // Generated ids look like WeChat's: 43 URL-safe characters.
    assert_eq!(s.template.len(), 43, "{}", s.template);

    let (status, listed) = s.platform.admin(Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["template_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"tpl_refund-1") && ids.contains(&s.template.as_str()));

    let refusals = [
        (
            json!({ "title": "x", "keywords": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "title": "x", "keywords": [{ "name": "site1" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "title": "x", "keywords": [{ "name": "thing1", "kind": "poem" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "title": "x", "keywords": [{ "name": "thing1" }, { "name": "thing1" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "title": "", "keywords": [{ "name": "thing1" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "template_id": "tpl_refund-1", "title": "x", "keywords": [{ "name": "thing1" }] }),
            StatusCode::CONFLICT,
        ),
    ];
    for (body, expected) in refusals {
        let (status, answer) = s
            .platform
            .admin(Method::POST, &base, Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body} → {answer}");
    }
    let (status, answer) = s
        .platform
        .admin(
            Method::POST,
            "/admin/apps/wxnobody/message-templates",
            Some(json!({ "title": "x", "keywords": [{ "name": "thing1" }] })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["error"]["code"], "app_not_found");
}

/// One acceptance, one message: the second send is refused with 43101.
async fn one_acceptance_one_message(backend: Backend) {
    let s = setup(backend).await;
    // No acceptance yet: refused.
    assert_refused(
        &s.send(s.message()).await,
        43101,
        "user refuse to accept the msg",
    );

    assert_eq!(
        s.subscribe("accept").await,
        json!({ &s.template: "accept" })
    );
    let sent = s.send(s.message()).await;
    assert_eq!(errcode(&sent), 0, "{sent}");
    assert_eq!(sent["errmsg"], "ok");
    let msgid = sent["msgid"].as_i64().expect("numeric msgid");
    assert!(msgid > 0 && msgid < (1 << 53));

    assert_refused(
        &s.send(s.message()).await,
        43101,
        "user refuse to accept the msg",
    );

    // Acceptances add up: two more, two more messages.
    s.subscribe("accept").await;
    s.platform.advance(Duration::from_secs(1));
    s.subscribe("accept").await;
    assert_eq!(
        messages::remaining_sends(&s.platform.state, &s.template, &s.user)
            .await
            .expect("remaining"),
        2
    );
    let mut second = s.message();
    second["data"]["thing2"]["value"] = json!("第二件");
    assert_eq!(errcode(&s.send(second).await), 0);
    let mut third = s.message();
    third["data"]["thing2"]["value"] = json!("第三件");
    third["page"] = Value::Null;
    let third = s.send(third).await;
    assert_eq!(errcode(&third), 0);
    assert_refused(
        &s.send(s.message()).await,
        43101,
        "user refuse to accept the msg",
    );

    // The inbox, newest first (the last two share a millisecond).
    let inbox = s.inbox().await;
    let inbox = inbox.as_array().expect("list");
    assert_eq!(inbox.len(), 3);
    let things: Vec<&str> = inbox
        .iter()
        .filter_map(|m| m["items"][1]["value"].as_str())
        .collect();
    assert_eq!(things, ["第三件", "第二件", "盆景 · 迷你罗汉松"]);
    assert_eq!(inbox[0]["msgid"], third["msgid"]);
    assert_eq!(inbox[0]["page"], Value::Null);
    assert_eq!(inbox[2]["msgid"], json!(msgid));
    assert_eq!(
        inbox[2],
        json!({
            "msgid": msgid,
            "appid": s.appid,
            "template_id": s.template,
            "title": "订单发货通知",
            "page": "pages/order/detail?id=SO-2024-0001",
            "items": [
                { "name": "character_string1", "label": "订单号", "value": "SO-2024-0001" },
                { "name": "thing2", "label": "商品名称", "value": "盆景 · 迷你罗汉松" },
                { "name": "amount3", "label": "金额", "value": "¥128.00" },
                { "name": "time4", "label": "发货时间", "value": "2024年5月1日 15:01" },
            ],
            "miniprogram_state": "developer",
            "lang": "zh_CN",
            "sent_at": common::START_MILLIS,
        })
    );
    // The in-process API reads the same inbox.
    let direct = messages::inbox(&s.platform.state, &s.user)
        .await
        .expect("inbox");
    assert_eq!(direct.len(), 3);
    assert_eq!(direct[0].items[1].value, "第三件");
}

async fn rejection_gives_no_quota(backend: Backend) {
    let s = setup(backend).await;
    assert_eq!(
        s.subscribe("reject").await,
        json!({ &s.template: "reject" })
    );
    assert_refused(
        &s.send(s.message()).await,
        43101,
        "user refuse to accept the msg",
    );
    // A later acceptance counts.
    s.subscribe("accept").await;
    assert_eq!(errcode(&s.send(s.message()).await), 0);
}

/// The dialog as the engine's host calls it: per-template answers, unknown
/// and same-titled templates filtered, WeChat's errCodes.
async fn consent_in_process(backend: Backend) {
    let s = setup(backend).await;
    let state = &s.platform.state;
    let (status, body) = s
        .platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{}/message-templates", s.appid),
            Some(json!({
                "template_id": "tpl_paid",
                "title": "支付成功通知",
                "keywords": [{ "name": "amount1" }],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{}/message-templates", s.appid),
            Some(json!({
                "template_id": "tpl_paid_again",
                "title": "支付成功通知",
                "keywords": [{ "name": "amount1" }],
            })),
        )
        .await;

    let ids: Vec<String> = [
        s.template.as_str(),
        "tpl_paid",
        "tpl_paid_again",
        "tpl_unknown",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let template = s.template.clone();
    let results = messages::request_subscribe(state, &s.appid, &s.user, &ids, |id| {
        if id == template {
            SubscribeChoice::Accept
        } else {
            SubscribeChoice::Reject
        }
    })
    .await
    .expect("subscribe");
    assert_eq!(results.len(), 4);
    assert_eq!(results[&s.template], SubscribeResult::Accept);
    assert_eq!(results["tpl_paid"], SubscribeResult::Reject);
    assert_eq!(results["tpl_paid_again"], SubscribeResult::Filter);
    assert_eq!(results["tpl_unknown"], SubscribeResult::Filter);

    let (appid, user) = (s.appid.as_str(), s.user.as_str());
    let fails = |ids: Vec<&str>| {
        let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
        async move {
            match messages::request_subscribe(state, appid, user, &ids, |_| SubscribeChoice::Accept)
                .await
            {
                Err(PlatformError::SubscribeFailed { err_code, err_msg }) => (err_code, err_msg),
                other => panic!("expected a failure, got {other:?}"),
            }
        }
    };
    assert_eq!(fails(vec![]).await, (10001, "TmplIds can't be empty"));
    assert_eq!(
        fails(vec!["a", "b", "c", "d", "e", "f"]).await,
        (20003, "Templates count out of max bounds")
    );
    assert_eq!(
        fails(vec!["tpl_unknown"]).await,
        (
            20001,
            "No template data return, verify the template id exist"
        )
    );
    // Another app's template is unknown here too.
    let (other, _) = s.platform.create_app(json!({})).await;
    let foreign = vec![s.template.clone()];
    assert!(matches!(
        messages::request_subscribe(state, &other, &s.user, &foreign, |_| {
            SubscribeChoice::Accept
        })
        .await,
        Err(PlatformError::SubscribeFailed {
            err_code: 20001,
            ..
        })
    ));

    // The admin endpoint: the same failures as JSON errors, per-template decisions.
    let (status, body) = s
        .platform
        .admin(
            Method::POST,
            "/admin/messages/subscribe",
            Some(json!({ "appid": s.appid, "user": s.user, "template_ids": ["nope"], "decision": "accept" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "subscribe_failed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("20001")
    );
    let (status, body) = s
        .platform
        .admin(
            Method::POST,
            "/admin/messages/subscribe",
            Some(json!({
                "appid": s.appid, "user": s.user,
                "template_ids": [s.template, "tpl_paid"],
                "decision": { "tpl_paid": "accept" },
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"],
        json!({ &s.template: "reject", "tpl_paid": "accept" })
    );
    let (status, body) = s
        .platform
        .admin(
            Method::POST,
            "/admin/messages/subscribe",
            Some(json!({ "appid": s.appid, "user": "nobody", "template_ids": [s.template], "decision": "accept" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "user_not_found");

    // One accepted earlier (the in-process call) and rejected now: one send left.
    assert_eq!(
        messages::remaining_sends(state, &s.template, &s.user)
            .await
            .expect("remaining"),
        1
    );
}

async fn bad_openid(backend: Backend) {
    let s = setup(backend).await;
    s.subscribe("accept").await;
    for touser in [json!("oNOBODY_0000000000000000000"), json!(""), Value::Null] {
        let mut message = s.message();
        message["touser"] = touser;
        assert_refused(&s.send(message).await, 40003, "invalid openid");
    }
    // alice's openid in another app is no openid of this one.
    let (other, _) = s.platform.create_app(json!({})).await;
    let mut message = s.message();
    message["touser"] = json!(identity::openid_of(&s.platform.state, &other, &s.user));
    assert_refused(&s.send(message).await, 40003, "invalid openid");
    // A user known from wx.login (a session) is a valid receiver without quota.
    let bob = s.platform.create_user(json!({ "id": "bob" })).await;
    s.platform.login_code(&s.appid, &bob).await;
    let mut message = s.message();
    message["touser"] = json!(identity::openid_of(&s.platform.state, &s.appid, &bob));
    assert_refused(
        &s.send(message).await,
        43101,
        "user refuse to accept the msg",
    );
    // None of that spent alice's acceptance.
    assert_eq!(errcode(&s.send(s.message()).await), 0);
}

async fn bad_template(backend: Backend) {
    let s = setup(backend).await;
    s.subscribe("accept").await;
    let (other, _) = s.platform.create_app(json!({})).await;
    let (_, foreign) = s
        .platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{other}/message-templates"),
            Some(json!({ "title": "x", "keywords": [{ "name": "thing1" }] })),
        )
        .await;
    for template_id in [
        json!("tpl_missing"),
        json!(""),
        Value::Null,
        foreign["template_id"].clone(),
    ] {
        let mut message = s.message();
        message["template_id"] = template_id;
        assert_refused(&s.send(message).await, 40037, "invalid template_id");
    }
    assert_eq!(errcode(&s.send(s.message()).await), 0);
}

async fn bad_data(backend: Backend) {
    let s = setup(backend).await;
    s.subscribe("accept").await;
    let cases = [
        (
            "thing2",
            json!({ "value": "" }),
            "argument invalid! data.thing2.value is empty",
        ),
        (
            "thing2",
            Value::Null,
            "argument invalid! data.thing2.value is empty",
        ),
        (
            "thing2",
            json!({ "value": "一二三四五六七八九十一二三四五六七八九十一" }),
            "argument invalid! data.thing2.value invalid",
        ),
        ("amount3", json!({ "value": "128" }), ""),
        (
            "amount3",
            json!({ "value": "a lot" }),
            "argument invalid! data.amount3.value invalid",
        ),
        (
            "time4",
            json!({ "value": "tomorrow" }),
            "argument invalid! data.time4.value invalid",
        ),
        (
            "time4",
            json!({ "value": "2024-02-30 10:00" }),
            "argument invalid! data.time4.value invalid",
        ),
        (
            "character_string1",
            json!({ "value": "订单一" }),
            "argument invalid! data.character_string1.value invalid",
        ),
        (
            "character_string1",
            json!({ "value": ["SO"] }),
            "argument invalid! data.character_string1.value invalid",
        ),
    ];
    for (key, entry, expected) in cases {
        let mut message = s.message();
        if entry.is_null() {
            message["data"].as_object_mut().expect("data").remove(key);
        } else {
            message["data"][key] = entry.clone();
        }
        if expected.is_empty() {
            continue; // valid, checked below without spending the quota
        }
        assert_refused(&s.send(message).await, 47003, expected);
    }
    let mut message = s.message();
    message["miniprogram_state"] = json!("beta");
    assert_refused(
        &s.send(message).await,
        47003,
        "argument invalid! miniprogram_state invalid",
    );
    let mut message = s.message();
    message["lang"] = json!("fr_FR");
    assert_refused(
        &s.send(message).await,
        47003,
        "argument invalid! lang invalid",
    );
    let mut message = s.message();
    message["data"] = json!("thing2=hi");
    assert_refused(
        &s.send(message).await,
        47003,
        "argument invalid! data invalid",
    );

    // Not JSON at all: 47001, as other WeChat APIs answer.
    let (_, body) = s
        .platform
        .post_raw(
            &format!("/cgi-bin/message/subscribe/send?access_token={}", s.token),
            "touser=x",
        )
        .await;
    assert_eq!(errcode(&body), 47001, "{body}");

    // The refusals spent nothing; numbers and extra keys are fine.
    let mut message = s.message();
    message["data"]["amount3"] = json!({ "value": "128元" });
    message["data"]["character_string1"] = json!({ "value": 20240001 });
    message["data"]["thing99"] = json!({ "value": "ignored" });
    assert_eq!(errcode(&s.send(message).await), 0);
    let inbox = s.inbox().await;
    assert_eq!(inbox[0]["items"][0]["value"], "20240001");
    assert_eq!(inbox[0]["items"].as_array().map(Vec::len), Some(4));
}

/// The access token is checked as every other WeChat API checks it.
async fn access_token_is_required(backend: Backend) {
    let s = setup(backend).await;
    s.subscribe("accept").await;
    let (_, body) = s
        .platform
        .post("/cgi-bin/message/subscribe/send", &s.message())
        .await;
    assert_eq!(errcode(&body), 41001, "{body}");
    assert_eq!(
        errcode(&s.send_with_token("not-a-token", s.message()).await),
        40001
    );
    let (_, body) = s
        .platform
        .get(&format!(
            "/cgi-bin/message/subscribe/send?access_token={}",
            s.token
        ))
        .await;
    assert_eq!(errcode(&body), 43002, "{body}");
    s.platform.advance(Duration::from_secs(7200));
    assert_eq!(errcode(&s.send(s.message()).await), 42001);
    // The acceptance is still there for a fresh token.
    let inbox = s.inbox().await;
    assert_eq!(inbox, json!([]));
    let (_, missing) = s
        .platform
        .admin(Method::GET, "/admin/users/nobody/messages", None)
        .await;
    assert_eq!(missing["error"]["code"], "user_not_found");
}

on_both_databases!(
    templates_are_checked_and_listed,
    one_acceptance_one_message,
    rejection_gives_no_quota,
    consent_in_process,
    bad_openid,
    bad_template,
    bad_data,
    access_token_is_required,
);
