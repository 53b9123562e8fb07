//! `wx.request` for `bonsai run`: real HTTP(S) with ureq, one thread per
//! request so the app's thread never blocks. The engine has already checked
//! the URL against the app's allow-list.

use std::collections::BTreeMap;
use std::time::Duration;

use bonsai_engine::api::network::{Completion, HttpRequest, HttpResponse, NetworkProvider};
use serde_json::Value;
use ureq::http;

#[derive(Debug, Default)]
pub struct HttpNetwork;

impl NetworkProvider for HttpNetwork {
    fn request(&self, request: HttpRequest, done: Completion) {
        std::thread::spawn(move || done(perform(&request)));
    }
}

/// Query parameters from `data`, as WeChat sends them for GET.
fn query_string(data: &Value) -> String {
    let Value::Object(map) = data else {
        return String::new();
    };
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", encode(k), encode(&v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn perform(request: &HttpRequest) -> Result<HttpResponse, String> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(request.timeout.max(1))))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let method = request.method.to_ascii_uppercase();
    let mut url = request.url.clone();
    let mut body = Vec::new();
    let mut content_type = None;
    if method == "GET" || method == "HEAD" {
        let query = query_string(&request.data);
        if !query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&query);
        }
    } else {
        match &request.data {
            Value::Null => {}
            Value::String(s) => body = s.clone().into_bytes(),
            other => {
                body = other.to_string().into_bytes();
                content_type = Some("application/json");
            }
        }
    }
    let mut builder = http::Request::builder().method(method.as_str()).uri(&url);
    for (name, value) in &request.header {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        builder = builder.header(name.as_str(), value);
    }
    let has_content_type = request
        .header
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    if let (Some(kind), false) = (content_type, has_content_type) {
        builder = builder.header("content-type", kind);
    }
    let http_request = builder.body(body).map_err(|e| e.to_string())?;
    let mut response = agent.run(http_request).map_err(|e| e.to_string())?;
    let status_code = response.status().as_u16();
    let header: BTreeMap<String, String> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    // WeChat's default dataType is json: parse when it parses.
    let data = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(HttpResponse {
        status_code,
        header,
        data,
    })
}
