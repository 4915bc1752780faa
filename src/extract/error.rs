//! Why an extraction did not complete.

use super::output::OutputError;
use super::prefix::PrefixError;
use super::schema::{RecordError, SchemaError};
use crate::graph::GraphError;

/// Why an extraction did not complete. In every case no output file was changed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(
        "Microsoft Graph refused to list {what} (403 Authorization_RequestDenied): the app lacks Directory.Read.All; run `entra-extract check` for the exact fix"
    )]
    PermissionDenied { what: String },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "the tenant's default domain {domain:?} cannot be used as a file-name prefix ({source}); choose one with --domain-prefix"
    )]
    Prefix {
        domain: String,
        #[source]
        source: PrefixError,
    },
    #[error("unexpected answer from {what}: {detail}")]
    Unexpected { what: String, detail: String },
    /// A task of the run itself failed (panicked or stopped): a bug, not Graph's doing.
    #[error(
        "internal error in {what}: {detail}; no output file was changed (please report it with the log file)"
    )]
    Internal { what: String, detail: String },
    #[error("cancelled; no output file was changed")]
    Cancelled,
}

impl ExtractError {
    pub(crate) fn from_graph(e: GraphError, what: &str) -> Self {
        match e {
            GraphError::Cancelled => ExtractError::Cancelled,
            e if e.is_access_denied() => ExtractError::PermissionDenied { what: what.into() },
            e => ExtractError::Graph(e),
        }
    }
}
