//! Tests of the ingest module.
