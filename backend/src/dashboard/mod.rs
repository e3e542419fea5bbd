//! The web dashboard, embedded at build time and served at `/`.
//!
//! The dashboard is a client-side app: its own router draws every page, so any path a person
//! can open in a browser (not under `/api/`) answers the same `index.html`. Requests that do
//! not ask for HTML keep the contract's JSON 404.

pub mod assets;
pub mod routes;
