//! Live events. The audit log is the event log: a relay tails it and broadcasts each
//! committed row to the WebSocket subscribers of this process. An event exists only once its
//! transaction has committed, and on Postgres every replica's relay is woken by a
//! `NOTIFY` sent inside that transaction — which Postgres delivers only on commit.

pub mod hub;
pub mod routes;
pub mod ws;

pub use hub::EventHub;
