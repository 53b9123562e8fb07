//! The `/v3` routes: request authentication ([`Signed`]), response signing
//! ([`sign_response`]), and thin handlers over the domain functions.
//!
//! The API is served at the host root because the merchant's signature
//! covers the path exactly as sent (`/v3/...`); a prefix would break it.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use super::crypto::{self, AEAD_ALGORITHM};
use super::keys;
use super::merchants::{self, MerchantKeys};
use super::time::rfc3339_beijing;
use super::{PayApiError, orders, refunds};
use crate::state::AppState;

/// How far a request's timestamp may be from the platform's clock (WeChat:
/// five minutes either way).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Request bodies are JSON of a few kilobytes; this is generous.
const MAX_BODY_BYTES: usize = 1 << 20;

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for PayApiError {
    fn into_response(self) -> Response {
        match self {
            PayApiError::Api {
                status,
                code,
                message,
                detail,
            } => {
                tracing::debug!(code, "{message}");
                let mut body = json!({ "code": code, "message": message });
                if let (Some(object), Some(detail)) = (body.as_object_mut(), detail) {
                    object.insert("detail".to_owned(), detail);
                }
                json_response(status, &body)
            }
            PayApiError::Internal(err) => {
                tracing::error!("WeChat Pay request failed: {err}");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({ "code": "SYSTEM_ERROR", "message": "系统错误" }),
                )
            }
        }
    }
}

/// A request whose merchant signature verified: the merchant and the body.
#[derive(Debug)]
pub(crate) struct Signed {
    pub merchant: MerchantKeys,
    pub body: Bytes,
}

impl Signed {
    /// The body as JSON (PARAM_ERROR when it is not).
    fn json(&self) -> Result<Value, PayApiError> {
        serde_json::from_slice(&self.body).map_err(|err| {
            PayApiError::param(
                "body",
                "/",
                None,
                format!("the body is not valid JSON: {err}"),
            )
        })
    }
}

impl FromRequest<AppState> for Signed {
    type Rejection = PayApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                PayApiError::invalid_request(format!(
                    "the body is unreadable or larger than {MAX_BODY_BYTES} bytes"
                ))
            })?;
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| {
                PayApiError::sign_error("签名错误: the Authorization header is missing")
            })?
            .to_str()
            .map_err(|_| PayApiError::sign_error("签名错误: Authorization is not ASCII"))?;
        let merchant =
            authenticate(state, parts.method.as_str(), &path_and_query, header, &body).await?;
        Ok(Signed { merchant, body })
    }
}

/// Checks a request's `Authorization`: the merchant exists, `serial_no`
/// is its certificate's (compared case-insensitively, as one SDK sends it
/// in lower case), the timestamp is within five minutes of the platform
/// clock, and the signature verifies over
/// `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n`.
pub(crate) async fn authenticate(
    state: &AppState,
    method: &str,
    path_and_query: &str,
    header: &str,
    body: &[u8],
) -> Result<MerchantKeys, PayApiError> {
    let auth = crypto::parse_authorization(header)
        .map_err(|reason| PayApiError::sign_error(format!("签名错误: {reason}")))?;
    let merchant = merchants::merchant_keys(state, &auth.mchid)
        .await?
        .ok_or_else(|| {
            PayApiError::sign_error(format!(
                "签名错误: mchid {} is not a merchant of this platform",
                auth.mchid
            ))
        })?;
    if !auth.serial_no.eq_ignore_ascii_case(&merchant.serial_no) {
        return Err(PayApiError::sign_error(format!(
            "签名错误: serial_no {} is not the serial of the merchant's certificate",
            auth.serial_no
        )));
    }
    let now_secs = state.now().div_euclid(1000);
    match auth.timestamp.parse::<i64>() {
        Ok(ts) if (ts - now_secs).abs() <= MAX_CLOCK_SKEW_SECS => {}
        Ok(ts) => {
            return Err(PayApiError::sign_error(format!(
                "签名错误: timestamp {ts} is {} s from the platform's time {now_secs} (at most {MAX_CLOCK_SKEW_SECS} s allowed)",
                ts - now_secs
            )));
        }
        Err(_) => {
            return Err(PayApiError::sign_error(
                "签名错误: timestamp must be the Unix time in seconds",
            ));
        }
    }
    let message = crypto::request_message(
        method,
        path_and_query,
        &auth.timestamp,
        &auth.nonce_str,
        body,
    );
    if !crate::rsa_keys::verify(&merchant.public_key, &message, &auth.signature) {
        return Err(PayApiError::sign_error(
            "签名错误: the signature does not verify; sign METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n with the merchant key (SHA256withRSA, base64)",
        ));
    }
    Ok(merchant)
}

/// Signs every `/v3` response, errors and empty 204s included, with the
/// platform key over `timestamp\nnonce\nbody\n` of the exact bytes sent.
async fn sign_response(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return PayApiError::Internal(crate::error::PlatformError::Internal(format!(
                "reading a response to sign it: {err}"
            )))
            .into_response();
        }
    };
    let headers = match keys::platform_signer(&state).await {
        Ok(signer) => signer.headers(state.now(), &bytes),
        Err(err) => Err(err),
    };
    let headers = match headers {
        Ok(headers) => headers,
        Err(err) => return PayApiError::Internal(err).into_response(),
    };
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            parts.headers.insert(name, value);
        }
    }
    if let Ok(id) = crate::secrets::random_hex(16)
        && let Ok(value) = HeaderValue::from_str(&id.to_uppercase())
    {
        parts
            .headers
            .insert(HeaderName::from_static("request-id"), value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn path_param(
    path: Result<Path<String>, PathRejection>,
    name: &str,
) -> Result<String, PayApiError> {
    path.map(|Path(value)| value)
        .map_err(|_| PayApiError::param("path", name, None, "is not valid"))
}

fn query_params(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, PayApiError> {
    query
        .map(|Query(map)| map)
        .map_err(|_| PayApiError::param("query", "/", None, "the query string is malformed"))
}

/// `GET /v3/certificates`: the platform certificates valid now, each
/// encrypted with the caller's APIv3 key.
async fn certificates(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let signer = keys::platform_signer(&state).await?;
    let now = state.now();
    let mut data = Vec::new();
    let certificate = &signer.certificate;
    if certificate.effective_at <= now && now < certificate.expire_at {
        let nonce = crypto::new_aead_nonce()?;
        let ciphertext = crypto::encrypt(
            &signed.merchant.apiv3_key,
            &nonce,
            "certificate",
            certificate.certificate_pem.as_bytes(),
        )?;
        data.push(json!({
            "serial_no": certificate.serial_no,
            "effective_time": rfc3339_beijing(certificate.effective_at),
            "expire_time": rfc3339_beijing(certificate.expire_at),
            "encrypt_certificate": {
                "algorithm": AEAD_ALGORITHM,
                "nonce": nonce,
                "associated_data": "certificate",
                "ciphertext": ciphertext,
            },
        }));
    }
    Ok(json_response(StatusCode::OK, &json!({ "data": data })))
}

async fn create_jsapi(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let body = signed.json()?;
    let prepay_id = orders::create_jsapi_order(&state, &signed.merchant, &body).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "prepay_id": prepay_id }),
    ))
}

async fn query_by_transaction_id(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let transaction_id = path_param(path, "transaction_id")?;
    let query = query_params(query)?;
    let body = orders::query_by_transaction_id(
        &state,
        &signed.merchant,
        query.get("mchid").map(String::as_str),
        &transaction_id,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &body))
}

async fn query_by_out_trade_no(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let out_trade_no = path_param(path, "out_trade_no")?;
    let query = query_params(query)?;
    let body = orders::query_by_out_trade_no(
        &state,
        &signed.merchant,
        query.get("mchid").map(String::as_str),
        &out_trade_no,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &body))
}

async fn close(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let out_trade_no = path_param(path, "out_trade_no")?;
    let body = signed.json()?;
    orders::close_order(&state, &signed.merchant, &out_trade_no, &body).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_refund(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let body = signed.json()?;
    let refund = refunds::create_refund(&state, &signed.merchant, &body).await?;
    Ok(json_response(StatusCode::OK, &refund))
}

async fn query_refund(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    signed: Signed,
) -> Result<Response, PayApiError> {
    let out_refund_no = path_param(path, "out_refund_no")?;
    let refund = refunds::query_refund(&state, &signed.merchant, &out_refund_no).await?;
    Ok(json_response(StatusCode::OK, &refund))
}

/// A `/v3` path we do not serve: WeChat's 404 shape.
async fn unknown(method: Method, uri: axum::http::Uri) -> Response {
    PayApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no such API: {method} {}", uri.path()),
    )
    .into_response()
}

/// A served `/v3` path with the wrong method.
async fn wrong_method(method: Method, uri: axum::http::Uri) -> Response {
    PayApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{} does not take {method}", uri.path()),
    )
    .into_response()
}

/// The `/v3` routes, every response signed.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v3/certificates", get(certificates).fallback(wrong_method))
        .route(
            "/v3/pay/transactions/jsapi",
            post(create_jsapi).fallback(wrong_method),
        )
        .route(
            "/v3/pay/transactions/id/{transaction_id}",
            get(query_by_transaction_id).fallback(wrong_method),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            get(query_by_out_trade_no).fallback(wrong_method),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            post(close).fallback(wrong_method),
        )
        .route(
            "/v3/refund/domestic/refunds",
            post(create_refund).fallback(wrong_method),
        )
        .route(
            "/v3/refund/domestic/refunds/{out_refund_no}",
            get(query_refund).fallback(wrong_method),
        )
        .route("/v3/{*rest}", any(unknown))
        .layer(middleware::from_fn_with_state(state, sign_response))
}
