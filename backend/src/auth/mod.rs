//! Identity: who is calling, and may they do this?
//!
//! - `password`: argon2id hashing with pinned parameters, run off the async workers.
//! - `jwt`: signing and validating user tokens (HS256 only).
//! - `secrets`: random API keys, enrollment keys and the hashes they are stored as.
//! - `approval_tokens`: single-use tokens people redeem for one decision each.
//! - `principal`: the extractors that authenticate a request and check one permission.
//! - `throttle`: slowing down password guessing.
//! - `service`, `routes`: login, logout, me, permissions.

pub mod approval_tokens;
pub mod entity;
pub mod jwt;
pub mod password;
pub mod principal;
pub mod routes;
pub mod secrets;
pub mod service;
pub mod throttle;

pub use principal::{Authorized, Principal, RequestOrigin, SignedIn, perm};
