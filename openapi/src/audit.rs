//! The audit log: reading, exporting and verifying it.

use crate::events::Channel;
use crate::wire_enum;
use crate::{AssessmentId, AuditLogId, EnrollmentKeyId, ExecutionId, ProposalId, ServerId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::{IntoParams, ToSchema};

wire_enum! {
    /// Who did what an audit row records.
    pub enum ActorType {
        User = "user",
        Server = "server",
        /// No valid credentials were presented.
        Anonymous = "anonymous",
        /// The coordinator itself or its command line.
        System = "system",
    }
}

wire_enum! {
    /// How the recorded attempt ended.
    pub enum AuditResult {
        Success = "success",
        /// Refused for lack of credentials or permission, or throttled.
        Denied = "denied",
        /// Attempted and rejected (invalid input, conflict) or failed.
        Failure = "failure",
    }
}

wire_enum! {
    /// What an audit row records: the `action` of every row the coordinator writes.
    pub enum AuditAction {
        AdminBootstrapped = "admin_bootstrapped",
        LoginSucceeded = "login_succeeded",
        /// A wrong username or password.
        LoginFailed = "login_failed",
        Logout = "logout",
        UserCreated = "user_created",
        UserUpdated = "user_updated",
        /// A request refused for lack of credentials or permission (401, 403).
        AccessDenied = "access_denied",
        /// A request refused for coming too often (429).
        RateLimited = "rate_limited",
        /// A request read and refused: a conflict, an expired token, invalid input.
        RequestRejected = "request_rejected",
        EnrollmentKeyCreated = "enrollment_key_created",
        ServerRegistered = "server_registered",
        ServerReregistered = "server_reregistered",
        ServerStatusChanged = "server_status_changed",
        ServerDeleted = "server_deleted",
        AssessmentRequested = "assessment_requested",
        AssessmentClaimed = "assessment_claimed",
        AssessmentResultsReported = "assessment_results_reported",
        AssessmentReviewed = "assessment_reviewed",
        AssessmentFailed = "assessment_failed",
        /// A lease ran out and its work went back to the queue.
        LeaseExpired = "lease_expired",
        RemediationProposed = "remediation_proposed",
        ApprovalTokenIssued = "approval_token_issued",
        /// One approver's decision that left the proposal pending.
        ApprovalRecorded = "approval_recorded",
        /// The decision that completed the quorum.
        RemediationApproved = "remediation_approved",
        RemediationRejected = "remediation_rejected",
        ProposalExpired = "proposal_expired",
        ExecutionReleased = "execution_released",
        ExecutionClaimed = "execution_claimed",
        /// Not handed out: the stored actions no longer match what was approved.
        ExecutionRefused = "execution_refused",
        ExecutionProgress = "execution_progress",
        ExecutionCompleted = "execution_completed",
        ExecutionInterrupted = "execution_interrupted",
        ReassessmentRequested = "reassessment_requested",
        AlertRuleCreated = "alert_rule_created",
        AlertRuleUpdated = "alert_rule_updated",
        AlertRuleDeleted = "alert_rule_deleted",
        AlertRaised = "alert_raised",
        AlertResolved = "alert_resolved",
        AuditExported = "audit_exported",
        AuditPruned = "audit_pruned",
    }
}

/// What an audit row is about; written as `kind:id` (`execution:7`, `server:ws-07-installer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    Assessment(AssessmentId),
    Proposal(ProposalId),
    Execution(ExecutionId),
    Server(ServerId),
    EnrollmentKey(EnrollmentKeyId),
    User(UserId),
    ApprovalToken(i64),
    Alert(i64),
    AlertRule(i64),
    /// The audit log itself: exports and pruning.
    AuditLog,
    /// The path of a request that was refused before it reached anything.
    Path(String),
}

impl AuditTarget {
    /// Reads a stored target back. Anything that is not `kind:id` of a known kind (a path,
    /// or a row written by an older version) stays text.
    pub fn parse(text: &str) -> Self {
        let typed = text.split_once(':').and_then(|(kind, id)| {
            let number = || id.parse::<i64>().ok();
            Some(match kind {
                "assessment" => Self::Assessment(AssessmentId(number()?)),
                "proposal" => Self::Proposal(ProposalId(number()?)),
                "execution" => Self::Execution(ExecutionId(number()?)),
                "server" => Self::Server(ServerId::parse(id).ok()?),
                "enrollment_key" => Self::EnrollmentKey(EnrollmentKeyId(number()?)),
                "user" => Self::User(UserId(number()?)),
                "approval_token" => Self::ApprovalToken(number()?),
                "alert" => Self::Alert(number()?),
                "alert_rule" => Self::AlertRule(number()?),
                _ => return None,
            })
        });
        match typed {
            Some(target) => target,
            None if text == "audit_log" => Self::AuditLog,
            None => Self::Path(text.to_owned()),
        }
    }

    /// The live channel of rows about this target, besides `audit`.
    pub fn channel(&self) -> Option<Channel> {
        match self {
            Self::Assessment(_) => Some(Channel::Assessments),
            Self::Proposal(_) => Some(Channel::Remediations),
            Self::Execution(_) => Some(Channel::Executions),
            Self::Server(_) | Self::EnrollmentKey(_) => Some(Channel::Servers),
            Self::Alert(_) => Some(Channel::Alerts),
            _ => None,
        }
    }
}

impl fmt::Display for AuditTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Assessment(id) => write!(f, "assessment:{id}"),
            Self::Proposal(id) => write!(f, "proposal:{id}"),
            Self::Execution(id) => write!(f, "execution:{id}"),
            Self::Server(id) => write!(f, "server:{id}"),
            Self::EnrollmentKey(id) => write!(f, "enrollment_key:{id}"),
            Self::User(id) => write!(f, "user:{id}"),
            Self::ApprovalToken(id) => write!(f, "approval_token:{id}"),
            Self::Alert(id) => write!(f, "alert:{id}"),
            Self::AlertRule(id) => write!(f, "alert_rule:{id}"),
            Self::AuditLog => f.write_str("audit_log"),
            Self::Path(path) => f.write_str(path),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLog {
    pub id: AuditLogId,
    pub timestamp: DateTime<Utc>,
    /// Username, server id, `anonymous` or `system`.
    pub actor: String,
    pub actor_type: ActorType,
    /// What happened, in snake_case, such as `user_created` or `access_denied`.
    pub action: String,
    /// What it happened to, such as `user:3` or `server:compliance-server`.
    pub target: Option<String>,
    pub result: AuditResult,
    /// Context of the action; secrets are never recorded.
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub correlation_id: Option<String>,
}

/// Filters shared by listing and exporting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor name.
    pub actor: Option<String>,
    /// Exact action name.
    pub action: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    pub result: Option<AuditResult>,
    pub correlation_id: Option<String>,
    /// Rows at or after this instant: an RFC 3339 timestamp (`2025-08-24T10:00:00Z`), or a
    /// date (`2025-08-24`), meaning the start of that day in UTC.
    #[serde(default, deserialize_with = "dates::start")]
    #[param(value_type = Option<String>, example = "2025-08-24")]
    #[schema(value_type = Option<String>, example = "2025-08-24")]
    pub start_date: Option<DateTime<Utc>>,
    /// Rows at or before this instant: an RFC 3339 timestamp, or a date (`2025-08-24`),
    /// meaning the whole of that day in UTC (up to its last microsecond).
    #[serde(default, deserialize_with = "dates::end")]
    #[param(value_type = Option<String>, example = "2025-08-24")]
    #[schema(value_type = Option<String>, example = "2025-08-24")]
    pub end_date: Option<DateTime<Utc>>,
    /// Page size, 1 to 1000; 50 when absent.
    pub limit: Option<u64>,
    /// Rows to skip (offset pages). Ignored when `cursor` is given.
    pub offset: Option<u64>,
    /// The `nextCursor` of the previous page (keyset pages, fast at any depth).
    pub cursor: Option<String>,
    /// Export only: `csv`, `json` or `ndjson`.
    pub format: Option<ExportFormat>,
}

wire_enum! {
    /// Format of an audit export.
    pub enum ExportFormat {
        Csv = "csv",
        Json = "json",
        Ndjson = "ndjson",
    }
}

/// Newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogPage {
    pub success: bool,
    pub logs: Vec<AuditLog>,
    /// Rows matching the filters.
    pub total: u64,
    /// 1-based page number (offset pages; 1 with a cursor).
    pub page: u64,
    pub page_size: u64,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerifyResponse {
    pub success: bool,
    /// `true` when every row is intact, linked in order and nothing is missing.
    pub verified: bool,
    pub checked_rows: u64,
    /// The first row at which the chain breaks.
    pub first_broken_id: Option<AuditLogId>,
    /// Why it breaks there.
    pub reason: Option<String>,
}

/// The bounds of a date filter: an RFC 3339 timestamp, or a whole day given as its date.
pub mod dates {
    use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
    use serde::{Deserialize, Deserializer};

    const ACCEPTED: &str = "expected an RFC 3339 timestamp such as `2025-08-24T10:00:00Z` or a \
                            date such as `2025-08-24` (in a query string, write `+` as `%2B`)";

    fn parse(raw: &str) -> Result<Result<DateTime<Utc>, NaiveDate>, String> {
        if let Ok(instant) = raw.parse::<DateTime<Utc>>() {
            return Ok(Ok(instant));
        }
        if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            return Ok(Err(day));
        }
        let shown: String = raw.chars().take(40).collect();
        Err(format!("`{shown}` is not a date or timestamp; {ACCEPTED}"))
    }

    /// A timestamp as given, or the first instant of the given day.
    pub fn parse_start(raw: &str) -> Result<DateTime<Utc>, String> {
        Ok(match parse(raw)? {
            Ok(instant) => instant,
            Err(day) => day.and_time(NaiveTime::MIN).and_utc(),
        })
    }

    /// A timestamp as given, or the last instant of the given day, so the whole day counts.
    pub fn parse_end(raw: &str) -> Result<DateTime<Utc>, String> {
        Ok(match parse(raw)? {
            Ok(instant) => instant,
            Err(day) => {
                day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::days(1)
                    - TimeDelta::microseconds(1)
            }
        })
    }

    fn with<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &str,
        bound: fn(&str) -> Result<DateTime<Utc>, String>,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|raw| bound(&raw).map_err(|e| serde::de::Error::custom(format!("{field}: {e}"))))
            .transpose()
    }

    pub fn start<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        with(d, "startDate", parse_start)
    }

    pub fn end<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        with(d, "endDate", parse_end)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::audit::AuditQuery;

        fn at(raw: &str) -> DateTime<Utc> {
            raw.parse().unwrap()
        }

        #[test]
        fn a_date_covers_its_whole_day() {
            assert_eq!(parse_start("2025-08-24"), Ok(at("2025-08-24T00:00:00Z")));
            assert_eq!(
                parse_end("2025-08-24"),
                Ok(at("2025-08-24T23:59:59.999999Z"))
            );
        }

        #[test]
        fn timestamps_are_taken_as_given() {
            for bound in [parse_start, parse_end] {
                assert_eq!(
                    bound("2025-08-24T10:00:00Z"),
                    Ok(at("2025-08-24T10:00:00Z"))
                );
                assert_eq!(
                    bound("2025-08-24T12:00:00+02:00"),
                    Ok(at("2025-08-24T10:00:00Z"))
                );
                assert_eq!(
                    bound("2025-08-24T10:00:00.5Z"),
                    Ok(at("2025-08-24T10:00:00.500Z"))
                );
            }
        }

        #[test]
        fn anything_else_says_what_is_accepted() {
            for bad in [
                "yesterday",
                "2025-13-01",
                "2025-08-24T25:00:00Z",
                "24/08/2025",
                "",
            ] {
                let err = parse_start(bad).unwrap_err();
                assert!(
                    err.contains("RFC 3339") && err.contains("2025-08-24"),
                    "{bad}: {err}"
                );
            }
        }

        #[test]
        fn query_strings_name_the_parameter() {
            let q: AuditQuery = serde_json::from_value(
                serde_json::json!({ "startDate": "2025-08-24", "endDate": "2025-08-25" }),
            )
            .unwrap();
            assert_eq!(q.start_date, Some(at("2025-08-24T00:00:00Z")));
            assert_eq!(q.end_date, Some(at("2025-08-25T23:59:59.999999Z")));
            let none: AuditQuery = serde_json::from_value(serde_json::json!({})).unwrap();
            assert_eq!(none.start_date, None);
            let err =
                serde_json::from_value::<AuditQuery>(serde_json::json!({ "endDate": "soon" }))
                    .unwrap_err()
                    .to_string();
            assert!(err.starts_with("endDate: `soon`"), "{err}");
        }
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;

    #[test]
    fn targets_read_back_as_written() {
        let targets = [
            AuditTarget::Assessment(AssessmentId(7)),
            AuditTarget::Proposal(ProposalId(8)),
            AuditTarget::Execution(ExecutionId(9)),
            AuditTarget::Server(ServerId::parse("ws-07-installer").unwrap()),
            AuditTarget::EnrollmentKey(EnrollmentKeyId(1)),
            AuditTarget::User(UserId(2)),
            AuditTarget::ApprovalToken(3),
            AuditTarget::Alert(4),
            AuditTarget::AlertRule(5),
            AuditTarget::AuditLog,
            AuditTarget::Path("/api/v1/users".to_owned()),
        ];
        for target in targets {
            assert_eq!(AuditTarget::parse(&target.to_string()), target);
        }
        assert_eq!(
            AuditTarget::parse("execution:x"),
            AuditTarget::Path("execution:x".to_owned())
        );
    }

    #[test]
    fn each_target_kind_has_its_channel() {
        assert_eq!(
            AuditTarget::parse("proposal:1").channel(),
            Some(Channel::Remediations)
        );
        assert_eq!(
            AuditTarget::parse("enrollment_key:1").channel(),
            Some(Channel::Servers)
        );
        assert_eq!(AuditTarget::parse("user:1").channel(), None);
        assert_eq!(AuditTarget::parse("/api/v1/users").channel(), None);
    }
}
