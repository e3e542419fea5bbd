//! `GET /ws`: the live event stream, under `/api/v1` and at the root.

use super::ws::{self, Subscriber};
use crate::auth::Principal;
use crate::auth::principal::user_from_token;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use coordinator_api::{AuditLogId, ErrorBody};
use serde::Deserialize;
use utoipa::OpenApi;

/// The sub-protocol a client must offer; a second offered value `bearer.<jwt>` carries the
/// token for browsers, which cannot set headers on a WebSocket and must not put tokens in
/// URLs (they end up in access logs).
pub const PROTOCOL: &str = "coordinator.v1";
const BEARER_PROTOCOL: &str = "bearer.";

#[derive(OpenApi)]
#[openapi(paths(connect))]
pub struct EventsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws").route(web::get().to(connect)));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConnectQuery {
    /// Replay the events after this audit row id (`7` or `audit-7`) before the live stream.
    #[param(value_type = Option<AuditLogId>)]
    since: Option<AuditLogId>,
}

/// The token from `Authorization: Bearer` or from the `bearer.<jwt>` sub-protocol.
fn presented_token(req: &HttpRequest) -> Option<String> {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    from_header.or_else(|| {
        req.headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .find_map(|p| p.strip_prefix(BEARER_PROTOCOL))
            .map(str::to_owned)
    })
}

/// Browsers send `Origin`; it must be this service's own or one of `WS_ALLOWED_ORIGINS`.
fn origin_allowed(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if state.config.ws_allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let host = req.connection_info().host().to_owned();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host.as_str())
}

/// Follow what happens, live. Send `{"type":"subscribe","channels":[...]}`; each channel
/// needs the permission that reads it. Authenticate with `Authorization: Bearer <jwt>`, or
/// (browsers) offer the sub-protocols `coordinator.v1` and `bearer.<jwt>`. Also served at
/// `/ws`, outside `/api/v1`.
#[utoipa::path(
    get, path = "/ws", tag = "events",
    security(("bearer" = [])),
    params(ConnectQuery),
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "a server, or an Origin that is not allowed", body = ErrorBody),
    )
)]
async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<ConnectQuery>,
) -> ApiResult<HttpResponse> {
    let token = presented_token(&req).ok_or_else(|| {
        ApiError::unauthorized(
            "send `Authorization: Bearer <token>` or the `bearer.<token>` sub-protocol",
        )
    })?;
    let principal = user_from_token(&state, &token).await?;
    // So a refusal below is audited with its actor.
    req.extensions_mut().insert(principal.clone());
    if let Principal::Server { .. } = principal {
        return Err(ApiError::forbidden("servers do not subscribe to events"));
    }
    if !origin_allowed(&req, &state) {
        return Err(ApiError::forbidden(
            "this Origin may not open a WebSocket here",
        ));
    }
    let (response, session, stream) = actix_ws::handle_with_protocols(&req, body, &[PROTOCOL])
        .map_err(|e| ApiError::bad_request(format!("not a WebSocket upgrade: {e}")))?;
    let subscriber = Subscriber {
        principal,
        token,
        since: query.since.map(|id| id.0),
    };
    actix_web::rt::spawn(ws::serve(
        state.get_ref().clone(),
        session,
        stream,
        subscriber,
    ));
    Ok(response)
}
