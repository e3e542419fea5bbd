//! Writing audit rows. Every command calls `write` with its own unit of work, so the row and
//! the change commit or roll back together, and the commit wakes the sealer and the relay.

use super::chain::AuditKey;
use super::entity::audit_log;
use crate::db::UnitOfWork;
use chrono::{DateTime, SubsecRound, Utc};
use coordinator_api::AuditLogId;
use coordinator_api::audit::{ActorType, AuditAction, AuditResult, AuditTarget};
use sea_orm::{ActiveValue::NotSet, ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::Value;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub kind: ActorType,
}

impl Actor {
    pub fn user(username: &str) -> Self {
        Self {
            name: username.to_owned(),
            kind: ActorType::User,
        }
    }

    pub fn server(id: &str) -> Self {
        Self {
            name: id.to_owned(),
            kind: ActorType::Server,
        }
    }

    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".to_owned(),
            kind: ActorType::Anonymous,
        }
    }

    /// The coordinator itself, or a command-line invocation (`system:cli`).
    pub fn system(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: ActorType::System,
        }
    }
}

/// The actor plus where the request came from: what every audit row of a request shares.
#[derive(Debug, Clone)]
pub struct Origin {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub correlation_id: Option<String>,
}

impl Origin {
    pub fn system(name: &str) -> Self {
        Self {
            actor: Actor::system(name),
            request_id: None,
            client_address: None,
            correlation_id: None,
        }
    }

    /// The same origin, its rows filed under `correlation_id`: everything born of one
    /// assessment shares that id, whatever the caller sent.
    pub fn correlated(&self, correlation_id: &str) -> Origin {
        Origin {
            correlation_id: Some(correlation_id.to_owned()),
            ..self.clone()
        }
    }

    /// A successful action by this origin.
    pub fn entry(&self, action: AuditAction) -> AuditEntry<'_> {
        AuditEntry {
            origin: self,
            action,
            target: None,
            result: AuditResult::Success,
            details: Value::Object(Default::default()),
        }
    }
}

/// One row about to be written.
#[derive(Debug)]
pub struct AuditEntry<'a> {
    origin: &'a Origin,
    action: AuditAction,
    target: Option<AuditTarget>,
    result: AuditResult,
    details: Value,
}

impl AuditEntry<'_> {
    pub fn target(mut self, target: AuditTarget) -> Self {
        self.target = Some(target);
        self
    }

    pub fn result(mut self, result: AuditResult) -> Self {
        self.result = result;
        self
    }

    /// Context of the action. Callers pass only what is safe to keep forever: never a
    /// password, token, key or env value.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// The content a row's MAC covers, exactly as stored.
#[derive(Debug, Clone)]
pub struct RowContent<'a> {
    pub timestamp: DateTime<Utc>,
    pub actor: &'a str,
    pub actor_type: ActorType,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub result: AuditResult,
    pub details: &'a str,
    pub request_id: Option<&'a str>,
    pub client_address: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
    pub nonce: &'a str,
}

impl<'a> From<&'a audit_log::Model> for RowContent<'a> {
    fn from(row: &'a audit_log::Model) -> Self {
        Self {
            timestamp: row.timestamp,
            actor: &row.actor,
            actor_type: row.actor_type,
            action: &row.action,
            target: row.target.as_deref(),
            result: row.result,
            details: &row.details,
            request_id: row.request_id.as_deref(),
            client_address: row.client_address.as_deref(),
            correlation_id: row.correlation_id.as_deref(),
            nonce: &row.nonce,
        }
    }
}

/// Fits a value into its column: at most `max` bytes on a character boundary, without the
/// control characters some databases refuse. A refusal must never go unrecorded because the
/// attacker chose an overlong path or a NUL byte.
fn clamp(value: &str, max: usize) -> String {
    let mut clean: String = value.chars().filter(|c| !c.is_control()).collect();
    if clean.len() > max {
        let mut end = max;
        while !clean.is_char_boundary(end) {
            end -= 1;
        }
        clean.truncate(end);
    }
    clean
}

fn clamp_opt(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| clamp(v, max))
}

/// Writes one row in `conn`, the unit of work of the change being recorded.
pub async fn write(
    conn: &UnitOfWork,
    key: &AuditKey,
    entry: AuditEntry<'_>,
) -> Result<AuditLogId, DbErr> {
    // Both databases keep microseconds; truncating here keeps the MAC input identical to
    // what is read back.
    let timestamp = Utc::now().trunc_subsecs(6);
    let origin = entry.origin;
    let actor = clamp(&origin.actor.name, 128);
    let target = clamp_opt(entry.target.map(|t| t.to_string()).as_deref(), 256);
    let request_id = clamp_opt(origin.request_id.as_deref(), 64);
    let client_address = clamp_opt(origin.client_address.as_deref(), 64);
    let correlation_id = clamp_opt(origin.correlation_id.as_deref(), 128);
    let details = entry.details.to_string();
    let mut nonce_bytes = [0u8; 16];
    rand::fill(&mut nonce_bytes);
    let nonce = hex::encode(nonce_bytes);
    let row_mac = key.row_mac(&RowContent {
        timestamp,
        actor: &actor,
        actor_type: origin.actor.kind,
        action: entry.action.as_str(),
        target: target.as_deref(),
        result: entry.result,
        details: &details,
        request_id: request_id.as_deref(),
        client_address: client_address.as_deref(),
        correlation_id: correlation_id.as_deref(),
        nonce: &nonce,
    });
    let row = audit_log::ActiveModel {
        id: NotSet,
        timestamp: Set(timestamp),
        actor: Set(actor),
        actor_type: Set(origin.actor.kind),
        action: Set(entry.action.as_str().to_owned()),
        target: Set(target),
        result: Set(entry.result),
        details: Set(details),
        request_id: Set(request_id),
        client_address: Set(client_address),
        correlation_id: Set(correlation_id),
        nonce: Set(nonce),
        row_mac: Set(row_mac),
        chain_seq: Set(None),
        chain_mac: Set(None),
    };
    let inserted = audit_log::Entity::insert(row).exec(conn).await?;
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Sent with the transaction: Postgres delivers it to every replica's event relay
        // only if, and when, the row commits.
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [
                crate::events::hub::NOTIFY_CHANNEL.into(),
                inserted.last_insert_id.0.to_string().into(),
            ],
        ))
        .await?;
    }
    conn.wrote_audit();
    Ok(inserted.last_insert_id)
}

#[cfg(test)]
mod tests {
    use super::clamp;

    #[test]
    fn clamping_keeps_whole_characters_and_drops_control_characters() {
        assert_eq!(clamp("a\u{0}b\nc", 10), "abc");
        assert_eq!(clamp("ééé", 3), "é");
        assert_eq!(clamp(&"x".repeat(300), 256).len(), 256);
    }
}
