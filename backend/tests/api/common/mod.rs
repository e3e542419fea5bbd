//! `TestApp`: a real coordinator on port 0 against a real database, with typed helpers.
//!
//! Every case runs twice through `dual_test!`: once on a fresh SQLite file, once on a fresh
//! Postgres database (a copy of a template migrated once per run, dropped after the test even
//! when it fails; see `postgres.rs`). Postgres is expected at `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when it cannot be reached the Postgres cases
//! fail rather than skip. Set `TEST_LOG=debug` to see logs.

mod database;
mod http;
mod postgres;
mod spawn;
mod workflow;

pub use http::*;
pub use spawn::*;
pub use workflow::*;
