//! An assessment's report as a file: the whole assessment as JSON, or its findings as CSV for
//! a spreadsheet.

use coordinator_api::AssessmentId;
use coordinator_api::assessments::{Assessment, ServerResult};

pub const CSV_HEADER: [&str; 7] = [
    "assessmentId",
    "assessmentType",
    "server",
    "status",
    "severity",
    "issue",
    "message",
];

pub fn filename(id: AssessmentId, extension: &str) -> String {
    format!("assessment-{id}.{extension}")
}

pub fn json_report(assessment: &Assessment) -> Result<String, String> {
    serde_json::to_string_pretty(assessment)
        .map_err(|err| format!("the report could not be written: {err}"))
}

/// One field of a CSV line. Server names, issue codes and messages come from compliance
/// servers: a value a spreadsheet would run as a formula is made plain text with a leading
/// `'`, and a value holding a separator, quote or line break is quoted.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|field| csv_field(field))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The rows one server contributes: its findings; without details, its issue codes; and a
/// single row when it has neither, so every assessed server appears in the file.
fn server_rows(result: &ServerResult) -> Vec<[String; 4]> {
    let status = result.status.to_string();
    if !result.findings.is_empty() {
        return result
            .findings
            .iter()
            .map(|f| {
                [
                    status.clone(),
                    f.severity.to_string(),
                    f.issue.clone(),
                    f.message.clone(),
                ]
            })
            .collect();
    }
    if !result.issues.is_empty() {
        return result
            .issues
            .iter()
            .map(|issue| [status.clone(), String::new(), issue.clone(), String::new()])
            .collect();
    }
    vec![[status, String::new(), String::new(), String::new()]]
}

/// The findings, one line each (RFC 4180, CRLF line ends), under a header line. An
/// assessment without results gives the header alone.
pub fn csv_report(assessment: &Assessment) -> String {
    let mut out = csv_line(&CSV_HEADER);
    let id = assessment.assessment_id.to_string();
    let Some(results) = &assessment.results else {
        return out;
    };
    for (server, result) in &results.servers {
        for [status, severity, issue, message] in server_rows(result) {
            out.push_str(&csv_line(&[
                &id,
                &assessment.assessment_type,
                server,
                &status,
                &severity,
                &issue,
                &message,
            ]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use coordinator_api::assessments::{
        AssessmentOptions, AssessmentResults, AssessmentStatus, ComplianceStatus, Finding,
        ResultSummary, Severity,
    };
    use std::collections::BTreeMap;

    fn assessment(results: Option<AssessmentResults>) -> Assessment {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        Assessment {
            assessment_id: AssessmentId(7),
            machine_id: coordinator_api::MachineId::parse("ws-07").unwrap(),
            request_id: "req-7".to_owned(),
            assessment_type: "compliance".to_owned(),
            options: AssessmentOptions::default(),
            target_servers: vec!["*".to_owned()],
            status: AssessmentStatus::Completed,
            status_detail: None,
            requested_by: "carol".to_owned(),
            assigned_server: None,
            correlation_id: "corr-7".to_owned(),
            requires_approval: true,
            auto_executed: false,
            results,
            review: None,
            follows_execution: None,
            created_at: at,
            updated_at: at,
            completed_at: Some(at),
        }
    }

    fn results() -> AssessmentResults {
        let mut servers = BTreeMap::new();
        servers.insert(
            "filesystem".to_owned(),
            ServerResult {
                status: ComplianceStatus::Compliant,
                issues: vec![],
                findings: vec![],
            },
        );
        servers.insert(
            "git".to_owned(),
            ServerResult {
                status: ComplianceStatus::NonCompliant,
                issues: vec!["unpinned_version".to_owned()],
                findings: vec![],
            },
        );
        servers.insert(
            "postgres".to_owned(),
            ServerResult {
                status: ComplianceStatus::NonCompliant,
                issues: vec!["security_issue".to_owned(), "missing_config".to_owned()],
                findings: vec![
                    Finding {
                        issue: "security_issue".to_owned(),
                        severity: Severity::Critical,
                        message: "password in args, \"plain\" text".to_owned(),
                    },
                    Finding {
                        issue: "missing_config".to_owned(),
                        severity: Severity::Warning,
                        message: "=HYPERLINK(\"http://x\")".to_owned(),
                    },
                ],
            },
        );
        AssessmentResults {
            summary: ResultSummary {
                total_issues: 3,
                critical_issues: 1,
                warning_issues: 1,
            },
            servers,
        }
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn formulas_become_plain_text() {
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("+cmd"), "'+cmd");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        // Neutralised first, then quoted: the quote stays inside the field.
        assert_eq!(csv_field("=A1,B1"), "\"'=A1,B1\"");
        assert_eq!(csv_field("a=b"), "a=b");
    }

    #[test]
    fn one_line_per_finding_and_every_server_listed() {
        let csv = csv_report(&assessment(Some(results())));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines,
            [
                "assessmentId,assessmentType,server,status,severity,issue,message",
                "7,compliance,filesystem,compliant,,,",
                "7,compliance,git,non_compliant,,unpinned_version,",
                "7,compliance,postgres,non_compliant,critical,security_issue,\"password in args, \"\"plain\"\" text\"",
                "7,compliance,postgres,non_compliant,warning,missing_config,\"'=HYPERLINK(\"\"http://x\"\")\"",
                "",
            ]
        );
    }

    #[test]
    fn without_results_only_the_header() {
        let csv = csv_report(&assessment(None));
        assert_eq!(
            csv,
            "assessmentId,assessmentType,server,status,severity,issue,message\r\n"
        );
    }

    #[test]
    fn json_is_the_whole_assessment_and_filenames_name_it() {
        let a = assessment(Some(results()));
        let json = json_report(&a).unwrap();
        let back: Assessment = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert!(json.contains("\n  \"assessmentId\": 7"));
        assert_eq!(filename(AssessmentId(7), "csv"), "assessment-7.csv");
        assert_eq!(filename(AssessmentId(7), "json"), "assessment-7.json");
    }
}
