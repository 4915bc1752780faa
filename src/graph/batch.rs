//! JSON batching: up to 20 GETs per `POST /$batch`. Batching saves round trips, not resource
//! units: Graph throttles each item on its own, so throttled items are re-batched after their
//! Retry-After under the same retry policy as single requests.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};
use std::future::Future;

use super::client::{Body, Call, Expect, GraphClient, Target, encode_relative};
use super::error::GraphError;
use super::pacing::estimate_ru;
use super::retry::{Attempt, Attempts, Cause, Retryable, TokenRefreshes, parse_retry_after, retry};
use super::stats::StatsCounters;

/// Graph's limit of requests per batch.
pub const MAX_BATCH: usize = 20;

/// One GET inside a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRequest {
    /// Caller-chosen id, unique within one `batch` call; responses carry it back.
    pub id: String,
    /// Path relative to `/v1.0`, e.g. `/groups/{id}/members?$select=id`.
    pub url: String,
    /// Extra headers for this item.
    pub headers: BTreeMap<String, String>,
}

impl BatchRequest {
    /// A GET of `url` (relative to `/v1.0`) with the given id.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        BatchRequest {
            id: id.into(),
            url: url.into(),
            headers: BTreeMap::new(),
        }
    }
}

/// A successful item: Graph's status, headers and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

/// The outcome of one batch item.
#[derive(Debug, Clone)]
pub struct BatchResponse {
    pub id: String,
    /// The item's 2xx answer, or its typed error (API error, throttled after retries, or the
    /// envelope's failure).
    pub result: Result<BatchItem, GraphError>,
}

impl BatchResponse {
    /// The item's JSON body, or its error.
    pub fn into_json(self) -> Result<Value, GraphError> {
        self.result.map(|i| i.body)
    }
}

struct Pending {
    request: BatchRequest,
    last_error: Option<GraphError>,
    /// Refreshes of the token in a row after 401s, as for single requests.
    refreshes: TokenRefreshes,
}

impl GraphClient {
    /// Runs GETs as JSON batches (split into groups of 20, run concurrently under the client's
    /// pacing). Returns one response per request, in the order given.
    pub async fn batch(&self, requests: Vec<BatchRequest>) -> Vec<BatchResponse> {
        let mut slots: Vec<Option<BatchResponse>> = vec![None; requests.len()];
        let mut index_of: HashMap<String, usize> = HashMap::new();
        let mut unique = Vec::with_capacity(requests.len());
        for (i, r) in requests.into_iter().enumerate() {
            if index_of.contains_key(&r.id) {
                slots[i] = Some(BatchResponse {
                    result: Err(GraphError::Config(format!(
                        "duplicate batch id {:?}: ids must be unique within one batch call",
                        r.id
                    ))),
                    id: r.id,
                });
            } else {
                index_of.insert(r.id.clone(), i);
                unique.push(r);
            }
        }
        let chunks: Vec<Vec<BatchRequest>> = unique
            .chunks(MAX_BATCH)
            .map(<[BatchRequest]>::to_vec)
            .collect();
        let results =
            futures::future::join_all(chunks.into_iter().map(|c| self.batch_chunk(c))).await;
        for r in results.into_iter().flatten() {
            if let Some(&i) = index_of.get(&r.id) {
                slots[i] = Some(r);
            }
        }
        slots.into_iter().flatten().collect()
    }

    async fn batch_chunk(&self, chunk: Vec<BatchRequest>) -> Vec<BatchResponse> {
        let mut round = BatchRound {
            client: self,
            pending: chunk
                .into_iter()
                .map(|request| Pending {
                    request,
                    last_error: None,
                    refreshes: TokenRefreshes::default(),
                })
                .collect(),
            out: Vec::new(),
        };
        let result = retry(&self.retry_context(), &mut round).await;
        let BatchRound {
            pending, mut out, ..
        } = round;
        if let Err(e) = result {
            // What the loop gave up with stands for every item still pending; an item that
            // was only failing transiently reports its own last error.
            out.extend(pending.into_iter().map(|p| {
                let result = match (&e, p.last_error) {
                    (
                        GraphError::RetriesExhausted {
                            attempts,
                            throttled,
                            ..
                        },
                        Some(last),
                    ) => GraphError::RetriesExhausted {
                        attempts: *attempts,
                        throttled: *throttled,
                        last: Box::new(last),
                    },
                    (e, _) => e.clone(),
                };
                BatchResponse {
                    id: p.request.id,
                    result: Err(result),
                }
            }));
        }
        out
    }
}

/// The items of one batch still to be answered, as the retry loop sees them: each attempt
/// sends those pending in one envelope; answered items move to `out`.
struct BatchRound<'a> {
    client: &'a GraphClient,
    pending: Vec<Pending>,
    out: Vec<BatchResponse>,
}

impl Attempts for BatchRound<'_> {
    type Output = ();
    fn attempt(&mut self, _n: u32) -> impl Future<Output = Attempt<()>> + Send {
        self.send_pending()
    }
}

/// What the answers of one round add up to: the items to send again and how the round ends.
#[derive(Default)]
struct RoundTally {
    again: Vec<Pending>,
    /// The longest Retry-After among the items to send again.
    wait: Option<Duration>,
    /// Which kind of retry the round needs; throttling wins for the round.
    cause: Option<Cause>,
    token_rejected: bool,
    /// The resource units Graph reported for the items.
    reported_units: u32,
}

impl BatchRound<'_> {
    async fn send_pending(&mut self) -> Attempt<()> {
        let call = match self.envelope_call() {
            Ok(c) => c,
            Err(e) => return Attempt::Fatal(e),
        };
        let charged = call.ru_estimate;
        // The envelope has its own retries (network, 5xx) inside `execute`.
        let reply = match self.client.execute(&call).await {
            Ok(r) => r,
            Err(e) => return Attempt::Fatal(e),
        };
        let mut by_id = answers_by_id(&reply.json);
        let mut tally = RoundTally::default();
        for p in std::mem::take(&mut self.pending) {
            match by_id.remove(&p.request.id) {
                Some(item) => self.sort_answer(p, &item, &mut tally),
                None => self.out.push(BatchResponse {
                    id: p.request.id,
                    result: Err(GraphError::Decode {
                        what: "POST /$batch".into(),
                        message: "the batch response has no answer for this item".into(),
                    }),
                }),
            }
        }
        self.end_round(tally, charged).await
    }

    /// The `POST /$batch` carrying every pending item.
    fn envelope_call(&self) -> Result<Call, GraphError> {
        let envelope = json!({
            "requests": self.pending.iter().map(|p| {
                let url = encode_relative(&p.request.url);
                let mut item = json!({"id": p.request.id, "method": "GET", "url": url});
                if !p.request.headers.is_empty() {
                    item["headers"] = json!(p.request.headers);
                }
                item
            }).collect::<Vec<_>>()
        });
        let url = self.client.graph_url("/$batch")?;
        Ok(Call {
            method: Method::POST,
            url,
            headers: Vec::new(),
            body: Body::Json(envelope),
            expect: Expect::Json,
            target: Target::Graph,
            items: self.pending.len() as u64,
            ru_estimate: self
                .pending
                .iter()
                .map(|p| estimate_ru(&p.request.url))
                .sum(),
            ru_from_items: true,
            repeatable: true,
        })
    }

    /// Files one item's answer: a 2xx or a final error into `out`, a retryable one into the
    /// tally (counting the resource units Graph reported for it either way).
    fn sort_answer(&mut self, mut p: Pending, item: &Value, tally: &mut RoundTally) {
        let client = self.client;
        let stats = client.stats_counters();
        let status = item.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
        let headers = answer_headers(item);
        if let Some(units) = headers
            .get("x-ms-resource-unit")
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            let units = units.round().max(0.0) as u32;
            tally.reported_units = tally.reported_units.saturating_add(units);
            StatsCounters::add(&stats.resource_units, u64::from(units));
        }
        let body = item.get("body").cloned().unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            self.out.push(BatchResponse {
                id: p.request.id,
                result: Ok(BatchItem {
                    status,
                    headers,
                    body,
                }),
            });
            return;
        }
        let body_bytes = serde_json::to_vec(&body).unwrap_or_default();
        let error = GraphError::from_graph_body(
            status,
            &body_bytes,
            headers.get("request-id").map(String::as_str),
        );
        // Which kind of retry the item needs; throttling wins for the round.
        let item_cause = match status {
            // A token can expire or be revoked while a batch is in flight: like single
            // requests, an item refused with InvalidAuthenticationToken is retried with a
            // fresh token, a few times in a row at most (its own count).
            401 if error.code() == Some("InvalidAuthenticationToken") && p.refreshes.refused() => {
                tally.token_rejected = true;
                Some(Cause::Transient)
            }
            429 => {
                StatsCounters::add(&stats.throttled, 1);
                Some(Cause::Throttled)
            }
            502..=504 => Some(Cause::Transient),
            _ => None,
        };
        if status != 401 {
            p.refreshes.got_through();
        }
        let Some(item_cause) = item_cause else {
            self.out.push(BatchResponse {
                id: p.request.id,
                result: Err(error),
            });
            return;
        };
        if let Some(ra) = headers
            .get("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
        {
            tally.wait = Some(tally.wait.map_or(ra, |w| w.max(ra)));
        }
        tally.cause = Some(match (tally.cause, item_cause) {
            (Some(Cause::Throttled), _) | (_, Cause::Throttled) => Cause::Throttled,
            _ => item_cause,
        });
        p.last_error = Some(error);
        tally.again.push(p);
    }

    /// Settles the round with the client (resource units beyond the estimate, a rejected
    /// token, throttling) and tells the retry loop whether items remain to send again.
    async fn end_round(&mut self, tally: RoundTally, charged: u32) -> Attempt<()> {
        let client = self.client;
        if tally.reported_units > charged {
            client.pacer_add_debt(tally.reported_units - charged);
        }
        let Some(cause) = tally.cause else {
            return Attempt::Done(());
        };
        if tally.token_rejected {
            client.forget_token().await;
        }
        if cause == Cause::Throttled {
            client.pacer_throttled(tally.wait);
        }
        let again = tally.again;
        let error = again
            .iter()
            .find_map(|p| p.last_error.clone())
            .unwrap_or_else(|| GraphError::Config("no error recorded".into()));
        let items = again.len() as u64;
        self.pending = again;
        Attempt::Retry(Retryable {
            error,
            cause,
            retry_after: tally.wait,
            items,
        })
    }
}

/// The items of a `$batch` reply by their id.
fn answers_by_id(reply: &Value) -> HashMap<String, Value> {
    let mut by_id: HashMap<String, Value> = HashMap::new();
    if let Some(items) = reply.get("responses").and_then(Value::as_array) {
        for item in items {
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                by_id.insert(id.to_string(), item.clone());
            }
        }
    }
    by_id
}

/// An item's headers, names in lower case, values as text.
fn answer_headers(item: &Value) -> BTreeMap<String, String> {
    item.get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.to_ascii_lowercase(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}
