//! Shared helpers for the simulator tests. They speak raw HTTP the way a Graph client would
//! (reqwest only, nothing from `entra_extract::graph`), so they pin the simulator itself.
#![allow(
    dead_code,
    reason = "each test binary uses a part of the shared helpers"
)]

use entra_sim::{DemoAppKind, SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::Value;

pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Starts a simulator with throttling off unless the test configures it.
pub async fn start(mut config: SimConfig) -> SimHandle {
    if config.throttle.budget.is_none() && config.throttle.enabled {
        config.throttle.enabled = false;
    }
    entra_sim::start(config).await.expect("simulator starts")
}

pub async fn start_small() -> SimHandle {
    start(SimConfig::default()).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

/// POSTs a client-credentials form to the token endpoint.
pub async fn token_response(
    h: &SimHandle,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", h.base_url()))
        .form(form)
        .send()
        .await
        .expect("token request");
    let s = r.status();
    (s, r.json().await.expect("token JSON"))
}

/// An access token for a demo app (secret flow).
pub async fn token(h: &SimHandle, kind: DemoAppKind) -> String {
    let app = h.app(kind);
    let (s, v) = token_response(
        h,
        h.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A Graph response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// GET an absolute URL or a path under the base URL.
pub async fn get_with(
    h: &SimHandle,
    token: Option<&str>,
    url: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let url = if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}{url}", h.base_url())
    };
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(req).await
}

/// Sends a request and keeps status, headers and body.
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Reply {
        status,
        headers,
        text,
    }
}

/// The claims of a JWT (not verified).
pub fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("JWT payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&raw).expect("claims JSON")
}

pub async fn get(h: &SimHandle, token: &str, url: &str) -> Reply {
    get_with(h, Some(token), url, &[]).await
}

/// Follows `@odata.nextLink` to the end; returns every item and the number of pages.
pub async fn page_all(h: &SimHandle, token: &str, first: &str) -> (Vec<Value>, usize) {
    let mut url = first.to_string();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(h, token, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        let v = r.json();
        pages += 1;
        items.extend(v["value"].as_array().expect("value").iter().cloned());
        match v.get("@odata.nextLink").and_then(Value::as_str) {
            Some(next) => {
                assert!(
                    next.starts_with(h.base_url()),
                    "nextLink must be absolute: {next}"
                );
                url = next.to_string();
            }
            None => break,
        }
        assert!(pages < 10_000, "paging does not terminate");
    }
    (items, pages)
}

/// The ground truth from `/_sim/truth`.
pub async fn truth(h: &SimHandle) -> Value {
    let r = get_with(h, None, "/_sim/truth", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

pub async fn stats(h: &SimHandle) -> Value {
    get_with(h, None, "/_sim/stats", &[]).await.json()
}
