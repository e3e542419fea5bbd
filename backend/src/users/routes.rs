//! `/users`: admins manage accounts.

use super::service;
use crate::auth::{Authorized, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::ErrorBody;
use coordinator_api::UserId;
use coordinator_api::users::{
    CreateUserRequest, UpdateUserRequest, UserListResponse, UserResponse,
};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(create_user, list_users, update_user))]
pub struct UsersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users")
            .route(web::post().to(create_user))
            .route(web::get().to(list_users)),
    )
    .service(web::resource("/users/{id}").route(web::patch().to(update_user)));
}

/// Create a user.
#[utoipa::path(
    post, path = "/users", tag = "users",
    security(("bearer" = ["manage_users"])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserResponse),
        (status = 409, description = "username taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn create_user(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageUsers>,
    body: web::Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let user = service::create(&state, &auth.origin, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(UserResponse {
        success: true,
        user,
    }))
}

/// List users.
#[utoipa::path(
    get, path = "/users", tag = "users",
    security(("bearer" = ["manage_users"])),
    responses((status = 200, body = UserListResponse))
)]
async fn list_users(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ManageUsers>,
) -> ApiResult<web::Json<UserListResponse>> {
    let users = service::list(&state).await?;
    Ok(web::Json(UserListResponse {
        success: true,
        users,
    }))
}

/// Change a user's role, disable or enable them, or reset their password. Any change
/// revokes the user's existing tokens.
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
    security(("bearer" = ["manage_users"])),
    params(("id" = UserId, Path, description = "user id: `7` or `user-7`")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "would leave no active admin", body = ErrorBody),
    )
)]
async fn update_user(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageUsers>,
    id: web::Path<UserId>,
    body: web::Json<UpdateUserRequest>,
) -> ApiResult<web::Json<UserResponse>> {
    let user = service::update(&state, &auth.origin, id.into_inner(), body.into_inner()).await?;
    Ok(web::Json(UserResponse {
        success: true,
        user,
    }))
}
