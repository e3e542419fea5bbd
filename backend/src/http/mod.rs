//! HTTP plumbing shared by every area: request metadata, body parsing rules, the contract's
//! error shape for responses that no handler produced, and panic containment.

pub mod body;
pub mod errors;
pub mod meta;
