//! Login, logout and who-am-I.

use super::entity::revoked_token;
use super::password;
use super::principal::Principal;
use crate::audit::{Actor, Origin, record};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users::entity as user;
use chrono::Utc;
use coordinator_api::ErrorCode;
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::auth::{LoginRequest, LoginResponse, UserSummary};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use secrecy::SecretString;
use serde_json::json;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "invalid username or password",
    )
}

/// Usernames are at most 64 bytes of printable characters; anything else cannot exist, and
/// is refused before any hashing or lookup.
fn plausible_username(username: &str) -> bool {
    !username.is_empty() && username.len() <= 64 && !username.chars().any(char::is_control)
}

/// Checks the password and issues a token. Unknown users, wrong passwords and disabled
/// accounts all get the same answer, in about the same time.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    origin: &Origin,
    request: LoginRequest,
) -> ApiResult<LoginResponse> {
    let address = origin
        .client_address
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    if let Some(wait) = state
        .throttle
        .begin(&state.db, &request.username, &address)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many failed logins; try again in {} seconds",
                Ord::max(wait.as_secs(), 1)
            ),
        ));
    }
    if !plausible_username(&request.username) {
        return Err(invalid_credentials());
    }
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(request.username.as_str()))
        .one(&state.db)
        .await?;
    let stored_hash = found.as_ref().map(|u| u.password_hash.clone());
    let verdict = password::verify(
        SecretString::from(request.password.expose()),
        stored_hash.clone(),
    )
    .await
    .map_err(ApiError::internal)?;
    let account = match found {
        Some(account) if verdict.matches && !account.disabled => account,
        _ => return Err(invalid_credentials()),
    };

    let upgraded_hash = if verdict.needs_rehash {
        Some(
            password::hash(SecretString::from(request.password.into_inner()))
                .await
                .map_err(ApiError::internal)?,
        )
    } else {
        None
    };
    let issued = state
        .jwt
        .issue(account.id, account.token_version)
        .map_err(ApiError::internal)?;

    let txn = state.begin().await?;
    state
        .throttle
        .succeeded(&txn, &request.username, &address)
        .await?;
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(account.id));
    if let (Some(new_hash), Some(old_hash)) = (upgraded_hash, stored_hash) {
        // Only if nobody reset the password meanwhile: an upgrade must not undo a reset.
        let upgrade = Expr::case(
            user::Column::PasswordHash.eq(old_hash),
            Expr::value(new_hash),
        )
        .finally(Expr::col(user::Column::PasswordHash));
        update = update.col_expr(user::Column::PasswordHash, upgrade.into());
    }
    update.exec(&txn).await?;
    let origin = Origin {
        actor: Actor::user(&account.username),
        ..origin.clone()
    };
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::LoginSucceeded)
            .target(AuditTarget::User(account.id))
            .details(json!({ "passwordHashUpgraded": verdict.needs_rehash, "tokenExpiresAt": issued.expires_at })),
    )
    .await?;
    txn.commit().await?;

    Ok(LoginResponse {
        success: true,
        token: issued.token.into(),
        expires_at: issued.expires_at,
        user: UserSummary {
            id: account.id,
            username: account.username,
            role: account.role,
        },
    })
}

/// Revokes the token the request was made with.
#[tracing::instrument(skip_all)]
pub async fn logout(state: &AppState, principal: &Principal, origin: &Origin) -> ApiResult<()> {
    let Principal::User {
        id,
        jti,
        expires_at,
        ..
    } = principal
    else {
        return Err(ApiError::forbidden(
            "servers have no session to sign out of",
        ));
    };
    let txn = state.begin().await?;
    revoked_token::ActiveModel {
        jti: Set(jti.clone()),
        user_id: Set(*id),
        expires_at: Set(*expires_at),
        revoked_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::Logout)
            .target(AuditTarget::User(*id)),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway (past the validation leeway too).
pub async fn prune_revocations(state: &AppState) -> Result<u64, sea_orm::DbErr> {
    let expired_before =
        Utc::now() - chrono::Duration::seconds(super::jwt::LEEWAY_SECONDS as i64 + 60);
    let result = revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::ExpiresAt.lt(expired_before))
        .exec(&state.db)
        .await?;
    Ok(result.rows_affected)
}
