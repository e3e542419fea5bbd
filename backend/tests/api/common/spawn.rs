//! Starting and stopping coordinators: the in-process `TestApp`, the `coordinator serve`
//! process variant, and the `dual_test!` macros that run each case on SQLite and Postgres.

use super::postgres::TestDatabase;
use coordinator::Application;
use coordinator::config::{Config, Source};
use coordinator::state::AppState;
use reqwest::StatusCode;
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

/// `prefix_<unix seconds>_<pid>_<n>`
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        chrono::Utc::now().timestamp(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
    )
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub data_dir: PathBuf,
    pub vars: Vec<(String, String)>,
    /// The in-process server; `None` for a coordinator run as a separate process.
    pub server: Option<actix_web::dev::ServerHandle>,
    postgres_database: Option<TestDatabase>,
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
        let (vars, postgres_database) = settings(&data_dir, 0, backend, extra).await;
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
        // The old coordinator's loops end before the new one starts, as in a real restart.
        self.state.background.shutdown().await;
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

    /// The Postgres database goes with `self`; closing the pool first spares its drop from
    /// forcing our own sessions out.
    pub async fn teardown(self) {
        if self.postgres_database.is_some() {
            self.state.db.clone().close().await.ok();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
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
        let (vars, postgres_database) = settings(&data_dir, port, backend, extra).await;
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

/// The test defaults for a coordinator on `port` (0: any), a Postgres database of its own
/// when asked for, then `extra` over them.
async fn settings(
    data_dir: &std::path::Path,
    port: u16,
    backend: Backend,
    extra: &[(&str, &str)],
) -> (Vec<(String, String)>, Option<TestDatabase>) {
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
        let database = TestDatabase::create().await;
        vars.push(("DATABASE_URL".into(), database.url()));
        postgres_database = Some(database);
    }
    for (key, value) in extra {
        vars.retain(|(k, _)| k != key);
        vars.push(((*key).to_owned(), (*value).to_owned()));
    }
    (vars, postgres_database)
}
