//! Assessment commands and queries.

use super::entity::{self as assessment, Model};
use super::lifecycle::{self, Event};
use crate::audit::{Origin, record};
use crate::auth::approval_tokens::{self as tokens, Purpose};
use crate::auth::principal::Requester;
use crate::auth::principal::ServerCaller;
use crate::db;
use crate::db::UnitOfWork;
use crate::error::{ApiError, ApiResult};
use crate::servers::entity::server;
use crate::state::AppState;
use crate::work::entity::{self as work_item, WorkStatus};
use crate::work::service::{self as work, NewWork};
use chrono::Utc;
use coordinator_api::assessments::{
    Assessment, AssessmentOptions, AssessmentPage, AssessmentQuery, AssessmentResults,
    AssessmentStatus, CreateAssessmentRequest, CreateAssessmentResponse, QueuedAssessment, Review,
    ReviewRequest,
};
use coordinator_api::audit::ActorType;
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::servers::ASSESSMENT_TOOL;
use coordinator_api::work::{AssessmentTask, TaskKind};
use coordinator_api::{
    AssessmentId, AssessmentRef, ErrorCode, ExecutionId, MachineId, ServerId, ServerKind, UserId,
};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};

const MAX_TARGETS: usize = 100;
const MAX_PAGE: u64 = 200;

/// Machines one request may ask for at once.
const MAX_MACHINES: usize = 500;
/// In `machineIds`: every machine with a compliance server.
const ALL_MACHINES: &str = "*";

fn status_detail(machine: &MachineId, available: bool) -> String {
    if available {
        format!("queued for the compliance server of machine `{machine}`")
    } else {
        format!(
            "waiting: no reachable compliance server offering {ASSESSMENT_TOOL} is registered on machine `{machine}`"
        )
    }
}

fn is_name(value: &str, max: usize, extra: &[char]) -> bool {
    (1..=max).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// Request ids the coordinator gives its own assessments (re-assessments) start with this;
/// callers cannot use it, so they can never occupy one in advance.
const RESERVED_PREFIX: &str = "coordinator:";

fn validate(request: &CreateAssessmentRequest) -> ApiResult<()> {
    if !is_name(&request.request_id, 128, &['-', '_', '.', ':']) {
        return Err(ApiError::validation(
            "requestId must be 1 to 128 characters of letters, digits, '-', '_', '.' or ':'",
        ));
    }
    if request.request_id.starts_with(RESERVED_PREFIX) {
        return Err(ApiError::validation(format!(
            "requestId must not start with `{RESERVED_PREFIX}`"
        )));
    }
    if request.machine_id.is_some() && request.machine_ids.is_some() {
        return Err(ApiError::validation(
            "give machineId (one machine) or machineIds (several, or [\"*\"] for all), not both",
        ));
    }
    if !is_name(&request.assessment_type, 64, &['-', '_']) {
        return Err(ApiError::validation(
            "assessmentType must be 1 to 64 characters of letters, digits, '-' or '_'",
        ));
    }
    if request.target_servers.is_empty() || request.target_servers.len() > MAX_TARGETS {
        return Err(ApiError::validation(format!(
            "targetServers must name 1 to {MAX_TARGETS} MCP servers"
        )));
    }
    if let Some(bad) = request
        .target_servers
        .iter()
        // `*` asks for everything the compliance server can see.
        .find(|name| name.as_str() != "*" && !is_name(name, 64, &['-', '_', '.', '@', '/']))
    {
        return Err(ApiError::validation(format!(
            "targetServers: `{bad}` is not an MCP server name"
        )));
    }
    Ok(())
}

/// What was asked under a request id, minus the part that never matters (`autoApprove`).
/// The machines enter as named, not as resolved, so that a retry is recognised even after
/// another machine has joined.
fn fingerprint(request: &CreateAssessmentRequest) -> String {
    let mut asked = json!({
        "type": request.assessment_type,
        "targets": request.target_servers,
        "includeDetails": request.options.include_details,
        "generateReport": request.options.generate_report,
    });
    // Absent before machines existed, so that fingerprints stored then still match.
    if let Some(machine) = &request.machine_id {
        asked["machineId"] = json!(machine);
    }
    if let Some(machines) = &request.machine_ids {
        asked["machineIds"] = json!(machines);
    }
    hex::encode(Sha256::digest(asked.to_string().as_bytes()))
}

fn new_correlation_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    format!("corr-{}", hex::encode(bytes))
}

/// Whether a reachable compliance server on `machine` offers the assessment tool right now.
async fn assessor_available(
    conn: &impl ConnectionTrait,
    state: &AppState,
    machine: &MachineId,
) -> ApiResult<bool> {
    let window =
        chrono::Duration::from_std(state.config.server_unreachable_after).unwrap_or_default();
    let seen_after = Utc::now() - window;
    let candidates = server::Entity::find()
        .filter(server::Column::Kind.eq(ServerKind::Compliance))
        .filter(server::Column::MachineId.eq(machine.clone()))
        .filter(server::Column::LastSeenAt.gt(seen_after))
        .all(conn)
        .await?;
    Ok(candidates.iter().any(|s| {
        serde_json::from_str::<Vec<String>>(&s.tools)
            .is_ok_and(|tools| tools.iter().any(|t| t == ASSESSMENT_TOOL))
    }))
}

/// The distinct machines of the registered servers, of one kind or of any.
async fn registered_machines(
    conn: &impl ConnectionTrait,
    kind: Option<ServerKind>,
) -> ApiResult<Vec<MachineId>> {
    let mut query = server::Entity::find()
        .select_only()
        .column(server::Column::MachineId)
        .distinct()
        .order_by_asc(server::Column::MachineId);
    if let Some(kind) = kind {
        query = query.filter(server::Column::Kind.eq(kind));
    }
    Ok(query.into_tuple::<MachineId>().all(conn).await?)
}

fn listed(machines: &[MachineId]) -> String {
    let shown: Vec<String> = machines.iter().take(10).map(|m| format!("`{m}`")).collect();
    let more = machines.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// The machines a request is about. A server asks only about its own machine; a person
/// names one or several, or none while that leaves no doubt.
async fn machines_of(
    conn: &impl ConnectionTrait,
    requester: &Requester<'_>,
    request: &CreateAssessmentRequest,
) -> ApiResult<Vec<MachineId>> {
    let named: Option<Vec<MachineId>> = match (&request.machine_id, &request.machine_ids) {
        (Some(machine), _) => Some(vec![machine.clone()]),
        (None, Some(names)) if names.iter().any(|n| n.trim() == ALL_MACHINES) => {
            let all = registered_machines(conn, Some(ServerKind::Compliance)).await?;
            if all.is_empty() {
                return Err(ApiError::validation(
                    "machineIds [\"*\"] asks for every machine with a compliance server, and none has one yet",
                ));
            }
            Some(all)
        }
        (None, Some(names)) => {
            let mut machines = names
                .iter()
                .map(|n| {
                    MachineId::parse(n)
                        .map_err(|e| ApiError::validation(format!("machineIds: {e}")))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            machines.sort();
            machines.dedup();
            if machines.is_empty() {
                return Err(ApiError::validation(
                    "machineIds must name at least one machine, or be [\"*\"] for all",
                ));
            }
            Some(machines)
        }
        (None, None) => None,
    };
    if let Some(own) = &requester.machine {
        return match named {
            Some(machines) if machines.iter().any(|m| m != own) => Err(ApiError::forbidden(
                format!("a server requests assessments of its own machine `{own}` only"),
            )),
            _ => Ok(vec![own.clone()]),
        };
    }
    if let Some(machines) = named {
        if machines.len() > MAX_MACHINES {
            return Err(ApiError::validation(format!(
                "at most {MAX_MACHINES} machines in one request"
            )));
        }
        return Ok(machines);
    }
    let assessable = registered_machines(conn, Some(ServerKind::Compliance)).await?;
    let candidates = if assessable.is_empty() {
        registered_machines(conn, None).await?
    } else {
        assessable
    };
    match candidates.as_slice() {
        [] => Ok(vec![MachineId::default_machine()]),
        [only] => Ok(vec![only.clone()]),
        several => Err(ApiError::validation(format!(
            "machineId is required: {} machines have a compliance server ({}); name one with machineId, several with machineIds, or all with machineIds: [\"*\"]",
            several.len(),
            listed(several)
        ))),
    }
}

struct NewAssessment<'a> {
    machine: MachineId,
    request_id: String,
    fingerprint: String,
    assessment_type: String,
    options: AssessmentOptions,
    target_servers: Vec<String>,
    requester: &'a Requester<'a>,
    correlation_id: String,
    follows_execution: Option<ExecutionId>,
}

/// Inserts an assessment and queues it, inside the caller's transaction.
async fn create(txn: &UnitOfWork, state: &AppState, new: NewAssessment<'_>) -> ApiResult<Model> {
    let now = Utc::now();
    let detail = status_detail(
        &new.machine,
        assessor_available(txn, state, &new.machine).await?,
    );
    let origin = new.requester.origin;
    let created =
        assessment::ActiveModel {
            machine_id: Set(new.machine.clone()),
            request_id: Set(new.request_id),
            request_fingerprint: Set(new.fingerprint),
            assessment_type: Set(new.assessment_type),
            options: Set(serde_json::to_string(&new.options).map_err(ApiError::internal)?),
            target_servers: Set(
                serde_json::to_string(&new.target_servers).map_err(ApiError::internal)?
            ),
            status: Set(AssessmentStatus::Pending),
            status_detail: Set(Some(detail)),
            requested_by: Set(origin.actor.name.clone()),
            requested_by_type: Set(origin.actor.kind),
            requested_by_user_id: Set(new.requester.user),
            assigned_server: Set(None),
            correlation_id: Set(new.correlation_id),
            results: Set(None),
            review_decision: Set(None),
            review_reason: Set(None),
            reviewed_by: Set(None),
            reviewed_at: Set(None),
            follows_execution_id: Set(new.follows_execution),
            created_at: Set(now),
            updated_at: Set(now),
            completed_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    work::enqueue(
        txn,
        NewWork {
            kind: TaskKind::Assessment,
            subject_id: created.id.0,
            machine: created.machine_id.clone(),
            server_kind: ServerKind::Compliance,
            requires: vec![ASSESSMENT_TOOL.to_owned()],
            max_attempts: state.config.assessment_max_attempts,
        },
    )
    .await?;
    Ok(created)
}

/// The assessments this caller already requested under `request_id`, one per machine.
async fn earlier(
    conn: &impl ConnectionTrait,
    origin: &Origin,
    request_id: &str,
) -> ApiResult<Vec<Model>> {
    Ok(assessment::Entity::find()
        .filter(assessment::Column::RequestedByType.eq(origin.actor.kind))
        .filter(assessment::Column::RequestedBy.eq(origin.actor.name.as_str()))
        .filter(assessment::Column::RequestId.eq(request_id))
        .order_by_asc(assessment::Column::MachineId)
        .all(conn)
        .await?)
}

/// The answer to a request whose key was used before: the same assessments, or a conflict.
fn replay(
    existing: &[Model],
    fingerprint: &str,
    request: &CreateAssessmentRequest,
) -> ApiResult<(bool, CreateAssessmentResponse)> {
    if existing
        .iter()
        .any(|e| e.request_fingerprint != fingerprint)
    {
        return Err(ApiError::conflict(format!(
            "requestId `{}` was already used for a different assessment",
            request.request_id
        )));
    }
    Ok((false, answer(existing, request.options.auto_approve)?))
}

/// Requests an assessment. `requestId` is the caller's idempotency key: the same request
/// again returns the first assessment, even when both arrive at once. Returns whether it
/// was created now, and the answer.
#[tracing::instrument(skip_all, fields(request_id = %request.request_id))]
pub async fn request(
    state: &AppState,
    requester: &Requester<'_>,
    request: CreateAssessmentRequest,
) -> ApiResult<(bool, CreateAssessmentResponse)> {
    validate(&request)?;
    let fingerprint = fingerprint(&request);
    match request_new(state, requester, &request, &fingerprint).await {
        // Lost a race with the same request: answer what the winner created.
        Err(err) if err.code() == coordinator_api::ErrorCode::Conflict => {
            let existing = earlier(&state.db, requester.origin, &request.request_id).await?;
            if existing.is_empty() {
                Err(err)
            } else {
                replay(&existing, &fingerprint, &request)
            }
        }
        other => other,
    }
}

async fn request_new(
    state: &AppState,
    requester: &Requester<'_>,
    request: &CreateAssessmentRequest,
    fingerprint: &str,
) -> ApiResult<(bool, CreateAssessmentResponse)> {
    let auto_approve_ignored = request.options.auto_approve;
    let txn = state.begin().await?;
    let existing = earlier(&txn, requester.origin, &request.request_id).await?;
    if !existing.is_empty() {
        txn.commit().await?;
        return replay(&existing, fingerprint, request);
    }
    let machines = machines_of(&txn, requester, request).await?;
    let correlation_id = requester
        .origin
        .correlation_id
        .clone()
        .unwrap_or_else(new_correlation_id);
    let mut created = Vec::with_capacity(machines.len());
    for machine in machines {
        let assessment = create(
            &txn,
            state,
            NewAssessment {
                machine,
                request_id: request.request_id.clone(),
                fingerprint: fingerprint.to_owned(),
                assessment_type: request.assessment_type.clone(),
                options: AssessmentOptions {
                    auto_approve: false,
                    ..request.options
                },
                target_servers: request.target_servers.clone(),
                requester,
                correlation_id: correlation_id.clone(),
                follows_execution: None,
            },
        )
        .await?;
        record::write(
            &txn,
            &state.audit_key,
            requester
                .origin
                .correlated(&correlation_id)
                .entry(AuditAction::AssessmentRequested)
                .target(AuditTarget::Assessment(assessment.id))
                .details(json!({
                    "requestId": request.request_id,
                    "machineId": assessment.machine_id,
                    "assessmentType": request.assessment_type,
                    "targetServers": request.target_servers,
                    "autoApproveIgnored": auto_approve_ignored,
                    "statusDetail": assessment.status_detail,
                })),
        )
        .await?;
        created.push(assessment);
    }
    txn.commit().await?;
    Ok((true, answer(&created, auto_approve_ignored)?))
}

/// The answer for the assessments one request created, first one in front.
fn answer(models: &[Model], auto_approve_ignored: bool) -> ApiResult<CreateAssessmentResponse> {
    let first = models
        .first()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a request created no assessment")))?;
    Ok(CreateAssessmentResponse {
        success: true,
        assessment_id: first.id,
        machine_id: first.machine_id.clone(),
        status: first.status,
        requires_approval: true,
        auto_executed: false,
        auto_approve_ignored,
        status_detail: first.status_detail.clone(),
        correlation_id: first.correlation_id.clone(),
        assessments: models
            .iter()
            .map(|m| QueuedAssessment {
                assessment_id: m.id,
                machine_id: m.machine_id.clone(),
                status: m.status,
                status_detail: m.status_detail.clone(),
            })
            .collect(),
    })
}

/// Queues the re-assessment of what an execution changed, inside its completion: the same
/// kind of assessment as the original, of the servers the actions touched, in its story.
pub async fn request_follow_up(
    txn: &UnitOfWork,
    state: &AppState,
    origin: &Origin,
    original: AssessmentId,
    execution: ExecutionId,
    targets: Vec<String>,
) -> ApiResult<AssessmentId> {
    let original = assessment::Entity::find_by_id(original)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("assessment {original} vanished")))?;
    let requester = Requester::system(origin);
    let request_id = format!("{RESERVED_PREFIX}reassessment-after-execution-{execution}");
    let fingerprint = hex::encode(Sha256::digest(request_id.as_bytes()));
    let created = create(
        txn,
        state,
        NewAssessment {
            machine: original.machine_id,
            request_id,
            fingerprint,
            assessment_type: original.assessment_type,
            options: serde_json::from_str(&original.options).map_err(ApiError::internal)?,
            target_servers: targets,
            requester: &requester,
            correlation_id: original.correlation_id,
            follows_execution: Some(execution),
        },
    )
    .await?;
    Ok(created.id)
}

pub fn to_wire(model: Model) -> ApiResult<Assessment> {
    let review = match (model.review_decision, model.reviewed_by, model.reviewed_at) {
        (Some(decision), Some(reviewed_by), Some(reviewed_at)) => Some(Review {
            decision,
            reason: model.review_reason.unwrap_or_default(),
            reviewed_by,
            reviewed_at,
        }),
        _ => None,
    };
    Ok(Assessment {
        assessment_id: model.id,
        machine_id: model.machine_id,
        request_id: model.request_id,
        assessment_type: model.assessment_type,
        options: db::json_column(&model.options, "options")?,
        target_servers: db::json_column(&model.target_servers, "target_servers")?,
        status: model.status,
        status_detail: model.status_detail,
        requested_by: model.requested_by,
        assigned_server: model.assigned_server,
        correlation_id: model.correlation_id,
        requires_approval: true,
        auto_executed: false,
        results: db::json_column_opt(model.results.as_deref(), "results")?,
        review,
        follows_execution: model.follows_execution_id,
        created_at: model.created_at,
        updated_at: model.updated_at,
        completed_at: model.completed_at,
    })
}

pub async fn get(state: &AppState, wanted: &AssessmentRef) -> ApiResult<Assessment> {
    resolve(&state.db, wanted).await.and_then(to_wire)
}

/// The assessment a client names: a number is the coordinator's id; a string is first the
/// `requestId` it was requested under, and otherwise `assessment-<n>`. Request ids are unique
/// per requester only, so a string several requesters used is a conflict that lists the ids.
pub async fn resolve(conn: &impl ConnectionTrait, wanted: &AssessmentRef) -> ApiResult<Model> {
    if let Some(request_id) = wanted.as_request_id() {
        let mut named = assessment::Entity::find()
            .filter(assessment::Column::RequestId.eq(request_id))
            .order_by_asc(assessment::Column::Id)
            .limit(20)
            .all(conn)
            .await?;
        if named.len() > 1 {
            let ids: Vec<String> = named.iter().map(|m| m.id.to_string()).collect();
            return Err(ApiError::conflict(format!(
                "requestId `{request_id}` names several assessments ({}); use the assessment's id",
                ids.join(", ")
            )));
        }
        if let Some(found) = named.pop() {
            return Ok(found);
        }
    }
    let not_found = || match wanted {
        AssessmentRef::Id(id) => ApiError::not_found(format!("assessment {id}")),
        AssessmentRef::Text(text) => ApiError::new(
            ErrorCode::NotFound,
            match wanted.as_id() {
                Some(id) => format!("no assessment has requestId `{text}` or id {id}"),
                None => format!(
                    "no assessment has requestId `{text}` (ids are numbers or `assessment-<n>`)"
                ),
            },
        ),
    };
    let id = wanted.as_id().ok_or_else(not_found)?;
    assessment::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(not_found)
}

pub async fn list(state: &AppState, query: &AssessmentQuery) -> ApiResult<AssessmentPage> {
    let page_size = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&page_size) {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let offset = query.offset.unwrap_or(0);
    let mut condition = Condition::all();
    if let Some(status) = query.status {
        condition = condition.add(assessment::Column::Status.eq(status));
    }
    if let Some(kind) = &query.assessment_type {
        condition = condition.add(assessment::Column::AssessmentType.eq(kind.as_str()));
    }
    if let Some(correlation_id) = &query.correlation_id {
        condition = condition.add(assessment::Column::CorrelationId.eq(correlation_id.as_str()));
    }
    if let Some(machine) = &query.machine_id {
        condition = condition.add(assessment::Column::MachineId.eq(machine.clone()));
    }
    if let Some(server) = &query.server {
        // The JSON array holds `"name"`; LIKE wildcards in the name are matched literally.
        let quoted = serde_json::to_string(server).map_err(ApiError::internal)?;
        let escaped = quoted
            .replace('!', "!!")
            .replace('%', "!%")
            .replace('_', "!_");
        let pattern = LikeExpr::new(format!("%{escaped}%")).escape('!');
        condition = condition.add(
            Condition::any()
                .add(assessment::Column::AssignedServer.eq(server.as_str()))
                .add(Expr::col(assessment::Column::TargetServers).like(pattern)),
        );
    }
    let total = assessment::Entity::find()
        .filter(condition.clone())
        .count(&state.db)
        .await?;
    let rows = assessment::Entity::find()
        .filter(condition)
        .order_by_desc(assessment::Column::Id)
        .limit(page_size)
        .offset(offset)
        .all(&state.db)
        .await?;
    Ok(AssessmentPage {
        success: true,
        assessments: rows.into_iter().map(to_wire).collect::<ApiResult<_>>()?,
        total,
        page: offset / page_size + 1,
        page_size,
    })
}

/// A compliance server took the assessment of `item`: it is now running there.
pub async fn claimed(
    txn: &UnitOfWork,
    state: &AppState,
    item: &work_item::Model,
    server: &ServerId,
    origin: &Origin,
) -> ApiResult<AssessmentTask> {
    let current = assessment::Entity::find_by_id(AssessmentId(item.subject_id))
        .one(txn)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("work item {} has no assessment", item.id))
        })?;
    let moved = lifecycle::next(
        current.status,
        &Event::Claimed {
            server: server.as_str(),
        },
    )
    .map_err(|why| ApiError::internal(anyhow::anyhow!("assessment {} {why}", current.id)))?;
    let mut active = current.clone().into_active_model();
    active.status = Set(moved.status);
    active.status_detail = Set(moved.detail);
    active.assigned_server = Set(Some(server.clone()));
    active.updated_at = Set(Utc::now());
    let updated = active.update(txn).await?;
    record::write(
        txn,
        &state.audit_key,
        origin
            .correlated(&updated.correlation_id)
            .entry(AuditAction::AssessmentClaimed)
            .target(AuditTarget::Assessment(updated.id))
            .details(json!({ "taskId": item.id, "attempt": item.attempts })),
    )
    .await?;
    Ok(AssessmentTask {
        assessment_id: updated.id,
        machine_id: updated.machine_id,
        assessment_type: updated.assessment_type,
        options: db::json_column(&updated.options, "options")?,
        target_servers: db::json_column(&updated.target_servers, "target_servers")?,
        correlation_id: updated.correlation_id,
    })
}

/// The lease of `item` ran out: queue the assessment again, or give up after enough tries.
pub async fn lease_expired(
    txn: &UnitOfWork,
    state: &AppState,
    item: work_item::Model,
) -> ApiResult<()> {
    let Some(current) = assessment::Entity::find_by_id(AssessmentId(item.subject_id))
        .one(txn)
        .await?
    else {
        return work::finish(txn, item, WorkStatus::Failed).await;
    };
    let origin = Origin::system("work-queue").correlated(&current.correlation_id);
    let (task_id, attempts, lost_by) = (item.id, item.attempts, item.leased_by.clone());
    let moved = lifecycle::next(
        current.status,
        &Event::LeaseLost {
            attempts,
            max_attempts: item.max_attempts,
        },
    )
    .map_err(|why| ApiError::internal(anyhow::anyhow!("assessment {} {why}", current.id)))?;
    let exhausted = moved.status == AssessmentStatus::Failed;
    if exhausted {
        work::finish(txn, item, WorkStatus::Failed).await?;
    } else {
        work::requeue(txn, item).await?;
    }
    let mut active = current.clone().into_active_model();
    active.assigned_server = Set(None);
    active.updated_at = Set(Utc::now());
    active.status = Set(moved.status);
    active.status_detail = Set(moved.detail);
    active.update(txn).await?;
    record::write(
        txn,
        &state.audit_key,
        origin
            .entry(if exhausted {
                AuditAction::AssessmentFailed
            } else {
                AuditAction::LeaseExpired
            })
            .target(AuditTarget::Assessment(current.id))
            .details(json!({ "taskId": task_id, "attempts": attempts, "server": lost_by })),
    )
    .await?;
    Ok(())
}

/// Results about a machine come only from a server on it.
fn check_machine(current: &Model, machine: &MachineId) -> ApiResult<()> {
    if current.machine_id != *machine {
        return Err(ApiError::forbidden(format!(
            "assessment {} is about machine `{}`; a server on machine `{machine}` cannot report on it",
            current.id, current.machine_id
        )));
    }
    Ok(())
}

fn check_results(results: &AssessmentResults) -> ApiResult<()> {
    let summary = results.summary;
    if summary.critical_issues + summary.warning_issues > summary.total_issues {
        return Err(ApiError::validation(
            "summary: criticalIssues and warningIssues cannot add up to more than totalIssues",
        ));
    }
    if results.servers.len() > 1000 {
        return Err(ApiError::validation("servers: at most 1000 entries"));
    }
    Ok(())
}

/// The compliance server holding the lease reports what it found.
#[tracing::instrument(skip_all, fields(assessment = %id))]
pub async fn report_results(
    state: &AppState,
    caller: &ServerCaller,
    origin: &Origin,
    id: AssessmentId,
    results: AssessmentResults,
) -> ApiResult<Assessment> {
    let (server, machine) = (&caller.id, &caller.machine);
    check_results(&results)?;
    let txn = state.begin().await?;
    let current = db::locked(assessment::Entity::find_by_id(id), &txn)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("assessment {id}")))?;
    check_machine(&current, machine)?;
    let lease = work::held_lease(&txn, TaskKind::Assessment, id.0, server).await?;
    let moved = lifecycle::next(current.status, &Event::ResultsIn)
        .map_err(|why| ApiError::conflict(format!("assessment {id} {why}")))?;
    let now = Utc::now();
    let mut active = current.clone().into_active_model();
    active.status = Set(moved.status);
    active.status_detail = Set(moved.detail);
    active.results = Set(Some(
        serde_json::to_string(&results).map_err(ApiError::internal)?,
    ));
    active.completed_at = Set(Some(now));
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    work::finish(&txn, lease, WorkStatus::Done).await?;
    let non_compliant: Vec<&String> = results
        .servers
        .iter()
        .filter(|(_, r)| r.status != coordinator_api::assessments::ComplianceStatus::Compliant)
        .map(|(name, _)| name)
        .collect();
    record::write(
        &txn,
        &state.audit_key,
        origin
            .correlated(&updated.correlation_id)
            .entry(AuditAction::AssessmentResultsReported)
            .target(AuditTarget::Assessment(id))
            .details(json!({ "summary": results.summary, "nonCompliant": non_compliant })),
    )
    .await?;
    txn.commit().await?;
    to_wire(updated)
}

/// An approver accepts or rejects the results, with a fresh approval token of their own.
#[tracing::instrument(skip_all, fields(assessment = %id))]
pub async fn review(
    state: &AppState,
    reviewer: UserId,
    origin: &Origin,
    id: AssessmentId,
    request: ReviewRequest,
) -> ApiResult<Assessment> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::validation("reason must be 1 to 2000 characters"));
    }
    let txn = state.begin().await?;
    let current = db::locked(assessment::Entity::find_by_id(id), &txn)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("assessment {id}")))?;
    let moved = lifecycle::next(current.status, &Event::Reviewed(request.decision))
        .map_err(|why| ApiError::conflict(format!("assessment {id} {why}")))?;
    if current.requested_by_type == ActorType::User
        && current.requested_by_user_id == Some(reviewer)
    {
        return Err(ApiError::forbidden(
            "you requested this assessment; someone else must review it",
        ));
    }
    tokens::redeem(&txn, &request.approval_token, reviewer, Purpose::Review(id)).await?;
    let now = Utc::now();
    let mut active = current.clone().into_active_model();
    active.status = Set(moved.status);
    active.status_detail = Set(moved.detail);
    active.review_decision = Set(Some(request.decision));
    active.review_reason = Set(Some(reason.clone()));
    active.reviewed_by = Set(Some(origin.actor.name.clone()));
    active.reviewed_at = Set(Some(now));
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .correlated(&updated.correlation_id)
            .entry(AuditAction::AssessmentReviewed)
            .target(AuditTarget::Assessment(id))
            .details(json!({ "decision": request.decision, "reason": reason })),
    )
    .await?;
    txn.commit().await?;
    to_wire(updated)
}
