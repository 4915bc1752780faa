//! The retry policy seen from outside: 429 with Retry-After, 503/504, resets, truncated and
//! malformed bodies, exhaustion, cancellation and the counters the progress screen reads.

use crate::graph_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use entra_extract::graph::{GraphClient, GraphError};
use graph_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok_users() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-ms-resource-unit", "2")
        .set_body_json(json!({"value": [{"id": "u1"}]}))
}

fn throttled(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .insert_header("x-ms-resource-unit", "1")
        .set_body_json(json!({"error": {"code": "TooManyRequests",
            "message": "Too many requests under category:throttle.aad.ags.appId.large"}}))
}

/// Mounts `first` for the first `n` GETs of /v1.0/users, then `ok_users()`.
async fn users_fail_then_ok(server: &MockServer, first: ResponseTemplate, n: u64) {
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(first)
        .up_to_n_times(n)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ok_users())
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_429_waits_the_fractional_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    users_fail_then_ok(&server, throttled("0.35"), 1).await;
    let client = GraphClient::new(config(&server)).unwrap();
    let started = Instant::now();
    let v = client.get_json("/users").await.unwrap();
    assert_eq!(v["value"][0]["id"], "u1");
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "waited {:?}",
        started.elapsed()
    );
    let s = client.stats();
    assert_eq!((s.requests, s.retries, s.throttled), (2, 1, 1));
    assert_eq!(s.resource_units, 3);
    assert!(s.slowdown > 1.0, "a 429 slows pacing down");
}

#[tokio::test]
async fn a_429_with_an_http_date_is_honoured() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1));
    users_fail_then_ok(&server, throttled(&date), 1).await;
    let client = GraphClient::new(config(&server)).unwrap();
    let started = Instant::now();
    client.get_json("/users").await.unwrap();
    // HTTP-dates have whole-second precision: at least some wait, at most about a second.
    assert!(started.elapsed() >= Duration::from_millis(1));
    assert_eq!(client.stats().throttled, 1);
}

#[tokio::test]
async fn service_unavailable_and_gateway_timeout_are_retried() {
    for (status, retry_after) in [(503, None), (504, Some("0")), (503, Some("0.05"))] {
        let server = MockServer::start().await;
        mount_token(&server, "tok", 3599).await;
        let mut t = ResponseTemplate::new(status).set_body_string("busy");
        if let Some(ra) = retry_after {
            t = t.insert_header("Retry-After", ra);
        }
        users_fail_then_ok(&server, t, 2).await;
        let client = GraphClient::new(config(&server)).unwrap();
        client.get_json("/users").await.unwrap();
        assert_eq!(hits(&server, "/v1.0/users").await.len(), 3, "{status}");
        assert_eq!(client.stats().retries, 2);
        assert_eq!(client.stats().throttled, 0);
    }
}

#[tokio::test]
async fn persistent_503_ends_in_retries_exhausted() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": {"code": "serviceNotAvailable", "message": "try later"}}),
        ))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let err = client.get_json("/users").await.unwrap_err();
    match &err {
        GraphError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert_eq!(last.code(), Some("serviceNotAvailable"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 4);
}

#[tokio::test]
async fn persistent_429_ends_in_throttled() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(throttled("0.01"))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let started = Instant::now();
    let err = client.get_json("/users").await.unwrap_err();
    // Throttling is waited out without a count (max_attempts is 4 for transient failures)
    // until the run's throttle deadline (1 s here).
    let GraphError::Throttled {
        attempts, deadline, ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert!(attempts > 10, "{attempts}");
    assert_eq!(deadline, Duration::from_secs(1));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.stats().throttled, u64::from(attempts));
    let message = GraphError::Throttled {
        attempts,
        retry_after: None,
        deadline,
    }
    .to_string();
    assert!(message.contains("--throttle-deadline"), "{message}");
}

#[tokio::test]
async fn retries_say_which_attempt_they_are() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    users_fail_then_ok(&server, throttled("0"), 2).await;
    let client = GraphClient::new(config(&server)).unwrap();
    client.get_json("/users").await.unwrap();
    let attempts: Vec<Option<String>> = hits(&server, "/v1.0/users")
        .await
        .iter()
        .map(|r| {
            r.headers
                .get("retry-attempt")
                .map(|v| v.to_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(attempts, [None, Some("1".into()), Some("2".into())]);
}

#[tokio::test]
async fn forbidden_is_reported_at_once() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.",
            "innerError": {"date": "2026-11-27T02:02:12", "request-id": "req-9"}}})))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let err = client.get_json("/users").await.unwrap_err();
    assert!(err.is_access_denied());
    assert_eq!(err.code(), Some("Authorization_RequestDenied"));
    assert!(err.to_string().contains("req-9"));
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 1);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn malformed_json_is_retried_then_reported() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"value\": [ {\"id\""))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let err = client.get_json("/users").await.unwrap_err();
    assert!(matches!(err, GraphError::Decode { .. }), "{err:?}");
    // One attempt plus the two malformed-body retries.
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 3);

    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    users_fail_then_ok(
        &server,
        ResponseTemplate::new(200).set_body_string("<html>"),
        1,
    )
    .await;
    let client = GraphClient::new(config(&server)).unwrap();
    assert_eq!(
        client.get_json("/users").await.unwrap()["value"][0]["id"],
        "u1"
    );
}

/// A Graph root that first misbehaves at the TCP level, then answers properly.
async fn flaky_graph(failures: Vec<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let mode = failures.get(n).copied().unwrap_or("ok");
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                match mode {
                    "reset" => {
                        // Zero linger makes the close an RST: a reset, not a clean EOF.
                        let _ = sock.set_zero_linger();
                        drop(sock);
                    }
                    "truncated" => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"value\": [")
                            .await;
                        let _ = sock.shutdown().await;
                    }
                    _ => {
                        let body = br#"{"value":[{"id":"u1"}]}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(body).await;
                        let _ = sock.shutdown().await;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn connection_reset_and_truncated_body_are_retried() {
    let auth = MockServer::start().await;
    mount_token(&auth, "tok", 3599).await;
    let (graph, count) = flaky_graph(vec!["reset", "truncated"]).await;
    let client = GraphClient::new(config_for(&auth.uri(), &graph)).unwrap();
    let v = client.get_json("/users").await.unwrap();
    assert_eq!(v["value"][0]["id"], "u1");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn network_errors_exhaust_into_a_typed_error() {
    let auth = MockServer::start().await;
    mount_token(&auth, "tok", 3599).await;
    let (graph, _) = flaky_graph(vec!["reset"; 10]).await;
    let client = GraphClient::new(config_for(&auth.uri(), &graph)).unwrap();
    let err = client.get_json("/users").await.unwrap_err();
    match err {
        GraphError::RetriesExhausted {
            attempts: 4, last, ..
        } => {
            assert!(matches!(*last, GraphError::Network { .. }), "{last:?}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn cancellation_stops_a_long_retry_wait() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    users_fail_then_ok(&server, throttled("15"), 1).await;
    let mut cfg = config(&server);
    cfg.retry.throttle_deadline = Duration::from_secs(60);
    let client = GraphClient::new(cfg).unwrap();
    let cancel = client.cancellation().clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let err = client.get_json("/users").await.unwrap_err();
    assert!(matches!(err, GraphError::Cancelled), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 1);
}

#[tokio::test]
async fn retry_after_beyond_the_budget_gives_up_without_waiting() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    users_fail_then_ok(&server, throttled("120"), 1).await;
    let client = GraphClient::new(config(&server)).unwrap();
    let started = Instant::now();
    let err = client.get_json("/users").await.unwrap_err();
    assert!(
        matches!(err, GraphError::Throttled { attempts: 1, retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn throttle_limit_percentage_slows_pacing() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ok_users().insert_header("x-ms-throttle-limit-percentage", "1.2"))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    client.get_json("/users").await.unwrap();
    assert!(client.stats().slowdown >= 2.9, "{:?}", client.stats());
}
