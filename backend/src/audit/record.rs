//! Writing audit rows. Every command calls `write` with its own transaction, so the row and
//! the change commit or roll back together.

use super::chain::AuditKey;
use super::entity::audit_log;
use chrono::{DateTime, SubsecRound, Utc};
use coordinator_api::AuditLogId;
use coordinator_api::audit::{ActorType, AuditResult};
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

    /// A successful action by this origin.
    pub fn entry(&self, action: &'static str) -> AuditEntry<'_> {
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
    action: &'static str,
    target: Option<String>,
    result: AuditResult,
    details: Value,
}

impl AuditEntry<'_> {
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
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
        }
    }
}

/// Writes one row on `conn`, normally the transaction of the change being recorded.
pub async fn write(
    conn: &impl ConnectionTrait,
    key: &AuditKey,
    entry: AuditEntry<'_>,
) -> Result<AuditLogId, DbErr> {
    // Both databases keep microseconds; truncating here keeps the MAC input identical to
    // what is read back.
    let timestamp = Utc::now().trunc_subsecs(6);
    let details = entry.details.to_string();
    let origin = entry.origin;
    let content = RowContent {
        timestamp,
        actor: &origin.actor.name,
        actor_type: origin.actor.kind,
        action: entry.action,
        target: entry.target.as_deref(),
        result: entry.result,
        details: &details,
        request_id: origin.request_id.as_deref(),
        client_address: origin.client_address.as_deref(),
        correlation_id: origin.correlation_id.as_deref(),
    };
    let row_mac = key.row_mac(&content);
    let row = audit_log::ActiveModel {
        id: NotSet,
        timestamp: Set(timestamp),
        actor: Set(origin.actor.name.clone()),
        actor_type: Set(origin.actor.kind),
        action: Set(entry.action.to_owned()),
        target: Set(entry.target),
        result: Set(entry.result),
        details: Set(details),
        request_id: Set(origin.request_id.clone()),
        client_address: Set(origin.client_address.clone()),
        correlation_id: Set(origin.correlation_id.clone()),
        row_mac: Set(row_mac),
        chain_seq: Set(None),
        chain_mac: Set(None),
    };
    let inserted = audit_log::Entity::insert(row).exec(conn).await?;
    Ok(inserted.last_insert_id)
}
