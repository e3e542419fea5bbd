//! Live events over `GET /api/v1/ws`.
//!
//! Every event is an audit row: its `id` is the row's id, so a client that reconnects with
//! `?since=<last id it saw>` receives what it missed, in order, and then the live stream.

use crate::audit::{ActorType, AuditResult};
use crate::{Permission, wire_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

wire_enum! {
    /// What a subscriber can follow.
    pub enum Channel {
        Assessments = "assessments",
        Remediations = "remediations",
        Approvals = "approvals",
        Executions = "executions",
        Servers = "servers",
        /// Every audit row.
        Audit = "audit",
        Metrics = "metrics",
        Alerts = "alerts",
    }
}

impl Channel {
    /// The permission a subscriber needs, from the one permission table.
    pub const fn permission(self) -> Permission {
        match self {
            Channel::Assessments => Permission::ViewAssessments,
            Channel::Remediations | Channel::Approvals | Channel::Executions => {
                Permission::ViewRemediations
            }
            Channel::Servers => Permission::ViewServers,
            Channel::Audit => Permission::ViewAudit,
            Channel::Metrics | Channel::Alerts => Permission::ViewMetrics,
        }
    }

    /// The channel an audit row belongs to besides `audit`, from its action and target.
    pub fn of(action: &str, target: Option<&str>) -> Option<Channel> {
        use crate::audit::{AuditAction, AuditTarget};
        // Decisions and the tokens that make them are about a proposal, but their readers
        // follow approvals.
        if matches!(
            action.parse(),
            Ok(AuditAction::ApprovalRecorded | AuditAction::ApprovalTokenIssued)
        ) {
            return Some(Channel::Approvals);
        }
        AuditTarget::parse(target?).channel()
    }
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ClientMessage {
    Subscribe { channels: Vec<Channel> },
    Unsubscribe { channels: Vec<Channel> },
}

/// An audit row as an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    pub actor: String,
    pub actor_type: ActorType,
    pub target: Option<String>,
    pub result: AuditResult,
    pub details: serde_json::Value,
}

/// What the coordinator sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerMessage {
    /// The subscriptions now in force.
    Subscribed {
        channels: Vec<Channel>,
    },
    Event {
        channel: Channel,
        /// The audit action, such as `remediation_approved`.
        event: String,
        /// The audit row's id.
        id: i64,
        ts: DateTime<Utc>,
        correlation_id: Option<String>,
        data: EventData,
    },
    /// A machine sample on the `metrics` channel. Samples are measurements, not audited
    /// actions: they carry no id, are not replayed by `since`, and a missed one is simply
    /// superseded by the next.
    Metrics {
        channel: Channel,
        ts: DateTime<Utc>,
        system: crate::monitoring::SystemMetrics,
    },
    /// The client fell too far behind: reconnect with `since` set to the last id it saw.
    Resync {
        last_id: Option<i64>,
    },
    Error {
        code: String,
        message: String,
    },
}
