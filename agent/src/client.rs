//! Talking to the coordinator: enrollment, the API key kept on disk, and every call a
//! server makes. Errors say whether trying again later can help.

use coordinator_api::assessments::AssessmentResults;
use coordinator_api::executions::{CompleteRequest, ProgressRequest};
use coordinator_api::remediations::{ProposeRequest, ProposeResponse};
use coordinator_api::servers::{
    HealthReport, PingRequest, RegisterServerRequest, RegisterServerResponse,
};
use coordinator_api::work::{ClaimRequest, ClaimResponse, HeartbeatRequest, Task, TaskKind};
use coordinator_api::{AssessmentId, ErrorBody, ExecutionId, Secret, TaskId};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The coordinator could not be reached, or failed inside: worth retrying.
    #[error("the coordinator is unavailable: {0}")]
    Unavailable(String),
    /// The coordinator refused the request: retrying the same request will not help.
    #[error("the coordinator refused: {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

impl ClientError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ClientError::Unavailable(_))
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            ClientError::Unavailable(_) => None,
        }
    }
}

/// Who the request is sent as.
enum Credential<'a> {
    ApiKey(&'a Secret),
    EnrollmentKey(&'a str),
}

#[derive(Clone)]
pub struct Coordinator {
    http: reqwest::Client,
    base: String,
}

impl Coordinator {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Long enough for the longest long-poll the coordinator allows.
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("coordinator-agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: format!("{}/api/v1", base_url.trim_end_matches('/')),
        })
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        credential: Credential<'_>,
        body: Option<&B>,
    ) -> Result<Option<T>, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        request = match credential {
            Credential::ApiKey(key) => request.header("X-API-Key", key.expose()),
            Credential::EnrollmentKey(key) => request.header("X-Enrollment-Key", key),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ClientError::Unavailable(format!("unexpected answer: {e}")));
        }
        if status.is_server_error() {
            return Err(ClientError::Unavailable(format!("status {status}")));
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => (body.error.code.to_string(), body.error.message),
            Err(_) => (
                "unknown".to_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ),
        };
        Err(ClientError::Refused {
            status: status.as_u16(),
            code,
            message,
        })
    }

    async fn answered<T>(result: Result<Option<T>, ClientError>) -> Result<T, ClientError> {
        result?.ok_or_else(|| ClientError::Unavailable("an empty answer".to_owned()))
    }

    pub async fn enroll(
        &self,
        enrollment_key: &str,
        registration: &RegisterServerRequest,
    ) -> Result<RegisterServerResponse, ClientError> {
        Self::answered(
            self.call(
                Method::POST,
                "/servers/register",
                Credential::EnrollmentKey(enrollment_key),
                Some(registration),
            )
            .await,
        )
        .await
    }

    /// Re-registers with the server's own key: refreshes what it offers and rotates the key.
    pub async fn reregister(
        &self,
        api_key: &Secret,
        registration: &RegisterServerRequest,
    ) -> Result<RegisterServerResponse, ClientError> {
        Self::answered(
            self.call(
                Method::POST,
                "/servers/register",
                Credential::ApiKey(api_key),
                Some(registration),
            )
            .await,
        )
        .await
    }
}

/// A registered server's view of the coordinator.
#[derive(Clone)]
pub struct Session {
    pub coordinator: Coordinator,
    pub server_id: String,
    api_key: Secret,
}

impl Session {
    pub fn new(coordinator: Coordinator, server_id: String, api_key: Secret) -> Self {
        Self {
            coordinator,
            server_id,
            api_key,
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<T>, ClientError> {
        self.coordinator
            .call(
                Method::POST,
                path,
                Credential::ApiKey(&self.api_key),
                Some(body),
            )
            .await
    }

    pub async fn ping(&self, health: Option<HealthReport>) -> Result<(), ClientError> {
        let _: Option<serde_json::Value> = self
            .post(
                &format!("/servers/{}/ping", self.server_id),
                &PingRequest { health },
            )
            .await?;
        Ok(())
    }

    pub async fn claim(
        &self,
        kind: TaskKind,
        lease_seconds: u32,
        wait_seconds: u32,
    ) -> Result<Option<Task>, ClientError> {
        let request = ClaimRequest {
            kinds: Some(vec![kind]),
            lease_seconds: Some(lease_seconds),
            wait_seconds: Some(wait_seconds),
        };
        Ok(self
            .post::<_, ClaimResponse>("/work/claim", &request)
            .await?
            .map(|answer| answer.task))
    }

    pub async fn heartbeat(&self, task: TaskId, lease_seconds: u32) -> Result<(), ClientError> {
        let request = HeartbeatRequest {
            lease_seconds: Some(lease_seconds),
        };
        let _: Option<serde_json::Value> = self
            .post(&format!("/work/{task}/heartbeat"), &request)
            .await?;
        Ok(())
    }

    pub async fn report_results(
        &self,
        assessment: AssessmentId,
        results: &AssessmentResults,
    ) -> Result<(), ClientError> {
        let _: Option<serde_json::Value> = self
            .post(&format!("/assessments/{assessment}/results"), results)
            .await?;
        Ok(())
    }

    pub async fn propose(&self, request: &ProposeRequest) -> Result<ProposeResponse, ClientError> {
        Coordinator::answered(self.post("/remediations/propose", request).await).await
    }

    pub async fn progress(
        &self,
        execution: ExecutionId,
        request: &ProgressRequest,
    ) -> Result<(), ClientError> {
        let _: Option<serde_json::Value> = self
            .post(
                &format!("/remediations/execution/{execution}/progress"),
                request,
            )
            .await?;
        Ok(())
    }

    pub async fn complete(
        &self,
        execution: ExecutionId,
        request: &CompleteRequest,
    ) -> Result<(), ClientError> {
        let _: Option<serde_json::Value> = self
            .post(
                &format!("/remediations/execution/{execution}/complete"),
                request,
            )
            .await?;
        Ok(())
    }
}

/// Where a role's API key is kept between runs.
pub fn key_file(state_dir: &Path, server_id: &str) -> PathBuf {
    state_dir.join(format!("{server_id}.api-key"))
}

/// Keeps the key readable by the agent's user only.
pub fn save_key(path: &Path, key: &Secret) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(key.expose().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

pub fn load_key(path: &Path) -> Option<Secret> {
    let text = std::fs::read_to_string(path).ok()?;
    let key = text.trim();
    (!key.is_empty()).then(|| Secret::new(key))
}

/// Retries `attempt` while the coordinator is unavailable, waiting longer each time (up to
/// `max_wait`), until it answers or `stop` says to give up.
pub async fn with_backoff<T, F, Fut>(
    what: &str,
    stop: &tokio::sync::watch::Receiver<bool>,
    mut attempt: F,
) -> Option<Result<T, ClientError>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut wait = Duration::from_millis(500);
    let max_wait = Duration::from_secs(30);
    loop {
        if *stop.borrow() {
            return None;
        }
        match attempt().await {
            Err(err) if err.is_retryable() => {
                tracing::warn!(error = %err, retry_in = ?wait, "{what} failed; retrying");
                let mut stop = stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return None,
                }
                wait = (wait * 2).min(max_wait);
            }
            other => return Some(other),
        }
    }
}
