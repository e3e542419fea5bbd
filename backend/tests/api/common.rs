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
            postgres_database,
        }
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
        let admin = self.admin().await;
        let body = match kind {
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
