//! Registry commands and queries.

use super::entity::{enrollment_key, server};
use super::registration::Registration;
use crate::audit::{Actor, Origin, record};
use crate::auth::Principal;
use crate::auth::principal::Registrar;
use crate::auth::secrets::{self, SecretKind};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::machines::{Machine, MachineServer};
use coordinator_api::servers::{
    ASSESSMENT_TOOL, Contact, EnrollmentKeyRequest, EnrollmentKeyResponse, HealthReport,
    HealthStatus, PingRequest, PingResponse, RegisterServerRequest, RegisterServerResponse, Server,
    ServerQuery, ServerStatus,
};
use coordinator_api::{ErrorCode, ServerId, ServerKind};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

const DEFAULT_KEY_LIFETIME_HOURS: i64 = 24;
const MAX_KEY_LIFETIME_DAYS: i64 = 30;

fn status_of(
    model: &server::Model,
    health: Option<&HealthReport>,
    now: DateTime<Utc>,
    window: std::time::Duration,
) -> ServerStatus {
    let seen = model.last_seen_at.unwrap_or(model.registered_at);
    let silent_for = (now - seen).to_std().unwrap_or_default();
    if silent_for > window {
        return ServerStatus::Unreachable;
    }
    match health.map(|h| h.status) {
        Some(HealthStatus::Healthy) => ServerStatus::Healthy,
        Some(HealthStatus::Degraded) => ServerStatus::Degraded,
        Some(HealthStatus::Unhealthy) => ServerStatus::Unhealthy,
        None => ServerStatus::Unknown,
    }
}

fn to_wire(model: server::Model, state: &AppState, now: DateTime<Utc>) -> ApiResult<Server> {
    let health: Option<HealthReport> = db::json_column_opt(model.health.as_deref(), "health")?;
    let status = status_of(
        &model,
        health.as_ref(),
        now,
        state.config.server_unreachable_after,
    );
    Ok(Server {
        capabilities: db::json_column(&model.capabilities, "capabilities")?,
        tools: db::json_column(&model.tools, "tools")?,
        contact: db::json_column_opt::<Contact>(model.contact.as_deref(), "contact")?,
        health,
        status,
        id: model.id,
        kind: model.kind,
        machine_id: model.machine_id,
        version: model.version,
        last_seen_at: model.last_seen_at,
        registered_at: model.registered_at,
        updated_at: model.updated_at,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

pub async fn list(state: &AppState, query: &ServerQuery) -> ApiResult<Vec<Server>> {
    let now = Utc::now();
    let mut find = server::Entity::find();
    if let Some(machine) = &query.machine_id {
        find = find.filter(server::Column::MachineId.eq(machine.clone()));
    }
    if let Some(kind) = query.kind {
        find = find.filter(server::Column::Kind.eq(kind));
    }
    // Status depends on the clock as well as the row, so it is filtered after reading.
    let servers = find
        .order_by_asc(server::Column::MachineId)
        .order_by_asc(server::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| to_wire(m, state, now))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(servers
        .into_iter()
        .filter(|s| query.status.is_none_or(|status| s.status == status))
        .collect())
}

/// Every machine with a registered server, with what it can do right now.
pub async fn machines(state: &AppState) -> ApiResult<Vec<Machine>> {
    let servers = list(state, &ServerQuery::default()).await?;
    let mut machines: Vec<Machine> = Vec::new();
    for server in servers {
        let reachable = server.status != ServerStatus::Unreachable;
        let machine = match machines.last_mut() {
            Some(last) if last.machine_id == server.machine_id => last,
            _ => {
                machines.push(Machine {
                    machine_id: server.machine_id.clone(),
                    servers: Vec::new(),
                    can_assess: false,
                    can_install: false,
                    last_seen_at: None,
                });
                let pushed = machines.len() - 1;
                &mut machines[pushed]
            }
        };
        if reachable {
            match server.kind {
                ServerKind::Compliance => {
                    machine.can_assess |= server.tools.iter().any(|t| t == ASSESSMENT_TOOL);
                }
                ServerKind::Installer => machine.can_install = true,
            }
        }
        machine.last_seen_at = machine.last_seen_at.max(server.last_seen_at);
        machine.servers.push(MachineServer {
            server_id: server.id,
            kind: server.kind,
            reachable,
        });
    }
    Ok(machines)
}

pub async fn get(state: &AppState, id: &ServerId) -> ApiResult<Server> {
    server::Entity::find_by_id(id.clone())
        .one(&state.db)
        .await?
        .map(|m| to_wire(m, state, Utc::now()))
        .ok_or_else(|| ApiError::not_found(format!("server `{id}`")))?
}

#[tracing::instrument(skip_all)]
pub async fn create_enrollment_key(
    state: &AppState,
    origin: &Origin,
    request: EnrollmentKeyRequest,
) -> ApiResult<EnrollmentKeyResponse> {
    let now = Utc::now();
    let expires_at = request
        .expires_at
        .unwrap_or(now + Duration::hours(DEFAULT_KEY_LIFETIME_HOURS));
    if expires_at <= now {
        return Err(ApiError::validation("expiresAt must be in the future"));
    }
    if expires_at > now + Duration::days(MAX_KEY_LIFETIME_DAYS) {
        return Err(ApiError::validation(format!(
            "expiresAt must be within {MAX_KEY_LIFETIME_DAYS} days"
        )));
    }
    let key = secrets::generate(SecretKind::EnrollmentKey);
    let txn = state.begin().await?;
    let created = enrollment_key::ActiveModel {
        key_hash: Set(secrets::digest(&key)),
        kind: Set(request.kind),
        machine_id: Set(request.machine_id),
        expires_at: Set(expires_at),
        created_by: Set(origin.actor.name.clone()),
        created_at: Set(now),
        used_at: Set(None),
        used_by_server: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::EnrollmentKeyCreated)
            .target(AuditTarget::EnrollmentKey(created.id))
            .details(json!({
                "kind": created.kind,
                "machineId": created.machine_id,
                "expiresAt": created.expires_at,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(EnrollmentKeyResponse {
        success: true,
        id: created.id,
        enrollment_key: key.into(),
        kind: created.kind,
        machine_id: created.machine_id,
        expires_at: created.expires_at,
    })
}

/// Registers a server, or re-registers it: a new API key replaces the old one and the
/// capabilities, tools and contact are replaced by the ones sent.
#[tracing::instrument(skip_all)]
pub async fn register(
    state: &AppState,
    registrar: Registrar,
    request: RegisterServerRequest,
) -> ApiResult<RegisterServerResponse> {
    let registration = Registration::parse(request)?;
    let now = Utc::now();
    let api_key = secrets::generate(SecretKind::ServerApiKey);
    let txn = state.begin().await?;

    let (origin, via, enrollment_key_id) = match registrar {
        Registrar::Admin(origin) => (origin, "admin", None),
        Registrar::Server { id, origin } => {
            if id != registration.id {
                return Err(ApiError::forbidden("a server may only re-register itself"));
            }
            (origin, "own_api_key", None)
        }
        Registrar::EnrollmentKey { key, origin } => {
            let found = enrollment_key::Entity::find()
                .filter(enrollment_key::Column::KeyHash.eq(secrets::digest(&key)))
                .one(&txn)
                .await?
                .ok_or_else(|| ApiError::unauthorized("the enrollment key is invalid"))?;
            if found.used_at.is_some() {
                return Err(ApiError::new(
                    ErrorCode::TokenUsed,
                    "the enrollment key has already been used",
                ));
            }
            if found.expires_at <= now {
                return Err(ApiError::new(
                    ErrorCode::Expired,
                    "the enrollment key has expired",
                ));
            }
            if found.kind.is_some_and(|kind| kind != registration.kind) {
                return Err(ApiError::forbidden(format!(
                    "this enrollment key enrolls {} servers only",
                    found.kind.map(|k| k.as_str()).unwrap_or_default()
                )));
            }
            if let Some(machine) = &found.machine_id
                && *machine != registration.machine_id
            {
                return Err(ApiError::forbidden(format!(
                    "this enrollment key enrolls servers of machine `{machine}` only; send \"machineId\": \"{machine}\""
                )));
            }
            // Conditional on still being unused, so two registrations racing for one key
            // cannot both succeed.
            let claimed = enrollment_key::Entity::update_many()
                .col_expr(enrollment_key::Column::UsedAt, Expr::value(now))
                .col_expr(
                    enrollment_key::Column::UsedByServer,
                    Expr::value(registration.id.as_str()),
                )
                .filter(enrollment_key::Column::Id.eq(found.id))
                .filter(enrollment_key::Column::UsedAt.is_null())
                .exec(&txn)
                .await?;
            if claimed.rows_affected != 1 {
                return Err(ApiError::new(
                    ErrorCode::TokenUsed,
                    "the enrollment key has already been used",
                ));
            }
            let origin = Origin {
                actor: Actor::server(registration.id.as_str()),
                ..origin
            };
            (origin, "enrollment_key", Some(found.id))
        }
    };

    let existing = server::Entity::find_by_id(registration.id.clone())
        .one(&txn)
        .await?;
    if let Some(existing) = &existing
        && existing.kind != registration.kind
    {
        return Err(ApiError::conflict(format!(
            "`{}` is registered as a {} server",
            registration.id, existing.kind
        )));
    }
    let moved_from = existing
        .as_ref()
        .map(|model| model.machine_id.clone())
        .filter(|machine| *machine != registration.machine_id);
    if let Some(from) = &moved_from
        && via == "own_api_key"
    {
        // The machine is what decides which work a server may touch; a server's own key
        // must not be enough to take it to another machine's files.
        return Err(ApiError::forbidden(format!(
            "`{}` is registered on machine `{from}`; only an admin can move it to `{}`",
            registration.id, registration.machine_id
        )));
    }
    if existing.is_some() && via == "enrollment_key" {
        // An enrollment key admits a new server; it must not hand over an existing identity.
        return Err(ApiError::conflict(format!(
            "`{}` is already registered; it re-registers with its own API key, or an admin does it",
            registration.id
        )));
    }
    let rotated = existing.is_some();
    let mut active = match existing {
        Some(model) => model.into_active_model(),
        None => server::ActiveModel {
            id: Set(registration.id.clone()),
            kind: Set(registration.kind),
            registered_at: Set(now),
            ..Default::default()
        },
    };
    active.machine_id = Set(registration.machine_id.clone());
    active.version = Set(registration.version.clone());
    active.capabilities = Set(to_json(&registration.capabilities)?);
    active.tools = Set(to_json(&registration.tools)?);
    active.contact = Set(registration.contact.as_ref().map(to_json).transpose()?);
    active.health = Set(registration.health.as_ref().map(to_json).transpose()?);
    active.api_key_hash = Set(secrets::digest(&api_key));
    active.last_seen_at = Set(Some(now));
    active.registered_by = Set(origin.actor.name.clone());
    active.updated_at = Set(now);
    if rotated {
        active.update(&txn).await?;
    } else {
        active.insert(&txn).await?;
    }
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(if rotated {
                AuditAction::ServerReregistered
            } else {
                AuditAction::ServerRegistered
            })
            .target(AuditTarget::Server(registration.id.clone()))
            .details(json!({
                "kind": registration.kind,
                "machineId": registration.machine_id,
                "movedFromMachine": moved_from,
                "version": registration.version,
                "capabilities": registration.capabilities,
                "tools": registration.tools,
                "via": via,
                "enrollmentKeyId": enrollment_key_id,
                "apiKeyRotated": rotated,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(RegisterServerResponse {
        success: true,
        server_id: registration.id,
        kind: registration.kind,
        api_key: api_key.into(),
        rotated,
    })
}

/// Records that a server is alive, and its health when it sends one. The registry's
/// last-seen time changes on every ping; an audit row is written when the server's status
/// changes (a heartbeat that changes nothing else is not an event worth keeping forever).
#[tracing::instrument(skip_all, fields(server = %id))]
pub async fn ping(
    state: &AppState,
    principal: &Principal,
    origin: &Origin,
    id: &ServerId,
    request: PingRequest,
) -> ApiResult<PingResponse> {
    match principal {
        Principal::Server { id: caller, .. } if caller == id => {}
        _ => return Err(ApiError::forbidden("a server may only ping itself")),
    }
    let now = Utc::now();
    let window = state.config.server_unreachable_after;
    let txn = state.begin().await?;
    let current = server::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("server `{id}`")))?;
    let previous_health: Option<HealthReport> =
        db::json_column_opt(current.health.as_deref(), "health")?;
    let before = status_of(&current, previous_health.as_ref(), now, window);
    let health = request.health.or(previous_health);
    let mut active = current.clone().into_active_model();
    active.last_seen_at = Set(Some(now));
    active.health = Set(health.as_ref().map(to_json).transpose()?);
    let updated = active.update(&txn).await?;
    let after = status_of(&updated, health.as_ref(), now, window);
    if before != after {
        record::write(
            &txn,
            &state.audit_key,
            origin
                .entry(AuditAction::ServerStatusChanged)
                .target(AuditTarget::Server(id.clone()))
                .details(json!({ "from": before, "to": after })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(PingResponse {
        success: true,
        server_id: id.clone(),
        status: after,
        last_seen_at: now,
    })
}

#[tracing::instrument(skip_all, fields(server = %id))]
pub async fn delete(state: &AppState, origin: &Origin, id: &ServerId) -> ApiResult<()> {
    let txn = state.begin().await?;
    let existing = server::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("server `{id}`")))?;
    server::Entity::delete_by_id(id.clone()).exec(&txn).await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::ServerDeleted)
            .target(AuditTarget::Server(id.clone()))
            .details(json!({ "kind": existing.kind, "version": existing.version })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
