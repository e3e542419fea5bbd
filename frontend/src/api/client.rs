use super::{ApiError, HttpRequest, Method, Transport};
use coordinator_api::alerts::{
    AlertListResponse, AlertQuery, AlertRuleListResponse, AlertRuleRequest, AlertRuleResponse,
};
use coordinator_api::approvals::{
    ApprovalRequest, ApprovalResponse, ApprovalTokenRequest, ApprovalTokenResponse, Decision,
};
use coordinator_api::assessments::{
    AssessmentPage, AssessmentQuery, AssessmentResponse, ReviewRequest,
};
use coordinator_api::audit::{AuditLogPage, AuditQuery, AuditVerifyResponse, ExportFormat};
use coordinator_api::auth::{LoginRequest, LoginResponse, PermissionsResponse, SuccessResponse};
use coordinator_api::executions::{ExecuteRequest, ExecuteResponse, ExecutionResponse};
use coordinator_api::machines::MachineListResponse;
use coordinator_api::monitoring::{
    MetricsHistoryQuery, MetricsHistoryResponse, SystemMetricsResponse,
};
use coordinator_api::remediations::{ProposalPage, ProposalQuery, ProposalResponse};
use coordinator_api::servers::{
    EnrollmentKeyRequest, EnrollmentKeyResponse, ServerListResponse, ServerResponse,
};
use coordinator_api::users::{
    CreateUserRequest, UpdateUserRequest, UserListResponse, UserResponse,
};
use coordinator_api::{AssessmentId, ExecutionId, ProposalId, Secret, ServerId, UserId};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A file the coordinator produced (an audit export, say), ready to be saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The client. Cheap to clone; holds the bearer token of the signed-in person, if any.
#[derive(Debug, Clone)]
pub struct Api<T: Transport> {
    transport: T,
    token: Option<String>,
}

/// Encodes a query struct; `None` fields are left out.
fn query<Q: Serialize>(path: &str, query: &Q) -> Result<String, ApiError> {
    let encoded = serde_urlencoded::to_string(query)
        .map_err(|err| ApiError::unreadable(format!("the filter cannot be encoded: {err}")))?;
    Ok(if encoded.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{encoded}")
    })
}

/// A path segment, escaped: server ids are chosen by servers, so any character may come
/// and none may be lost (an empty segment would address another resource).
fn segment(value: &str) -> String {
    crate::address::percent_encode(value)
}

impl<T: Transport> Api<T> {
    pub fn new(transport: T, token: Option<String>) -> Self {
        Self { transport, token }
    }

    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            transport: self.transport.clone(),
            token,
        }
    }

    async fn raw(
        &self,
        method: Method,
        path: String,
        body: Option<String>,
    ) -> Result<super::HttpResponse, ApiError> {
        let response = self
            .transport
            .send(HttpRequest {
                method,
                path,
                bearer: self.token.clone(),
                body,
            })
            .await
            .map_err(ApiError::network)?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(ApiError::from_response(response.status, &response.body))
        }
    }

    async fn call<R: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<String>,
    ) -> Result<R, ApiError> {
        let response = self.raw(method, path, body).await?;
        serde_json::from_slice(&response.body).map_err(ApiError::unreadable)
    }

    async fn get<R: DeserializeOwned>(&self, path: String) -> Result<R, ApiError> {
        self.call(Method::Get, path, None).await
    }

    async fn send<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: &B,
    ) -> Result<R, ApiError> {
        let body = serde_json::to_string(body).map_err(ApiError::unreadable)?;
        self.call(method, path, Some(body)).await
    }

    // Sign in and out.

    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, ApiError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: Secret::new(password),
        };
        self.send(Method::Post, "/auth/login".to_owned(), &body)
            .await
    }

    pub async fn logout(&self) -> Result<SuccessResponse, ApiError> {
        self.call(Method::Post, "/auth/logout".to_owned(), None)
            .await
    }

    pub async fn permissions(&self) -> Result<PermissionsResponse, ApiError> {
        self.get("/auth/permissions".to_owned()).await
    }

    /// A single-use approval token for one decision, asked for right before it is used.
    pub async fn approval_token(
        &self,
        reason: &str,
        proposal: Option<ProposalId>,
    ) -> Result<Secret, ApiError> {
        let body = ApprovalTokenRequest {
            reason: reason.to_owned(),
            expires_at: None,
            proposal_id: proposal,
        };
        let answer: ApprovalTokenResponse = self
            .send(Method::Post, "/auth/approval-token".to_owned(), &body)
            .await?;
        Ok(answer.approval_token)
    }

    // Assessments.

    pub async fn assessments(&self, filter: &AssessmentQuery) -> Result<AssessmentPage, ApiError> {
        self.get(query("/assessments", filter)?).await
    }

    pub async fn assessment(&self, id: AssessmentId) -> Result<AssessmentResponse, ApiError> {
        self.get(format!("/assessments/{id}")).await
    }

    /// Approves or rejects an assessment's results, with a fresh approval token.
    pub async fn review(
        &self,
        id: AssessmentId,
        decision: Decision,
        reason: &str,
    ) -> Result<AssessmentResponse, ApiError> {
        let token = self.approval_token(reason, None).await?;
        let body = ReviewRequest {
            decision,
            reason: reason.to_owned(),
            approval_token: token,
        };
        self.send(Method::Post, format!("/assessments/{id}/review"), &body)
            .await
    }

    // Remediations, approvals and executions.

    pub async fn proposals(&self, filter: &ProposalQuery) -> Result<ProposalPage, ApiError> {
        self.get(query("/remediations", filter)?).await
    }

    pub async fn proposal(&self, id: ProposalId) -> Result<ProposalResponse, ApiError> {
        self.get(format!("/remediations/{id}")).await
    }

    /// Records one approver's decision on a proposal, with a token bound to that proposal.
    pub async fn decide(
        &self,
        id: ProposalId,
        decision: Decision,
        reason: &str,
    ) -> Result<ApprovalResponse, ApiError> {
        let token = self.approval_token(reason, Some(id)).await?;
        let body = ApprovalRequest {
            approval_id: None,
            proposal_id: id,
            decision,
            reason: reason.to_owned(),
            approval_token: token,
        };
        self.send(Method::Post, "/approvals".to_owned(), &body)
            .await
    }

    /// Releases an approved proposal to its installer.
    pub async fn execute(
        &self,
        id: ProposalId,
        dry_run: bool,
        rollback_on_failure: bool,
        parallel_execution: bool,
    ) -> Result<ExecuteResponse, ApiError> {
        let token = self
            .approval_token("release the approved remediation", Some(id))
            .await?;
        let body = ExecuteRequest {
            proposal_id: id,
            approval_token: token,
            dry_run,
            rollback_on_failure,
            parallel_execution,
        };
        self.send(Method::Post, "/remediations/execute".to_owned(), &body)
            .await
    }

    pub async fn execution(&self, id: ExecutionId) -> Result<ExecutionResponse, ApiError> {
        self.get(format!("/remediations/execution/{id}")).await
    }

    // Audit.

    pub async fn audit_logs(&self, filter: &AuditQuery) -> Result<AuditLogPage, ApiError> {
        let filter = AuditQuery {
            format: None,
            ..filter.clone()
        };
        self.get(query("/audit/logs", &filter)?).await
    }

    /// The whole log under `filter` (paging fields ignored) as a file.
    pub async fn audit_export(
        &self,
        filter: &AuditQuery,
        format: ExportFormat,
    ) -> Result<Download, ApiError> {
        let filter = AuditQuery {
            limit: None,
            offset: None,
            cursor: None,
            format: Some(format),
            ..filter.clone()
        };
        let response = self
            .raw(Method::Get, query("/audit/export", &filter)?, None)
            .await?;
        Ok(Download {
            content_type: response
                .content_type
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            bytes: response.body,
        })
    }

    pub async fn audit_verify(&self) -> Result<AuditVerifyResponse, ApiError> {
        self.get("/audit/verify".to_owned()).await
    }

    // Monitoring and alerts.

    pub async fn system_metrics(&self) -> Result<SystemMetricsResponse, ApiError> {
        self.get("/metrics/system".to_owned()).await
    }

    pub async fn metrics_history(
        &self,
        filter: &MetricsHistoryQuery,
    ) -> Result<MetricsHistoryResponse, ApiError> {
        self.get(query("/metrics/history", filter)?).await
    }

    pub async fn alerts(&self, filter: &AlertQuery) -> Result<AlertListResponse, ApiError> {
        self.get(query("/alerts", filter)?).await
    }

    pub async fn alert_rules(&self) -> Result<AlertRuleListResponse, ApiError> {
        self.get("/alerts/rules".to_owned()).await
    }

    pub async fn save_alert_rule(
        &self,
        rule: &AlertRuleRequest,
    ) -> Result<AlertRuleResponse, ApiError> {
        self.send(Method::Post, "/alerts/rules".to_owned(), rule)
            .await
    }

    pub async fn delete_alert_rule(&self, id: i64) -> Result<SuccessResponse, ApiError> {
        self.call(Method::Delete, format!("/alerts/rules/{id}"), None)
            .await
    }

    // Servers.

    pub async fn servers(&self) -> Result<ServerListResponse, ApiError> {
        self.get("/servers".to_owned()).await
    }

    /// Every machine with a registered server, and whether it can be assessed and changed now.
    pub async fn machines(&self) -> Result<MachineListResponse, ApiError> {
        self.get("/machines".to_owned()).await
    }

    pub async fn server(&self, id: &ServerId) -> Result<ServerResponse, ApiError> {
        self.get(format!("/servers/{}", segment(id.as_str()))).await
    }

    pub async fn create_enrollment_key(
        &self,
        request: &EnrollmentKeyRequest,
    ) -> Result<EnrollmentKeyResponse, ApiError> {
        self.send(Method::Post, "/servers/enrollment-keys".to_owned(), request)
            .await
    }

    // Users.

    pub async fn users(&self) -> Result<UserListResponse, ApiError> {
        self.get("/users".to_owned()).await
    }

    pub async fn create_user(&self, request: &CreateUserRequest) -> Result<UserResponse, ApiError> {
        self.send(Method::Post, "/users".to_owned(), request).await
    }

    pub async fn update_user(
        &self,
        id: UserId,
        request: &UpdateUserRequest,
    ) -> Result<UserResponse, ApiError> {
        self.send(Method::Patch, format!("/users/{id}"), request)
            .await
    }

    /// Removes a server from the registry; its API key stops working at once.
    pub async fn delete_server(&self, id: &ServerId) -> Result<SuccessResponse, ApiError> {
        self.call(
            Method::Delete,
            format!("/servers/{}", segment(id.as_str())),
            None,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn segments_escape_everything_but_unreserved_characters() {
        assert_eq!(
            segment("compliance-01.eu_west~2"),
            "compliance-01.eu_west~2"
        );
        assert_eq!(segment("a b/c?d#e%f+g"), "a%20b%2Fc%3Fd%23e%25f%2Bg");
        assert_eq!(segment("ü"), "%C3%BC");
    }
}
