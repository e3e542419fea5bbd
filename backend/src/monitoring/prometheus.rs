//! `GET /metrics` in the Prometheus text format. Request figures are this replica's own;
//! queue, proposal, execution and audit figures come from the database, so every replica
//! reports the same for those.

use super::recorder::{DECISION_BUCKETS, Histogram, LATENCY_BUCKETS};
use crate::error::ApiResult;
use crate::state::AppState;
use sea_orm::{ConnectionTrait, Statement};
use std::fmt::Write;
use std::sync::atomic::Ordering;

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, labels: &str, bounds: &[f64], data: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (bound, count) in bounds
        .iter()
        .zip(data.buckets.iter().chain(std::iter::repeat(&0)))
    {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
        data.count
    );
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", data.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", data.count);
}

/// `(label, count)` rows of a grouping query.
async fn grouped(state: &AppState, sql: &str) -> ApiResult<Vec<(String, i64)>> {
    let backend = state.db.get_database_backend();
    let rows = state
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some((
                row.try_get::<String>("", "label").ok()?,
                row.try_get::<i64>("", "n").ok()?,
            ))
        })
        .collect())
}

pub async fn render(state: &AppState) -> ApiResult<String> {
    let recorder = &state.recorder;
    let mut out = String::new();

    header(
        &mut out,
        "coordinator_http_requests_total",
        "counter",
        "Requests answered by this replica.",
    );
    for ((route, method, status), count) in recorder.requests_snapshot() {
        let _ = writeln!(
            out,
            "coordinator_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
            escape(&route)
        );
    }
    header(
        &mut out,
        "coordinator_http_request_duration_seconds",
        "histogram",
        "Time to answer, by route.",
    );
    for (route, data) in recorder.latency_snapshot() {
        histogram(
            &mut out,
            "coordinator_http_request_duration_seconds",
            &format!("route=\"{}\"", escape(&route)),
            &LATENCY_BUCKETS,
            &data,
        );
    }

    header(
        &mut out,
        "coordinator_work_queue_depth",
        "gauge",
        "Tasks waiting for a server, by kind.",
    );
    for (kind, n) in grouped(
        state,
        "SELECT kind AS label, COUNT(*) AS n FROM work_items WHERE status = 'queued' GROUP BY kind",
    )
    .await?
    {
        let _ = writeln!(
            out,
            "coordinator_work_queue_depth{{kind=\"{}\"}} {n}",
            escape(&kind)
        );
    }
    header(
        &mut out,
        "coordinator_lease_expiries_total",
        "counter",
        "Leases that ran out, seen by this replica.",
    );
    let _ = writeln!(
        out,
        "coordinator_lease_expiries_total {}",
        recorder.lease_expiries.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "coordinator_proposals_pending",
        "gauge",
        "Proposals waiting for a decision, by priority.",
    );
    for (priority, n) in grouped(state, "SELECT priority AS label, COUNT(*) AS n FROM proposals WHERE status = 'pending' GROUP BY priority").await? {
        let _ = writeln!(out, "coordinator_proposals_pending{{priority=\"{}\"}} {n}", escape(&priority));
    }
    header(
        &mut out,
        "coordinator_approval_decision_seconds",
        "histogram",
        "Time from a proposal to the decision that settled it (approver response time).",
    );
    histogram(
        &mut out,
        "coordinator_approval_decision_seconds",
        "",
        &DECISION_BUCKETS,
        &recorder.decisions_snapshot(),
    );

    header(
        &mut out,
        "coordinator_executions",
        "gauge",
        "Executions by status.",
    );
    for (status, n) in grouped(
        state,
        "SELECT status AS label, COUNT(*) AS n FROM executions GROUP BY status",
    )
    .await?
    {
        let _ = writeln!(
            out,
            "coordinator_executions{{status=\"{}\"}} {n}",
            escape(&status)
        );
    }

    header(
        &mut out,
        "coordinator_websocket_connections",
        "gauge",
        "WebSocket subscribers on this replica.",
    );
    let _ = writeln!(
        out,
        "coordinator_websocket_connections {}",
        state.events.subscribers()
    );
    header(
        &mut out,
        "coordinator_websocket_dropped_slow_consumers_total",
        "counter",
        "Subscribers closed for falling behind.",
    );
    let _ = writeln!(
        out,
        "coordinator_websocket_dropped_slow_consumers_total {}",
        state.dropped_slow_consumers.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "coordinator_audit_rows",
        "gauge",
        "Rows in the audit log.",
    );
    for (_, n) in grouped(
        state,
        "SELECT 'all' AS label, COUNT(*) AS n FROM audit_logs",
    )
    .await?
    {
        let _ = writeln!(out, "coordinator_audit_rows {n}");
    }
    header(
        &mut out,
        "coordinator_audit_last_verify",
        "gauge",
        "Result of the last chain verification on this replica: 1 intact, 0 broken, -1 not run.",
    );
    let _ = writeln!(
        out,
        "coordinator_audit_last_verify {}",
        recorder.last_verify.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "coordinator_uptime_seconds",
        "gauge",
        "Seconds since this replica started.",
    );
    let _ = writeln!(
        out,
        "coordinator_uptime_seconds {}",
        recorder.uptime().as_secs()
    );
    Ok(out)
}
