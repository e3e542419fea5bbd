//! `/auth/*`.

use super::principal::{RequestOrigin, SignedIn};
use super::service;
use crate::audit::Actor;
use crate::audit::denials::DenialNote;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::users;
use actix_web::{HttpMessage, HttpRequest, web};
use coordinator_api::ErrorBody;
use coordinator_api::audit::ActorType;
use coordinator_api::audit::AuditAction;
use coordinator_api::auth::{LoginRequest, LoginResponse, PermissionsResponse, SuccessResponse};
use coordinator_api::users::UserResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(login, logout, me, permissions))]
pub struct AuthApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/auth/me").route(web::get().to(me)))
        .service(web::resource("/auth/permissions").route(web::get().to(permissions)));
}

/// Sign in with a username and password.
///
/// Unknown users and wrong passwords get the same answer. Repeated failures for one username
/// or from one address are refused with 429 for a while.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    )
)]
async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestOrigin(origin): RequestOrigin,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<LoginResponse>> {
    let attempted: String = body.username.chars().take(64).collect();
    service::login(&state, &origin, body.into_inner())
        .await
        .map(web::Json)
        .inspect_err(|_| {
            req.extensions_mut().insert(DenialNote {
                action: AuditAction::LoginFailed,
                actor: Actor {
                    name: attempted,
                    kind: ActorType::Anonymous,
                },
            });
        })
}

/// Sign out: the token used for this request stops working at once.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = SuccessResponse), (status = 401, body = ErrorBody))
)]
async fn logout(
    state: web::Data<AppState>,
    user: SignedIn,
) -> ApiResult<web::Json<SuccessResponse>> {
    service::logout(&state, &user.principal, &user.origin).await?;
    Ok(web::Json(SuccessResponse { success: true }))
}

/// The signed-in user.
#[utoipa::path(
    get, path = "/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody))
)]
async fn me(state: web::Data<AppState>, user: SignedIn) -> ApiResult<web::Json<UserResponse>> {
    let user = users::service::get(&state, user.id).await?;
    Ok(web::Json(UserResponse {
        success: true,
        user,
    }))
}

/// The signed-in user's role and everything it permits.
#[utoipa::path(
    get, path = "/auth/permissions", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = PermissionsResponse), (status = 401, body = ErrorBody))
)]
async fn permissions(user: SignedIn) -> web::Json<PermissionsResponse> {
    web::Json(PermissionsResponse {
        success: true,
        role: user.role,
        permissions: user.role.permissions().to_vec(),
    })
}
