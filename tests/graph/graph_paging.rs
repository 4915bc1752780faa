//! Paging follows nextLinks verbatim, only to the Graph root; `$count` and batching.

use crate::graph_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use entra_extract::graph::{BatchRequest, GraphClient, GraphError};
use futures::StreamExt;
use graph_support::*;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[tokio::test]
async fn pages_follow_next_links_until_the_end() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    let next = format!(
        "{}/v1.0/users?%24select=id%2cdisplayName&$top=2&$skiptoken=RFNwdAIAAQAAAD8",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param_is_missing("$skiptoken"))
        .and(query_param("$select", "id,displayName"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName)",
            "@odata.count": 3,
            "@odata.nextLink": next,
            "value": [{"id": "1"}, {"id": "2"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "RFNwdAIAAQAAAD8"))
        .and(header("ConsistencyLevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "3"}]})))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let mut pager = client
        .pager("/users?$select=id,displayName&$top=2&$count=true")
        .eventual_consistency();
    let first = pager.next_page().await.unwrap().unwrap();
    assert_eq!(first.count, Some(3));
    assert_eq!(first.items.len(), 2);
    let second = pager.next_page().await.unwrap().unwrap();
    assert_eq!(second.items[0]["id"], "3");
    assert_eq!(second.count, None);
    assert!(pager.next_page().await.is_none());
    assert_eq!(pager.pages_fetched(), 2);
    // The nextLink was followed verbatim (its own encoding kept).
    let reqs = hits(&server, "/v1.0/users").await;
    assert!(
        reqs[1].url.as_str().contains("%24select=id%2cdisplayName"),
        "{}",
        reqs[1].url
    );
}

#[tokio::test]
async fn stream_of_pages_collects_every_item() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    let base = server.uri();
    for i in 0..3 {
        let mut body = json!({"value": [{"id": format!("g{i}")}]});
        if i < 2 {
            body["@odata.nextLink"] = json!(format!("{base}/v1.0/groups?$skiptoken=p{}", i + 1));
        }
        let m = Mock::given(method("GET")).and(path("/v1.0/groups"));
        let m = if i == 0 {
            m.and(query_param_is_missing("$skiptoken"))
        } else {
            m.and(query_param("$skiptoken", format!("p{i}")))
        };
        m.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let client = GraphClient::new(config(&server)).unwrap();
    let pages: Vec<_> = client.pages("/groups").collect().await;
    let ids: Vec<Value> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().items)
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("g0"), json!("g1"), json!("g2")]);
    assert_eq!(client.stats().requests, 3);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "1"}],
            "@odata.nextLink": format!("{}/v1.0/users?$skiptoken=steal", elsewhere.uri())
        })))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let pages: Vec<_> = client.pages("/users").collect().await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].as_ref().unwrap().items.len(), 1);
    assert!(
        matches!(&pages[1], Err(GraphError::ForeignNextLink { .. })),
        "{:?}",
        pages[1]
    );
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_body_without_value_is_a_decode_error() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let mut pager = client.pager("/users");
    assert!(matches!(
        pager.next_page().await,
        Some(Err(GraphError::Decode { .. }))
    ));
    assert!(pager.next_page().await.is_none());
}

#[tokio::test]
async fn count_sends_eventual_consistency_and_reads_plain_text() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/$count"))
        .and(header("ConsistencyLevel", "eventual"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain")
                .set_body_string("\u{feff}12345"),
        )
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    assert_eq!(client.count("users").await.unwrap(), 12345);
    assert_eq!(client.count("/users/").await.unwrap(), 12345);
    // Without the header (another collection here) the mock does not match: 404 is reported.
    assert_eq!(
        client.count("groups").await.unwrap_err().status(),
        Some(404)
    );
}

/// A $batch endpoint: item "slow" is throttled on its first round, everything else succeeds;
/// items whose url ends in "missing" get 404.
struct BatchResponder {
    rounds: Arc<AtomicUsize>,
}

impl Respond for BatchResponder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let round = self.rounds.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let responses: Vec<Value> = body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .rev() // Graph may answer out of order
            .map(|r| {
                let id = r["id"].as_str().unwrap();
                let url = r["url"].as_str().unwrap();
                if id == "slow" && round == 0 {
                    json!({"id": id, "status": 429,
                        "headers": {"Retry-After": "0.2", "x-ms-resource-unit": "1"},
                        "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}})
                } else if url.ends_with("missing") {
                    json!({"id": id, "status": 404, "headers": {"x-ms-resource-unit": "1"},
                        "body": {"error": {"code": "Request_ResourceNotFound",
                            "message": "Resource 'missing' does not exist"}}})
                } else {
                    json!({"id": id, "status": 200,
                        "headers": {"x-ms-resource-unit": "3", "Content-Type": "application/json"},
                        "body": {"value": [{"id": format!("member-of-{id}")}], "url": url}})
                }
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"responses": responses}))
    }
}

async fn batch_server() -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    let rounds = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(BatchResponder {
            rounds: rounds.clone(),
        })
        .mount(&server)
        .await;
    (server, rounds)
}

#[tokio::test]
async fn batch_retries_throttled_items_and_types_inner_errors() {
    let (server, rounds) = batch_server().await;
    let client = GraphClient::new(config(&server)).unwrap();
    let started = std::time::Instant::now();
    let out = client
        .batch(vec![
            BatchRequest::get("a", "/groups/a/members?$select=id"),
            BatchRequest::get("slow", "groups/slow/members"),
            BatchRequest::get("gone", "/groups/missing"),
        ])
        .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    let ids: Vec<&str> = out.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["a", "slow", "gone"], "input order kept");
    let a = out[0].result.as_ref().unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body["url"], "/groups/a/members?$select=id");
    assert_eq!(
        out[1].result.as_ref().unwrap().body["url"],
        "/groups/slow/members"
    );
    let gone = out[2].result.as_ref().unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert_eq!(gone.code(), Some("Request_ResourceNotFound"));
    assert_eq!(rounds.load(Ordering::SeqCst), 2);
    // Only the throttled item went into the second envelope.
    let reqs = hits(&server, "/v1.0/$batch").await;
    let second: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(second["requests"].as_array().unwrap().len(), 1);
    assert_eq!(second["requests"][0]["id"], "slow");
    let s = client.stats();
    assert_eq!((s.requests, s.retries, s.throttled), (4, 1, 1));
    assert_eq!(s.resource_units, 3 + 1 + 1 + 3);
}

#[tokio::test]
async fn large_batches_are_split_into_twenties() {
    let (server, _) = batch_server().await;
    let client = GraphClient::new(config(&server)).unwrap();
    let reqs: Vec<BatchRequest> = (0..45)
        .map(|i| BatchRequest::get(format!("g{i}"), format!("/groups/g{i}/owners")))
        .collect();
    let out = client.batch(reqs).await;
    assert_eq!(out.len(), 45);
    assert!(out.iter().all(|r| r.result.is_ok()));
    assert_eq!(out[44].id, "g44");
    let mut sizes: Vec<usize> = hits(&server, "/v1.0/$batch")
        .await
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["requests"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![5, 20, 20]);
    assert_eq!(client.stats().requests, 45);
}

#[tokio::test]
async fn duplicate_ids_and_envelope_failures_are_reported_per_item() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}})))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let out = client
        .batch(vec![
            BatchRequest::get("x", "/users/x"),
            BatchRequest::get("x", "/users/y"),
            BatchRequest::get("z", "/users/z"),
        ])
        .await;
    assert_eq!(out.len(), 3);
    assert!(out[0].result.as_ref().unwrap_err().is_access_denied());
    assert!(matches!(out[1].result, Err(GraphError::Config(_))));
    assert!(out[2].result.as_ref().unwrap_err().is_access_denied());
}
