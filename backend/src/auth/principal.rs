//! Authentication and authorization as extractors.
//!
//! A handler states what it needs in its signature: `Authorized<perm::ManageUsers>` admits a
//! caller — a user with a JWT or a server with its API key — whose role or kind holds that
//! permission in the one permission table, and answers 401 or 403 otherwise. The extractor
//! also leaves the principal in the request so refusals can be audited with the right actor.

use crate::audit::{Actor, Origin};
use crate::auth::entity::revoked_token;
use crate::error::{ApiError, ApiResult};
use crate::http::meta;
use crate::servers::entity::server;
use crate::state::AppState;
use crate::users::entity as user;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, http::header, web};
use chrono::{DateTime, Utc};
use coordinator_api::{ErrorCode, MachineId, Permission, Role, ServerId, ServerKind, UserId};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::future::{Ready, ready};
use std::marker::PhantomData;

pub const API_KEY_HEADER: &str = "x-api-key";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    User {
        id: UserId,
        username: String,
        role: Role,
        /// The token's id, for logout.
        jti: String,
        expires_at: DateTime<Utc>,
    },
    Server {
        id: ServerId,
        kind: ServerKind,
        /// The machine it works on: the only one whose work it may claim or report on.
        machine: MachineId,
    },
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        match self {
            Principal::User { role, .. } => role.can(permission),
            Principal::Server { kind, .. } => kind.can(permission),
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Principal::User { username, .. } => Actor::user(username),
            Principal::Server { id, .. } => Actor::server(id.as_str()),
        }
    }
}

/// Permissions named at the type level, for handler signatures: `Authorized<perm::ManageUsers>`.
/// Generated with `Permission` itself from the one table in the wire crate.
pub use coordinator_api::permissions::marker as perm;
pub use coordinator_api::permissions::marker::Required as RequiredPermission;

pub fn app_state(req: &HttpRequest) -> ApiResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state is not configured")))
}

fn bearer_token(value: &header::HeaderValue) -> ApiResult<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer <token>`"))
}

pub async fn user_from_token(state: &AppState, token: &str) -> ApiResult<Principal> {
    let claims = state.jwt.validate(token).map_err(|err| {
        tracing::debug!(error = %err, "token refused");
        ApiError::unauthorized("the token is invalid or has expired")
    })?;
    let user_id = claims
        .user_id()
        .ok_or_else(|| ApiError::unauthorized("the token is invalid or has expired"))?;
    let user = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token's user no longer exists"))?;
    if user.disabled {
        return Err(ApiError::unauthorized("the account is disabled"));
    }
    if user.token_version != claims.ver {
        return Err(ApiError::unauthorized("the token has been revoked"));
    }
    if revoked_token::Entity::find_by_id(claims.jti.clone())
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(ApiError::unauthorized("the token has been revoked"));
    }
    Ok(Principal::User {
        id: user.id,
        username: user.username,
        role: user.role,
        expires_at: claims.expires_at(),
        jti: claims.jti,
    })
}

async fn server_from_key(state: &AppState, key: &header::HeaderValue) -> ApiResult<Principal> {
    let key = key
        .to_str()
        .map_err(|_| ApiError::unauthorized("the API key is invalid"))?;
    let server = server::Entity::find()
        .filter(server::Column::ApiKeyHash.eq(crate::auth::secrets::digest(key.trim())))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the API key is invalid"))?;
    Ok(Principal::Server {
        id: server.id,
        kind: server.kind,
        machine: server.machine_id,
    })
}

/// What the credentials of a request came to, decided once per request by
/// `authenticate_requests` before any extractor runs.
#[derive(Debug, Clone)]
enum Credentials {
    Absent,
    Valid(Principal),
    Invalid { code: ErrorCode, message: String },
}

async fn resolve(req: &HttpRequest, state: &AppState) -> ApiResult<Option<Principal>> {
    match (
        req.headers().get(header::AUTHORIZATION),
        req.headers().get(API_KEY_HEADER),
    ) {
        (Some(authorization), _) => Ok(Some(
            user_from_token(state, bearer_token(authorization)?).await?,
        )),
        (None, Some(key)) => Ok(Some(server_from_key(state, key).await?)),
        (None, None) => Ok(None),
    }
}

/// Middleware: checks the credentials a request carries before its handler's extractors
/// run, so a refusal for missing or bad credentials always wins over complaints about the
/// body, and the principal is known to the audit of refusals.
pub async fn authenticate_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let credentials = match resolve(req.request(), &state).await {
            Ok(None) => Credentials::Absent,
            Ok(Some(principal)) => {
                req.extensions_mut().insert(principal.clone());
                Credentials::Valid(principal)
            }
            Err(err) => {
                if err.code().status() >= 500 {
                    tracing::error!(error = ?err, "authentication could not be checked");
                }
                Credentials::Invalid {
                    code: err.code(),
                    message: err.message().to_owned(),
                }
            }
        };
        req.extensions_mut().insert(credentials);
    }
    next.call(req).await
}

/// Who is calling; 401 when the request has no valid credentials.
pub fn authenticate(req: &HttpRequest) -> ApiResult<Principal> {
    match req.extensions().get::<Credentials>() {
        Some(Credentials::Valid(principal)) => Ok(principal.clone()),
        Some(Credentials::Invalid { code, message }) => Err(ApiError::new(*code, message.clone())),
        Some(Credentials::Absent) | None => Err(ApiError::unauthorized(
            "authentication required: send `Authorization: Bearer <token>` or `X-API-Key`",
        )),
    }
}

/// A caller holding permission `P`.
pub struct Authorized<P> {
    pub principal: Principal,
    pub origin: Origin,
    _permission: PhantomData<P>,
}

/// Authenticates the request and admits the caller if `allowed` does; its refusal is the
/// 403's message.
fn admit(
    req: &HttpRequest,
    allowed: impl FnOnce(&Principal) -> Result<(), String>,
) -> ApiResult<(Principal, Origin)> {
    let state = app_state(req)?;
    let principal = authenticate(req)?;
    allowed(&principal).map_err(ApiError::forbidden)?;
    let origin = meta::origin(req, &state.config, principal.actor());
    Ok((principal, origin))
}

impl<P: RequiredPermission> Authorized<P> {
    fn check(req: &HttpRequest) -> ApiResult<Self> {
        let (principal, origin) = admit(req, |principal| {
            if principal.can(P::PERMISSION) {
                Ok(())
            } else {
                Err(format!("this requires the `{}` permission", P::PERMISSION))
            }
        })?;
        Ok(Self {
            principal,
            origin,
            _permission: PhantomData,
        })
    }
}

impl<P: RequiredPermission> FromRequest for Authorized<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::check(req))
    }
}

/// A caller holding permission `P`, or the server the path's `{id}` names calling with its
/// own API key: a server may read its own entry without being allowed to read the registry.
pub struct SelfOr<P> {
    pub principal: Principal,
    pub origin: Origin,
    _permission: PhantomData<P>,
}

impl<P: RequiredPermission> SelfOr<P> {
    fn check(req: &HttpRequest) -> ApiResult<Self> {
        let (principal, origin) = admit(req, |principal| {
            let itself = match principal {
                Principal::Server { id, .. } => req.match_info().get("id") == Some(id.as_str()),
                Principal::User { .. } => false,
            };
            if itself || principal.can(P::PERMISSION) {
                Ok(())
            } else {
                Err(format!(
                    "this requires the `{}` permission, or the server's own API key",
                    P::PERMISSION
                ))
            }
        })?;
        Ok(Self {
            principal,
            origin,
            _permission: PhantomData,
        })
    }
}

impl<P: RequiredPermission> FromRequest for SelfOr<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::check(req))
    }
}

/// A server calling with its API key: who it is, and the machine it works on.
#[derive(Debug, Clone)]
pub struct ServerCaller {
    pub id: ServerId,
    pub kind: ServerKind,
    pub machine: MachineId,
}

/// A person holding permission `P`: for what only people do (decide, review, release,
/// issue approval tokens), so a handler never has to ask whether its caller is a person.
pub struct PersonWith<P> {
    pub person: UserId,
    pub origin: Origin,
    _permission: PhantomData<P>,
}

impl<P: RequiredPermission> FromRequest for PersonWith<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            Authorized::<P>::check(req).and_then(|auth| match auth.principal {
                Principal::User { id, .. } => Ok(Self {
                    person: id,
                    origin: auth.origin,
                    _permission: PhantomData,
                }),
                Principal::Server { .. } => Err(ApiError::forbidden(
                    "this is decided by a person, not a server",
                )),
            }),
        )
    }
}

/// A server holding permission `P`: for the work servers do (claim, report, complete).
pub struct ServerWith<P> {
    pub server: ServerCaller,
    pub origin: Origin,
    _permission: PhantomData<P>,
}

impl<P: RequiredPermission> FromRequest for ServerWith<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            Authorized::<P>::check(req).and_then(|auth| match auth.principal {
                Principal::Server { id, kind, machine } => Ok(Self {
                    server: ServerCaller { id, kind, machine },
                    origin: auth.origin,
                    _permission: PhantomData,
                }),
                Principal::User { .. } => Err(ApiError::forbidden(
                    "this is done by a server, with its API key",
                )),
            }),
        )
    }
}

/// Any signed-in person (not a server).
pub struct SignedIn {
    pub id: UserId,
    pub role: Role,
    pub principal: Principal,
    pub origin: Origin,
}

impl SignedIn {
    fn check(req: &HttpRequest) -> ApiResult<Self> {
        let state = app_state(req)?;
        match authenticate(req)? {
            principal @ Principal::User { id, role, .. } => Ok(Self {
                id,
                role,
                origin: meta::origin(req, &state.config, principal.actor()),
                principal,
            }),
            Principal::Server { .. } => Err(ApiError::forbidden(
                "this is for signed-in people, not servers",
            )),
        }
    }
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::check(req))
    }
}

/// Who asked: the audit origin, the person behind it if it was a person, and the machine of
/// the server if it was a server (a server asks only about its own machine).
pub struct Requester<'a> {
    pub origin: &'a Origin,
    pub user: Option<UserId>,
    pub machine: Option<MachineId>,
}

impl<'a> Requester<'a> {
    pub fn new(principal: &Principal, origin: &'a Origin) -> Self {
        let (user, machine) = match principal {
            Principal::User { id, .. } => (Some(*id), None),
            Principal::Server { machine, .. } => (None, Some(machine.clone())),
        };
        Self {
            origin,
            user,
            machine,
        }
    }

    /// Work the coordinator asks for itself, such as a re-assessment after an execution.
    pub fn system(origin: &'a Origin) -> Self {
        Self {
            origin,
            user: None,
            machine: None,
        }
    }
}

/// How a server registration is authorized.
pub enum Registrar {
    /// An admin (with `manage_servers`) registers or re-registers any server.
    Admin(Origin),
    /// A registered server re-registers itself with its current API key, rotating it.
    Server { id: ServerId, origin: Origin },
    /// A new server enrolls with a single-use key an admin created.
    EnrollmentKey { key: String, origin: Origin },
}

pub const ENROLLMENT_KEY_HEADER: &str = "x-enrollment-key";

/// What a registration without credentials is told: a new server's first registration needs
/// an enrollment key, which the generic "send a token or an API key" would not mention.
const ENROLL_HINT: &str = "registration requires credentials: a new server sends an enrollment \
     key in the `X-Enrollment-Key` header (an admin creates one with \
     `POST /api/v1/servers/enrollment-keys`); a registered server sends its own `X-API-Key`; \
     an admin sends `Authorization: Bearer <token>`";

impl Registrar {
    fn from_request_parts(req: &HttpRequest) -> ApiResult<Self> {
        let state = app_state(req)?;
        if let Some(key) = req.headers().get(ENROLLMENT_KEY_HEADER) {
            let key = key
                .to_str()
                .map_err(|_| ApiError::unauthorized("the enrollment key is invalid"))?;
            return Ok(Registrar::EnrollmentKey {
                key: key.trim().to_owned(),
                origin: meta::origin(req, &state.config, Actor::anonymous()),
            });
        }
        if matches!(
            req.extensions().get::<Credentials>(),
            Some(Credentials::Absent) | None
        ) {
            return Err(ApiError::unauthorized(ENROLL_HINT));
        }
        let principal = authenticate(req)?;
        let origin = meta::origin(req, &state.config, principal.actor());
        match principal {
            Principal::Server { id, .. } => Ok(Registrar::Server { id, origin }),
            user if user.can(Permission::ManageServers) => Ok(Registrar::Admin(origin)),
            _ => Err(ApiError::forbidden(format!(
                "this requires the `{}` permission, an enrollment key, or the server's own API key",
                Permission::ManageServers
            ))),
        }
    }
}

impl FromRequest for Registrar {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::from_request_parts(req))
    }
}

/// Where an unauthenticated request came from (login, registration by enrollment key).
pub struct RequestOrigin(pub Origin);

impl FromRequest for RequestOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            app_state(req)
                .map(|state| RequestOrigin(meta::origin(req, &state.config, Actor::anonymous()))),
        )
    }
}
