//! Refused and rejected requests are audited too.
//!
//! Every response with status 401, 403, 409, 410, 422 or 429 gets an audit row here, after
//! the handler has run: the actor is the authenticated principal when there is one, the
//! name a handler put in a `DenialNote` (the username of a failed login), or `anonymous`.
//! Error messages are not recorded, because they may quote the rejected input.

use super::record::{self, Actor};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::meta;
use crate::state::AppState;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};
use coordinator_api::ErrorCode;
use coordinator_api::audit::{AuditAction, AuditResult, AuditTarget};
use serde_json::json;

/// Left in the request by a handler that knows better than the defaults what a refusal
/// should record.
#[derive(Debug, Clone)]
pub struct DenialNote {
    pub action: AuditAction,
    pub actor: Actor,
}

fn classify(status: u16) -> Option<(AuditAction, AuditResult)> {
    match status {
        401 | 403 => Some((AuditAction::AccessDenied, AuditResult::Denied)),
        429 => Some((AuditAction::RateLimited, AuditResult::Denied)),
        409 | 410 | 422 => Some((AuditAction::RequestRejected, AuditResult::Failure)),
        _ => None,
    }
}

pub async fn audit_denials(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let response = next.call(req).await?;
    let Some((default_action, result)) = classify(response.status().as_u16()) else {
        return Ok(response.map_into_left_body());
    };
    let request = response.request().clone();
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(response.map_into_left_body());
    };
    let note = request.extensions().get::<DenialNote>().cloned();
    let principal = request.extensions().get::<Principal>().cloned();
    let (action, actor) = match (note, principal) {
        (Some(note), _) => (note.action, note.actor),
        (None, Some(principal)) => (default_action, principal.actor()),
        (None, None) => (default_action, Actor::anonymous()),
    };
    let code = response.response().extensions().get::<ErrorCode>().copied();
    let origin = meta::origin(&request, &state.config, actor);
    let entry = origin
        .entry(action)
        .target(AuditTarget::Path(request.path().to_owned()))
        .result(result)
        .details(json!({
            "method": request.method().as_str(),
            "status": response.status().as_u16(),
            "code": code.map(ErrorCode::as_str),
        }));
    match write_alone(&state, entry).await {
        Ok(()) => Ok(response.map_into_left_body()),
        Err(err) => {
            // Fail closed: a refusal that cannot be recorded is not answered as if it were.
            let error = ApiError::from(err);
            let (request, _) = response.into_parts();
            Ok(ServiceResponse::new(request, error.error_response()).map_into_right_body())
        }
    }
}

/// A refusal changed nothing else: its row is a unit of work of its own.
async fn write_alone(
    state: &AppState,
    entry: record::AuditEntry<'_>,
) -> Result<(), sea_orm::DbErr> {
    let uow = state.begin().await?;
    record::write(&uow, &state.audit_key, entry).await?;
    uow.commit().await
}
