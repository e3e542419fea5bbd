//! `TestApp`: a real coordinator on port 0 against a real database, with typed helpers.
//!
//! Every case runs twice through `dual_test!`: once on a fresh SQLite file, once on a fresh
//! Postgres database (created per test, dropped after). Postgres is expected at
//! `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`); when it cannot
//! be reached the Postgres cases fail rather than skip. Set `TEST_LOG=debug` to see logs.

use coordinator::audit::entity::audit_log;
use coordinator::config::{Config, Source};
use coordinator::state::AppState;
use coordinator::{Application, audit};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DbBackend, EntityTrait, QueryOrder, Statement};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";
pub const AUDIT_KEY: &str = "test-audit-key-0123456789abcdef0123456789";
pub const ENCRYPTION_KEY: &str = "test-encryption-key-0123456789abcdef0123";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const PASSWORD: &str = "a-long-enough-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares a test that runs on both databases: `dual_test!(name, |app| async move { .. });`
#[macro_export]
macro_rules! dual_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await;
                ($body)(&app).await;
                app.teardown().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await;
                ($body)(&app).await;
                app.teardown().await;
            }
        }
    };
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static TRACING: Once = Once::new();

/// `prefix_<unix seconds>_<pid>_<n>`: the time lets a later run tell abandoned databases from
/// those of a run still going.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        chrono::Utc::now().timestamp(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
    )
}

/// Abandoned test databases are dropped once they are this old.
const STALE_AFTER_SECONDS: i64 = 6 * 3600;

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, database: &str) -> String {
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(url);
    format!("{base}/{database}")
}

/// Drops databases left behind long ago by runs that died before their teardown; a run still
/// going elsewhere keeps its own.
async fn drop_stale_databases(admin: &sea_orm::DatabaseConnection) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'coordinator_test_%'",
        ))
        .await
        .expect("listing test databases");
    let cutoff = chrono::Utc::now().timestamp() - STALE_AFTER_SECONDS;
    for row in rows {
        let name: String = row.try_get("", "datname").expect("datname");
        let created: i64 = name
            .trim_start_matches("coordinator_test_")
            .split('_')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if created < cutoff {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

static STALE_SWEEP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub data_dir: PathBuf,
    pub vars: Vec<(String, String)>,
    /// The in-process server; `None` for a coordinator run as a separate process.
    pub server: Option<actix_web::dev::ServerHandle>,
    postgres_database: Option<String>,
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// Asserts the contract's error shape and returns the code.
    pub fn error_code(&self) -> &str {
        assert_eq!(
            self.body["success"],
            json!(false),
            "not an error body: {}",
            self.text
        );
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text))
    }
}

/// Who a request is sent as.
#[derive(Debug, Clone)]
pub enum As {
    Nobody,
    Bearer(String),
    ApiKey(String),
    EnrollmentKey(String),
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts a coordinator with the test defaults plus `extra` settings.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        TRACING.call_once(|| {
            if let Ok(level) = std::env::var("TEST_LOG") {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(level)
                    .with_test_writer()
                    .try_init();
            }
        });
        let data_dir = std::env::temp_dir().join(unique("coordinator-test"));
        std::fs::create_dir_all(&data_dir).expect("creating the test data dir");
        let mut vars: Vec<(String, String)> = vec![
            ("DATA_DIR".into(), data_dir.to_string_lossy().into_owned()),
            ("PORT".into(), "0".into()),
            ("HOST".into(), "127.0.0.1".into()),
            ("JWT_SECRET".into(), JWT_SECRET.into()),
            ("AUDIT_KEY".into(), AUDIT_KEY.into()),
            ("ENCRYPTION_KEY".into(), ENCRYPTION_KEY.into()),
            ("ADMIN_USERNAME".into(), "admin".into()),
            ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("DB_MAX_CONNECTIONS".into(), "5".into()),
        ];
        let mut postgres_database = None;
        if backend == Backend::Postgres {
            let admin_url = postgres_admin_url();
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("Postgres must be reachable at {admin_url} for the Postgres tests: {e}")
            });
            STALE_SWEEP
                .get_or_init(|| drop_stale_databases(&admin))
                .await;
            let name = unique("coordinator_test");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("creating the test database");
            admin.close().await.ok();
            vars.push(("DATABASE_URL".into(), with_database(&admin_url, &name)));
            postgres_database = Some(name);
        }
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).to_owned(), (*value).to_owned()));
        }
        let config = Config::load(&Source::from_pairs(vars.clone())).expect("test configuration");
        let app = Application::build(config)
            .await
            .expect("building the application");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let server = Some(app.handle());
        tokio::spawn(app.run_until_stopped());
        Self {
            backend,
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            state,
            data_dir,
            vars,
            server,
            postgres_database,
        }
    }

    /// Stops this coordinator and starts it again on the same port and database, as an
    /// operator restarting the service would.
    pub async fn restart(&mut self) {
        self.server
            .take()
            .expect("an in-process coordinator")
            .stop(true)
            .await;
        let port = self.address.rsplit(':').next().expect("a port").to_owned();
        let mut vars = self.vars.clone();
        vars.retain(|(k, _)| k != "PORT");
        vars.push(("PORT".into(), port));
        let config = Config::load(&Source::from_pairs(vars)).expect("test configuration");
        let app = Application::build(config)
            .await
            .expect("restarting the application");
        self.state = app.state().clone();
        self.server = Some(app.handle());
        tokio::spawn(app.run_until_stopped());
    }

    pub async fn teardown(self) {
        if let Some(name) = &self.postgres_database {
            self.state.db.clone().close().await.ok();
            if let Ok(admin) = Database::connect(&postgres_admin_url()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                admin.close().await.ok();
            }
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api-docs") || path == "/health" || path == "/ready" {
            format!("{}{path}", self.address)
        } else {
            format!("{}/api/v1{path}", self.address)
        }
    }

    /// Sends a request; `body` of `None` sends no body.
    pub async fn send(&self, method: Method, path: &str, who: &As, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        request = match who {
            As::Nobody => request,
            As::Bearer(token) => request.bearer_auth(token),
            As::ApiKey(key) => request.header("X-API-Key", key),
            As::EnrollmentKey(key) => request.header("X-Enrollment-Key", key),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("reading a response");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
            text,
        }
    }

    /// Sends a raw body with a content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        who: &As,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let As::Bearer(token) = who {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("reading a response");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str, who: &As) -> Reply {
        self.send(Method::GET, path, who, None).await
    }

    pub async fn post(&self, path: &str, who: &As, body: Value) -> Reply {
        self.send(Method::POST, path, who, Some(body)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/login",
            &As::Nobody,
            json!({ "username": username, "password": password }),
        )
        .await
    }

    /// A fresh token of the bootstrap admin.
    pub async fn admin(&self) -> As {
        let reply = self.login("admin", ADMIN_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        As::Bearer(reply.body["token"].as_str().expect("token").to_owned())
    }

    /// Creates a user with `PASSWORD` and returns its id and a token.
    pub async fn user(&self, username: &str, role: &str) -> (i64, As) {
        let admin = self.admin().await;
        let created = self
            .post(
                "/users",
                &admin,
                json!({ "username": username, "password": PASSWORD, "role": role }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let reply = self.login(username, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        (
            created.body["user"]["id"].as_i64().expect("user id"),
            As::Bearer(reply.body["token"].as_str().expect("token").to_owned()),
        )
    }

    /// Registers a server of `kind` ("installer" or "compliance") as the admin; returns its key.
    pub async fn server(&self, kind: &str, id: &str) -> As {
        self.server_on(kind, id, None).await
    }

    /// Registers a server as `server` does, on `machine` (the machine `default` when `None`).
    pub async fn server_on(&self, kind: &str, id: &str, machine: Option<&str>) -> As {
        let admin = self.admin().await;
        let mut body = match kind {
            "installer" => json!({
                "installerId": id, "version": "1.0.0",
                "capabilities": ["install_server", "remove_server", "generate_config"],
                "contact": { "email": "ops@example.com" }
            }),
            _ => json!({
                "serverId": id, "version": "1.0.0",
                "tools": ["compliance_assessment", "generate_remediation_proposal"],
                "health": { "status": "healthy", "uptime": 10 }
            }),
        };
        if let Some(machine) = machine {
            body["machineId"] = json!(machine);
        }
        let reply = self.post("/servers/register", &admin, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        As::ApiKey(reply.body["apiKey"].as_str().expect("api key").to_owned())
    }

    /// Every audit row, oldest first, read straight from the database.
    pub async fn audit_rows(&self) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .order_by_asc(audit_log::Column::Id)
            .all(&self.state.db)
            .await
            .expect("reading audit rows")
    }

    /// Audit rows with this action, oldest first.
    pub async fn audit_rows_for(&self, action: &str) -> Vec<audit_log::Model> {
        self.audit_rows()
            .await
            .into_iter()
            .filter(|r| r.action == action)
            .collect()
    }

    pub async fn seal(&self) {
        audit::chain::seal_pending(&self.state.db, &self.state.audit_key)
            .await
            .expect("sealing the audit chain");
    }

    /// Runs SQL directly, as someone with access to the database would.
    pub async fn sql(&self, sql: &str) {
        self.state
            .db
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs the `coordinator` command line with this app's settings and nothing else.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_coordinator"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("running the coordinator command line")
    }

    /// Like `sql`, but returns the error instead of failing.
    pub async fn try_sql(&self, sql: &str) -> Result<(), sea_orm::DbErr> {
        self.state.db.execute_unprepared(sql).await.map(|_| ())
    }

    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.state.db.get_database_backend();
        let row = self
            .state
            .db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("counting rows")
            .expect("a count row");
        row.try_get::<i64>("", "n").expect("count")
    }

    /// Rebuilds `audit_logs` as a bare copy of itself, without its guards, unique indexes or
    /// defaults: what someone with full control of the database can always do.
    pub async fn rebuild_audit_table_without_constraints(&self) {
        self.sql("CREATE TABLE audit_logs_bare AS SELECT * FROM audit_logs")
            .await;
        self.sql("DROP TABLE audit_logs").await;
        self.sql("ALTER TABLE audit_logs_bare RENAME TO audit_logs")
            .await;
    }

    /// Lets the audit guards be bypassed, as an attacker with database access could.
    pub async fn disable_audit_guards(&self) {
        match self.backend {
            Backend::Sqlite => {
                self.sql("DROP TRIGGER audit_logs_no_update").await;
                self.sql("DROP TRIGGER audit_logs_no_delete").await;
            }
            Backend::Postgres => {
                self.sql("ALTER TABLE audit_logs DISABLE TRIGGER USER")
                    .await
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The approval workflow: assessments, the work queue, proposals, approvals and executions.
// ---------------------------------------------------------------------------------------------

/// An env value that must never leave the coordinator except in the claimed execution task.
pub const SECRET_ENV_VALUE: &str = "postgresql://app:s3cr3t-Value-XYZ@db/app";

/// Results a compliance server reports for `targets`: every target non compliant with one
/// critical and one warning issue.
pub fn failing_results(targets: &[&str]) -> Value {
    let servers: serde_json::Map<String, Value> = targets
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                json!({
                    "status": "non_compliant",
                    "issues": ["missing_config", "security_issue"],
                    "findings": [
                        { "issue": "missing_config", "severity": "warning",
                          "message": format!("{name} has no configuration entry") },
                        { "issue": "security_issue", "severity": "critical",
                          "message": format!("{name} runs an outdated release") }
                    ]
                }),
            )
        })
        .collect();
    let n = targets.len() as u64;
    json!({
        "summary": { "totalIssues": 2 * n, "criticalIssues": n, "warningIssues": n },
        "servers": servers
    })
}

/// An `install_server` action for the MCP server `server_name`, with the secret in its env.
pub fn install_action(id: &str, server_name: &str) -> Value {
    json!({
        "id": id,
        "type": "install_server",
        "serverName": server_name,
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-postgres@0.6.2"],
        "env": { "DATABASE_URL": SECRET_ENV_VALUE }
    })
}

/// A proposal body for `assessment` with the given priority and actions.
pub fn propose_body(assessment: i64, priority: &str, actions: Value) -> Value {
    json!({
        "assessmentId": assessment,
        "issues": ["missing_config", "security_issue"],
        "priority": priority,
        "proposedActions": actions,
        "rollbackPlan": "Remove the postgres entry and restore the previous configuration"
    })
}

/// Everything a typical workflow test needs: the two servers, a requester, two approvers and
/// an assessment that has results and an approving review.
pub struct World {
    pub compliance: As,
    pub installer: As,
    pub requester: As,
    pub approver_one: As,
    pub approver_two: As,
    pub assessment: i64,
    pub correlation: String,
}

impl World {
    pub async fn new(app: &TestApp) -> Self {
        let compliance = app.server("compliance", "compliance-server").await;
        let installer = app.server("installer", "generic-mcp-installer").await;
        let (_, requester) = app.user("requester", "user").await;
        let (_, approver_one) = app.user("approver-one", "approver").await;
        let (_, approver_two) = app.user("approver-two", "approver").await;
        let assessment = app
            .completed_assessment(&requester, &compliance, "world-assessment", &["postgres"])
            .await;
        app.review(&approver_one, assessment, "approved").await;
        let correlation = app.assessment(assessment).await["correlationId"]
            .as_str()
            .expect("correlationId")
            .to_owned();
        Self {
            compliance,
            installer,
            requester,
            approver_one,
            approver_two,
            assessment,
            correlation,
        }
    }

    /// Proposes one secret-carrying install of `postgres`; returns the proposal id.
    pub async fn propose(&self, app: &TestApp, priority: &str) -> i64 {
        let reply = app
            .propose(
                &self.compliance,
                propose_body(
                    self.assessment,
                    priority,
                    json!([install_action("action-1", "postgres")]),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["proposalId"].as_i64().expect("proposalId")
    }

    /// A `medium` proposal approved by `approver_one`; returns (proposal, pending execution).
    pub async fn approved_proposal(&self, app: &TestApp) -> (i64, i64) {
        let proposal = self.propose(app, "medium").await;
        let reply = app.decide(&self.approver_one, proposal, "approved").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["proposalStatus"], "approved", "{}", reply.text);
        let execution = reply.body["executionId"].as_i64().expect("executionId");
        (proposal, execution)
    }
}

/// A server process started from the `coordinator` binary; stopped when dropped.
pub struct ServerProcess {
    child: std::process::Child,
}

impl ServerProcess {
    /// Asks the process to shut down gracefully (flushing its log) and waits for it.
    pub fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..150 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl TestApp {
    /// Like `spawn_with`, but the HTTP server is the real `coordinator serve` binary in its own
    /// process (so its logging is set up as in production, `LOG_FILE_PATH` included). The
    /// returned `TestApp` talks to that process and reads the same database directly.
    pub async fn spawn_process(backend: Backend, extra: &[(&str, &str)]) -> (Self, ServerProcess) {
        let data_dir = std::env::temp_dir().join(unique("coordinator-test"));
        std::fs::create_dir_all(&data_dir).expect("creating the test data dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut vars: Vec<(String, String)> = vec![
            ("DATA_DIR".into(), data_dir.to_string_lossy().into_owned()),
            ("PORT".into(), port.to_string()),
            ("HOST".into(), "127.0.0.1".into()),
            ("JWT_SECRET".into(), JWT_SECRET.into()),
            ("AUDIT_KEY".into(), AUDIT_KEY.into()),
            ("ENCRYPTION_KEY".into(), ENCRYPTION_KEY.into()),
            ("ADMIN_USERNAME".into(), "admin".into()),
            ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("DB_MAX_CONNECTIONS".into(), "5".into()),
        ];
        let mut postgres_database = None;
        if backend == Backend::Postgres {
            let admin_url = postgres_admin_url();
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("Postgres must be reachable at {admin_url} for the Postgres tests: {e}")
            });
            let name = unique("coordinator_test");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("creating the test database");
            admin.close().await.ok();
            vars.push(("DATABASE_URL".into(), with_database(&admin_url, &name)));
            postgres_database = Some(name);
        }
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).to_owned(), (*value).to_owned()));
        }
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_coordinator"))
            .arg("serve")
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&data_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting the coordinator binary");
        let mut process = ServerProcess { child };
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut up = false;
        for _ in 0..300 {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("the coordinator binary exited early: {status}");
            }
            if let Ok(r) = client.get(format!("{address}/ready")).send().await
                && r.status() == StatusCode::OK
            {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(up, "the coordinator binary did not become ready");
        let config = Config::load(&Source::from_pairs(vars.clone())).expect("test configuration");
        let db = coordinator::db::connect(&config.database, 2)
            .await
            .expect("connecting to the test database");
        let state = AppState::new(db, config);
        let app = Self {
            backend,
            address,
            client,
            state,
            data_dir,
            vars,
            server: None,
            postgres_database,
        };
        (app, process)
    }

    pub async fn audit_count(&self, action: &str) -> usize {
        self.audit_rows_for(action).await.len()
    }

    /// Rows written for refused requests (`access_denied` and `request_rejected`).
    pub async fn refusals(&self) -> usize {
        self.audit_rows()
            .await
            .iter()
            .filter(|r| r.action == "access_denied" || r.action == "request_rejected")
            .count()
    }

    /// The first column of the first row of `sql`, as text.
    pub async fn sql_text(&self, sql: &str) -> Option<String> {
        let backend = self.state.db.get_database_backend();
        let row = self
            .state
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))?;
        row.try_get_by_index::<Option<String>>(0)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Asks for an approval token (optionally bound to a proposal); the raw reply.
    pub async fn approval_token_reply(&self, who: &As, body: Value) -> Reply {
        self.post("/auth/approval-token", who, body).await
    }

    /// A fresh approval token of `who`, bound to `proposal` when given.
    pub async fn approval_token(&self, who: &As, proposal: Option<i64>) -> String {
        let mut body = json!({ "reason": "Deciding a remediation in a test" });
        if let Some(p) = proposal {
            body["proposalId"] = json!(p);
        }
        let reply = self.approval_token_reply(who, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["approvalToken"]
            .as_str()
            .expect("approvalToken")
            .to_owned()
    }

    /// `POST /assessments` with a compliance assessment of `targets`; the raw reply.
    pub async fn request_assessment_reply(
        &self,
        who: &As,
        request_id: &str,
        targets: &[&str],
    ) -> Reply {
        self.post(
            "/assessments",
            who,
            json!({
                "requestId": request_id,
                "assessmentType": "compliance",
                "options": { "includeDetails": true, "generateReport": false },
                "targetServers": targets
            }),
        )
        .await
    }

    /// Requests a new assessment and returns its id.
    pub async fn request_assessment(&self, who: &As, request_id: &str, targets: &[&str]) -> i64 {
        let reply = self
            .request_assessment_reply(who, request_id, targets)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["assessmentId"].as_i64().expect("assessmentId")
    }

    /// `GET /assessments/{id}` as the admin; the body.
    pub async fn assessment(&self, id: i64) -> Value {
        let reply = self
            .get(&format!("/assessments/{id}"), &self.admin().await)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `GET /remediations/{id}` as the admin; the body.
    pub async fn proposal(&self, id: i64) -> Value {
        let reply = self
            .get(&format!("/remediations/{id}"), &self.admin().await)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `GET /remediations/execution/{id}` as the admin; the body.
    pub async fn execution(&self, id: i64) -> Value {
        let reply = self
            .get(
                &format!("/remediations/execution/{id}"),
                &self.admin().await,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `POST /work/claim` with `body`; the raw reply.
    pub async fn claim_reply(&self, server: &As, body: Value) -> Reply {
        self.post("/work/claim", server, body).await
    }

    /// Claims one task of `kind` without waiting; `None` on 204.
    pub async fn claim(&self, server: &As, kind: &str) -> Option<Value> {
        let reply = self
            .claim_reply(server, json!({ "kinds": [kind], "waitSeconds": 0 }))
            .await;
        match reply.status {
            StatusCode::NO_CONTENT => {
                assert!(reply.text.is_empty(), "204 with a body: {}", reply.text);
                None
            }
            StatusCode::OK => Some(reply.body["task"].clone()),
            other => panic!("claiming {kind}: {other}: {}", reply.text),
        }
    }

    /// Claims until the assessment task for `assessment` comes up.
    pub async fn claim_assessment(&self, server: &As, assessment: i64) -> Value {
        for _ in 0..20 {
            let task = self
                .claim(server, "assessment")
                .await
                .unwrap_or_else(|| panic!("no assessment task for {assessment}"));
            assert_eq!(task["kind"], "assessment", "{task}");
            if task["assessment"]["assessmentId"] == json!(assessment) {
                return task;
            }
        }
        panic!("assessment {assessment} was never handed out");
    }

    /// Claims until the execution task for `execution` comes up.
    pub async fn claim_execution(&self, installer: &As, execution: i64) -> Value {
        for _ in 0..20 {
            let task = self
                .claim(installer, "execution")
                .await
                .unwrap_or_else(|| panic!("no execution task for {execution}"));
            assert_eq!(task["kind"], "execution", "{task}");
            if task["execution"]["executionId"] == json!(execution) {
                return task;
            }
        }
        panic!("execution {execution} was never handed out");
    }

    pub async fn report_results(&self, server: &As, assessment: i64, results: Value) -> Reply {
        self.post(
            &format!("/assessments/{assessment}/results"),
            server,
            results,
        )
        .await
    }

    /// Requests an assessment of `targets`, has `compliance` claim it and report failing
    /// results; returns the assessment, now `completed`.
    pub async fn completed_assessment(
        &self,
        requester: &As,
        compliance: &As,
        request_id: &str,
        targets: &[&str],
    ) -> i64 {
        let id = self
            .request_assessment(requester, request_id, targets)
            .await;
        self.claim_assessment(compliance, id).await;
        let reply = self
            .report_results(compliance, id, failing_results(targets))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], "completed", "{}", reply.text);
        id
    }

    /// `POST /assessments/{id}/review` with an explicit token; the raw reply.
    pub async fn review_with(
        &self,
        reviewer: &As,
        assessment: i64,
        decision: &str,
        token: &str,
    ) -> Reply {
        self.post(
            &format!("/assessments/{assessment}/review"),
            reviewer,
            json!({ "decision": decision, "reason": "Findings checked by hand", "approvalToken": token }),
        )
        .await
    }

    /// Reviews `assessment` as `reviewer` with a fresh token; asserts success.
    pub async fn review(&self, reviewer: &As, assessment: i64, decision: &str) -> Reply {
        let token = self.approval_token(reviewer, None).await;
        let reply = self
            .review_with(reviewer, assessment, decision, &token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], decision, "{}", reply.text);
        reply
    }

    pub async fn propose(&self, who: &As, body: Value) -> Reply {
        self.post("/remediations/propose", who, body).await
    }

    /// `POST /approvals` with an explicit token; the raw reply.
    pub async fn decide_with(&self, who: &As, proposal: i64, decision: &str, token: &str) -> Reply {
        self.post(
            "/approvals",
            who,
            json!({
                "proposalId": proposal,
                "decision": decision,
                "reason": "Reviewed the actions and the risk",
                "approvalToken": token
            }),
        )
        .await
    }

    /// Gets a token bound to `proposal` and decides it; the raw reply.
    pub async fn decide(&self, who: &As, proposal: i64, decision: &str) -> Reply {
        let token = self.approval_token(who, Some(proposal)).await;
        self.decide_with(who, proposal, decision, &token).await
    }

    /// `POST /remediations/execute` with an explicit token; the raw reply.
    pub async fn execute_with(&self, who: &As, proposal: i64, dry_run: bool, token: &str) -> Reply {
        self.post(
            "/remediations/execute",
            who,
            json!({
                "proposalId": proposal,
                "approvalToken": token,
                "dryRun": dry_run,
                "rollbackOnFailure": true,
                "parallelExecution": false
            }),
        )
        .await
    }

    /// Gets a token bound to `proposal` and releases it; the raw reply.
    pub async fn execute(&self, who: &As, proposal: i64, dry_run: bool) -> Reply {
        let token = self.approval_token(who, Some(proposal)).await;
        self.execute_with(who, proposal, dry_run, &token).await
    }

    /// The digest an installer computes over the actions of a claimed execution task.
    pub fn recompute_digest(task: &Value) -> String {
        let execution = &task["execution"];
        let actions: Vec<coordinator_api::remediations::ProposedAction> =
            serde_json::from_value(execution["actions"].clone()).expect("task actions");
        let salt = hex::decode(execution["digestSalt"].as_str().expect("digestSalt"))
            .expect("hex digestSalt");
        let machine: coordinator_api::MachineId =
            serde_json::from_value(execution["machineId"].clone()).expect("task machineId");
        let version = execution["digestVersion"].as_u64().expect("digestVersion") as u32;
        coordinator_api::digest::payload_digest(version, &machine, &actions, &salt)
    }

    pub async fn progress(
        &self,
        installer: &As,
        execution: i64,
        action: &str,
        status: &str,
        digest: &str,
    ) -> Reply {
        self.post(
            &format!("/remediations/execution/{execution}/progress"),
            installer,
            json!({ "actionId": action, "status": status, "message": format!("{action} {status}"), "payloadDigest": digest }),
        )
        .await
    }

    pub async fn complete(&self, installer: &As, execution: i64, body: Value) -> Reply {
        self.post(
            &format!("/remediations/execution/{execution}/complete"),
            installer,
            body,
        )
        .await
    }
}

/// Declares a test that runs on both databases with extra settings:
/// `dual_test_with!(name, &[("VAR", "value")], async |app: &TestApp| { .. });`
#[macro_export]
macro_rules! dual_test_with {
    ($name:ident, $vars:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::common::TestApp::spawn_with($crate::common::Backend::Sqlite, $vars)
                        .await;
                ($body)(&app).await;
                app.teardown().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app =
                    $crate::common::TestApp::spawn_with($crate::common::Backend::Postgres, $vars)
                        .await;
                ($body)(&app).await;
                app.teardown().await;
            }
        }
    };
}
