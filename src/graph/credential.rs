//! App credentials: a client secret, or a certificate whose private key signs a client
//! assertion (RS256 JWT). Secret material stays in `SecretString` / an opaque signing key and
//! never appears in Debug output or error messages.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::error::GraphError;

/// `client_assertion_type` for certificate credentials.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the app proves who it is.
#[derive(Clone)]
pub enum Credential {
    /// A client secret value.
    Secret(SecretString),
    /// A certificate uploaded to the app registration and its RSA private key (PEM). Both may
    /// name the same file when it holds the certificate and the key.
    Certificate { cert_pem: PathBuf, key_pem: PathBuf },
    /// An administrator signed in with the device code flow ([`GraphClient::start_admin_sign_in`](super::GraphClient::start_admin_sign_in)):
    /// delegated tokens for the few writes made on their behalf, refreshed with the
    /// refresh token the sign-in returned.
    Delegated(Arc<DelegatedGrant>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Secret(_) => f.write_str("Credential::Secret([REDACTED])"),
            Credential::Certificate { cert_pem, key_pem } => f
                .debug_struct("Credential::Certificate")
                .field("cert_pem", cert_pem)
                .field("key_pem", key_pem)
                .finish(),
            Credential::Delegated(_) => f.write_str("Credential::Delegated([REDACTED])"),
        }
    }
}

/// The tokens of an administrator's delegated sign-in: the first access token (handed out
/// once) and the refresh token, which Entra rotates on every use.
#[derive(Default)]
pub struct DelegatedGrant {
    pub(crate) first: std::sync::Mutex<Option<super::auth::AccessToken>>,
    pub(crate) refresh: std::sync::Mutex<Option<SecretString>>,
}

impl DelegatedGrant {
    /// A grant with no tokens yet: the device code flow fills it.
    pub fn new() -> Arc<Self> {
        Arc::new(DelegatedGrant::default())
    }
}

/// A credential ready to put into a token request.
pub(crate) enum LoadedCredential {
    Secret(SecretString),
    Certificate(CertificateSigner),
    Delegated(Arc<DelegatedGrant>),
}

impl LoadedCredential {
    /// Reads certificate files once, so a bad file fails at client construction.
    pub(crate) fn load(credential: &Credential) -> Result<Self, GraphError> {
        match credential {
            Credential::Secret(s) => {
                if s.expose_secret().trim().is_empty() {
                    return Err(GraphError::Config(
                        "the client secret is empty: paste the secret's Value".into(),
                    ));
                }
                Ok(LoadedCredential::Secret(s.clone()))
            }
            Credential::Certificate { cert_pem, key_pem } => {
                let cert_text = read_pem(cert_pem, "certificate")?;
                let key_text = if key_pem == cert_pem {
                    cert_text.clone()
                } else {
                    read_pem(key_pem, "private key")?
                };
                CertificateSigner::from_pem(&cert_text, &key_text)
                    .map(LoadedCredential::Certificate)
            }
            Credential::Delegated(grant) => Ok(LoadedCredential::Delegated(grant.clone())),
        }
    }

    /// Form fields proving the credential (`client_secret`, or `client_assertion` + type).
    pub(crate) fn form_fields(
        &self,
        client_id: &str,
        token_url: &str,
    ) -> Result<Vec<(&'static str, SecretString)>, GraphError> {
        match self {
            LoadedCredential::Secret(s) => Ok(vec![("client_secret", s.clone())]),
            LoadedCredential::Certificate(signer) => {
                let jwt = signer.client_assertion(client_id, token_url)?;
                Ok(vec![
                    (
                        "client_assertion_type",
                        SecretString::from(CLIENT_ASSERTION_TYPE),
                    ),
                    ("client_assertion", jwt),
                ])
            }
            LoadedCredential::Delegated(_) => Err(GraphError::Config(
                "a delegated sign-in has no client credential to send".into(),
            )),
        }
    }
}

fn read_pem(path: &Path, what: &str) -> Result<String, GraphError> {
    std::fs::read_to_string(path).map_err(|e| {
        GraphError::Config(format!(
            "cannot read the {what} file {}: {e}; export it as PEM and check the path",
            path.display()
        ))
    })
}

/// Signs client assertions with a certificate's private key.
pub(crate) struct CertificateSigner {
    key: EncodingKey,
    x5t: String,
    x5t_s256: String,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

impl CertificateSigner {
    /// `cert_text` must hold a CERTIFICATE block, `key_text` an unencrypted RSA PRIVATE KEY.
    pub(crate) fn from_pem(cert_text: &str, key_text: &str) -> Result<Self, GraphError> {
        let cert_der = pem_blocks(cert_text)
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| {
                GraphError::Config(
                    "the certificate file has no PEM CERTIFICATE block; export the certificate as PEM (Base-64)".into(),
                )
            })?
            .der()
            .map_err(|e| GraphError::Config(format!("the certificate PEM is damaged: {e}")))?;
        let blocks = pem_blocks(key_text);
        if blocks.iter().any(|b| b.label == "ENCRYPTED PRIVATE KEY") {
            return Err(GraphError::Config(
                "the private key is password protected; export it without a password (PKCS#8 PEM)"
                    .into(),
            ));
        }
        let key_block = blocks
            .into_iter()
            .find(|b| b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY")
            .ok_or_else(|| {
                GraphError::Config("the key file has no PEM PRIVATE KEY block".into())
            })?;
        let key = EncodingKey::from_rsa_pem(key_block.text.as_bytes()).map_err(|_| {
            GraphError::Config(
                "the private key is not a usable RSA key (PEM, PKCS#1 or PKCS#8)".into(),
            )
        })?;
        Ok(CertificateSigner {
            key,
            x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&cert_der)),
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&cert_der)),
        })
    }

    /// A fresh signed assertion, valid for ten minutes.
    pub(crate) fn client_assertion(
        &self,
        client_id: &str,
        token_url: &str,
    ) -> Result<SecretString, GraphError> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.x5t = Some(self.x5t.clone());
        header.x5t_s256 = Some(self.x5t_s256.clone());
        let now = chrono::Utc::now().timestamp();
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| GraphError::Config(format!("could not sign the client assertion: {e}")))
    }
}

struct PemBlock {
    label: String,
    /// The whole block including BEGIN/END lines.
    text: String,
    body: String,
}

impl PemBlock {
    fn der(&self) -> Result<Vec<u8>, base64::DecodeError> {
        let b64: String = self.body.chars().filter(|c| !c.is_whitespace()).collect();
        STANDARD.decode(b64)
    }
}

/// Splits PEM text into its blocks (a file may hold a certificate and a key together).
fn pem_blocks(text: &str) -> Vec<PemBlock> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let body_start = label_end + 5;
        let Some(end) = after[body_start..].find(&end_marker) else {
            break;
        };
        let body = after[body_start..body_start + end].to_string();
        let block_len = "-----BEGIN ".len() + body_start + end + end_marker.len();
        out.push(PemBlock {
            label,
            text: rest[start..start + block_len].to_string(),
            body,
        });
        rest = &rest[start + block_len..];
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A throwaway self-signed RSA certificate and key, generated per test run.
    pub(crate) fn test_cert() -> (String, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa keygen");
        let params = rcgen::CertificateParams::new(vec!["entra-extract.test".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn decode_part(jwt: &str, i: usize) -> serde_json::Value {
        let part = jwt.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn client_assertion_has_thumbprints_and_claims() {
        let (cert, key) = test_cert();
        let signer = CertificateSigner::from_pem(&cert, &key).unwrap();
        let url = "https://login.example/tenant/oauth2/v2.0/token";
        let jwt = signer.client_assertion("client-1", url).unwrap();
        let jwt = jwt.expose_secret();
        let header = decode_part(jwt, 0);
        let claims = decode_part(jwt, 1);
        let der = pem_blocks(&cert)[0].der().unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5t#S256"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
        );
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(Sha1::digest(&der)));
        assert_eq!(claims["aud"], url);
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
            600
        );
        let jti = claims["jti"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(jti).is_ok());
        let again = signer.client_assertion("client-1", url).unwrap();
        assert_ne!(decode_part(again.expose_secret(), 1)["jti"], claims["jti"]);
    }

    #[test]
    fn one_file_with_certificate_and_key_works() {
        let (cert, key) = test_cert();
        let both = format!("{key}\n{cert}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("both.pem");
        std::fs::write(&path, both).unwrap();
        let c = Credential::Certificate {
            cert_pem: path.clone(),
            key_pem: path,
        };
        assert!(matches!(
            LoadedCredential::load(&c),
            Ok(LoadedCredential::Certificate(_))
        ));
    }

    #[test]
    fn bad_certificate_inputs_are_config_errors() {
        let (cert, key) = test_cert();
        assert!(matches!(
            CertificateSigner::from_pem(&key, &key),
            Err(GraphError::Config(m)) if m.contains("CERTIFICATE")
        ));
        assert!(matches!(
            CertificateSigner::from_pem(&cert, &cert),
            Err(GraphError::Config(m)) if m.contains("PRIVATE KEY")
        ));
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            CertificateSigner::from_pem(&cert, enc),
            Err(GraphError::Config(m)) if m.contains("password")
        ));
        let missing = Credential::Certificate {
            cert_pem: "/nonexistent/c.pem".into(),
            key_pem: "/nonexistent/k.pem".into(),
        };
        assert!(matches!(
            LoadedCredential::load(&missing),
            Err(GraphError::Config(m)) if m.contains("/nonexistent/c.pem")
        ));
    }

    #[test]
    fn secret_never_shows_in_debug() {
        let c = Credential::Secret(SecretString::from("s3cr3t-value"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(matches!(
            LoadedCredential::load(&Credential::Secret(SecretString::from("  "))),
            Err(GraphError::Config(_))
        ));
    }
}
