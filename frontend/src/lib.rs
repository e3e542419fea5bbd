//! The web dashboard of the MCP Integration Coordinator, for approvers, auditors and
//! operators. A Leptos client-side app: it talks to the same REST and WebSocket API as every
//! other client, with the wire types of `coordinator-api`.
//!
//! `address`, `api`, `session`, `format` and the live `Tracker` hold no DOM code and are tested
//! natively.

pub mod address;
pub mod api;
pub mod app;
pub mod components;
pub mod format;
pub mod live;
pub mod pages;
pub mod session;
