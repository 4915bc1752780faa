//! `GraphClient`: every request goes through one executor that owns authentication, pacing,
//! retries, statistics and tracing, so callers never sleep or retry by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use url::Url;

use super::auth::{AccessToken, TokenCache};

/// Most ids one getByIds call takes [GDC api/directoryobject-getbyids.md].
const GET_BY_IDS_MAX: usize = 1000;
use super::config::GraphConfig;
use super::credential::LoadedCredential;
use super::error::{AuthError, GraphError};
use super::pacing::{Pacer, estimate_ru};
use super::retry::{Attempt, Attempts, Cause, RetryContext, Retryable, parse_retry_after, retry};
use super::stats::{RequestStats, StatsCounters};

/// A Microsoft Graph client for one tenant. Cheap to clone; clones share the token cache,
/// the pacing budget and the statistics.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph", &self.inner.api_root)
            .field("tenant", &self.inner.config.tenant)
            .field("client_id", &self.inner.config.client_id)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    config: GraphConfig,
    credential: LoadedCredential,
    token_url: Url,
    /// `{graph}/v1.0`, without a trailing slash.
    api_root: String,
    tokens: TokenCache,
    pacer: Pacer,
    stats: StatsCounters,
    /// When the client was made: the start of the run's throttle deadline.
    created: Instant,
}

/// Who a request goes to; decides authentication and how errors are read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Graph,
    TokenEndpoint,
}

/// How to read a successful body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// JSON; a body that does not parse is retried, then reported.
    Json,
    /// UTF-8 text (`$count`).
    Text,
    /// Bytes as received (token responses: parsed by the caller).
    Raw,
}

pub(crate) enum Body {
    Empty,
    Json(Value),
    /// URL-encoded form that may hold a secret.
    Form(SecretString),
}

/// One logical request; the executor may send it several times.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) expect: Expect,
    pub(crate) target: Target,
    /// Graph requests this call stands for (a batch counts its items).
    pub(crate) items: u64,
    pub(crate) ru_estimate: u32,
    /// Resource units are reported per batch item, not on the envelope.
    pub(crate) ru_from_items: bool,
    /// False for a write that must not happen twice (creating an app, adding a secret): only
    /// answers that say the request was not processed (429, 503) are retried, never a lost
    /// connection or a gateway timeout whose outcome is unknown.
    pub(crate) repeatable: bool,
}

impl Call {
    /// A GET; advanced queries (`$count=true`, `$search`) get `ConsistencyLevel: eventual`,
    /// without which Graph refuses them.
    pub(crate) fn get(url: Url) -> Self {
        let ru_estimate = estimate_ru(url.as_str());
        let advanced = url.query_pairs().any(|(k, v)| {
            let k = k.to_ascii_lowercase();
            k == "$search" || (k == "$count" && v.eq_ignore_ascii_case("true"))
        });
        let headers = if advanced {
            vec![("ConsistencyLevel".to_string(), "eventual".to_string())]
        } else {
            Vec::new()
        };
        Call {
            method: Method::GET,
            url,
            headers,
            body: Body::Empty,
            expect: Expect::Json,
            target: Target::Graph,
            items: 1,
            ru_estimate,
            ru_from_items: false,
            repeatable: true,
        }
    }
}

/// A URL-encoded form body; kept secret because a form may carry a credential.
pub(crate) fn form_body(pairs: &[(&str, &str)]) -> SecretString {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(pairs);
    SecretString::from(form.finish())
}

impl Call {
    /// A form POST to the Entra token (or device code) endpoint; the form may hold a secret.
    pub(crate) fn token_endpoint(url: Url, form: SecretString) -> Self {
        Call {
            method: Method::POST,
            url,
            headers: vec![("Accept".into(), "application/json".into())],
            body: Body::Form(form),
            expect: Expect::Raw,
            target: Target::TokenEndpoint,
            items: 0,
            ru_estimate: 0,
            ru_from_items: false,
            repeatable: true,
        }
    }
}

/// A successful response.
pub(crate) struct Reply {
    /// Parsed body for [`Expect::Json`] (`Null` when empty).
    pub(crate) json: Value,
    /// Text for [`Expect::Text`].
    pub(crate) text: String,
    /// Raw body for [`Expect::Raw`].
    pub(crate) raw: Vec<u8>,
}

impl GraphClient {
    /// Builds the HTTP client and loads the credential (certificate files are read here).
    pub fn new(config: GraphConfig) -> Result<Self, GraphError> {
        let credential = LoadedCredential::load(&config.credential)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(30)))
            // A redirect could carry the bearer token to another host; Graph does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_in_flight.max(1));
        if let Some(path) = &config.extra_ca_pem {
            let pem = std::fs::read(path).map_err(|e| {
                GraphError::Config(format!(
                    "cannot read the extra CA file {}: {e}",
                    path.display()
                ))
            })?;
            let certs = super::tls::certificates_from_pem(&pem).map_err(|e| {
                GraphError::Config(format!(
                    "the extra CA file {} is not a PEM certificate bundle: {e}",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(GraphError::Config(format!(
                    "the extra CA file {} holds no certificate",
                    path.display()
                )));
            }
            let tls = super::tls::client_config(certs).map_err(|e| {
                GraphError::Config(format!(
                    "cannot use the certificates of {}: {e}",
                    path.display()
                ))
            })?;
            builder = builder.use_preconfigured_tls(tls);
        }
        let http = builder
            .build()
            .map_err(|e| GraphError::Config(format!("cannot build the HTTP client: {e}")))?;
        let token_url = Url::parse(&config.token_url())
            .map_err(|e| GraphError::Config(format!("bad token endpoint URL: {e}")))?;
        let api_root = format!(
            "{}/v1.0",
            config.endpoints.graph.as_str().trim_end_matches('/')
        );
        let pacer = Pacer::new(&config.pacing, config.max_in_flight);
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                credential,
                token_url,
                api_root,
                tokens: TokenCache::new(),
                pacer,
                stats: StatsCounters::default(),
                created: Instant::now(),
                config,
            }),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    /// The token that stops this client's waits and retries when cancelled.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.config.cancel
    }

    /// The same client with a cancellation of its own: cleaning up after a cancelled
    /// operation (deleting what it created) must not be stopped by that cancellation. A
    /// delegated sign-in is shared (its refresh token), so no new sign-in is needed.
    pub fn detached(&self) -> Result<GraphClient, GraphError> {
        let mut config = self.inner.config.clone();
        config.cancel = CancellationToken::new();
        GraphClient::new(config)
    }

    /// Counters so far (cheap; safe to call on every UI tick).
    pub fn stats(&self) -> RequestStats {
        self.inner
            .stats
            .snapshot(self.inner.tokens.fetches(), self.inner.pacer.slowdown())
    }

    /// Drops the cached token after Graph refused it inside a batch, where the envelope's
    /// token is not at hand; the next request fetches a fresh one.
    pub(crate) async fn forget_token(&self) {
        if let Some(t) = self.inner.tokens.current().await {
            self.inner.tokens.invalidate(&t).await;
        }
    }

    /// A valid access token, from the cache or fetched (one fetch shared by all callers).
    pub async fn token(&self) -> Result<AccessToken, GraphError> {
        let cancel = &self.inner.config.cancel;
        tokio::select! {
            r = self.inner.tokens.get_or_fetch(|| self.fetch_token()) => r,
            _ = cancel.cancelled() => Err(GraphError::Cancelled),
        }
    }

    /// Boxed `token()`: fetching a token runs the executor, which asks for a token, and the
    /// box breaks that cycle for the compiler.
    fn token_boxed(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<AccessToken, GraphError>> + Send + '_>> {
        Box::pin(self.token())
    }

    async fn fetch_token(&self) -> Result<AccessToken, GraphError> {
        if let LoadedCredential::Delegated(grant) = &self.inner.credential {
            return self.refresh_delegated(grant).await;
        }
        let cfg = &self.inner.config;
        let fields = self
            .inner
            .credential
            .form_fields(&cfg.client_id, self.inner.token_url.as_str())?;
        let mut pairs = vec![
            ("client_id", cfg.client_id.as_str()),
            ("scope", cfg.endpoints.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        pairs.extend(fields.iter().map(|(n, v)| (*n, v.expose_secret())));
        let form = form_body(&pairs);
        let reply = self
            .execute(&Call::token_endpoint(self.inner.token_url.clone(), form))
            .await?;
        AccessToken::from_response(&reply.raw, Instant::now())
    }

    /// The first three characters of the client secret this client signs in with (what Graph
    /// shows of it as `hint`); `None` for other credentials.
    pub fn secret_hint(&self) -> Option<String> {
        match &self.inner.credential {
            LoadedCredential::Secret(s) => Some(s.expose_secret().chars().take(3).collect()),
            _ => None,
        }
    }

    /// The credential this client signs in with.
    pub(crate) fn credential(&self) -> &LoadedCredential {
        &self.inner.credential
    }

    /// The token endpoint this client signs in at.
    pub(crate) fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    /// GET a Graph path relative to `/v1.0` (e.g. `/users?$select=id`) and return its JSON.
    /// Query values are percent-encoded; `$` stays literal; existing `%XX` escapes are kept.
    pub async fn get_json(&self, path_and_query: &str) -> Result<Value, GraphError> {
        self.get_json_with_headers(path_and_query, &[]).await
    }

    /// Like [`get_json`](Self::get_json) with extra request headers (e.g.
    /// `ConsistencyLevel: eventual` for advanced queries).
    pub async fn get_json_with_headers(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Value, GraphError> {
        let mut call = Call::get(self.graph_url(path_and_query)?);
        for (k, v) in headers {
            call.headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case(k));
            call.headers.push((k.to_string(), v.to_string()));
        }
        Ok(self.execute(&call).await?.json)
    }

    /// Number of objects in a collection (`users`, `groups`, `groups/{id}/members`) via
    /// `/$count` with `ConsistencyLevel: eventual`.
    pub async fn count(&self, collection: &str) -> Result<u64, GraphError> {
        self.count_query(&format!("/{}/$count", collection.trim_matches('/')))
            .await
    }

    /// A `/$count` path with its query (e.g.
    /// `/users/$count?$filter=startswith(userPrincipalName,'a')`), as an advanced query.
    pub async fn count_query(&self, path: &str) -> Result<u64, GraphError> {
        let mut call = Call::get(self.graph_url(path)?);
        call.headers = vec![
            ("ConsistencyLevel".into(), "eventual".into()),
            ("Accept".into(), "text/plain".into()),
        ];
        call.expect = Expect::Text;
        let reply = self.execute(&call).await?;
        reply
            .text
            .trim_start_matches('\u{feff}')
            .trim()
            .parse()
            .map_err(|_| GraphError::Decode {
                what: path.to_string(),
                message: format!(
                    "expected a number, got {:?}",
                    reply.text.chars().take(40).collect::<String>()
                ),
            })
    }

    /// POST a JSON body to a Graph action that only reads (`/directoryObjects/getByIds`), with
    /// the same retry policy as a GET: repeating it changes nothing.
    pub async fn post_json(&self, path_and_query: &str, body: Value) -> Result<Value, GraphError> {
        let mut call = Call::get(self.graph_url(path_and_query)?);
        call.method = Method::POST;
        call.body = Body::Json(body);
        Ok(self.execute(&call).await?.json)
    }

    /// POST a JSON body that creates something (an application, a secret): sent once, retried
    /// only when Graph says it did not process it (429, 503). The created object's JSON.
    pub async fn create(&self, path: &str, body: Value) -> Result<Value, GraphError> {
        let mut call = Call::get(self.graph_url(path)?);
        call.method = Method::POST;
        call.body = Body::Json(body);
        call.repeatable = false;
        Ok(self.execute(&call).await?.json)
    }

    /// DELETE a Graph object (repeating it is harmless: the second answers 404).
    pub async fn delete(&self, path: &str) -> Result<(), GraphError> {
        let mut call = Call::get(self.graph_url(path)?);
        call.method = Method::DELETE;
        self.execute(&call).await.map(|_| ())
    }

    /// `POST /directoryObjects/getByIds` for any number of ids: calls of at most 1,000 ids
    /// (the documented limit), `in_flight` of them at a time; the objects found, in no
    /// particular order (ids not found are simply absent).
    pub async fn get_by_ids(
        &self,
        ids: &[&str],
        select: &str,
        in_flight: usize,
    ) -> Result<Vec<Value>, GraphError> {
        use futures::{StreamExt, TryStreamExt};
        let path = format!("/directoryObjects/getByIds?$select={select}");
        let calls: Vec<_> = ids
            .chunks(GET_BY_IDS_MAX)
            .map(|chunk| self.post_json(&path, serde_json::json!({ "ids": chunk })))
            .collect();
        let bodies: Vec<Value> = futures::stream::iter(calls)
            .buffered(in_flight.max(1))
            .try_collect()
            .await?;
        Ok(bodies
            .into_iter()
            .flat_map(|mut b| match b.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            })
            .collect())
    }

    /// Absolute URL for a Graph path, or a checked absolute link (only to the Graph root).
    pub(crate) fn graph_url(&self, path_and_query: &str) -> Result<Url, GraphError> {
        let s = path_and_query.trim();
        if s.starts_with("https://") || s.starts_with("http://") {
            let url = Url::parse(s).map_err(|e| GraphError::Decode {
                what: "a paging link".into(),
                message: e.to_string(),
            })?;
            return self.check_origin(url);
        }
        let out = format!("{}{}", self.inner.api_root, encode_relative(s));
        Url::parse(&out).map_err(|e| GraphError::Config(format!("bad Graph path {s:?}: {e}")))
    }

    /// Refuses URLs whose scheme, host or port differ from the Graph root.
    pub(crate) fn check_origin(&self, url: Url) -> Result<Url, GraphError> {
        let root = &self.inner.config.endpoints.graph;
        if url.scheme() == root.scheme()
            && url.host_str().map(str::to_ascii_lowercase)
                == root.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == root.port_or_known_default()
        {
            Ok(url)
        } else {
            Err(GraphError::ForeignNextLink {
                origin: url.origin().ascii_serialization(),
                expected: root.origin().ascii_serialization(),
            })
        }
    }

    pub(crate) fn stats_counters(&self) -> &StatsCounters {
        &self.inner.stats
    }

    pub(crate) fn pacer_add_debt(&self, units: u32) {
        self.inner.pacer.add_debt(units);
    }

    pub(crate) fn pacer_throttled(&self, retry_after: Option<Duration>) {
        self.inner.pacer.throttled(retry_after);
    }

    /// Sends `call` under the retry policy (the loop in [`retry`](super::retry) does the waiting).
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, GraphError> {
        let span = tracing::debug_span!(
            "graph_request",
            method = %call.method,
            path = %call.url.path(),
        );
        self.execute_inner(call).instrument(span).await
    }

    async fn execute_inner(&self, call: &Call) -> Result<Reply, GraphError> {
        retry(
            &self.retry_context(),
            &mut SingleCall { client: self, call },
        )
        .await
    }

    /// Sends `call` under the retry policy and decodes its JSON body as `T` (an empty body
    /// as `T::default()`): a body that does not parse as JSON is retried like
    /// [`Expect::Json`]'s, one that is JSON of another shape is reported at once.
    pub(crate) async fn execute_decoded<T>(&self, mut call: Call) -> Result<T, GraphError>
    where
        T: serde::de::DeserializeOwned + Default + Send,
    {
        let span = tracing::debug_span!(
            "graph_request",
            method = %call.method,
            path = %call.url.path(),
        );
        call.expect = Expect::Raw;
        let mut decoded = DecodedCall {
            client: self,
            call: &call,
            decoded: std::marker::PhantomData,
        };
        retry(&self.retry_context(), &mut decoded)
            .instrument(span)
            .await
    }

    /// What [`retry`] needs from this client: its policy, cancellation, counters and start.
    pub(crate) fn retry_context(&self) -> RetryContext<'_> {
        RetryContext {
            policy: &self.inner.config.retry,
            cancel: &self.inner.config.cancel,
            stats: &self.inner.stats,
            run_started: self.inner.created,
        }
    }

    /// One HTTP exchange of `call`, classified for the retry loop.
    async fn attempt(&self, call: &Call, attempt: u32) -> Attempt<Reply> {
        // Graph requests a retry of this call resends (none for the token endpoint).
        let retried = match call.target {
            Target::Graph => call.items.max(1),
            Target::TokenEndpoint => 0,
        };
        let token = match call.target {
            Target::Graph => match self.token_boxed().await {
                Ok(t) => Some(t),
                Err(e) => return Attempt::Fatal(e),
            },
            Target::TokenEndpoint => None,
        };
        let response = match self.exchange(call, attempt, token.as_ref(), retried).await {
            Ok(r) => r,
            Err(step) => return step,
        };
        self.observe_response(call, attempt, &response);
        self.classify(call, response, token.as_ref(), retried).await
    }

    /// Sends `call` once the pacer admits it and reads the whole answer; a failure on the
    /// way is already the attempt's outcome.
    async fn exchange(
        &self,
        call: &Call,
        attempt: u32,
        token: Option<&AccessToken>,
        retried: u64,
    ) -> Result<RawResponse, Attempt<Reply>> {
        let inner = &self.inner;
        let cancel = &inner.config.cancel;
        let ru = if call.target == Target::Graph {
            call.ru_estimate
        } else {
            0
        };
        let permit = inner
            .pacer
            .admit(ru, cancel)
            .await
            .map_err(Attempt::Fatal)?;
        StatsCounters::add(&inner.stats.requests, call.items);

        let rb = self.request(call, attempt, token);
        let host = call.url.host_str().unwrap_or("?").to_string();
        let sent = tokio::select! {
            r = rb.send() => r,
            _ = cancel.cancelled() => return Err(Attempt::Fatal(GraphError::Cancelled)),
        };
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Err(once_only(
                    call,
                    network_step(&host, e, "sending the request", retried),
                ));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = tokio::select! {
            b = response.bytes() => b,
            _ = cancel.cancelled() => return Err(Attempt::Fatal(GraphError::Cancelled)),
        };
        drop(permit);
        match body {
            Ok(b) => Ok(RawResponse {
                status,
                headers,
                body: b.to_vec(),
            }),
            Err(e) => Err(once_only(
                call,
                network_step(&host, e, "reading the response (cut off)", retried),
            )),
        }
    }

    /// The HTTP request for `call`: its ids, headers, bearer token and body.
    fn request(
        &self,
        call: &Call,
        attempt: u32,
        token: Option<&AccessToken>,
    ) -> reqwest::RequestBuilder {
        let mut rb = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header("client-request-id", uuid::Uuid::new_v4().to_string());
        if attempt > 1 {
            // As the Graph SDKs' retry handler does: which retry this is.
            rb = rb.header("Retry-Attempt", (attempt - 1).to_string());
        }
        for (k, v) in &call.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(t) = token {
            rb = rb.bearer_auth(t.bearer().expose_secret());
        }
        match &call.body {
            Body::Empty => rb,
            Body::Json(v) => rb.json(v),
            Body::Form(f) => rb
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(f.expose_secret().to_string()),
        }
    }

    /// Tells the pacer what a Graph answer reports of the resource units and the throttle
    /// limit, and logs the answer.
    fn observe_response(&self, call: &Call, attempt: u32, response: &RawResponse) {
        let inner = &self.inner;
        let headers = &response.headers;
        let resource_units = header_str(headers, "x-ms-resource-unit")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v.round().max(0.0) as u32);
        let limit_fraction = header_str(headers, "x-ms-throttle-limit-percentage")
            .and_then(|v| v.trim().parse::<f64>().ok());
        if call.target == Target::Graph {
            if let (Some(units), false) = (resource_units, call.ru_from_items) {
                StatsCounters::add(&inner.stats.resource_units, u64::from(units));
            }
            let actual = if call.ru_from_items {
                None
            } else {
                resource_units
            };
            inner
                .pacer
                .observe(call.ru_estimate, actual, limit_fraction);
        }
        tracing::debug!(
            status = response.status.as_u16(),
            attempt,
            ru = resource_units,
            throttle_limit = limit_fraction,
            "response"
        );
    }

    /// What the retry loop does with an answer: done, retry (and why), or give up.
    async fn classify(
        &self,
        call: &Call,
        response: RawResponse,
        token: Option<&AccessToken>,
        retried: u64,
    ) -> Attempt<Reply> {
        let inner = &self.inner;
        let RawResponse {
            status,
            headers,
            body,
        } = response;
        let request_id = header_str(&headers, "request-id");
        let error_of = |body: &[u8]| match call.target {
            Target::Graph => GraphError::from_graph_body(status.as_u16(), body, request_id),
            Target::TokenEndpoint => AuthError::from_body(status.as_u16(), body).into(),
        };
        let retry_after = header_str(&headers, "retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()));

        let again = |error, cause, retry_after| {
            Attempt::Retry(Retryable {
                error,
                cause,
                retry_after,
                items: retried,
            })
        };
        if status.is_success() {
            return match decode_success(call, body) {
                Ok(reply) => Attempt::Done(reply),
                Err(error) => again(error, Cause::MalformedBody, None),
            };
        }
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                if call.target == Target::Graph {
                    StatsCounters::add(&inner.stats.throttled, call.items.max(1));
                    inner.pacer.throttled(retry_after);
                }
                again(error_of(&body), Cause::Throttled, retry_after)
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                again(error_of(&body), Cause::Transient, retry_after)
            }
            StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => {
                once_only(call, again(error_of(&body), Cause::Transient, retry_after))
            }
            StatusCode::UNAUTHORIZED if call.target == Target::Graph => {
                let error = error_of(&body);
                if error.code() == Some("InvalidAuthenticationToken")
                    && let Some(t) = token
                {
                    inner.tokens.invalidate(t).await;
                    tracing::info!("access token rejected by Graph; fetching a new one");
                    again(error, Cause::TokenRejected, None)
                } else {
                    Attempt::Fatal(error)
                }
            }
            _ => Attempt::Fatal(error_of(&body)),
        }
    }
}

/// An answer read in full: status, headers and body.
struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A write that must not happen twice is not retried after a failure that leaves its outcome
/// unknown (the request may have been carried out): the caller reads back what exists.
fn once_only<T>(call: &Call, step: Attempt<T>) -> Attempt<T> {
    match step {
        Attempt::Retry(r) if !call.repeatable => Attempt::Fatal(GraphError::OutcomeUnknown {
            what: format!("{} {}", call.method, call.url.path()),
            last: Box::new(r.error),
        }),
        other => other,
    }
}

/// A single request as the retry loop sees it.
struct SingleCall<'a> {
    client: &'a GraphClient,
    call: &'a Call,
}

impl Attempts for SingleCall<'_> {
    type Output = Reply;
    fn attempt(&mut self, n: u32) -> impl Future<Output = Attempt<Reply>> + Send {
        self.client.attempt(self.call, n)
    }
}

/// A single request whose JSON body is decoded as `T` within the retry loop.
struct DecodedCall<'a, T> {
    client: &'a GraphClient,
    call: &'a Call,
    decoded: std::marker::PhantomData<fn() -> T>,
}

impl<T> Attempts for DecodedCall<'_, T>
where
    T: serde::de::DeserializeOwned + Default + Send,
{
    type Output = T;
    async fn attempt(&mut self, n: u32) -> Attempt<T> {
        let reply = match self.client.attempt(self.call, n).await {
            Attempt::Done(reply) => reply,
            Attempt::Fatal(e) => return Attempt::Fatal(e),
            Attempt::Retry(r) => return Attempt::Retry(r),
        };
        let body = reply.raw;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Attempt::Done(T::default());
        }
        let what = || format!("{} {}", self.call.method, self.call.url.path());
        match serde_json::from_slice(&body) {
            Ok(v) => Attempt::Done(v),
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                Attempt::Fatal(GraphError::Decode {
                    what: what(),
                    message: format!("unexpected JSON ({e})"),
                })
            }
            Err(e) => Attempt::Retry(Retryable {
                error: GraphError::Decode {
                    what: what(),
                    message: format!("malformed JSON ({e})"),
                },
                cause: Cause::MalformedBody,
                retry_after: None,
                items: self.call.items.max(1),
            }),
        }
    }
}

fn decode_success(call: &Call, body: Vec<u8>) -> Result<Reply, GraphError> {
    let mut reply = Reply {
        json: Value::Null,
        text: String::new(),
        raw: Vec::new(),
    };
    let what = || format!("{} {}", call.method, call.url.path());
    match call.expect {
        Expect::Json if body.iter().all(u8::is_ascii_whitespace) => {}
        Expect::Json => {
            reply.json = serde_json::from_slice(&body).map_err(|e| GraphError::Decode {
                what: what(),
                message: format!("malformed JSON ({e})"),
            })?;
        }
        Expect::Text => {
            reply.text = String::from_utf8(body).map_err(|_| GraphError::Decode {
                what: what(),
                message: "the body is not UTF-8 text".into(),
            })?;
        }
        Expect::Raw => reply.raw = body,
    }
    Ok(reply)
}

fn network_step<T>(host: &str, error: reqwest::Error, during: &str, items: u64) -> Attempt<T> {
    if error.is_builder() {
        return Attempt::Fatal(GraphError::Config(format!(
            "could not build the request: {}",
            error.without_url()
        )));
    }
    let error = error.without_url();
    // An untrusted certificate will not fix itself: fail at once with the way out.
    if let Some(problem) = certificate_problem(&error) {
        return Attempt::Fatal(GraphError::UntrustedCertificate {
            host: host.to_string(),
            problem,
        });
    }
    let mut message = format!("{during}: {}", error_chain(&error));
    if message.len() > 400 {
        message.truncate(400);
    }
    Attempt::Retry(Retryable {
        error: GraphError::Network {
            host: host.to_string(),
            message,
        },
        cause: Cause::Transient,
        retry_after: None,
        items,
    })
}

/// The rustls certificate error somewhere in `e`'s source chain, if that is what failed.
/// tokio-rustls wraps it in nested `io::Error`s, whose `source()` skips the wrapped error,
/// so those are opened with `get_ref`.
fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(e);
    while let Some(mut err) = current {
        while let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            err = inner;
        }
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) = err.downcast_ref() {
            return Some(tls.to_string());
        }
        current = err.source();
    }
    None
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// A path relative to `/v1.0` with a leading `/`, its path and query values percent-encoded.
pub(crate) fn encode_relative(path_and_query: &str) -> String {
    let s = path_and_query.trim();
    let (path, query) = s.split_once('?').unwrap_or((s, ""));
    let mut out = String::with_capacity(s.len() + 8);
    if !path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&encode_url_text(path, true));
    if !query.is_empty() {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => {
                    format!("{}={}", encode_url_text(k, true), encode_url_text(v, true))
                }
                None => encode_url_text(pair, true),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Percent-encodes text for a URL path or query value. Keeps unreserved characters, `$`,
/// OData punctuation (`'(),:;=@!*`), existing `%XX` escapes, and `/` when `keep_slash`.
pub(crate) fn encode_url_text(text: &str, keep_slash: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'$'
                    | b'\''
                    | b'('
                    | b')'
                    | b','
                    | b':'
                    | b';'
                    | b'='
                    | b'@'
                    | b'!'
                    | b'*'
            )
            || (b == b'/' && keep_slash)
            || (b == b'%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::cloud::{Cloud, Endpoints};
    use crate::graph::credential::Credential;

    fn client(graph: &str) -> GraphClient {
        let endpoints =
            Endpoints::resolve(Cloud::Custom, Some("https://login.example"), Some(graph)).unwrap();
        GraphClient::new(GraphConfig::new(
            endpoints,
            "contoso.example".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            Credential::Secret(SecretString::from("secret-value")),
        ))
        .unwrap()
    }

    #[test]
    fn paths_are_encoded_with_dollar_literal() {
        let c = client("https://graph.example");
        let u = c
            .graph_url(
                "/users?$select=id,displayName&$filter=startswith(displayName,'Ann B')&$top=999",
            )
            .unwrap();
        assert_eq!(
            u.as_str(),
            // The url crate escapes `'` in queries of special schemes; Graph reads both forms.
            "https://graph.example/v1.0/users?$select=id,displayName&$filter=startswith(displayName,%27Ann%20B%27)&$top=999"
        );
        let u = c
            .graph_url("groups?$filter=mail eq 'a+b@x.example'")
            .unwrap();
        assert_eq!(u.query(), Some("$filter=mail%20eq%20%27a%2Bb@x.example%27"));
        let u = c.graph_url("/users?$search=%22displayName:ann%22").unwrap();
        assert_eq!(u.query(), Some("$search=%22displayName:ann%22"));
        let u = c
            .graph_url("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')")
            .unwrap();
        assert_eq!(
            u.path(),
            "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"
        );
    }

    #[test]
    fn advanced_queries_ask_for_eventual_consistency() {
        let c = client("https://graph.example");
        let has = |p: &str| {
            Call::get(c.graph_url(p).unwrap())
                .headers
                .iter()
                .any(|(k, v)| k == "ConsistencyLevel" && v == "eventual")
        };
        assert!(has("/users?$count=true&$top=1"));
        assert!(has("/users?$search=\"displayName:ann\""));
        assert!(!has("/users?$select=id"));
        assert!(!has("/users?$count=false"));
    }

    #[test]
    fn graph_root_with_path_prefix_is_kept() {
        let c = client("https://proxy.example/graph/");
        assert_eq!(
            c.graph_url("/users").unwrap().as_str(),
            "https://proxy.example/graph/v1.0/users"
        );
    }

    #[test]
    fn absolute_links_only_to_the_graph_root() {
        let c = client("https://graph.example");
        assert!(
            c.graph_url("https://graph.example/v1.0/users?$skiptoken=x")
                .is_ok()
        );
        assert!(c.graph_url("https://GRAPH.example:443/v1.0/users").is_ok());
        for bad in [
            "https://evil.example/v1.0/users",
            "http://graph.example/v1.0/users",
            "https://graph.example:8443/v1.0/users",
        ] {
            assert!(
                matches!(c.graph_url(bad), Err(GraphError::ForeignNextLink { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn client_and_its_futures_can_move_between_threads() {
        fn assert_send<T: Send>(_: &T) {}
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<GraphClient>();
        let c = client("https://graph.example");
        assert_send(&c.get_json("/users"));
        assert_send(&c.count("users"));
        assert_send(&c.batch(Vec::new()));
        assert_send(&c.token());
        let mut pager = c.pager("/users");
        assert_send(&pager.next_page());
    }

    #[test]
    fn tenant_is_part_of_the_token_url_and_only_checked_ones_get_there() {
        let endpoints = Endpoints::resolve(Cloud::Global, None, None).unwrap();
        let cfg = GraphConfig::new(
            endpoints,
            "contoso.onmicrosoft.com".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            Credential::Secret(SecretString::from("hunter2-secret")),
        );
        assert_eq!(
            cfg.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        // A path-like tenant never becomes a TenantRef, so it never reaches the URL.
        assert!("a b/../x".parse::<crate::graph::TenantRef>().is_err());
        assert!(" ".parse::<crate::graph::TenantRef>().is_err());
        assert!(!format!("{cfg:?}").contains("hunter2"));
        let c = client("https://graph.example");
        assert!(!format!("{c:?}").contains("secret-value"));
    }
}
