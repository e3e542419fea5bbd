//! Streaming exports of the audit log in CSV, JSON or NDJSON.
//!
//! Rows are read in batches by keyset and written out batch by batch, so an export of any
//! size holds one batch in memory.

use super::entity::audit_log;
use super::service::{AuditFilter, to_wire};
use actix_web::web::Bytes;
use coordinator_api::AuditLogId;
use coordinator_api::audit::{AuditLog, ExportFormat};
use futures_util::Stream;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

const BATCH: u64 = 500;

const CSV_HEADER: [&str; 11] = [
    "id",
    "timestamp",
    "actor",
    "actorType",
    "action",
    "target",
    "result",
    "details",
    "requestId",
    "clientAddress",
    "correlationId",
];

pub fn content_type(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Json => "application/json",
        ExportFormat::Ndjson => "application/x-ndjson",
    }
}

pub fn file_name(format: ExportFormat) -> String {
    format!(
        "audit-log-{}.{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        format.as_str()
    )
}

/// Spreadsheet programs run cells that start with these as formulas; a leading quote keeps
/// an exported actor or target from ever becoming one.
fn csv_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn csv_record(log: &AuditLog) -> Vec<String> {
    let opt = |v: &Option<String>| v.as_deref().map(csv_cell).unwrap_or_default();
    vec![
        log.id.to_string(),
        log.timestamp.to_rfc3339(),
        csv_cell(&log.actor),
        log.actor_type.to_string(),
        csv_cell(&log.action),
        opt(&log.target),
        log.result.to_string(),
        csv_cell(&log.details.to_string()),
        opt(&log.request_id),
        opt(&log.client_address),
        opt(&log.correlation_id),
    ]
}

fn encode_batch(format: ExportFormat, rows: &[AuditLog], first: bool) -> Result<Vec<u8>, DbErr> {
    let mut out = Vec::with_capacity(rows.len() * 256);
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            for row in rows {
                writer
                    .write_record(csv_record(row))
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            writer.flush().map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        ExportFormat::Json => {
            for (i, row) in rows.iter().enumerate() {
                if !(first && i == 0) {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, row).map_err(|e| DbErr::Custom(e.to_string()))?;
            }
        }
        ExportFormat::Ndjson => {
            for row in rows {
                serde_json::to_writer(&mut out, row).map_err(|e| DbErr::Custom(e.to_string()))?;
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

fn prologue(format: ExportFormat) -> Vec<u8> {
    match format {
        ExportFormat::Csv => {
            let mut out = Vec::new();
            let mut writer = csv::Writer::from_writer(&mut out);
            let _ = writer.write_record(CSV_HEADER);
            let _ = writer.flush();
            drop(writer);
            out
        }
        ExportFormat::Json => b"[".to_vec(),
        ExportFormat::Ndjson => Vec::new(),
    }
}

fn epilogue(format: ExportFormat) -> Vec<u8> {
    match format {
        ExportFormat::Json => b"]\n".to_vec(),
        ExportFormat::Csv | ExportFormat::Ndjson => Vec::new(),
    }
}

enum Step {
    Start,
    Rows {
        before: Option<AuditLogId>,
        first: bool,
    },
    Done,
}

/// The export as a stream of byte chunks, newest row first.
pub fn stream(
    db: DatabaseConnection,
    filter: AuditFilter,
    format: ExportFormat,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Step::Start, move |step| {
        let db = db.clone();
        let filter = filter.clone();
        async move {
            match step {
                Step::Start => Some((
                    Ok(Bytes::from(prologue(format))),
                    Step::Rows {
                        before: None,
                        first: true,
                    },
                )),
                Step::Rows { before, first } => {
                    let mut select = audit_log::Entity::find()
                        .filter(filter.condition())
                        .order_by_desc(audit_log::Column::Id)
                        .limit(BATCH);
                    if let Some(before) = before {
                        select = select.filter(audit_log::Column::Id.lt(before));
                    }
                    let rows = match select.all(&db).await {
                        Ok(rows) => rows,
                        Err(err) => {
                            tracing::error!(error = %err, "audit export failed mid-stream");
                            return Some((
                                Err(actix_web::error::ErrorInternalServerError("export failed")),
                                Step::Done,
                            ));
                        }
                    };
                    if rows.is_empty() {
                        return Some((Ok(Bytes::from(epilogue(format))), Step::Done));
                    }
                    let last = rows.last().map(|r| r.id);
                    let logs: Vec<AuditLog> = rows.into_iter().map(to_wire).collect();
                    match encode_batch(format, &logs, first) {
                        Ok(bytes) => Some((
                            Ok(Bytes::from(bytes)),
                            Step::Rows {
                                before: last,
                                first: false,
                            },
                        )),
                        Err(err) => {
                            tracing::error!(error = %err, "audit export encoding failed");
                            Some((
                                Err(actix_web::error::ErrorInternalServerError("export failed")),
                                Step::Done,
                            ))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    })
}
