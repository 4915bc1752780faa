//! Extraction: plan the requests, run them with bounded concurrency, stream into CSV sinks.

pub mod progress;
