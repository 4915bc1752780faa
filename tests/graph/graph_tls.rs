//! Corporate TLS inspection: a Graph root whose certificate chains to a private CA is trusted
//! only when that CA is given as `extra_ca_pem`.

use crate::graph_support;

use entra_extract::graph::{GraphClient, GraphError};
use graph_support::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use wiremock::MockServer;

/// Starts an HTTPS Graph root on localhost signed by a fresh CA; returns (root URL, CA PEM).
async fn https_graph() -> (String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        server_cert.pem().into_bytes(),
        server_key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let app = axum::Router::new().route(
        "/v1.0/organization",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({"value": [{"id": "org-1"}]}))
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = axum_server::from_tcp_rustls(listener, tls).unwrap();
    tokio::spawn(async move {
        let _ = server.serve(app.into_make_service()).await;
    });
    (format!("https://localhost:{port}"), ca.pem())
}

#[tokio::test]
async fn extra_ca_is_trusted_and_required() {
    let auth = MockServer::start().await;
    mount_token(&auth, "tok", 3599).await;
    let (graph, ca_pem) = https_graph().await;

    // Default retry policy: an untrusted certificate must fail at once, not be retried.
    let mut cfg = config_for(&auth.uri(), &graph);
    let err = GraphClient::new(cfg.clone())
        .unwrap()
        .get_json("/organization")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GraphError::UntrustedCertificate { .. }
            if err.to_string().contains("not trusted") && err.to_string().contains("--extra-ca")),
        "{err:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("corp-ca.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();
    cfg.extra_ca_pem = Some(ca_path);
    let client = GraphClient::new(cfg);
    if let Err(e) = &client
        && wine::refused_extra_roots(&e.to_string())
    {
        return;
    }
    let v = client.unwrap().get_json("/organization").await.unwrap();
    assert_eq!(v["value"][0]["id"], "org-1");
}
