//! HTTPS mode with the written CA certificate, and certificate client assertions.

use crate::sim_support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entra_sim::{DemoAppKind, SimConfig, TlsOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha1::Digest as _;
use sim_support::GRAPH_SCOPE;

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("PEM base64")
}

#[tokio::test]
async fn https_with_the_written_ca_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("sim-ca.pem");
    let h = sim_support::start(SimConfig {
        tls: Some(TlsOptions {
            cert_out: Some(ca_path.clone()),
            self_signed: false,
        }),
        ..SimConfig::default()
    })
    .await;
    assert!(h.base_url().starts_with("https://127.0.0.1:"));
    let written = std::fs::read_to_string(&ca_path).unwrap();
    assert_eq!(Some(written.as_str()), h.ca_cert_pem());

    // Without trusting the CA the handshake fails.
    let untrusting = reqwest::Client::new();
    assert!(
        untrusting
            .get(format!("{}/_sim/stats", h.base_url()))
            .send()
            .await
            .is_err()
    );

    // Only the written CA (WebPKI), not the platform's roots plus it: the claim is that this
    // CA signs the simulator, and it holds under Wine too, whose chain engine refuses extra
    // roots (tests/common/wine.rs).
    let ca = reqwest::Certificate::from_pem(written.as_bytes()).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let app = h.app(DemoAppKind::Full);
    let r = c
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            h.base_url(),
            h.tenant_id()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
            ("scope", GRAPH_SCOPE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let r = c
        .get(format!("{}/v1.0/users?$top=3", h.base_url()))
        .bearer_auth(v["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["@odata.nextLink"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
    h.shutdown().await;
}

fn assertion(key_pem: &str, cert_pem: &str, client_id: &str, aud: &str, sha256: bool) -> String {
    let der = pem_der(cert_pem);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    if sha256 {
        header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der)));
    } else {
        header.x5t = Some(URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der)));
    }
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).expect("RSA key PEM");
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn certificate_client_assertion() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cert-app.pem");
    let h = sim_support::start(SimConfig {
        cert_app_out: Some(out.clone()),
        ..SimConfig::default()
    })
    .await;
    let app = h.app(DemoAppKind::Certificate).clone();
    let cert = app
        .certificate
        .clone()
        .expect("certificate app has a certificate");
    assert!(app.client_secret.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains(&cert.cert_pem) && written.contains(&cert.key_pem));
    let endpoint = format!("{}/{}/oauth2/v2.0/token", h.base_url(), h.tenant_id());
    let post = |a: String| {
        let endpoint = endpoint.clone();
        let id = app.client_id.clone();
        async move {
            let r = sim_support::client()
                .post(endpoint)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.as_str()),
                    ("scope", GRAPH_SCOPE),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", a.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    for sha256 in [false, true] {
        let (s, v) = post(assertion(
            &cert.key_pem,
            &cert.cert_pem,
            &app.client_id,
            &endpoint,
            sha256,
        ))
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let payload = v["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .to_string();
        let c: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(c["appidacr"], "2");
        assert_eq!(
            c["roles"],
            json!(["Directory.Read.All", "Member.Read.Hidden"])
        );
    }
    // Signed by another key (the certificate app's cert, a stranger's key): refused.
    let other_key =
        rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            .unwrap();
    let (s, v) = post(assertion(
        &other_key.serialize_pem(),
        &cert.cert_pem,
        &app.client_id,
        &endpoint,
        false,
    ))
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error_codes"], json!([700027]));
    // Wrong audience.
    let (s, v) = post(assertion(
        &cert.key_pem,
        &cert.cert_pem,
        &app.client_id,
        "https://elsewhere.example/token",
        false,
    ))
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "invalid_client");
    // Neither secret nor assertion.
    let (s, v) = sim_support::token_response(
        &h,
        h.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error_codes"], json!([7000218]));
    h.shutdown().await;
}
