//! `wx.request`, `wx.downloadFile` and `wx.uploadFile`: the domain
//! allow-lists as WeChat enforces them, WeChat's encoding of `data` and
//! decoding of answers, and the transfer itself through a
//! [`NetworkProvider`] the host supplies (the engine does no I/O). A provider
//! answers from any thread; the answer waits in the instance's inbox until
//! the engine's next task delivers it, so callbacks run on the app's thread,
//! in order, as in WeChat.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, defer, options};
use crate::HostState;

/// The domains an app may reach, per kind, as configured for it in
/// WeChat's admin console (`api.example.com`, no scheme).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domains {
    pub request: Vec<String>,
    pub socket: Vec<String>,
    pub upload_file: Vec<String>,
    pub download_file: Vec<String>,
}

impl Domains {
    /// The same list for every kind (handy for tests and `bonsai run`).
    pub fn all(domains: Vec<String>) -> Domains {
        Domains {
            request: domains.clone(),
            socket: domains.clone(),
            upload_file: domains.clone(),
            download_file: domains,
        }
    }
}

/// Which allow-list a URL is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainKind {
    Request,
    Socket,
    UploadFile,
    DownloadFile,
}

/// Which URLs an app may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// `project.config.json`'s `urlCheck`; `false` lifts the domain checks
    /// (development only, as in the devtools).
    pub url_check: bool,
    pub domains: Domains,
}

impl NetworkPolicy {
    /// Whether `url` may be used for `kind`: https (wss for sockets), a
    /// domain name (no IP, no localhost) on that kind's allow-list. With
    /// `url_check` off any http(s)/ws(s) URL goes.
    pub fn check(&self, kind: DomainKind, url: &str) -> Result<(), String> {
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
        let (secure, plain, list) = match kind {
            DomainKind::Socket => ("wss", "ws", &self.domains.socket),
            DomainKind::Request => ("https", "http", &self.domains.request),
            DomainKind::UploadFile => ("https", "http", &self.domains.upload_file),
            DomainKind::DownloadFile => ("https", "http", &self.domains.download_file),
        };
        if !self.url_check {
            return if scheme == secure || scheme == plain {
                Ok(())
            } else {
                Err(format!("invalid url \"{url}\""))
            };
        }
        if scheme != secure {
            return Err(format!(
                "url not in domain list: {url} (only {secure} is allowed)"
            ));
        }
        let name = name.to_ascii_lowercase();
        if name.parse::<IpAddr>().is_ok() || name == "localhost" {
            return Err(format!(
                "url not in domain list: {url} (IP addresses and localhost are not allowed)"
            ));
        }
        if !list.iter().any(|d| d.eq_ignore_ascii_case(&name)) {
            return Err(format!("url not in domain list: {url}"));
        }
        Ok(())
    }
}

/// One HTTP exchange, ready to send: the engine has applied WeChat's rules
/// for `data` (query string, JSON or form body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    pub url: String,
    pub method: String,
    pub header: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// Milliseconds.
    pub timeout: u64,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    /// Header names as the server sent them; repeated headers joined by `\n`
    /// (`Set-Cookie`).
    pub header: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// Where an answer goes once the provider has it.
pub type Completion = Box<dyn FnOnce(Result<HttpResponse, String>) + Send>;

/// Performs HTTP for an instance. Implementations may answer later and from
/// another thread.
pub trait NetworkProvider: std::fmt::Debug + Send + Sync {
    fn request(&self, request: HttpRequest, done: Completion);
}

/// WeChat allows at most this many requests, uploads and downloads at once.
const MAX_CONCURRENT: usize = 10;

/// `wx.request`'s options.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestOptions {
    url: String,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    header: BTreeMap<String, Value>,
    #[serde(default)]
    data: Value,
    /// `data` when the app passed an ArrayBuffer (the JS host encodes it).
    #[serde(default)]
    data_base64: Option<String>,
    #[serde(default = "default_timeout")]
    timeout: u64,
    #[serde(default = "json_type")]
    data_type: String,
    #[serde(default = "text_type")]
    response_type: String,
}

fn get() -> String {
    "GET".to_owned()
}

pub(super) fn default_timeout() -> u64 {
    60_000
}

fn json_type() -> String {
    "json".to_owned()
}

fn text_type() -> String {
    "text".to_owned()
}

const METHODS: &[&str] = &[
    "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT",
];

/// Header values as strings (apps pass numbers too).
fn header_strings(header: BTreeMap<String, Value>) -> BTreeMap<String, String> {
    header
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

fn header_value<'a>(header: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    header
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `k=v&…` with WeChat's (encodeURIComponent's) escaping.
fn query_string(data: &serde_json::Map<String, Value>) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'-'
                | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    data.iter()
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

/// Applies WeChat's rules for `data`: GET puts an object in the query
/// string; other methods send JSON by default, a form body when the
/// content-type says so, strings and ArrayBuffers as they are.
fn build_request(options: RequestOptions) -> Result<HttpRequest, String> {
    let method = options.method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "parameter error: invalid method {}",
            options.method
        ));
    }
    let mut header = header_strings(options.header);
    let mut url = options.url;
    let mut body = Vec::new();
    if let Some(encoded) = options.data_base64 {
        body = BASE64
            .decode(encoded)
            .map_err(|e| format!("parameter error: data: {e}"))?;
    } else if method == "GET" {
        if let Value::Object(map) = &options.data {
            let query = query_string(map);
            if !query.is_empty() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&query);
            }
        }
    } else {
        if header_value(&header, "content-type").is_none() {
            header.insert("content-type".to_owned(), "application/json".to_owned());
        }
        let form = header_value(&header, "content-type")
            .is_some_and(|t| t.contains("application/x-www-form-urlencoded"));
        body = match options.data {
            Value::Null => Vec::new(),
            Value::String(s) => s.into_bytes(),
            Value::Object(map) if form => query_string(&map).into_bytes(),
            other => other.to_string().into_bytes(),
        };
    }
    Ok(HttpRequest {
        url,
        method,
        header,
        body,
        timeout: options.timeout,
    })
}

/// Starts a transfer: allow-list, concurrency, then the provider. `finish`
/// gets the response once it is delivered.
fn transfer(
    state: &mut HostState,
    kind: DomainKind,
    request: HttpRequest,
    finish: impl FnOnce(&mut HostState, HttpResponse) -> ApiResult + 'static,
) -> ApiResult {
    state.network_policy.check(kind, &request.url)?;
    let Some(provider) = state.network.clone() else {
        return Err("no network: this host has no network provider".to_owned());
    };
    if state.requests_in_flight >= MAX_CONCURRENT {
        return Err(format!(
            "exceeded the maximum of {MAX_CONCURRENT} concurrent requests"
        ));
    }
    state.requests_in_flight += 1;
    let (waiting, sender) = defer(state, move |state, result| {
        state.requests_in_flight = state.requests_in_flight.saturating_sub(1);
        let response = serde_json::from_value(result?)
            .map_err(|e| format!("bad response from the network provider: {e}"))?;
        finish(state, response)
    });
    provider.request(
        request,
        Box::new(move |result| {
            sender
                .send(result.and_then(|response| {
                    serde_json::to_value(response).map_err(|e| e.to_string())
                }));
        }),
    );
    Ok(waiting)
}

/// `Set-Cookie` values, as WeChat lists them in `cookies`.
fn cookies(header: &BTreeMap<String, String>) -> Vec<&str> {
    header_value(header, "set-cookie")
        .map(|v| v.split('\n').collect())
        .unwrap_or_default()
}

/// The fields every answer has, plus the body under `key`.
fn answer(response: &HttpResponse, key: &str, data: Value) -> Value {
    json!({
        key: data,
        "statusCode": response.status_code,
        "header": response.header,
        "cookies": cookies(&response.header),
    })
}

fn request(state: &mut HostState, args: Value) -> ApiResult {
    let options: RequestOptions = options(args)?;
    let parse_json = options.data_type == "json";
    let binary = options.response_type == "arraybuffer";
    let request = build_request(options)?;
    transfer(state, DomainKind::Request, request, move |_, response| {
        if binary {
            // The JS host turns `dataBase64` into an ArrayBuffer `data`.
            let encoded = BASE64.encode(&response.body);
            return Ok(answer(&response, "dataBase64", Value::String(encoded)));
        }
        let text = String::from_utf8_lossy(&response.body).into_owned();
        // `dataType: json` parses when it parses, else gives the text.
        let data = if parse_json {
            serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        Ok(answer(&response, "data", data))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadOptions {
    url: String,
    #[serde(default)]
    header: BTreeMap<String, Value>,
    #[serde(default = "default_timeout")]
    timeout: u64,
    /// Where to keep the file (a user path); a temp file when absent.
    #[serde(default)]
    file_path: Option<String>,
}

/// A file extension worth keeping from a URL's path (`.jpg`), or none.
pub(super) fn extension_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    match name.rsplit_once('.') {
        Some((_, ext))
            if !ext.is_empty()
                && ext.len() <= 8
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

fn download_file(state: &mut HostState, args: Value) -> ApiResult {
    let DownloadOptions {
        url,
        header,
        timeout,
        file_path,
    } = options(args)?;
    if let Some(path) = &file_path {
        // Refuse a bad target now rather than after the download.
        state.check_user_path(path)?;
    }
    let extension = extension_of(&url);
    fetch_file(
        state,
        url,
        header_strings(header),
        timeout,
        move |state, response| {
            let mut answer = json!({
                "statusCode": response.status_code,
                "header": response.header,
                "dataLength": response.body.len(),
            });
            match file_path {
                Some(path) => {
                    state.write_user_file(&path, response.body)?;
                    answer["filePath"] = json!(path);
                }
                None => {
                    answer["tempFilePath"] =
                        json!(state.create_temp_file(response.body, &extension));
                }
            }
            Ok(answer)
        },
    )
}

/// A GET under the downloadFile allow-list: `downloadFile` itself and
/// `getImageInfo` on a network image.
pub(super) fn fetch_file(
    state: &mut HostState,
    url: String,
    header: BTreeMap<String, String>,
    timeout: u64,
    then: impl FnOnce(&mut HostState, HttpResponse) -> ApiResult + 'static,
) -> ApiResult {
    let request = HttpRequest {
        url,
        method: "GET".to_owned(),
        header,
        body: Vec::new(),
        timeout,
    };
    transfer(state, DomainKind::DownloadFile, request, then)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadOptions {
    url: String,
    file_path: String,
    name: String,
    #[serde(default)]
    header: BTreeMap<String, Value>,
    #[serde(default)]
    form_data: serde_json::Map<String, Value>,
    #[serde(default = "default_timeout")]
    timeout: u64,
}

/// A `multipart/form-data` body: the form fields, then the file.
fn multipart(
    boundary: &str,
    fields: &serde_json::Map<String, Value>,
    name: &str,
    file_name: &str,
    bytes: &[u8],
) -> Vec<u8> {
    let quote = |s: &str| s.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::new();
    for (key, value) in fields {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                quote(key)
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            quote(name),
            quote(file_name)
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn upload_file(state: &mut HostState, args: Value) -> ApiResult {
    let UploadOptions {
        url,
        file_path,
        name,
        header,
        form_data,
        timeout,
    } = options(args)?;
    let bytes = state.read_file(&file_path)?;
    let file_name = file_path.rsplit('/').next().unwrap_or("file").to_owned();
    // Unique per call and deterministic, so runs are reproducible.
    let boundary = format!("----BonsaiFormBoundary{:016x}", state.last_waiting_id + 1);
    let mut header = header_strings(header);
    header.retain(|k, _| !k.eq_ignore_ascii_case("content-type"));
    header.insert(
        "content-type".to_owned(),
        format!("multipart/form-data; boundary={boundary}"),
    );
    let request = HttpRequest {
        url,
        method: "POST".to_owned(),
        header,
        body: multipart(&boundary, &form_data, &name, &file_name, &bytes),
        timeout,
    };
    transfer(state, DomainKind::UploadFile, request, |_, response| {
        let text = String::from_utf8_lossy(&response.body).into_owned();
        Ok(json!({
            "data": text,
            "statusCode": response.status_code,
            "header": response.header,
        }))
    })
}

pub(super) fn apis() -> Vec<ApiSpec> {
    let api = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Async,
        capability: Capability::Network,
        handler,
    };
    vec![
        api("request", request),
        api("downloadFile", download_file),
        api("uploadFile", upload_file),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_enforced() {
        let policy = NetworkPolicy {
            url_check: true,
            domains: Domains {
                request: vec!["api.shop.example".into()],
                socket: vec!["ws.shop.example".into()],
                ..Domains::default()
            },
        };
        let request = |url| policy.check(DomainKind::Request, url);
        assert!(request("https://api.shop.example/products?x=1").is_ok());
        assert!(request("https://API.shop.example:443/x").is_ok());
        assert!(request("http://api.shop.example/").is_err());
        assert!(request("https://evil.example/").is_err());
        assert!(request("https://127.0.0.1/").is_err());
        assert!(request("https://[::1]/").is_err());
        assert!(request("https://localhost/").is_err());
        assert!(request("https://user@evil.example/").is_err());
        assert!(request("nonsense").is_err());
        // Each kind has its own list and scheme.
        assert!(
            policy
                .check(DomainKind::DownloadFile, "https://api.shop.example/a.png")
                .is_err()
        );
        assert!(
            policy
                .check(DomainKind::Socket, "wss://ws.shop.example/live")
                .is_ok()
        );
        assert!(
            policy
                .check(DomainKind::Socket, "ws://ws.shop.example/live")
                .is_err()
        );
        assert!(
            policy
                .check(DomainKind::Socket, "https://ws.shop.example/")
                .is_err()
        );
        let dev = NetworkPolicy::default();
        assert!(
            dev.check(DomainKind::Request, "http://127.0.0.1:8080/")
                .is_ok()
        );
        assert!(
            dev.check(DomainKind::Socket, "ws://127.0.0.1:8080/")
                .is_ok()
        );
        assert!(dev.check(DomainKind::Request, "ftp://x/").is_err());
    }

    fn options(value: Value) -> RequestOptions {
        serde_json::from_value(value).expect("valid options")
    }

    #[test]
    fn data_is_encoded_as_wechat_does() {
        let get = build_request(options(
            json!({"url": "https://a.example/p?x=1", "data": {"q": "a b", "n": 2}}),
        ))
        .expect("ok");
        assert_eq!(get.url, "https://a.example/p?x=1&q=a%20b&n=2");
        assert!(get.body.is_empty());
        let post = build_request(options(
            json!({"url": "https://a.example/", "method": "post", "data": {"a": 1}}),
        ))
        .expect("ok");
        assert_eq!(post.method, "POST");
        assert_eq!(post.body, br#"{"a":1}"#);
        assert_eq!(post.header["content-type"], "application/json");
        let form = build_request(options(json!({"url": "https://a.example/", "method": "POST", "header": {"Content-Type": "application/x-www-form-urlencoded"}, "data": {"a": "x&y"}}))).expect("ok");
        assert_eq!(form.body, b"a=x%26y");
        let binary = build_request(options(
            json!({"url": "https://a.example/", "method": "PUT", "dataBase64": "AAEC"}),
        ))
        .expect("ok");
        assert_eq!(binary.body, [0, 1, 2]);
        assert!(
            build_request(options(
                json!({"url": "https://a.example/", "method": "FETCH"})
            ))
            .is_err()
        );
    }

    #[test]
    fn download_names_keep_a_sane_extension() {
        assert_eq!(extension_of("https://a.example/img/cat.JPG?x=1"), "jpg");
        assert_eq!(extension_of("https://a.example/img/cat"), "");
        assert_eq!(extension_of("https://a.example/a.b/c"), "");
        assert_eq!(extension_of("https://a.example/x.<script>"), "");
    }
}
