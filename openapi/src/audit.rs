//! The audit log: reading, exporting and verifying it.

use crate::AuditLogId;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
