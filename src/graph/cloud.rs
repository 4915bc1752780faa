//! National clouds and custom endpoints. Every endpoint is configurable; plain http is
//! accepted only for loopback hosts so a typo can never send a secret in clear text.

use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// A Microsoft cloud: where the token endpoint and Microsoft Graph live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// login.microsoftonline.com + graph.microsoft.com (also GCC)
    #[default]
    Global,
    /// login.microsoftonline.us + graph.microsoft.us (GCC High, L4)
    UsGov,
    /// login.microsoftonline.us + dod-graph.microsoft.us (DoD, L5)
    UsGovDod,
    /// login.partner.microsoftonline.cn + microsoftgraph.chinacloudapi.cn (21Vianet)
    China,
    /// Authority and Graph URLs given explicitly (simulated tenant, proxies, future clouds)
    Custom,
}

impl Cloud {
    /// Built-in authority and Graph roots; `None` for [`Cloud::Custom`].
    pub fn known_roots(self) -> Option<(&'static str, &'static str)> {
        match self {
            Cloud::Global => Some((
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            )),
            Cloud::UsGov => Some((
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            )),
            Cloud::UsGovDod => Some((
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
            )),
            Cloud::China => Some((
                "https://login.partner.microsoftonline.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            )),
            Cloud::Custom => None,
        }
    }

    /// Human name for screens and reports.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Global => "Global (login.microsoftonline.com)",
            Cloud::UsGov => "US Government GCC High (graph.microsoft.us)",
            Cloud::UsGovDod => "US Government DoD (dod-graph.microsoft.us)",
            Cloud::China => "China, operated by 21Vianet",
            Cloud::Custom => "Custom authority and Graph URLs",
        }
    }
}

/// Resolved, validated endpoints for one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Authority root, e.g. `https://login.microsoftonline.com` (tenant is appended).
    pub authority: Url,
    /// Graph root, e.g. `https://graph.microsoft.com` (`/v1.0/...` is appended).
    pub graph: Url,
    /// Client-credentials scope: the Graph root + `/.default` unless overridden.
    pub scope: String,
}

/// Why an endpoint URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("{which} URL {url:?} is not a valid absolute URL: {reason}")]
    Invalid {
        which: &'static str,
        url: String,
        reason: String,
    },
    #[error(
        "{which} URL {url:?} uses plain http to a non-loopback host; use https (http is only allowed for 127.0.0.1, ::1 and localhost)"
    )]
    InsecureHttp { which: &'static str, url: String },
    #[error("{which} URL {url:?} must use https")]
    BadScheme { which: &'static str, url: String },
    #[error("the custom cloud needs both an authority URL and a Graph URL")]
    MissingCustomUrl,
    #[error(
        "Graph URL {url:?} names the API version {version:?}; entra-extract reads Graph v1.0 and adds it itself: give the root, e.g. {root:?}"
    )]
    GraphVersion {
        url: String,
        version: String,
        root: String,
    },
}

impl Endpoints {
    /// Endpoints for `cloud`, with optional overrides of either root (required for Custom).
    pub fn resolve(
        cloud: Cloud,
        authority_override: Option<&str>,
        graph_override: Option<&str>,
    ) -> Result<Self, EndpointError> {
        let (auth_default, graph_default) = match cloud.known_roots() {
            Some((a, g)) => (Some(a), Some(g)),
            None => (None, None),
        };
        let authority = authority_override
            .or(auth_default)
            .ok_or(EndpointError::MissingCustomUrl)?;
        let graph = graph_override
            .or(graph_default)
            .ok_or(EndpointError::MissingCustomUrl)?;
        let authority = parse_root("authority", authority)?;
        let graph = graph_root(parse_root("Graph", graph)?)?;
        let scope = format!("{}/.default", graph.as_str().trim_end_matches('/'));
        Ok(Endpoints {
            authority,
            graph,
            scope,
        })
    }
}

/// The Graph root without an API version: `https://graph.microsoft.com/v1.0` (the form
/// Graph Explorer shows) is taken as `https://graph.microsoft.com`, since the client appends
/// `/v1.0` itself and the token scope is the bare root. Another version (`/beta`) is
/// refused with the root to use instead.
fn graph_root(mut url: Url) -> Result<Url, EndpointError> {
    let path = url.path().trim_end_matches('/').to_string();
    let Some((parent, last)) = path.rsplit_once('/') else {
        return Ok(url);
    };
    let is_version = last.eq_ignore_ascii_case("beta")
        || (last.len() > 1
            && last[..1].eq_ignore_ascii_case("v")
            && last[1..].chars().all(|c| c.is_ascii_digit() || c == '.'));
    if !is_version {
        return Ok(url);
    }
    let original = url.to_string();
    url.set_path(if parent.is_empty() { "/" } else { parent });
    url.set_query(None);
    if last == "v1.0" {
        return Ok(url);
    }
    Err(EndpointError::GraphVersion {
        url: original,
        version: last.to_string(),
        root: url.as_str().trim_end_matches('/').to_string(),
    })
}

/// True for hosts that never leave this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn parse_root(which: &'static str, raw: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(raw.trim()).map_err(|e| EndpointError::Invalid {
        which,
        url: raw.to_string(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(EndpointError::InsecureHttp {
                which,
                url: raw.to_string(),
            });
        }
        _ => {
            return Err(EndpointError::BadScheme {
                which,
                url: raw.to_string(),
            });
        }
    }
    if url.host().is_none() {
        return Err(EndpointError::Invalid {
            which,
            url: raw.to_string(),
            reason: "no host".into(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_clouds_resolve_to_https_roots_and_default_scope() {
        let e = Endpoints::resolve(Cloud::UsGovDod, None, None).unwrap();
        assert_eq!(e.authority.host_str(), Some("login.microsoftonline.us"));
        assert_eq!(e.graph.host_str(), Some("dod-graph.microsoft.us"));
        assert_eq!(e.scope, "https://dod-graph.microsoft.us/.default");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(
                Endpoints::resolve(Cloud::Custom, Some(ok), Some(ok)).is_ok(),
                "{ok}"
            );
        }
        let err = Endpoints::resolve(Cloud::Custom, Some("http://10.0.0.5"), Some("https://g"));
        assert!(matches!(err, Err(EndpointError::InsecureHttp { .. })));
        let err = Endpoints::resolve(Cloud::Custom, Some("ftp://x"), Some("https://g"));
        assert!(matches!(err, Err(EndpointError::BadScheme { .. })));
    }

    #[test]
    fn a_graph_url_with_v1_0_is_taken_as_its_root_and_other_versions_are_refused() {
        for given in [
            "https://graph.microsoft.com/v1.0",
            "https://graph.microsoft.com/v1.0/",
            "https://graph.microsoft.com",
        ] {
            let e = Endpoints::resolve(Cloud::Global, None, Some(given)).unwrap();
            assert_eq!(e.graph.as_str(), "https://graph.microsoft.com/", "{given}");
            assert_eq!(e.scope, "https://graph.microsoft.com/.default", "{given}");
        }
        let e = Endpoints::resolve(
            Cloud::Global,
            None,
            Some("https://proxy.example/graph/v1.0"),
        )
        .unwrap();
        assert_eq!(e.graph.as_str(), "https://proxy.example/graph");
        let err = Endpoints::resolve(
            Cloud::Global,
            None,
            Some("https://graph.microsoft.com/beta"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("\"https://graph.microsoft.com\""),
            "{err}"
        );
    }

    #[test]
    fn custom_cloud_requires_both_urls() {
        assert_eq!(
            Endpoints::resolve(Cloud::Custom, Some("https://a"), None),
            Err(EndpointError::MissingCustomUrl)
        );
    }
}
