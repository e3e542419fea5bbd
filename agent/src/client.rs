//! Talking to the coordinator: enrollment, the API key kept on disk, and every call a
//! server makes. Errors say whether trying again later can help.

use crate::files;
use backon::{ExponentialBuilder, Retryable};
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The coordinator could not be reached, or failed inside: worth retrying.
    #[error("the coordinator is unavailable: {0}")]
    Unavailable(String),
    /// The coordinator refused the request, or answered something this agent cannot read:
    /// retrying the same request will not help.
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

    /// The key this request was sent with is not (or no longer) valid.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ClientError::Refused { status: 401, .. })
    }
}

/// Who the request is sent as.
enum Credential<'a> {
    ApiKey(&'a Secret),
    EnrollmentKey(&'a Secret),
}

#[derive(Clone)]
pub struct Coordinator {
    http: reqwest::Client,
    base: String,
}

/// A success answer whose body is not what was expected. Retrying would only get the same
/// body again, so it counts as a refusal rather than an outage.
fn undecodable(status: StatusCode, why: impl std::fmt::Display) -> ClientError {
    ClientError::Refused {
        status: status.as_u16(),
        code: "undecodable_answer".to_owned(),
        message: format!("the answer cannot be read: {why}"),
    }
}

/// Why a request got no answer, with every cause: reqwest's own message only names the URL,
/// and the cause (a refused connection, a certificate not trusted) is what a person needs.
fn unanswered(err: &reqwest::Error) -> ClientError {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_connect() && message.contains("certificate") {
        message.push_str(
            " (if the coordinator's certificate is issued by a private authority, give that \
             authority's certificate as ca_file in agent.toml)",
        );
    }
    ClientError::Unavailable(message)
}

/// The certificates in the PEM file `path`, to be trusted besides the public authorities.
fn private_authority(path: &Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    use anyhow::Context;
    let pem =
        std::fs::read(path).with_context(|| format!("cannot read ca_file `{}`", path.display()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("ca_file `{}` is not PEM certificates", path.display()))?;
    if certificates.is_empty() {
        anyhow::bail!("ca_file `{}` holds no certificate", path.display());
    }
    Ok(certificates)
}

impl Coordinator {
    /// A client for the coordinator at `base_url`, trusting the public authorities and, when
    /// given, the certificates in `ca_file`.
    pub fn new(base_url: &str, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder();
        if let Some(path) = ca_file {
            for certificate in private_authority(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder
            .connect_timeout(Duration::from_secs(5))
            // Long enough for the longest long-poll the coordinator allows.
            .timeout(Duration::from_secs(60))
            // Every request carries a key; a redirect must not carry it to another host.
            .redirect(reqwest::redirect::Policy::none())
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
            Credential::EnrollmentKey(key) => request.header("X-Enrollment-Key", key.expose()),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| unanswered(&e))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|e| unanswered(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| undecodable(status, e));
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

    /// The body of an answer that must have one.
    fn answered<T>(result: Result<Option<T>, ClientError>) -> Result<T, ClientError> {
        result?.ok_or_else(|| undecodable(StatusCode::NO_CONTENT, "it is empty"))
    }

    pub async fn enroll(
        &self,
        enrollment_key: &Secret,
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
    }
}

/// A registered server's view of the coordinator.
///
/// Clones share the key, so that when one loop signs in again (the key was revoked or
/// rotated elsewhere) every other loop of the same role uses the new key from then on.
#[derive(Clone)]
pub struct Session {
    pub coordinator: Coordinator,
    pub server_id: String,
    /// The key, and how many times it has been replaced.
    key: Arc<RwLock<(u64, Secret)>>,
}

impl Session {
    pub fn new(coordinator: Coordinator, server_id: String, api_key: Secret) -> Self {
        Self {
            coordinator,
            server_id,
            key: Arc::new(RwLock::new((0, api_key))),
        }
    }

    /// Changes whenever the key is replaced: a loop that saw its key refused compares it with
    /// the value it read before, to tell whether someone else already signed in again.
    pub fn generation(&self) -> u64 {
        self.key.read().unwrap_or_else(PoisonError::into_inner).0
    }

    pub fn replace_key(&self, api_key: Secret) {
        let mut slot = self.key.write().unwrap_or_else(PoisonError::into_inner);
        *slot = (slot.0.wrapping_add(1), api_key);
    }

    fn api_key(&self) -> Secret {
        self.key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<T>, ClientError> {
        // Copied out, so that no lock is held across the request.
        let key = self.api_key();
        self.coordinator
            .call(Method::POST, path, Credential::ApiKey(&key), Some(body))
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
        Coordinator::answered(self.post("/remediations/propose", request).await)
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
    let mut temporary = files::temp_file_next_to(path)?;
    temporary.write_all(key.expose().as_bytes())?;
    temporary.as_file().sync_all()?;
    files::persist(temporary, path)
}

/// Narrows a kept key file to its owner, should it have been made readable by others since
/// (copied around, or written by an older agent).
pub fn restrict_key_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub fn load_key(path: &Path) -> Option<Secret> {
    let text = std::fs::read_to_string(path).ok()?;
    let key = text.trim();
    (!key.is_empty()).then(|| Secret::new(key))
}

const FIRST_WAIT: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The waits between attempts: from half a second, doubling up to 30 seconds, each scaled by
/// a random factor between one half and one, so that agents that lost the coordinator at the
/// same moment do not all come back at the same moment. backon's jitter adds up to the whole
/// delay again, hence the halved bounds.
fn waits() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_WAIT / 2)
        .with_max_delay(MAX_WAIT / 2)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
}

/// Retries `attempt` while the coordinator is unavailable, waiting longer each time (up to
/// 30 seconds, with jitter), until it answers or `stop` says to give up. An attempt under way
/// is never cut short: a claim the coordinator granted must reach the agent.
pub async fn with_backoff<T, F, Fut>(
    what: &str,
    stop: &tokio::sync::watch::Receiver<bool>,
    mut attempt: F,
) -> Option<Result<T, ClientError>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    // Set when a wait ends early because `stop` changed (or its sender is gone).
    let interrupted = Arc::new(AtomicBool::new(false));
    let halted = {
        let interrupted = interrupted.clone();
        let stop = stop.clone();
        move || interrupted.load(Ordering::Relaxed) || *stop.borrow()
    };
    let sleep = {
        let interrupted = interrupted.clone();
        let stop = stop.clone();
        move |pause: Duration| {
            let interrupted = interrupted.clone();
            let mut stop = stop.clone();
            async move {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => interrupted.store(true, Ordering::Relaxed),
                }
            }
        }
    };
    // `None` stands for "stopped", which ends the retries like a refusal would.
    let result = (|| {
        let started = (!halted()).then(&mut attempt);
        async move {
            match started {
                Some(attempt) => attempt.await.map_err(Some),
                None => Err(None),
            }
        }
    })
    .retry(waits())
    .sleep(sleep)
    .when(|err: &Option<ClientError>| err.as_ref().is_some_and(ClientError::is_retryable))
    .notify(|err: &Option<ClientError>, pause| {
        if let Some(err) = err {
            tracing::warn!(error = %err, retry_in = ?pause, "{what} failed; retrying");
        }
    })
    .await;
    match result {
        Ok(value) => Some(Ok(value)),
        Err(Some(err)) => Some(Err(err)),
        Err(None) => None,
    }
}

/// Retries `attempt` while the coordinator is unavailable, for at most `budget`. For the
/// reports that end a task: they are worth waiting for, but not forever, and not stopped by a
/// shutdown (the task in hand is always finished).
pub async fn with_retries<T, F, Fut>(
    what: &str,
    budget: Duration,
    attempt: F,
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let started = Instant::now();
    attempt
        .retry(waits())
        .when(ClientError::is_retryable)
        // The budget counts the attempts' own time too, not only the waits.
        .adjust(|_, pause| pause.filter(|pause| started.elapsed() + *pause <= budget))
        .notify(|err, pause| {
            tracing::warn!(error = %err, retry_in = ?pause, "{what} failed; retrying");
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "agent-client-{name}-{}-{}",
            std::process::id(),
            crate::files::random_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keys_are_saved_privately_and_nothing_is_left_behind() {
        let dir = scratch("save");
        let path = key_file(&dir, "laptop");
        save_key(&path, &Secret::new("mck_one")).unwrap();
        save_key(&path, &Secret::new("mck_two")).unwrap();
        assert_eq!(load_key(&path).unwrap().expose(), "mck_two");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            restrict_key_file(&path).unwrap();
            assert_eq!(mode(&path), 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A coordinator that gives every request the same raw HTTP answer.
    fn canned(answer: &'static str) -> Session {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        let coordinator = Coordinator::new(&format!("http://{address}"), None).unwrap();
        Session::new(coordinator, "laptop".to_owned(), Secret::new("mck_key"))
    }

    #[tokio::test]
    async fn answers_are_sorted_into_retry_and_refusal() {
        let garbled = canned(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\nconnection: close\r\n\r\nnot json",
        );
        let err = garbled
            .claim(TaskKind::Assessment, 30, 1)
            .await
            .unwrap_err();
        assert!(
            !err.is_retryable(),
            "an unreadable answer is not retried: {err}"
        );

        // The key must not follow a redirect to wherever it points.
        let moved = canned(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/steal\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        let err = moved.ping(None).await.unwrap_err();
        assert!(
            matches!(err, ClientError::Refused { status: 307, .. }),
            "{err}"
        );

        let down = canned(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        assert!(down.ping(None).await.unwrap_err().is_retryable());

        let revoked = canned(
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        );
        assert!(revoked.ping(None).await.unwrap_err().is_unauthorized());
    }

    /// A coordinator over HTTPS, its certificate for 127.0.0.1 issued by a private
    /// authority made for the test; the authority's certificate goes to `ca_file`. It
    /// answers every request with 200 and an empty JSON object.
    fn private_tls_coordinator(ca_file: &Path) -> String {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        use std::io::{Read, Write};

        let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
        authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        authority
            .distinguished_name
            .push(DnType::CommonName, "Test coordinator authority");
        let authority =
            CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(ca_file, authority.pem()).unwrap();
        let key = KeyPair::generate().unwrap();
        let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &authority)
            .unwrap();

        // ring is the only crypto provider built in, so it is the one the builder takes.
        let tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let tls = Arc::new(tls);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let Ok(connection) = rustls::ServerConnection::new(tls.clone()) else {
                    return;
                };
                let mut stream = rustls::StreamOwned::new(connection, stream);
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                // A client that does not trust the certificate hangs up in the handshake.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
                stream.conn.send_close_notify();
                let _ = stream.flush();
            }
        });
        format!("https://{address}")
    }

    #[tokio::test]
    async fn https_works_with_the_private_authority_in_ca_file_and_only_then() {
        let dir = std::env::temp_dir().join(format!(
            "agent-tls-{}-{}",
            std::process::id(),
            crate::files::random_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_file = dir.join("ca.pem");
        let url = private_tls_coordinator(&ca_file);

        let trusting = Coordinator::new(&url, Some(&ca_file)).unwrap();
        let session = Session::new(trusting, "laptop".to_owned(), Secret::new("mck_key"));
        session.ping(None).await.unwrap();

        let untrusting = Coordinator::new(&url, None).unwrap();
        let session = Session::new(untrusting, "laptop".to_owned(), Secret::new("mck_key"));
        let err = session.ping(None).await.unwrap_err().to_string();
        assert!(err.contains("certificate"), "{err}");
        assert!(err.contains("ca_file"), "{err}");

        let missing = Coordinator::new(&url, Some(&dir.join("nope.pem")));
        let err = format!("{:#}", missing.err().unwrap());
        assert!(err.contains("cannot read ca_file"), "{err}");
        std::fs::write(dir.join("junk.pem"), "not a certificate").unwrap();
        let junk = Coordinator::new(&url, Some(&dir.join("junk.pem")));
        assert!(format!("{:#}", junk.err().unwrap()).contains("ca_file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_replaced_key_changes_the_generation() {
        let coordinator = Coordinator::new("http://127.0.0.1:1", None).unwrap();
        let session = Session::new(coordinator, "laptop".to_owned(), Secret::new("old"));
        let copy = session.clone();
        let before = copy.generation();
        session.replace_key(Secret::new("new"));
        assert_ne!(copy.generation(), before);
        assert_eq!(copy.api_key().expose(), "new", "clones share the key");
    }

    #[test]
    fn jitter_stays_between_half_and_whole() {
        for _ in 0..100 {
            let mut whole = FIRST_WAIT;
            for wait in waits().build().take(10) {
                assert!(wait >= whole / 2 && wait <= whole, "{wait:?} for {whole:?}");
                whole = (whole * 2).min(MAX_WAIT);
            }
        }
    }

    #[tokio::test]
    async fn backing_off_ends_when_asked_to_stop_without_cutting_an_attempt_short() {
        let (stopper, stop) = tokio::sync::watch::channel(true);
        let mut calls = 0;
        let result: Option<Result<(), _>> = with_backoff("test", &stop, || {
            calls += 1;
            async { Ok(()) }
        })
        .await;
        assert!(result.is_none());
        assert_eq!(calls, 0, "stopped before the first attempt");

        stopper.send_replace(false);
        let mut calls = 0;
        let result: Option<Result<(), _>> = with_backoff("test", &stop, || {
            calls += 1;
            let stopper = &stopper;
            async move {
                // Asked to stop during the attempt: it still ends, then no other starts.
                stopper.send_replace(true);
                Err(ClientError::Unavailable("down".to_owned()))
            }
        })
        .await;
        assert!(result.is_none());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn retries_stop_at_the_budget_and_on_a_refusal() {
        let mut calls = 0;
        let result: Result<(), _> = with_retries("test", Duration::from_millis(600), || {
            calls += 1;
            async { Err(ClientError::Unavailable("down".to_owned())) }
        })
        .await;
        assert!(result.is_err_and(|e| e.is_retryable()));
        assert!((1..=3).contains(&calls), "{calls} calls");

        let mut calls = 0;
        let result: Result<(), _> = with_retries("test", Duration::from_secs(60), || {
            calls += 1;
            async {
                Err(ClientError::Refused {
                    status: 409,
                    code: "conflict".to_owned(),
                    message: String::new(),
                })
            }
        })
        .await;
        assert!(result.is_err_and(|e| !e.is_retryable()));
        assert_eq!(calls, 1);
    }
}
