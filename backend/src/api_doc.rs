//! The OpenAPI document: each area's paths nested under `/api/v1`, plus the security schemes.
//! The committed `openapi/openapi.json` is this document; a test fails when they differ.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MCP Integration Coordinator",
        description = "Human-in-the-loop approval and audit service for MCP installer and compliance servers. \
Security scopes name the permission an operation requires; `GET /auth/permissions` lists what the caller's role holds.",
        license(name = "Apache-2.0")
    ),
    nest(
        (path = "/api/v1", api = crate::auth::routes::AuthApi),
        (path = "/api/v1", api = crate::users::routes::UsersApi),
        (path = "/api/v1", api = crate::servers::routes::ServersApi),
        (path = "/api/v1", api = crate::assessments::routes::AssessmentsApi),
        (path = "/api/v1", api = crate::work::routes::WorkApi),
        (path = "/api/v1", api = crate::remediations::routes::RemediationsApi),
        (path = "/api/v1", api = crate::approvals::routes::ApprovalsApi),
        (path = "/api/v1", api = crate::executions::routes::ExecutionsApi),
        (path = "/api/v1", api = crate::audit::routes::AuditApi),
        (path = "/api/v1", api = crate::events::routes::EventsApi),
        (path = "/api/v1", api = crate::monitoring::routes::MonitoringApi),
        (path = "/api/v1", api = crate::alerts::routes::AlertsApi),
        (path = "/api/v1", api = crate::ops::routes::OpsApi),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign in and out; who am I"),
        (name = "users", description = "Accounts and roles (admins)"),
        (name = "servers", description = "Installer and compliance server registry"),
        (name = "assessments", description = "Compliance assessments and their review"),
        (name = "work", description = "The queue servers pull tasks from"),
        (name = "remediations", description = "Remediation proposals"),
        (name = "approvals", description = "Approval tokens and approvers' decisions"),
        (name = "executions", description = "Released remediations, run by installers"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "events", description = "Live events over WebSocket"),
        (name = "monitoring", description = "System metrics, service health, Prometheus"),
        (name = "alerts", description = "Alert rules and the alerts they raise"),
        (name = "ops", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A user's token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A registered server's own key",
            ))),
        );
        components.add_security_scheme(
            "enrollment_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Enrollment-Key",
                "A single-use key an admin created for enrolling one server",
            ))),
        );
    }
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
