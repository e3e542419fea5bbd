//! Reading and changing a `TestApp`'s database directly: raw SQL, row counts, audit rows,
//! and the ways an attacker with database access gets around the audit guards.

use super::{Backend, TestApp};
use coordinator::audit;
use coordinator::audit::entity::audit_log;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};

impl TestApp {
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
}
