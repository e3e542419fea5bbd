//! Reading the audit log: filters, offset pages and keyset cursors.

use super::entity::audit_log;
use super::{Origin, export, record};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use coordinator_api::AuditLogId;
use coordinator_api::audit::ExportFormat;
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::audit::{AuditLog, AuditLogPage, AuditQuery, AuditResult};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Validated filters, shared by listing and exporting.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    result: Option<AuditResult>,
    correlation_id: Option<String>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

impl AuditFilter {
    pub fn from_query(query: &AuditQuery) -> ApiResult<Self> {
        if let (Some(start), Some(end)) = (query.start_date, query.end_date)
            && start > end
        {
            return Err(ApiError::validation("startDate must not be after endDate"));
        }
        Ok(Self {
            actor: query.actor.clone(),
            action: query.action.clone(),
            target: query.target.clone(),
            result: query.result,
            correlation_id: query.correlation_id.clone(),
            start: query.start_date,
            end: query.end_date,
        })
    }

    pub fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(actor) = &self.actor {
            condition = condition.add(audit_log::Column::Actor.eq(actor.as_str()));
        }
        if let Some(action) = &self.action {
            condition = condition.add(audit_log::Column::Action.eq(action.as_str()));
        }
        if let Some(target) = &self.target {
            condition = condition.add(audit_log::Column::Target.eq(target.as_str()));
        }
        if let Some(result) = self.result {
            condition = condition.add(audit_log::Column::Result.eq(result));
        }
        if let Some(correlation_id) = &self.correlation_id {
            condition = condition.add(audit_log::Column::CorrelationId.eq(correlation_id.as_str()));
        }
        if let Some(start) = self.start {
            condition = condition.add(audit_log::Column::Timestamp.gte(start));
        }
        if let Some(end) = self.end {
            condition = condition.add(audit_log::Column::Timestamp.lte(end));
        }
        condition
    }
}

/// Where a page starts: an offset, or just after the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageStart {
    Offset(u64),
    /// Rows older than `before`; `page` is the number of the page it starts.
    After {
        before: AuditLogId,
        page: u64,
    },
}

fn encode_cursor(before: AuditLogId, page: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{page}", before.0))
}

fn decode_cursor(cursor: &str) -> ApiResult<PageStart> {
    let invalid = || ApiError::validation("cursor is not a cursor this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (id, page) = text.split_once('.').ok_or_else(invalid)?;
    Ok(PageStart::After {
        before: AuditLogId(id.parse().map_err(|_| invalid())?),
        page: page.parse().map_err(|_| invalid())?,
    })
}

pub fn to_wire(row: audit_log::Model) -> AuditLog {
    let details =
        serde_json::from_str(&row.details).unwrap_or(serde_json::Value::String(row.details));
    AuditLog {
        id: row.id,
        timestamp: row.timestamp,
        actor: row.actor,
        actor_type: row.actor_type,
        action: row.action,
        target: row.target,
        result: row.result,
        details,
        request_id: row.request_id,
        client_address: row.client_address,
        correlation_id: row.correlation_id,
    }
}

/// Starts an export: records who exported what, then hands back the stream of rows.
#[tracing::instrument(skip(state, origin))]
pub async fn export(
    state: &AppState,
    origin: &Origin,
    query: AuditQuery,
) -> ApiResult<(
    ExportFormat,
    impl futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::Error>> + use<>,
)> {
    let filter = AuditFilter::from_query(&query)?;
    if query.limit.is_some() || query.offset.is_some() || query.cursor.is_some() {
        return Err(ApiError::validation(
            "an export has no pages: leave out limit, offset and cursor",
        ));
    }
    let format = query.format.unwrap_or(ExportFormat::Json);
    let txn = state.begin().await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::AuditExported)
            .target(AuditTarget::AuditLog)
            .details(json!({ "format": format, "filters": query })),
    )
    .await?;
    txn.commit().await?;
    Ok((format, export::stream(state.db.clone(), filter, format)))
}

/// One page of rows matching `query`, newest first.
#[tracing::instrument(skip(db))]
pub async fn list(db: &DatabaseConnection, query: &AuditQuery) -> ApiResult<AuditLogPage> {
    if query.format.is_some() {
        return Err(ApiError::validation("format belongs to /audit/export"));
    }
    let filter = AuditFilter::from_query(query)?;
    let page_size = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    let start = match &query.cursor {
        Some(cursor) => decode_cursor(cursor)?,
        None => PageStart::Offset(query.offset.unwrap_or(0)),
    };
    let condition = filter.condition();
    let total = audit_log::Entity::find()
        .filter(condition.clone())
        .count(db)
        .await?;

    let mut select = audit_log::Entity::find()
        .filter(condition)
        .order_by_desc(audit_log::Column::Id)
        .limit(page_size + 1);
    let page = match start {
        PageStart::Offset(offset) => {
            select = select.offset(offset);
            offset / page_size + 1
        }
        PageStart::After { before, page } => {
            select = select.filter(audit_log::Column::Id.lt(before));
            page
        }
    };
    let mut rows = select.all(db).await?;
    let has_more = rows.len() as u64 > page_size;
    rows.truncate(page_size as usize);
    let next_cursor = match (has_more, rows.last()) {
        (true, Some(last)) => Some(encode_cursor(last.id, page + 1)),
        _ => None,
    };
    Ok(AuditLogPage {
        success: true,
        logs: rows.into_iter().map(to_wire).collect(),
        total,
        page,
        page_size,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = encode_cursor(AuditLogId(42), 3);
        assert_eq!(
            decode_cursor(&cursor).unwrap(),
            PageStart::After {
                before: AuditLogId(42),
                page: 3
            }
        );
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("x.y")).is_err());
    }
}
