//! Postgres databases for tests. Each run migrates one template database; each test gets a copy
//! of it (`CREATE DATABASE … TEMPLATE`, far cheaper than migrating) and drops it when the test
//! ends, however it ends.
//!
//! Several runs may share one server (developers, CI jobs, branches with other migrations), so a
//! run never touches databases of a run that is still going. Each run holds a session advisory
//! lock for its whole life; what a run whose lock is free left behind (a killed process, an
//! aborted test, its template) is dropped by the next run's sweep.

use sea_orm::Database;
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, Connection, Row};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every database of a run is named `coordinator_run_<unix seconds>_<pid>_<what>`.
const PREFIX: &str = "coordinator_run_";

/// Databases named by earlier versions of these tests, which held no lock: only their age
/// tells that their run is over.
const LEGACY_PREFIX: &str = "coordinator_test_";
const LEGACY_STALE_AFTER_SECONDS: i64 = 6 * 3600;

static COPIES: AtomicU64 = AtomicU64::new(0);
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, database: &str) -> String {
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(url);
    format!("{base}/{database}")
}

/// `<unix seconds>_<pid>`, fixed for the life of this test binary.
fn run_id() -> &'static str {
    static RUN: OnceLock<String> = OnceLock::new();
    RUN.get_or_init(|| format!("{}_{}", chrono::Utc::now().timestamp(), std::process::id()))
}

/// The advisory lock key of a run: FNV-1a, so every run computes the same key from a name.
fn lock_key(run: &str) -> i64 {
    let hash = run.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!("Postgres must be reachable at {url} for the Postgres tests: {e}")
    })
}

async fn execute(conn: &mut PgConnection, sql: String) {
    sqlx::raw_sql(AssertSqlSafe(sql.clone()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Takes this run's lock on a connection of its own thread, so that it outlives the runtime of
/// whichever test asked first and is released only when the process exits.
fn hold_run_lock(url: &str) {
    static HELD: OnceLock<()> = OnceLock::new();
    HELD.get_or_init(|| {
        let (locked, is_locked) = std::sync::mpsc::channel::<()>();
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("postgres-run-lock".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the run lock");
                runtime.block_on(async move {
                    let mut conn = connect(&url).await;
                    sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(lock_key(run_id()))
                        .execute(&mut conn)
                        .await
                        .expect("taking the run lock");
                    let _ = locked.send(());
                    std::future::pending::<()>().await;
                });
            })
            .expect("starting the run lock thread");
        is_locked
            .recv()
            .expect("the run lock thread failed; see its panic above");
    });
}

/// Drops what runs that are over left behind: whole runs whose lock is free, and legacy
/// databases once they are old.
async fn sweep(conn: &mut PgConnection) {
    let names: Vec<String> = sqlx::query(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)",
    )
    .bind(PREFIX)
    .bind(LEGACY_PREFIX)
    .fetch_all(&mut *conn)
    .await
    .expect("listing test databases")
    .iter()
    .map(|row| row.get("datname"))
    .collect();
    let legacy_cutoff = chrono::Utc::now().timestamp() - LEGACY_STALE_AFTER_SECONDS;
    let mut over: Vec<String> = Vec::new();
    for name in names {
        if let Some(rest) = name.strip_prefix(PREFIX) {
            let mut parts = rest.splitn(3, '_');
            let (Some(time), Some(pid)) = (parts.next(), parts.next()) else {
                continue;
            };
            let run = format!("{time}_{pid}");
            if run == run_id() {
                continue;
            }
            if !over.contains(&run) {
                let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(lock_key(&run))
                    .fetch_one(&mut *conn)
                    .await
                    .expect("testing a run lock");
                if !free {
                    continue;
                }
                over.push(run);
            }
            execute(
                conn,
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
        } else if let Some(rest) = name.strip_prefix(LEGACY_PREFIX) {
            let created: i64 = rest
                .split('_')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            if created < legacy_cutoff {
                execute(
                    conn,
                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                )
                .await;
            }
        }
    }
    for run in over {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(lock_key(&run))
            .execute(&mut *conn)
            .await
            .expect("releasing a dead run's lock");
    }
}

/// Creates and migrates this run's template; returns its name.
async fn create_template(url: &str) -> String {
    hold_run_lock(url);
    let mut admin = connect(url).await;
    sweep(&mut admin).await;
    let name = format!("{PREFIX}{}_template", run_id());
    // A test that failed while making it leaves it half made; the next one starts over, and
    // fails on the cause rather than on the name.
    execute(
        &mut admin,
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
    execute(&mut admin, format!("CREATE DATABASE \"{name}\"")).await;
    let db = Database::connect(with_database(url, &name))
        .await
        .expect("connecting to the template database");
    coordinator::db::migrate(&db)
        .await
        .expect("migrating the template database");
    db.close().await.expect("closing the template connection");
    // Copying needs the template to have no sessions; refusing new ones keeps it that way.
    execute(
        &mut admin,
        format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"),
    )
    .await;
    admin.close().await.ok();
    name
}

/// A test's own Postgres database, already migrated; dropped with this value.
pub struct TestDatabase {
    name: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let template = TEMPLATE.get_or_init(|| create_template(&admin_url)).await;
        let name = format!(
            "{PREFIX}{}_{}",
            run_id(),
            COPIES.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = connect(&admin_url).await;
        execute(
            &mut admin,
            format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
        )
        .await;
        admin.close().await.ok();
        Self { name, admin_url }
    }

    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for TestDatabase {
    /// Runs on a thread with a runtime of its own: `drop` cannot await, and it also runs while
    /// a failed test unwinds, when the test's runtime may be of no use.
    fn drop(&mut self) {
        let url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&url).await.ok()?;
                let result = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await;
                conn.close().await.ok();
                result.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!(
                "could not drop the test database {}; the next run drops it",
                self.name
            );
        }
    }
}
