//! `/auth/*`.

use super::principal::{Principal, RequestOrigin, authenticate};
use super::service;
use crate::audit::Actor;
use crate::audit::denials::DenialNote;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use coordinator_api::audit::ActorType;
use coordinator_api::auth::{LoginRequest, LoginResponse, PermissionsResponse, SuccessResponse};
use coordinator_api::users::UserResponse;
use coordinator_api::{ErrorBody, Role, UserId};
use std::future::{Ready, ready};
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

/// Any signed-in person (not a server).
pub struct SignedIn {
    pub id: UserId,
    pub role: Role,
    pub principal: Principal,
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match authenticate(req) {
            Ok(principal @ Principal::User { id, role, .. }) => Ok(Self {
                id,
                role,
                principal,
            }),
            Ok(Principal::Server { .. }) => Err(ApiError::forbidden(
                "this is for signed-in people, not servers",
            )),
            Err(err) => Err(err),
        })
    }
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
                action: "login_failed",
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
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
) -> ApiResult<web::Json<SuccessResponse>> {
    let origin = crate::http::meta::origin(&req, &state.config, user.principal.actor());
    service::logout(&state, &user.principal, &origin).await?;
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
