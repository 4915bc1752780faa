//! Typed errors of the Graph client. Callers branch on these (permissions screen, exit codes),
//! so every variant says what went wrong and, where it can, which input to fix.

use std::time::Duration;

use serde::Deserialize;

/// Everything a Graph call can fail with. `Clone` so one envelope failure can be reported for
/// every item of a batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    /// The token endpoint refused the credentials (boxed: it is the largest variant).
    #[error(transparent)]
    Auth(Box<AuthError>),
    /// Graph answered with an error status that is not worth retrying.
    #[error("Microsoft Graph answered {status} {code}: {message}{}", request_id_suffix(.request_id))]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// Graph kept answering 429 until waiting longer would pass the run's throttle deadline.
    #[error(
        "Microsoft Graph kept throttling this app (HTTP 429, {attempts} attempts); waiting {} more would pass the run's throttle deadline of {}; wait a few minutes, lower the request budget (--ru-budget) or allow more time (--throttle-deadline), and run again",
        super::retry::human(.retry_after.unwrap_or_default()), super::retry::human(*.deadline)
    )]
    Throttled {
        attempts: u32,
        retry_after: Option<Duration>,
        /// The run's throttle deadline ([`RetryPolicy::throttle_deadline`](super::RetryPolicy)).
        deadline: Duration,
    },
    /// A transient failure repeated until the retry policy gave up.
    #[error("gave up after {attempts} attempts{}; last error: {last}", throttled_suffix(*.throttled))]
    RetriesExhausted {
        /// The failed attempts the policy counts ([`RetryPolicy::max_attempts`](super::RetryPolicy)).
        attempts: u32,
        /// Attempts besides those that Graph throttled (429): waited out, never counted.
        throttled: u32,
        last: Box<GraphError>,
    },
    /// No usable HTTP exchange: connection refused or reset, timeout, truncated body, TLS.
    #[error(
        "network error talking to {host}: {message} (check the connection, proxy (HTTPS_PROXY) and any TLS inspection CA)"
    )]
    Network { host: String, message: String },
    /// The server's TLS certificate is not trusted: configuration, not a network blip (it
    /// will not fix itself), so it is never retried.
    #[error(
        "the TLS certificate of {host} is not trusted ({problem}); if a proxy inspects TLS, or the endpoint has its own certificate, pass that CA or certificate (PEM) with --extra-ca (or the profile's extra_ca_pem)"
    )]
    UntrustedCertificate { host: String, problem: String },
    /// A response arrived but could not be understood.
    #[error("could not read the response of {what}: {message}")]
    Decode { what: String, message: String },
    /// The client configuration is unusable (bad URL, unreadable CA or certificate file …).
    #[error("configuration error: {0}")]
    Config(String),
    /// An `@odata.nextLink` pointed somewhere other than the Graph root; it was not followed so
    /// the access token never leaves Microsoft Graph.
    #[error(
        "refused to follow a paging link to {origin}: it is not the configured Graph root {expected}"
    )]
    ForeignNextLink { origin: String, expected: String },
    /// A write that must not be repeated failed in a way that leaves unknown whether it was
    /// carried out (connection lost, gateway timeout).
    #[error(
        "{what} may or may not have been carried out ({last}); it was not repeated so nothing is created twice"
    )]
    OutcomeUnknown { what: String, last: Box<GraphError> },
    /// The run was cancelled (Ctrl-C) while waiting or retrying.
    #[error("cancelled")]
    Cancelled,
}

fn throttled_suffix(throttled: u32) -> String {
    match throttled {
        0 => String::new(),
        n => format!(" (besides {n} throttled one(s), waited out)"),
    }
}

fn request_id_suffix(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" (request-id {id})"),
        None => String::new(),
    }
}

impl From<AuthError> for GraphError {
    fn from(e: AuthError) -> Self {
        GraphError::Auth(Box::new(e))
    }
}

impl GraphError {
    /// The token endpoint's refusal, if that is what this is.
    pub fn auth(&self) -> Option<&AuthError> {
        match self {
            GraphError::Auth(a) => Some(a),
            GraphError::RetriesExhausted { last, .. } => last.auth(),
            _ => None,
        }
    }

    /// HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Api { status, .. } => Some(*status),
            GraphError::Auth(a) => Some(a.status),
            GraphError::RetriesExhausted { last, .. } => last.status(),
            GraphError::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    /// Graph error code (`Authorization_RequestDenied`, …), if this is an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Api { code, .. } => Some(code),
            GraphError::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    /// True for 403 Authorization_RequestDenied: a permission is missing.
    pub fn is_access_denied(&self) -> bool {
        self.status() == Some(403)
    }

    /// Builds an [`GraphError::Api`] from a Graph error body (or whatever the body is).
    pub(crate) fn from_graph_body(
        status: u16,
        body: &[u8],
        header_request_id: Option<&str>,
    ) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
            #[serde(default, rename = "innerError", alias = "innererror")]
            inner: Option<InnerError>,
        }
        #[derive(Deserialize)]
        struct InnerError {
            #[serde(rename = "request-id")]
            request_id: Option<String>,
        }
        match serde_json::from_slice::<Envelope>(body) {
            Ok(env) => GraphError::Api {
                status,
                code: if env.error.code.is_empty() {
                    status_code_name(status).to_string()
                } else {
                    env.error.code
                },
                message: env.error.message,
                request_id: env
                    .error
                    .inner
                    .and_then(|i| i.request_id)
                    .or_else(|| header_request_id.map(str::to_string)),
            },
            Err(_) => GraphError::Api {
                status,
                code: status_code_name(status).to_string(),
                message: snippet(body),
                request_id: header_request_id.map(str::to_string),
            },
        }
    }
}

fn status_code_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "HttpError",
    }
}

/// First 200 characters of a body, for messages about bodies that are not JSON.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Which input of the connection form a sign-in error points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialField {
    /// Directory (tenant) ID or domain.
    Tenant,
    /// Application (client) ID.
    ClientId,
    /// Client secret value.
    Secret,
    /// Certificate / private key.
    Certificate,
    /// Requested scope.
    Scope,
    /// Cloud / authority / Graph URLs.
    Endpoint,
}

/// A refusal from the token endpoint, parsed from its JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sign-in failed ({}): {}", self.label(), self.remedy())]
pub struct AuthError {
    /// HTTP status of the token response.
    pub status: u16,
    /// OAuth error (`invalid_client`, `unauthorized_client`, …).
    pub error: String,
    /// Description without the Trace ID / Correlation ID / Timestamp suffix.
    pub description: String,
    /// AADSTS numbers (`7000215`, …).
    pub codes: Vec<u32>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub timestamp: Option<String>,
}

impl AuthError {
    /// Parses a token endpoint error body; a body that is not the documented JSON still yields
    /// an error that carries the status and a snippet.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            error: String,
            #[serde(default)]
            error_description: String,
            #[serde(default)]
            error_codes: Vec<u32>,
            trace_id: Option<String>,
            correlation_id: Option<String>,
            timestamp: Option<String>,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(b) => {
                let description = strip_trace_suffix(&b.error_description);
                let mut codes = b.error_codes;
                if codes.is_empty()
                    && let Some(code) = aadsts_in(&description)
                {
                    codes.push(code);
                }
                AuthError {
                    status,
                    error: b.error,
                    description,
                    codes,
                    trace_id: b.trace_id,
                    correlation_id: b.correlation_id,
                    timestamp: b.timestamp,
                }
            }
            Err(_) => AuthError {
                status,
                error: format!("http_{status}"),
                description: snippet(body),
                codes: Vec::new(),
                trace_id: None,
                correlation_id: None,
                timestamp: None,
            },
        }
    }

    /// The first AADSTS code, if any.
    pub fn code(&self) -> Option<u32> {
        self.codes.first().copied()
    }

    fn label(&self) -> String {
        match self.code() {
            Some(c) => format!("AADSTS{c}"),
            None if !self.error.is_empty() => self.error.clone(),
            None => format!("HTTP {}", self.status),
        }
    }

    fn mentions_national_cloud(&self) -> bool {
        let d = self.description.to_ascii_lowercase();
        d.contains("national cloud") || d.contains("does not federate")
    }

    /// The input that is most likely wrong, so the UI can highlight it.
    pub fn field(&self) -> Option<CredentialField> {
        use CredentialField::*;
        match self.code() {
            Some(90038) => Some(Endpoint),
            Some(90002) if self.mentions_national_cloud() => Some(Endpoint),
            Some(90002 | 900023 | 50059 | 90019) => Some(Tenant),
            Some(700016 | 7000112) => Some(ClientId),
            Some(7000215 | 7000222 | 7000218) => Some(Secret),
            Some(70011) => Some(Scope),
            Some(700027 | 700023 | 700024 | 50027) => Some(Certificate),
            Some(c) if (500200..=500299).contains(&c) => Some(Certificate),
            Some(_) => None,
            None if self.error == "invalid_tenant" => Some(Tenant),
            None if self.error == "invalid_scope" => Some(Scope),
            None => None,
        }
    }

    /// What the user should do next, in one or two sentences.
    pub fn remedy(&self) -> String {
        let text = match self.code() {
            Some(90038) => {
                "the tenant belongs to a different Microsoft cloud; choose that cloud (US Government, China …) instead"
            }
            Some(90002) if self.mentions_national_cloud() => {
                "the tenant was not found in this cloud; choose the cloud the tenant lives in (US Government, China …)"
            }
            Some(90002) => {
                "no such tenant: check the Directory (tenant) ID or domain, and that the right cloud is selected"
            }
            Some(900023) => {
                "the tenant is neither a GUID nor a domain name: paste the Directory (tenant) ID from the app's Overview page"
            }
            Some(50059 | 90019) => {
                "no tenant could be determined: enter the Directory (tenant) ID or the tenant's domain"
            }
            Some(700016) => {
                "the app was not found in this tenant: check the Application (client) ID, and that the app exists in (or was consented to by) this tenant"
            }
            Some(7000112) => {
                "the application is disabled: ask a tenant administrator to enable it (Enterprise applications > Properties)"
            }
            Some(7000215) => {
                "the client secret is wrong: paste the secret's Value column, not its Secret ID"
            }
            Some(7000222) => {
                "the client secret has expired: create a new client secret under Certificates & secrets and use its Value"
            }
            Some(7000218) => "no client secret or certificate was sent: enter the client secret",
            Some(70011) => {
                "the requested scope is invalid: it must be the Graph root followed by /.default (check a custom Graph URL)"
            }
            Some(700027) => {
                "the certificate assertion was rejected: upload this certificate (public part) to the app under Certificates & secrets, or check that the key matches it"
            }
            Some(700023 | 700024 | 50027) => {
                "the certificate assertion was rejected: check the certificate and key files and that this machine's clock is correct"
            }
            Some(c) if (500200..=500299).contains(&c) => {
                "the certificate assertion was rejected: check the certificate and key files"
            }
            Some(90055) => "the tenant is throttling sign-ins: wait a few minutes and try again",
            _ if self.error == "invalid_tenant" => {
                "no such tenant: check the Directory (tenant) ID or domain, and that the right cloud is selected"
            }
            _ => {
                return if self.description.is_empty() {
                    format!("the token endpoint answered HTTP {}", self.status)
                } else {
                    self.description.clone()
                };
            }
        };
        text.to_string()
    }
}

/// Entra appends "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …" to descriptions.
fn strip_trace_suffix(description: &str) -> String {
    let cut = ["Trace ID:", "Correlation ID:", "Timestamp:"]
        .iter()
        .filter_map(|m| description.find(m))
        .min()
        .unwrap_or(description.len());
    description[..cut].trim().to_string()
}

fn aadsts_in(text: &str) -> Option<u32> {
    let at = text.find("AADSTS")? + "AADSTS".len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(error: &str, code: u32, desc: &str) -> Vec<u8> {
        serde_json::json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {desc}\r\nTrace ID: 0b1a5e3c-4f6e-4f0e-9a6b-2a2b1c0d9e00\r\nCorrelation ID: 8f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f\r\nTimestamp: 2026-11-27 02:02:12Z"
            ),
            "error_codes": [code],
            "timestamp": "2026-11-27 02:02:12Z",
            "trace_id": "0b1a5e3c-4f6e-4f0e-9a6b-2a2b1c0d9e00",
            "correlation_id": "8f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f",
            "error_uri": "https://login.microsoftonline.com/error?code=".to_string() + &code.to_string()
        })
        .to_string()
        .into_bytes()
    }

    fn parse(status: u16, error: &str, code: u32, desc: &str) -> AuthError {
        AuthError::from_body(status, &body(error, code, desc))
    }

    #[test]
    fn every_known_code_maps_to_its_field_and_a_remedy() {
        use CredentialField::*;
        type Case = (
            u16,
            &'static str,
            u32,
            &'static str,
            Option<CredentialField>,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                400,
                "invalid_tenant",
                90002,
                "Tenant 'contoso.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
                Some(Tenant),
                "Directory (tenant) ID",
            ),
            (
                400,
                "invalid_request",
                900023,
                "Specified tenant identifier 'not a tenant' is neither a valid DNS name, nor a valid external domain.",
                Some(Tenant),
                "neither a GUID",
            ),
            (
                400,
                "unauthorized_client",
                700016,
                "Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory 'Contoso'.",
                Some(ClientId),
                "Application (client) ID",
            ),
            (
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '1111'.",
                Some(Secret),
                "Value column, not its Secret ID",
            ),
            (
                401,
                "invalid_client",
                7000222,
                "The provided client secret keys for app '1111' are expired.",
                Some(Secret),
                "expired",
            ),
            (
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                Some(Secret),
                "no client secret",
            ),
            (
                400,
                "invalid_scope",
                70011,
                "The provided request must include a 'scope' input parameter.",
                Some(Scope),
                "/.default",
            ),
            (
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation.",
                Some(Certificate),
                "upload this certificate",
            ),
            (
                401,
                "invalid_client",
                700023,
                "Client assertion audience claim does not match Realm issuer.",
                Some(Certificate),
                "certificate assertion",
            ),
            (
                401,
                "invalid_client",
                500212,
                "The certificate assertion is malformed.",
                Some(Certificate),
                "certificate assertion",
            ),
            (
                400,
                "invalid_request",
                90038,
                "NationalCloudTenantRedirection: The specified tenant 'contoso.us' belongs to the National Cloud 'USGov'. Current cloud instance 'Prod' does not federate with 'USGov'.",
                Some(Endpoint),
                "different Microsoft cloud",
            ),
            (
                400,
                "unauthorized_client",
                7000112,
                "Application '1111'(Contoso) is disabled.",
                Some(ClientId),
                "disabled",
            ),
            (
                400,
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials.",
                Some(Tenant),
                "Directory (tenant) ID",
            ),
        ];
        for (status, error, code, desc, field, remedy_part) in cases {
            let e = parse(*status, error, *code, desc);
            assert_eq!(e.code(), Some(*code));
            assert_eq!(e.field(), *field, "field for {code}");
            assert!(
                e.remedy().contains(remedy_part),
                "remedy for {code}: {}",
                e.remedy()
            );
            assert!(!e.description.contains("Trace ID"), "{}", e.description);
            assert_eq!(
                e.trace_id.as_deref(),
                Some("0b1a5e3c-4f6e-4f0e-9a6b-2a2b1c0d9e00")
            );
            assert_eq!(e.timestamp.as_deref(), Some("2026-11-27 02:02:12Z"));
        }
    }

    #[test]
    fn tenant_not_found_with_national_cloud_hint_points_at_the_endpoint() {
        let e = parse(
            400,
            "invalid_tenant",
            90002,
            "Tenant 'x' not found. This may happen if the tenant belongs to a national cloud.",
        );
        assert_eq!(e.field(), Some(CredentialField::Endpoint));
    }

    #[test]
    fn invalid_tenant_without_codes_still_points_at_tenant() {
        let e = AuthError::from_body(
            400,
            br#"{"error":"invalid_tenant","error_description":"Tenant not found"}"#,
        );
        assert_eq!(e.field(), Some(CredentialField::Tenant));
    }

    #[test]
    fn code_is_read_from_description_when_error_codes_missing() {
        let e = AuthError::from_body(
            401,
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
        );
        assert_eq!(e.code(), Some(7000215));
        assert_eq!(e.field(), Some(CredentialField::Secret));
    }

    #[test]
    fn unknown_code_keeps_the_description_without_trace_suffix() {
        let e = parse(
            400,
            "invalid_request",
            1234567,
            "Something unusual happened.",
        );
        assert_eq!(e.field(), None);
        assert_eq!(e.remedy(), "AADSTS1234567: Something unusual happened.");
        assert!(e.to_string().contains("Something unusual happened."));
    }

    #[test]
    fn non_json_token_error_keeps_status_and_snippet() {
        let e = AuthError::from_body(502, b"<html>Bad gateway</html>");
        assert_eq!(e.status, 502);
        assert_eq!(e.field(), None);
        assert!(e.remedy().contains("Bad gateway"));
    }

    #[test]
    fn graph_error_body_is_parsed_with_request_id() {
        let body = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2025-02-13T10:17:06","request-id":"abc","client-request-id":"def"}}}"#;
        let e = GraphError::from_graph_body(403, body, None);
        assert!(e.is_access_denied());
        assert_eq!(e.code(), Some("Authorization_RequestDenied"));
        assert!(e.to_string().contains("request-id abc"));
        let e = GraphError::from_graph_body(500, b"oops", Some("hdr"));
        assert_eq!(e.code(), Some("InternalServerError"));
        assert!(e.to_string().contains("hdr"));
    }
}
