//! JSON batching: up to 20 GETs per `POST /$batch`. Batching saves round trips, not resource
//! units: Graph throttles each item on its own, so throttled items are re-batched after their
//! Retry-After under the same retry policy as single requests.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::{Body, Call, Expect, GraphClient, Target, encode_relative};
use super::error::GraphError;
use super::pacing::estimate_ru;
use super::retry::parse_retry_after;
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
    /// Already retried once with a fresh token after a 401 (never loop on a bad token).
    refreshed: bool,
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
        let policy = self.retry_policy().clone();
        let cancel = self.cancellation().clone();
        let started = Instant::now();
        let mut pending: Vec<Pending> = chunk
            .into_iter()
            .map(|request| Pending {
                request,
                last_error: None,
                refreshed: false,
            })
            .collect();
        let mut out = Vec::new();
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            let envelope = json!({
                "requests": pending.iter().map(|p| {
                    let url = encode_relative(&p.request.url);
                    let mut item = json!({"id": p.request.id, "method": "GET", "url": url});
                    if !p.request.headers.is_empty() {
                        item["headers"] = json!(p.request.headers);
                    }
                    item
                }).collect::<Vec<_>>()
            });
            let url = match self.graph_url("/$batch") {
                Ok(u) => u,
                Err(e) => return fail_all(pending, e),
            };
            let call = Call {
                method: Method::POST,
                url,
                headers: Vec::new(),
                body: Body::Json(envelope),
                expect: Expect::Json,
                target: Target::Graph,
                items: pending.len() as u64,
                ru_estimate: pending.iter().map(|p| estimate_ru(&p.request.url)).sum(),
                ru_from_items: true,
            };
            let charged = call.ru_estimate;
            let reply = match self.execute(&call).await {
                Ok(r) => r,
                Err(e) => return chain(out, fail_all(pending, e)),
            };
            let mut by_id: HashMap<String, Value> = HashMap::new();
            if let Some(items) = reply.json.get("responses").and_then(Value::as_array) {
                for item in items {
                    if let Some(id) = item.get("id").and_then(Value::as_str) {
                        by_id.insert(id.to_string(), item.clone());
                    }
                }
            }
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            let mut any_throttled = false;
            let mut token_rejected = false;
            let stats = self.stats_counters();
            let mut reported_units = 0u32;
            for mut p in pending {
                let Some(item) = by_id.remove(&p.request.id) else {
                    out.push(BatchResponse {
                        id: p.request.id,
                        result: Err(GraphError::Decode {
                            what: "POST /$batch".into(),
                            message: "the batch response has no answer for this item".into(),
                        }),
                    });
                    continue;
                };
                let status = item.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
                let headers: BTreeMap<String, String> = item
                    .get("headers")
                    .and_then(Value::as_object)
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| {
                                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                                (k.to_ascii_lowercase(), v)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(units) = headers
                    .get("x-ms-resource-unit")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                {
                    let units = units.round().max(0.0) as u32;
                    reported_units = reported_units.saturating_add(units);
                    StatsCounters::add(&stats.resource_units, u64::from(units));
                }
                let body = item.get("body").cloned().unwrap_or(Value::Null);
                if (200..300).contains(&status) {
                    out.push(BatchResponse {
                        id: p.request.id,
                        result: Ok(BatchItem {
                            status,
                            headers,
                            body,
                        }),
                    });
                    continue;
                }
                let body_bytes = serde_json::to_vec(&body).unwrap_or_default();
                let error = GraphError::from_graph_body(
                    status,
                    &body_bytes,
                    headers.get("request-id").map(String::as_str),
                );
                // A token can expire or be revoked while a batch is in flight: like single
                // requests, an item refused with InvalidAuthenticationToken is retried once
                // with a fresh token.
                if status == 401
                    && error.code() == Some("InvalidAuthenticationToken")
                    && !p.refreshed
                {
                    p.refreshed = true;
                    token_rejected = true;
                    p.last_error = Some(error);
                    again.push(p);
                    continue;
                }
                if matches!(status, 429 | 502 | 503 | 504) {
                    let ra = headers
                        .get("retry-after")
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    if status == 429 {
                        any_throttled = true;
                        StatsCounters::add(&stats.throttled, 1);
                    }
                    if let Some(ra) = ra {
                        wait = Some(wait.map_or(ra, |w| w.max(ra)));
                    }
                    p.last_error = Some(error);
                    again.push(p);
                } else {
                    out.push(BatchResponse {
                        id: p.request.id,
                        result: Err(error),
                    });
                }
            }
            if reported_units > charged {
                self.pacer_add_debt(reported_units - charged);
            }
            if again.is_empty() {
                break;
            }
            if token_rejected {
                self.forget_token().await;
            }
            if any_throttled {
                self.pacer_throttled(wait);
            }
            let Some(delay) = policy.delay_before_next(round, wait, started.elapsed()) else {
                out.extend(again.into_iter().map(|p| {
                    let last = p
                        .last_error
                        .unwrap_or_else(|| GraphError::Config("no error recorded".into()));
                    let result = if last.status() == Some(429) {
                        GraphError::Throttled {
                            attempts: round,
                            retry_after: wait,
                        }
                    } else {
                        GraphError::RetriesExhausted {
                            attempts: round,
                            last: Box::new(last),
                        }
                    };
                    BatchResponse {
                        id: p.request.id,
                        result: Err(result),
                    }
                }));
                break;
            };
            StatsCounters::add(&stats.retries, again.len() as u64);
            tracing::warn!(
                items = again.len(),
                delay_ms = delay.as_millis() as u64,
                "re-batching throttled items"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => return chain(out, fail_all(again, GraphError::Cancelled)),
            }
            pending = again;
        }
        out
    }
}

fn fail_all(pending: Vec<Pending>, error: GraphError) -> Vec<BatchResponse> {
    pending
        .into_iter()
        .map(|p| BatchResponse {
            id: p.request.id,
            result: Err(error.clone()),
        })
        .collect()
}

fn chain(mut a: Vec<BatchResponse>, b: Vec<BatchResponse>) -> Vec<BatchResponse> {
    a.extend(b);
    a
}
