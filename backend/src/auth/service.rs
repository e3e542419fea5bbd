//! Login, logout and who-am-I.

use super::entity::revoked_token;
use super::password;
use super::principal::Principal;
use crate::audit::{Actor, Origin, record};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users::entity as user;
use chrono::Utc;
use coordinator_api::ErrorCode;
use coordinator_api::auth::{LoginRequest, LoginResponse, UserSummary};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use secrecy::SecretString;
use serde_json::json;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "invalid username or password",
    )
}

/// Checks the password and issues a token. Unknown users, wrong passwords and disabled
/// accounts all get the same answer, in about the same time.
#[tracing::instrument(skip_all, fields(username = %request.username))]
pub async fn login(
    state: &AppState,
    origin: &Origin,
    request: LoginRequest,
) -> ApiResult<LoginResponse> {
    let address = origin
        .client_address
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    if let Err(wait) = state.throttle.check(&request.username, &address) {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many failed logins; try again in {} seconds",
                wait.as_secs().max(1)
            ),
        ));
    }
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(request.username.as_str()))
        .one(&state.db)
        .await?;
    let verdict = password::verify(
        SecretString::from(request.password.clone()),
        found.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    .map_err(ApiError::internal)?;
    let account = match found {
        Some(account) if verdict.matches && !account.disabled => account,
        _ => {
            state.throttle.record_failure(&request.username, &address);
            return Err(invalid_credentials());
        }
    };
    state.throttle.record_success(&request.username);

    let upgraded_hash = if verdict.needs_rehash {
        Some(
            password::hash(SecretString::from(request.password))
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

    let txn = db::begin_write(&state.db).await?;
    let summary = UserSummary {
        id: account.id,
        username: account.username.clone(),
        role: account.role,
    };
    let mut active = account.into_active_model();
    active.last_login_at = Set(Some(Utc::now()));
    if let Some(hash) = upgraded_hash {
        active.password_hash = Set(hash);
    }
    active.update(&txn).await?;
    let origin = Origin {
        actor: Actor::user(&summary.username),
        ..origin.clone()
    };
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry("login_succeeded")
            .target(format!("user:{}", summary.id))
            .details(json!({ "passwordHashUpgraded": verdict.needs_rehash, "tokenExpiresAt": issued.expires_at })),
    )
    .await?;
    txn.commit().await?;
    state.audited();

    Ok(LoginResponse {
        success: true,
        token: issued.token,
        expires_at: issued.expires_at,
        user: summary,
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
    let txn = db::begin_write(&state.db).await?;
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
        origin.entry("logout").target(format!("user:{id}")),
    )
    .await?;
    txn.commit().await?;
    state.audited();
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway.
pub async fn prune_revocations(state: &AppState) -> Result<u64, sea_orm::DbErr> {
    let result = revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::ExpiresAt.lt(Utc::now()))
        .exec(&state.db)
        .await?;
    Ok(result.rows_affected)
}
