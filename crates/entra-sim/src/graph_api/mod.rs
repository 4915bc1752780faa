//! Microsoft Graph v1.0 routes over the simulated directory: authentication, permission
//! checks, query options, paging, resource-unit charging and fault injection.
//!
//! Everything here is synchronous and transport-free so `$batch` items go through exactly the
//! same pipeline as top-level requests; `server` adds latency and the transport faults.
//!
//! `pipeline` takes each request through the checks every route shares, `routes` names the
//! route, `dispatch` hands it to `collections`, `relationships` or the sibling modules
//! (`delta`, `tenant_routes`, `batch`); every answer is built through `Ctx`.

mod access;
mod collections;
mod dispatch;
mod pipeline;
mod query;
mod relationships;
mod routes;
mod writes;

use super::fault::FaultPlan;
use std::sync::Arc;

use super::model::Directory;
use super::state::{SimState, Snapshot};

pub(super) use access::has_any;
pub(super) use collections::{entity_body, open_page};
pub use pipeline::{format_secs, handle};
pub(super) use query::{Filter, next_link, page_offset, page_size, resolve_select};
pub use writes::apps_json;

/// A Graph request, transport-independent.
#[derive(Debug, Clone)]
pub struct GraphCall<'a> {
    pub method: &'a str,
    /// Path after `/v1.0`, without the query string.
    pub path: &'a str,
    pub query: &'a str,
    pub authorization: Option<&'a str>,
    pub consistency_eventual: bool,
    pub client_request_id: Option<String>,
    pub body: &'a [u8],
    /// Inside a `$batch`.
    pub inner: bool,
}

/// A Graph answer.
#[derive(Debug, Clone)]
pub struct GraphReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub content_type: &'static str,
    /// Objects returned (drives the per-item latency).
    pub items: usize,
    pub plan: Box<FaultPlan>,
}

pub(super) const JSON_CT: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const TEXT_CT: &str = "text/plain";

/// A reply under construction.
pub(super) struct Ctx<'a> {
    pub(super) state: &'a SimState,
    /// The directory this request reads, fixed when it started.
    pub(super) snap: Arc<Snapshot>,
    request_id: String,
    client_request_id: String,
    ru: u32,
}

impl Ctx<'_> {
    pub(super) fn dir(&self) -> &Directory {
        &self.snap.dir
    }

    pub(super) fn reply(
        &self,
        status: u16,
        body: String,
        ct: &'static str,
        items: usize,
    ) -> GraphReply {
        GraphReply {
            status,
            headers: vec![
                ("request-id".into(), self.request_id.clone()),
                ("client-request-id".into(), self.client_request_id.clone()),
                ("x-ms-resource-unit".into(), self.ru.to_string()),
                ("OData-Version".into(), "4.0".into()),
                (
                    "x-ms-ags-diagnostic".into(),
                    r#"{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SIM"}}"#.into(),
                ),
            ],
            body,
            content_type: ct,
            items,
            plan: Box::default(),
        }
    }

    /// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`
    /// with the date in Graph's zone-less form (graph-reference §8).
    pub(super) fn error(&self, status: u16, code: &str, message: &str) -> GraphReply {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
        let body = serde_json::json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": date,
                    "request-id": self.request_id,
                    "client-request-id": self.client_request_id,
                }
            }
        })
        .to_string();
        self.reply(status, body, JSON_CT, 0)
    }

    fn denied(&self) -> GraphReply {
        self.error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    fn not_found(&self, id: &str) -> GraphReply {
        self.error(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub(super) fn bad(&self, message: &str) -> GraphReply {
        self.error(400, "Request_BadRequest", message)
    }

    pub(super) fn context(&self, what: &str) -> String {
        format!("{}/v1.0/$metadata#{what}", self.state.base_url)
    }
}
