//! `wx.request`: the domain allow-list as WeChat enforces it, and the
//! request itself through a [`NetworkProvider`] the host supplies (the engine
//! does no I/O). A provider answers from any thread; the answer waits in the
//! instance's inbox until the engine's next task delivers it, so callbacks
//! run on the app's thread, in order, as in WeChat.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

/// Which URLs an app may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// `project.config.json`'s `urlCheck`; `false` lifts the domain checks
    /// (development only, as in the devtools).
    pub url_check: bool,
    /// The app's request domains (`api.example.com`), as configured for it
    /// in WeChat's admin console.
    pub request_domains: Vec<String>,
}

impl NetworkPolicy {
    /// Whether `url` may be requested: https, a domain name (no IP, no
    /// localhost) on the allow-list. With `url_check` off anything http(s) goes.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!("invalid url \"{url}\""));
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.split(':').next().unwrap_or_default(),
        };
        let scheme = scheme.to_ascii_lowercase();
        if !self.url_check {
            return if scheme == "https" || scheme == "http" {
                Ok(())
            } else {
                Err(format!("invalid url \"{url}\""))
            };
        }
        if scheme != "https" {
            return Err(format!(
                "url not in domain list: {url} (only https is allowed)"
            ));
        }
        let name = name.to_ascii_lowercase();
        if name.parse::<IpAddr>().is_ok() || name == "localhost" {
            return Err(format!(
                "url not in domain list: {url} (IP addresses and localhost are not allowed)"
            ));
        }
        if !self
            .request_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&name))
        {
            return Err(format!("url not in domain list: {url}"));
        }
        Ok(())
    }
}

/// One HTTP request as `wx.request` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    pub url: String,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default)]
    pub header: BTreeMap<String, Value>,
    #[serde(default)]
    pub data: Value,
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

fn get() -> String {
    "GET".to_owned()
}

fn default_timeout() -> u64 {
    60_000
}

/// The answer `wx.request`'s success callback receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub header: BTreeMap<String, String>,
    /// Parsed JSON when the body is JSON, else the text.
    pub data: Value,
}

/// Where an answer goes once the provider has it.
pub type Completion = Box<dyn FnOnce(Result<HttpResponse, String>) + Send>;

/// Performs requests for an instance. Implementations may answer later and
/// from another thread.
pub trait NetworkProvider: std::fmt::Debug {
    fn request(&self, request: HttpRequest, done: Completion);
}

/// Answers waiting to be delivered to JS: (waiting id, result).
pub type Inbox = Arc<Mutex<Vec<(u32, Result<Value, String>)>>>;

/// WeChat allows at most this many requests at once.
const MAX_CONCURRENT: usize = 10;

fn request(state: &mut HostState, args: Value) -> ApiResult {
    let request: HttpRequest = options(args)?;
    state.network_policy.check(&request.url)?;
    let Some(provider) = state.network.clone() else {
        return Err("no network: this host has no network provider".to_owned());
    };
    if state.requests_in_flight >= MAX_CONCURRENT {
        return Err(format!(
            "exceeded the maximum of {MAX_CONCURRENT} concurrent requests"
        ));
    }
    state.requests_in_flight += 1;
    let id = state.next_waiting_id();
    let inbox = state.inbox.clone();
    provider.request(
        request,
        Box::new(move |result| {
            let result = result
                .and_then(|response| serde_json::to_value(response).map_err(|e| e.to_string()));
            if let Ok(mut inbox) = inbox.lock() {
                inbox.push((id, result));
            }
        }),
    );
    Ok(json!({ "waitingFor": id }))
}

pub(super) fn apis() -> Vec<ApiSpec> {
    vec![ApiSpec {
        name: "request",
        kind: ApiKind::Async,
        capability: Capability::Network,
        handler: request,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_enforced() {
        let policy = NetworkPolicy {
            url_check: true,
            request_domains: vec!["api.shop.example".into()],
        };
        assert!(
            policy
                .check("https://api.shop.example/products?x=1")
                .is_ok()
        );
        assert!(policy.check("https://API.shop.example:443/x").is_ok());
        assert!(policy.check("http://api.shop.example/").is_err());
        assert!(policy.check("https://evil.example/").is_err());
        assert!(policy.check("https://127.0.0.1/").is_err());
        assert!(policy.check("https://[::1]/").is_err());
        assert!(policy.check("https://localhost/").is_err());
        assert!(policy.check("https://user@evil.example/").is_err());
        assert!(policy.check("nonsense").is_err());
        let dev = NetworkPolicy::default();
        assert!(dev.check("http://127.0.0.1:8080/").is_ok());
        assert!(dev.check("ftp://x/").is_err());
    }
}
