-- WeChat Pay v3 sandbox (merchants, the platform certificate, orders,
-- refunds) and the notification outbox that WeChat Pay and Alipay share.
--
-- Same rules as 0001: TEXT and BIGINT only, times in milliseconds from the
-- server's Clock, amounts in fen (CNY cents).

-- The platform's own key and certificate, which sign every /v3 response and
-- every notification. One row per role ('signing'); two instances starting
-- together both try to insert and the primary key keeps the first.
CREATE TABLE pay_platform_keys (
    name TEXT PRIMARY KEY,
    -- 40 upper-case hex digits, exactly as Wechatpay-Serial sends it.
    serial_no TEXT NOT NULL UNIQUE,
    private_key_pem TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    effective_at BIGINT NOT NULL,
    expire_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Merchants. The private key is handed out once at creation and not kept:
-- only the merchant signs with it.
CREATE TABLE pay_merchants (
    mchid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Of apiclient_cert.pem; SDKs read it from the certificate and send it
    -- as serial_no (some in lower case).
    serial_no TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    -- The APIv3 key (32 ASCII characters): the AES-256-GCM key of
    -- notifications and of /v3/certificates.
    apiv3_key TEXT NOT NULL,
    -- How long a refund stays PROCESSING before it succeeds.
    refund_delay_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Which appids a merchant may take payments for (APPID_MCHID_NOT_MATCH).
CREATE TABLE pay_merchant_apps (
    mchid TEXT NOT NULL REFERENCES pay_merchants (mchid),
    appid TEXT NOT NULL REFERENCES apps (appid),
    PRIMARY KEY (mchid, appid)
);

CREATE TABLE pay_orders (
    mchid TEXT NOT NULL REFERENCES pay_merchants (mchid),
    out_trade_no TEXT NOT NULL,
    appid TEXT NOT NULL,
    description TEXT NOT NULL,
    attach TEXT,
    notify_url TEXT NOT NULL,
    amount_total BIGINT NOT NULL,
    currency TEXT NOT NULL,
    payer_openid TEXT NOT NULL,
    -- SHA-256 of the order request in canonical form: the same request again
    -- gets the same prepay_id, any other is OUT_TRADE_NO_USED.
    request_sha256 TEXT NOT NULL,
    -- The current prepay_id (two hours); an identical request after that
    -- gets a new one for the same order.
    prepay_id TEXT NOT NULL UNIQUE,
    prepay_expires_at BIGINT NOT NULL,
    -- After this the order can no longer be paid.
    time_expire BIGINT NOT NULL,
    -- NOTPAY, SUCCESS, REFUND, CLOSED or PAYERROR.
    trade_state TEXT NOT NULL,
    -- Set when paid.
    transaction_id TEXT UNIQUE,
    bank_type TEXT,
    success_at BIGINT,
    -- Sum of the refunds accepted so far (PROCESSING or SUCCESS); a refund
    -- is taken only by a conditional update of this column, so concurrent
    -- refunds cannot exceed the order's total.
    refunded_total BIGINT NOT NULL DEFAULT 0,
    refund_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (mchid, out_trade_no)
);
CREATE INDEX pay_orders_by_merchant ON pay_orders (mchid, created_at);

CREATE TABLE pay_refunds (
    refund_id TEXT PRIMARY KEY,
    mchid TEXT NOT NULL,
    out_refund_no TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    reason TEXT,
    notify_url TEXT,
    funds_account TEXT,
    amount_refund BIGINT NOT NULL,
    amount_total BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- PROCESSING, then SUCCESS at due_at.
    status TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    success_at BIGINT,
    UNIQUE (mchid, out_refund_no),
    FOREIGN KEY (mchid, out_trade_no) REFERENCES pay_orders (mchid, out_trade_no)
);
CREATE INDEX pay_refunds_by_due ON pay_refunds (status, due_at);
CREATE INDEX pay_refunds_by_order ON pay_refunds (mchid, out_trade_no);

-- The notification outbox (crate::notify): callbacks to merchants' servers,
-- written in the same transaction as the change they announce and sent by
-- whichever instance claims them first.
CREATE TABLE notify_outbox (
    id TEXT PRIMARY KEY,
    -- 'wechatpay' or 'alipay': decides the retry schedule, the headers and
    -- what counts as acknowledged.
    channel TEXT NOT NULL,
    url TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- When the next attempt is due (or, while an attempt runs, when its
    -- claim lapses); NULL once delivered or given up.
    next_attempt_at BIGINT,
    delivered_at BIGINT,
    gave_up_at BIGINT,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX notify_outbox_by_due ON notify_outbox (next_attempt_at);
CREATE INDEX notify_outbox_by_channel ON notify_outbox (channel, created_at);

-- One row per attempt, for operators (GET /admin/notifications).
CREATE TABLE notify_attempts (
    outbox_id TEXT NOT NULL REFERENCES notify_outbox (id),
    attempt BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    -- The HTTP status, if an answer came.
    status BIGINT,
    -- Why the attempt failed; NULL when it succeeded.
    error TEXT,
    PRIMARY KEY (outbox_id, attempt)
);
