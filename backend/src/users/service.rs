//! User commands and queries. Each command is one transaction with its audit row.

use super::entity::{self as user, Model};
use crate::audit::{Origin, record};
use crate::auth::password;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::users::{CreateUserRequest, UpdateUserRequest, User};
use coordinator_api::{Role, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// 3 to 64 characters: letters, digits, `.`, `_`, `-`, `@`.
pub fn check_username(username: &str) -> ApiResult<()> {
    coordinator_api::users::rules::check_username(username).map_err(ApiError::validation)
}

fn check_password(password: &str) -> ApiResult<()> {
    password::check_policy(password).map_err(ApiError::validation)
}

pub async fn get(state: &AppState, id: UserId) -> ApiResult<User> {
    user::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(User::from)
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))
}

pub async fn find_by_username(state: &AppState, username: &str) -> ApiResult<Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user `{username}`")))
}

pub async fn list(state: &AppState) -> ApiResult<Vec<User>> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}

async fn insert_user(
    conn: &impl ConnectionTrait,
    username: &str,
    password_hash: String,
    role: Role,
) -> ApiResult<Model> {
    let now = Utc::now();
    Ok(user::ActiveModel {
        username: Set(username.to_owned()),
        password_hash: Set(password_hash),
        role: Set(role),
        disabled: Set(false),
        token_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(username = %request.username))]
pub async fn create(
    state: &AppState,
    origin: &Origin,
    request: CreateUserRequest,
) -> ApiResult<User> {
    check_username(&request.username)?;
    check_password(request.password.expose())?;
    let hash = password::hash(SecretString::from(request.password.into_inner()))
        .await
        .map_err(ApiError::internal)?;
    let txn = state.begin().await?;
    let taken = user::Entity::find()
        .filter(user::Column::Username.eq(request.username.as_str()))
        .count(&txn)
        .await?
        > 0;
    if taken {
        return Err(ApiError::conflict(format!(
            "username `{}` is taken",
            request.username
        )));
    }
    let created = insert_user(&txn, &request.username, hash, request.role).await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::UserCreated)
            .target(AuditTarget::User(created.id))
            .details(json!({ "username": created.username, "role": created.role })),
    )
    .await?;
    txn.commit().await?;
    Ok(created.into())
}

/// The other active admins, locked until the transaction ends (on Postgres; SQLite has one
/// writer anyway), so two admins cannot demote each other at the same moment.
async fn active_admins_other_than(conn: &impl ConnectionTrait, id: UserId) -> ApiResult<u64> {
    let query = db::locked(
        user::Entity::find()
            .filter(user::Column::Role.eq(Role::Admin))
            .filter(user::Column::Disabled.eq(false))
            .filter(user::Column::Id.ne(id)),
        conn,
    );
    Ok(query.all(conn).await?.len() as u64)
}

/// Changes role, disabled flag and/or password. Any of these revokes the user's tokens.
#[tracing::instrument(skip_all, fields(user = %id))]
pub async fn update(
    state: &AppState,
    origin: &Origin,
    id: UserId,
    request: UpdateUserRequest,
) -> ApiResult<User> {
    if request.role.is_none() && request.disabled.is_none() && request.password.is_none() {
        return Err(ApiError::validation(
            "nothing to change: give role, disabled or password",
        ));
    }
    let new_hash = match &request.password {
        Some(password) => {
            check_password(password.expose())?;
            Some(
                password::hash(SecretString::from(password.expose()))
                    .await
                    .map_err(ApiError::internal)?,
            )
        }
        None => None,
    };
    let txn = state.begin().await?;
    let current = db::locked(user::Entity::find_by_id(id), &txn)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let loses_admin = current.role == Role::Admin
        && !current.disabled
        && (request.role.is_some_and(|r| r != Role::Admin) || request.disabled == Some(true));
    if loses_admin && active_admins_other_than(&txn, id).await? == 0 {
        return Err(ApiError::conflict(
            "this is the last active admin; make another admin first",
        ));
    }

    let mut changes = serde_json::Map::new();
    let mut active = current.clone().into_active_model();
    if let Some(role) = request.role.filter(|r| *r != current.role) {
        changes.insert("role".into(), json!({ "from": current.role, "to": role }));
        active.role = Set(role);
    }
    if let Some(disabled) = request.disabled.filter(|d| *d != current.disabled) {
        changes.insert("disabled".into(), json!(disabled));
        active.disabled = Set(disabled);
    }
    if let Some(hash) = new_hash {
        changes.insert("passwordReset".into(), json!(true));
        active.password_hash = Set(hash);
    }
    if changes.is_empty() {
        txn.commit().await?;
        return Ok(current.into());
    }
    active.token_version = Set(current.token_version + 1);
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    changes.insert("tokensRevoked".into(), json!(true));
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::UserUpdated)
            .target(AuditTarget::User(id))
            .details(json!({ "username": updated.username, "changes": changes })),
    )
    .await?;
    txn.commit().await?;
    Ok(updated.into())
}

async fn has_admin(conn: &impl ConnectionTrait) -> anyhow::Result<bool> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .count(conn)
        .await?
        > 0)
}

/// On first start, makes sure an admin exists: from `ADMIN_USERNAME` / `ADMIN_PASSWORD`
/// (or `_FILE`), or with a generated password printed once to stderr.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<()> {
    if has_admin(&state.db).await? {
        return Ok(());
    }
    let username = state.config.admin_username.clone();
    check_username(&username).map_err(|e| anyhow::anyhow!("ADMIN_USERNAME: {e}"))?;
    let (password, generated) = match &state.config.admin_password {
        Some(password) => {
            password::check_policy(password.expose_secret())
                .map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD: {e}"))?;
            (password.clone(), false)
        }
        None => {
            let mut bytes = [0u8; 18];
            rand::fill(&mut bytes);
            (SecretString::from(hex::encode(bytes)), true)
        }
    };
    // Hashed before the write transaction, which must stay short.
    let hash = password::hash(password.clone()).await?;
    let txn = state.begin().await?;
    if has_admin(&txn).await? {
        // Another replica starting at the same time got there first.
        txn.commit().await?;
        return Ok(());
    }
    let existing = user::Entity::find()
        .filter(user::Column::Username.eq(username.as_str()))
        .one(&txn)
        .await?;
    let admin = match existing {
        // A user with that name exists but no admin does: promote rather than fail.
        Some(model) => {
            let mut active = model.clone().into_active_model();
            active.role = Set(Role::Admin);
            active.disabled = Set(false);
            active.password_hash = Set(hash);
            active.token_version = Set(model.token_version + 1);
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?
        }
        None => insert_user(&txn, &username, hash, Role::Admin)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    };
    record::write(
        &txn,
        &state.audit_key,
        Origin::system("system")
            .entry(AuditAction::AdminBootstrapped)
            .target(AuditTarget::User(admin.id))
            .details(json!({ "username": admin.username, "generatedPassword": generated })),
    )
    .await?;
    txn.commit().await?;
    if generated {
        eprintln!(
            "\n  First start: created admin `{username}` with password {}\n  \
             It is shown only this once. Sign in and change it, or set ADMIN_PASSWORD.\n",
            password.expose_secret()
        );
    }
    Ok(())
}
