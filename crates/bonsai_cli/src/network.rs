//! `wx.request`, `downloadFile` and `uploadFile` for `bonsai run`: real HTTP(S) with ureq, one thread per
//! request so the app's thread never blocks. The engine has already checked
//! the URL against the app's allow-list.

use std::collections::BTreeMap;
use std::time::Duration;

use bonsai_engine::api::network::{Completion, HttpRequest, HttpResponse, NetworkProvider};
use ureq::http;

#[derive(Debug, Default)]
pub struct HttpNetwork;

impl NetworkProvider for HttpNetwork {
    fn request(&self, request: HttpRequest, done: Completion) {
        std::thread::spawn(move || done(perform(&request)));
    }
}

fn perform(request: &HttpRequest) -> Result<HttpResponse, String> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(request.timeout.max(1))))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(&request.url);
    for (name, value) in &request.header {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let http_request = builder
        .body(request.body.clone())
        .map_err(|e| e.to_string())?;
    let mut response = agent.run(http_request).map_err(|e| e.to_string())?;
    let status_code = response.status().as_u16();
    let mut header: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        header
            .entry(name.to_string())
            .and_modify(|v| {
                v.push('\n');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(HttpResponse {
        status_code,
        header,
        body,
    })
}

/// Bodies past this are refused rather than held in memory (WeChat caps
/// downloads at 200 MB).
const MAX_BODY: u64 = 200 * 1024 * 1024;
