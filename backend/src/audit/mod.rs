//! The tamper-evident audit log.
//!
//! - `record`: who did what; written inside the transaction of the change it describes.
//! - `chain`: the keyed MACs, the sealer that links committed rows in order, and `verify`.
//! - `service` and `routes`: reading, exporting and verifying over HTTP.
//! - `retention`: pruning old rows behind a signed checkpoint.
//! - `denials`: the middleware that records refused and rejected requests.

pub mod chain;
pub mod denials;
pub mod entity;
pub mod export;
pub mod record;
pub mod retention;
pub mod routes;
pub mod service;

pub use chain::AuditKey;
pub use record::{Actor, AuditEntry, Origin};
