//! The audit log, its hash chain and the guards that make it append-only.
//!
//! Each row carries `row_mac`, a keyed MAC of its content computed when it is written. The
//! sealer later gives committed rows their place in the chain (`chain_seq`) and a `chain_mac`
//! linking them to the row before; `audit_chain_state` remembers the head so that removing
//! the newest rows is noticed too. The only UPDATE the guards allow is that sealing step:
//! setting the chain columns of a row that has none, leaving its content untouched.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    Timestamp,
    Actor,
    ActorType,
    Action,
    Target,
    Result,
    Details,
    RequestId,
    ClientAddress,
    CorrelationId,
    Nonce,
    RowMac,
    ChainSeq,
    ChainMac,
}

#[derive(DeriveIden)]
enum AuditChainState {
    Table,
    Id,
    HeadSeq,
    HeadMac,
    StateMac,
    UpdatedAt,
}

const CONTENT_COLUMNS: &str = "id, timestamp, actor, actor_type, action, target, result, details, \
                               request_id, client_address, correlation_id, nonce, row_mac";

fn postgres_guard() -> String {
    let old = CONTENT_COLUMNS
        .split(", ")
        .map(|c| format!("OLD.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let new = old.replace("OLD.", "NEW.");
    format!(
        r#"
CREATE FUNCTION audit_logs_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL AND NEW.chain_mac IS NOT NULL
       AND ({new}) IS NOT DISTINCT FROM ({old}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();
"#
    )
}

fn sqlite_guard() -> Vec<String> {
    let changed = CONTENT_COLUMNS
        .split(", ")
        .map(|c| format!("NEW.{c} IS NOT OLD.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    vec![
        format!(
            "CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs \
             WHEN OLD.chain_seq IS NOT NULL OR NEW.chain_seq IS NULL OR NEW.chain_mac IS NULL OR {changed} \
             BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only (UPDATE refused)'); END"
        ),
        "CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
         BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only (DELETE refused)'); END"
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .col(big_pk_auto(AuditLogs::Id))
                    .col(timestamp_with_time_zone(AuditLogs::Timestamp))
                    .col(string_len(AuditLogs::Actor, 128))
                    .col(string_len(AuditLogs::ActorType, 16))
                    .col(string_len(AuditLogs::Action, 64))
                    .col(string_len_null(AuditLogs::Target, 256))
                    .col(string_len(AuditLogs::Result, 16))
                    // The exact JSON text the MAC covers, so both databases return it unchanged.
                    .col(text(AuditLogs::Details))
                    .col(string_len_null(AuditLogs::RequestId, 64))
                    .col(string_len_null(AuditLogs::ClientAddress, 64))
                    .col(string_len_null(AuditLogs::CorrelationId, 128))
                    // Random per row and covered by the MAC, so no two rows share a MAC and a
                    // copied row is refused by the unique index below.
                    .col(string_len(AuditLogs::Nonce, 32))
                    .col(string_len_uniq(AuditLogs::RowMac, 64))
                    .col(big_integer_null(AuditLogs::ChainSeq).unique_key())
                    .col(string_len_null(AuditLogs::ChainMac, 64))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_logs_timestamp", AuditLogs::Timestamp),
            ("idx_audit_logs_actor", AuditLogs::Actor),
            ("idx_audit_logs_action", AuditLogs::Action),
            ("idx_audit_logs_target", AuditLogs::Target),
            ("idx_audit_logs_correlation_id", AuditLogs::CorrelationId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLogs::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditChainState::Table)
                    .col(integer(AuditChainState::Id).primary_key())
                    .col(big_integer(AuditChainState::HeadSeq))
                    .col(string_len(AuditChainState::HeadMac, 64))
                    // MAC over (head_seq, head_mac): the state cannot be rewritten without the key.
                    .col(string_len(AuditChainState::StateMac, 64))
                    .col(timestamp_with_time_zone(AuditChainState::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        // The sealer looks for rows without a place in the chain; keep that lookup small.
        db.execute_unprepared(
            "CREATE INDEX idx_audit_logs_unsealed ON audit_logs (id) WHERE chain_seq IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO audit_chain_state (id, head_seq, head_mac, state_mac, updated_at) \
             VALUES (1, 0, '', '', CURRENT_TIMESTAMP)",
        )
        .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(&postgres_guard()).await?;
            }
            DbBackend::Sqlite => {
                for statement in sqlite_guard() {
                    db.execute_unprepared(&statement).await?;
                }
            }
            other => {
                return Err(DbErr::Migration(format!("unsupported database {other:?}")));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP TABLE IF EXISTS audit_logs; DROP FUNCTION IF EXISTS audit_logs_append_only();",
            )
            .await?;
        } else {
            db.execute_unprepared("DROP TABLE IF EXISTS audit_logs")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AuditChainState::Table).to_owned())
            .await
    }
}
