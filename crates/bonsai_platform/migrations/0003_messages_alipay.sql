-- Subscribe messages (WeChat) and the Alipay sandbox.
--
-- Same rules as 0001: TEXT and BIGINT columns only, times in milliseconds
-- from the server's Clock, flags 0/1, amounts in cents (fen).

-- A mini program's subscribe-message templates. WeChat's template ids are
-- unique strings, so the id alone is the key; a template serves one app.
CREATE TABLE message_templates (
    template_id TEXT PRIMARY KEY,
    appid TEXT NOT NULL REFERENCES apps (appid),
    title TEXT NOT NULL,
    -- JSON array of {"name": "thing1", "kind": "thing", "label": "…"}, in order.
    keywords TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX message_templates_by_app ON message_templates (appid);

-- One-time subscriptions: each acceptance of wx.requestSubscribeMessage adds
-- one send; each subscribeMessage.send spends one.
CREATE TABLE message_subscriptions (
    template_id TEXT NOT NULL REFERENCES message_templates (template_id),
    user_id TEXT NOT NULL REFERENCES users (id),
    appid TEXT NOT NULL REFERENCES apps (appid),
    -- The user's openid in appid: what subscribeMessage.send names them by.
    openid TEXT NOT NULL,
    remaining BIGINT NOT NULL,
    -- The user's last answer: 'accept' or 'reject'.
    last_choice TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (template_id, user_id)
);
CREATE INDEX message_subscriptions_by_openid ON message_subscriptions (appid, openid);

-- Messages sent: the users' inboxes.
CREATE TABLE messages (
    msgid BIGINT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    appid TEXT NOT NULL REFERENCES apps (appid),
    template_id TEXT NOT NULL REFERENCES message_templates (template_id),
    -- Orders a user's messages sent in the same millisecond.
    seq BIGINT NOT NULL,
    title TEXT NOT NULL,
    page TEXT,
    -- JSON array of {"name", "label", "value"}, in the template's order.
    items TEXT NOT NULL,
    miniprogram_state TEXT NOT NULL,
    lang TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX messages_by_user ON messages (user_id, sent_at, seq);

-- Alipay apps (the merchant side of a mini program). Only the app's public
-- key is kept: its private key is handed to the merchant once.
CREATE TABLE alipay_apps (
    app_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- The mini program (apps.appid) this Alipay app serves, if any.
    appid_link TEXT REFERENCES apps (appid),
    -- The merchant's PID: 2088 and 12 digits.
    seller_id TEXT NOT NULL,
    app_public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alipay_apps_by_link ON alipay_apps (appid_link);

-- Sandbox buyers: our users' Alipay user_id (2088…, one per user) …
CREATE TABLE alipay_users (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    alipay_user_id TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- … and their open_id in each Alipay app.
CREATE TABLE alipay_open_ids (
    app_id TEXT NOT NULL REFERENCES alipay_apps (app_id),
    user_id TEXT NOT NULL REFERENCES users (id),
    open_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id),
    UNIQUE (app_id, open_id)
);

CREATE TABLE alipay_trades (
    trade_no TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES alipay_apps (app_id),
    out_trade_no TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT,
    product_code TEXT NOT NULL,
    -- The buyer as the merchant named them (one of the two) …
    buyer_id TEXT,
    buyer_open_id TEXT,
    -- … and who they are here.
    user_id TEXT NOT NULL REFERENCES users (id),
    -- WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED (TRADE_FINISHED is
    -- TRADE_SUCCESS past the refund window, judged when read).
    status TEXT NOT NULL,
    notify_url TEXT,
    created_at BIGINT NOT NULL,
    -- An unpaid trade closes itself at this time.
    expires_at BIGINT NOT NULL,
    paid_at BIGINT,
    closed_at BIGINT,
    refunded_cents BIGINT NOT NULL DEFAULT 0,
    UNIQUE (app_id, out_trade_no)
);
CREATE INDEX alipay_trades_by_app ON alipay_trades (app_id, created_at);

-- Refunds, idempotent per (trade, out_request_no).
CREATE TABLE alipay_refunds (
    trade_no TEXT NOT NULL REFERENCES alipay_trades (trade_no),
    out_request_no TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    reason TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (trade_no, out_request_no)
);

-- my.getAuthCode codes: single use.
CREATE TABLE alipay_auth_codes (
    code TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES alipay_apps (app_id),
    user_id TEXT NOT NULL REFERENCES users (id),
    scopes TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX alipay_auth_codes_by_expiry ON alipay_auth_codes (expires_at);

-- alipay.system.oauth.token's tokens.
CREATE TABLE alipay_oauth_tokens (
    access_token TEXT PRIMARY KEY,
    refresh_token TEXT NOT NULL UNIQUE,
    app_id TEXT NOT NULL REFERENCES alipay_apps (app_id),
    user_id TEXT NOT NULL REFERENCES users (id),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    -- Set once the refresh token was spent.
    refreshed_at BIGINT
);
CREATE INDEX alipay_oauth_tokens_by_expiry ON alipay_oauth_tokens (refresh_expires_at);
