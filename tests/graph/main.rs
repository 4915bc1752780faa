//! The Graph client (`entra_extract::graph`) against wiremock: auth, pacing, paging, retry and
//! TLS. One test binary (one link, one Wine start); each module is one subject.

mod graph_auth;
mod graph_pacing;
mod graph_paging;
mod graph_retry;
mod graph_support;
mod graph_tls;
