//! JSON batching: `POST /v1.0/$batch` [GDC concepts/json-batching.md].
//!
//! At most 20 requests, unique ids; each item runs through the normal Graph pipeline (own
//! resource-unit charge, own 429); `dependsOn` makes the batch sequential and dependents of a
//! failed item get 424. Without `dependsOn` the responses come back in reverse order, which
//! the docs allow ("possibly out of order") and which catches clients that assume order.

use serde_json::{Map, Value, json};

use super::graph_api::{GraphCall, GraphReply, handle};
use super::state::SimState;

const MAX_BATCH: usize = 20;

fn envelope_error(request_id: &str, client_request_id: &str, message: &str) -> GraphReply {
    let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    GraphReply {
        status: 400,
        headers: vec![
            ("request-id".into(), request_id.to_string()),
            ("client-request-id".into(), client_request_id.to_string()),
            ("x-ms-resource-unit".into(), "0".into()),
        ],
        body: json!({"error":{"code":"BadRequest","message":message,"innerError":{"date":date,"request-id":request_id,"client-request-id":client_request_id}}}).to_string(),
        content_type: "application/json",
        items: 0,
        plan: Box::default(),
    }
}

struct Item {
    id: String,
    method: String,
    url: String,
    headers: Map<String, Value>,
    depends_on: Vec<String>,
}

fn parse_items(body: &[u8]) -> Result<Vec<Item>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| "Invalid batch payload format.".to_string())?;
    let reqs = v
        .get("requests")
        .and_then(Value::as_array)
        .ok_or("Invalid batch payload format.")?;
    if reqs.len() > MAX_BATCH {
        return Err(format!(
            "Number of requests in batch ({}) exceeds the maximum of {MAX_BATCH}.",
            reqs.len()
        ));
    }
    let mut items = Vec::with_capacity(reqs.len());
    for r in reqs {
        let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let id = s("id").ok_or("Each batch request needs an 'id'.")?;
        if items.iter().any(|i: &Item| i.id == id) {
            return Err(format!("Batch request id '{id}' is duplicated."));
        }
        items.push(Item {
            id,
            method: s("method")
                .ok_or("Each batch request needs a 'method'.")?
                .to_ascii_uppercase(),
            url: s("url").ok_or("Each batch request needs a 'url'.")?,
            headers: r
                .get("headers")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            depends_on: r
                .get("dependsOn")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(items)
}

/// Runs a batch; the envelope is 200 when it parsed, 400 when it didn't.
pub fn run(
    state: &SimState,
    call: &GraphCall<'_>,
    request_id: &str,
    client_request_id: &str,
) -> GraphReply {
    let items = match parse_items(call.body) {
        Ok(i) => i,
        Err(m) => return envelope_error(request_id, client_request_id, &m),
    };
    let sequential = items.iter().any(|i| !i.depends_on.is_empty());
    let mut results: Vec<(String, Value)> = Vec::with_capacity(items.len());
    let mut statuses: std::collections::HashMap<String, u16> = Default::default();
    let mut total_items = 0;
    for item in &items {
        let failed_dep = item
            .depends_on
            .iter()
            .any(|d| statuses.get(d).is_none_or(|s| *s >= 400));
        if failed_dep {
            statuses.insert(item.id.clone(), 424);
            results.push((
                item.id.clone(),
                json!({"id": item.id, "status": 424, "headers": {"Content-Type": "application/json"},
                       "body": {"error": {"code": "FailedDependency", "message": "The request was not executed because a request it depends on failed."}}}),
            ));
            continue;
        }
        let rel = item.url.trim_start_matches('/');
        let rel = rel.strip_prefix("v1.0/").unwrap_or(rel);
        let (path, query) = rel.split_once('?').unwrap_or((rel, ""));
        let path = format!("/{path}");
        let hdr = |name: &str| {
            item.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string)
        };
        let inner = GraphCall {
            method: &item.method,
            path: &path,
            query,
            authorization: call.authorization,
            consistency_eventual: hdr("ConsistencyLevel")
                .is_some_and(|c| c.eq_ignore_ascii_case("eventual")),
            client_request_id: hdr("client-request-id"),
            body: &[],
            inner: true,
        };
        let reply = handle(state, &inner);
        total_items += reply.items;
        statuses.insert(item.id.clone(), reply.status);
        let mut headers = Map::new();
        for (k, v) in &reply.headers {
            headers.insert(k.clone(), Value::String(v.clone()));
        }
        headers.insert(
            "Content-Type".into(),
            Value::String(reply.content_type.to_string()),
        );
        let body = if reply.content_type.starts_with("application/json") {
            serde_json::from_str(&reply.body).unwrap_or(Value::String(reply.body.clone()))
        } else {
            Value::String(reply.body.clone())
        };
        results.push((
            item.id.clone(),
            json!({"id": item.id, "status": reply.status, "headers": headers, "body": body}),
        ));
    }
    if !sequential {
        results.reverse();
    }
    let body =
        json!({"responses": results.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}).to_string();
    GraphReply {
        status: 200,
        headers: vec![
            ("request-id".into(), request_id.to_string()),
            ("client-request-id".into(), client_request_id.to_string()),
            ("x-ms-resource-unit".into(), "0".into()),
            ("OData-Version".into(), "4.0".into()),
        ],
        body,
        content_type: "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        items: total_items,
        plan: Box::default(),
    }
}
