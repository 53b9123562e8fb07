-- Identity: apps, users, one-time codes, session keys and access tokens.
--
-- One file serves SQLite and Postgres (sqlx's Any driver passes SQL through):
-- only TEXT and BIGINT columns, because Any maps neither SQLite's BOOLEAN nor
-- Postgres's TIMESTAMPTZ; flags are 0/1. Times are milliseconds since the
-- Unix epoch from the server's Clock, never the database's now(), so tests
-- can move time and every instance judges expiry alike.

-- Secrets the server derives identifiers from (the openid/unionid HMAC key).
-- Kept here, not in process memory, so every instance derives the same ids.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE apps (
    appid TEXT PRIMARY KEY,
    -- SHA-256 of the AppSecret: it is only ever compared, never shown again.
    secret_sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The developer (open platform) account the app belongs to; apps of one
    -- developer share a user's unionid.
    developer TEXT,
    created_at BIGINT NOT NULL
);

-- Our own users (the super app's accounts), not per-app identities.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    nickname TEXT NOT NULL,
    avatar_url TEXT NOT NULL,
    gender BIGINT NOT NULL DEFAULT 0,
    phone_country_code TEXT,
    phone_number TEXT,
    -- WeChat's risk control: a high-risk user's login codes are refused (40226).
    high_risk BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- wx.login codes and phone-number button codes: single use, five minutes.
CREATE TABLE auth_codes (
    code TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    appid TEXT NOT NULL REFERENCES apps (appid),
    user_id TEXT NOT NULL REFERENCES users (id),
    -- Login codes carry the session key wx.login rotated to.
    session_key TEXT,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX auth_codes_by_expiry ON auth_codes (expires_at);

-- The current session key of a user in an app (one at a time).
CREATE TABLE sessions (
    appid TEXT NOT NULL REFERENCES apps (appid),
    openid TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    session_key TEXT NOT NULL,
    rotated_at BIGINT NOT NULL,
    PRIMARY KEY (appid, openid)
);

CREATE TABLE access_tokens (
    token TEXT PRIMARY KEY,
    appid TEXT NOT NULL REFERENCES apps (appid),
    -- 'basic' (/cgi-bin/token) or 'stable' (/cgi-bin/stable_token): isolated.
    kind TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    -- The natural end, issued_at + 7200 s: past it a token is "expired" (42001).
    expires_at BIGINT NOT NULL,
    -- Earlier than expires_at once a newer token replaced this one: past it
    -- the token is "not latest" (40001).
    valid_until BIGINT NOT NULL
);
CREATE INDEX access_tokens_by_app ON access_tokens (appid, kind, valid_until);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

-- One row per app, written first in every token-issuing transaction so that
-- issuers of one app take turns (a row lock in Postgres, the write lock in
-- SQLite), and holding stable_token's force_refresh quota.
CREATE TABLE token_issuance (
    appid TEXT PRIMARY KEY REFERENCES apps (appid),
    serial BIGINT NOT NULL DEFAULT 0,
    force_day BIGINT NOT NULL DEFAULT 0,
    force_count BIGINT NOT NULL DEFAULT 0,
    last_force_at BIGINT NOT NULL DEFAULT 0
);

-- Fixed-window request counters (rate limits), shared by all instances.
CREATE TABLE rate_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_counters_by_window ON rate_counters (window_start);
