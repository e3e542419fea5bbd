//! The dashboard's client of the coordinator's REST API, typed with the wire crate.
//!
//! Every method builds one request, sends it through a [`Transport`] and reads the answer
//! into the contract's types; an error answer becomes an [`ApiError`] carrying the contract's
//! code and message. Nothing here touches the DOM, so the client is tested natively.

mod client;
mod error;
mod transport;

pub use client::{Api, Download};
pub use error::ApiError;
pub use transport::{Browser, HttpRequest, HttpResponse, Method, Transport};

/// Where the REST API lives, relative to the origin that served the dashboard.
pub const API_BASE: &str = "/api/v1";
