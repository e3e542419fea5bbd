//! The hash chain that makes the audit log tamper evident.
//!
//! Writers never wait for each other: each row gets a keyed MAC of its own content when it
//! is inserted (`row_mac`). The sealer then takes committed rows that have no place in the
//! chain yet, in id order, and gives each the next sequence number and a `chain_mac` over the
//! previous row's `chain_mac`, its sequence number, its id and its `row_mac`. The newest link
//! is kept in `audit_chain_state`. On Postgres an advisory lock lets one replica seal at a
//! time; on SQLite the single writer does the same.
//!
//! `verify` seals what is pending and walks the chain in one snapshot: an edited row fails
//! its `row_mac`, an inserted row has no valid MAC (the key never leaves the coordinator's
//! configuration) and a copied one collides with the unique `row_mac`, a deleted row leaves a
//! gap in the sequence, a swapped or reordered row breaks its link, and removing the newest
//! rows disagrees with the chain state, which carries a MAC of its own. The sealer refuses to
//! extend a chain whose state its key does not vouch for, so a wrong key cannot corrupt it.
//!
//! Retention (`retention`) deletes a prefix of the chain after storing a checkpoint, signed
//! with the same key, of the last row it removes; the walk then starts from the newest
//! checkpoint instead of the first row.

use super::entity::{audit_log, chain_state, checkpoint};
use super::record::RowContent;
use crate::background::Background;
use crate::db;
use chrono::{DateTime, SecondsFormat, Utc};
use coordinator_api::AuditLogId;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const SEAL_BATCH: u64 = 500;
const VERIFY_BATCH: u64 = 1000;
/// Arbitrary, fixed: the Postgres advisory lock the sealers of all replicas share.
const SEALER_LOCK: i64 = 0x4d43_5041_5544;

/// The key of the audit MACs. Cheap to clone; never printed.
#[derive(Clone)]
pub struct AuditKey(Arc<[u8]>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(Arc::from(secret))
    }

    fn mac(&self, domain: &str, message: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(domain.as_bytes());
        mac.update(b"\n");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// MAC of one row's content. The fields are encoded as a JSON array, so no two different
    /// rows share an encoding.
    pub fn row_mac(&self, row: &RowContent<'_>) -> String {
        let fields = (
            row.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
            row.actor,
            row.actor_type.as_str(),
            row.action,
            row.target,
            row.result.as_str(),
            row.details,
            row.request_id,
            row.client_address,
            row.correlation_id,
            row.nonce,
        );
        let encoded = serde_json::to_string(&fields)
            .unwrap_or_else(|_| unreachable!("strings and options always serialize"));
        self.mac("audit-row-v1", &encoded)
    }

    /// MAC linking a row to the one before it in the chain.
    pub fn chain_mac(&self, previous: &str, seq: i64, id: AuditLogId, row_mac: &str) -> String {
        self.mac(
            "audit-chain-v1",
            &format!("{previous}\n{seq}\n{id}\n{row_mac}"),
        )
    }

    /// MAC of the chain state: rewriting the recorded head needs the key.
    pub fn state_mac(&self, head_seq: i64, head_mac: &str) -> String {
        self.mac("audit-state-v1", &format!("{head_seq}\n{head_mac}"))
    }

    /// MAC of a retention checkpoint: moving where verification starts needs the key.
    pub fn checkpoint_mac(
        &self,
        through_seq: i64,
        through_id: AuditLogId,
        through_mac: &str,
        through_timestamp: &DateTime<Utc>,
    ) -> String {
        self.mac(
            "audit-checkpoint-v1",
            &format!(
                "{through_seq}\n{through_id}\n{through_mac}\n{}",
                through_timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)
            ),
        )
    }

    /// Whether the stored chain state was written with this key. The empty state of a new
    /// database has no MAC yet.
    fn vouches_for(&self, state: &chain_state::Model) -> bool {
        let genesis =
            state.head_seq == 0 && state.head_mac.is_empty() && state.state_mac.is_empty();
        genesis || self.state_mac(state.head_seq, &state.head_mac) == state.state_mac
    }
}

/// The configured `AUDIT_KEY` is not the key this database's chain was sealed with.
pub const KEY_MISMATCH: &str = "AUDIT_KEY does not match the key this database's audit chain was \
     sealed with; refusing to extend the chain (restore the original AUDIT_KEY)";

pub(super) async fn lock_sealer(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({SEALER_LOCK})"),
        ))
        .await?;
    }
    Ok(())
}

pub(super) async fn load_state(
    conn: &impl ConnectionTrait,
) -> Result<Option<chain_state::Model>, DbErr> {
    chain_state::Entity::find_by_id(1).one(conn).await
}

/// Where the chain verifiably begins: after the newest checkpoint, or at the start when
/// nothing was pruned. `Err` names a checkpoint the key does not vouch for.
pub(super) async fn chain_start(
    conn: &impl ConnectionTrait,
    key: &AuditKey,
) -> Result<Result<(i64, String), String>, DbErr> {
    let checkpoints = checkpoint::Entity::find()
        .order_by_desc(checkpoint::Column::ThroughSeq)
        .all(conn)
        .await?;
    for point in &checkpoints {
        let expected = key.checkpoint_mac(
            point.through_seq,
            point.through_id,
            &point.through_mac,
            &point.through_timestamp,
        );
        if expected != point.checkpoint_mac {
            return Ok(Err(format!(
                "retention checkpoint {} does not carry a valid MAC: it was forged or rewritten",
                point.id
            )));
        }
    }
    Ok(Ok(checkpoints
        .into_iter()
        .next()
        .map(|point| (point.through_seq, point.through_mac))
        .unwrap_or_default()))
}

/// Start-up check: the configured key must be the one the chain was sealed with, or the
/// sealer would link new rows under a key nobody can verify them with.
pub async fn check_key(db: &DatabaseConnection, key: &AuditKey) -> anyhow::Result<()> {
    match load_state(db).await? {
        Some(state) if key.vouches_for(&state) => Ok(()),
        Some(_) => Err(anyhow::anyhow!(KEY_MISMATCH)),
        None => Err(anyhow::anyhow!(
            "the audit chain state is missing; the audit log has been tampered with"
        )),
    }
}

/// Links every committed, unsealed row into the chain. Returns how many were sealed.
pub async fn seal_pending(db: &DatabaseConnection, key: &AuditKey) -> Result<u64, DbErr> {
    let mut sealed = 0;
    loop {
        let txn = db::begin_write(db).await?;
        lock_sealer(&txn).await?;
        let state = load_state(&txn)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("audit_chain_state row 1".to_owned()))?;
        if !key.vouches_for(&state) {
            return Err(DbErr::Custom(KEY_MISMATCH.to_owned()));
        }
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::ChainSeq.is_null())
            .order_by_asc(audit_log::Column::Id)
            .limit(SEAL_BATCH)
            .all(&txn)
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(sealed);
        }
        let batch = rows.len() as u64;
        let (mut seq, mut head) = (state.head_seq, state.head_mac);
        for row in rows {
            seq += 1;
            head = key.chain_mac(&head, seq, row.id, &row.row_mac);
            audit_log::Entity::update_many()
                .col_expr(audit_log::Column::ChainSeq, Expr::value(seq))
                .col_expr(audit_log::Column::ChainMac, Expr::value(head.clone()))
                .filter(audit_log::Column::Id.eq(row.id))
                .filter(audit_log::Column::ChainSeq.is_null())
                .exec(&txn)
                .await?;
        }
        chain_state::Entity::update_many()
            .col_expr(chain_state::Column::HeadSeq, Expr::value(seq))
            .col_expr(
                chain_state::Column::StateMac,
                Expr::value(key.state_mac(seq, &head)),
            )
            .col_expr(chain_state::Column::HeadMac, Expr::value(head))
            .col_expr(chain_state::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(chain_state::Column::Id.eq(1))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        sealed += batch;
        if batch < SEAL_BATCH {
            return Ok(sealed);
        }
    }
}

/// Runs the sealer until the application shuts down: shortly after each audited commit, and
/// at least every `interval`.
pub fn spawn_sealer(
    background: &Background,
    db: DatabaseConnection,
    key: AuditKey,
    wake: Arc<Notify>,
    interval: Duration,
) {
    background.spawn(async move {
        loop {
            tokio::select! {
                _ = wake.notified() => {
                    // Let a burst of commits accumulate into one batch.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ = tokio::time::sleep(interval) => {}
            }
            if let Err(err) = seal_pending(&db, &key).await {
                tracing::error!(error = %err, "sealing the audit chain failed");
            }
        }
    });
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub checked_rows: u64,
    /// The first row found broken, and why. `None` when the whole log verifies.
    pub broken: Option<(AuditLogId, String)>,
}

impl Verification {
    pub fn verified(&self) -> bool {
        self.broken.is_none()
    }
}

/// Begins a read-only transaction that sees one consistent snapshot of the log.
async fn snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
        // A SQLite read transaction in WAL mode already reads one snapshot.
        _ => db.begin().await,
    }
}

/// Seals what is pending (when the key matches), then checks every row and every link in
/// one consistent snapshot.
pub async fn verify(db: &DatabaseConnection, key: &AuditKey) -> Result<Verification, DbErr> {
    if let Err(err) = seal_pending(db, key).await {
        // The walk below says what is wrong (a wrong key, a missing state); if the database
        // itself is unreachable, the walk fails too.
        tracing::warn!(error = %err, "sealing before verification failed");
    }
    let txn = snapshot(db).await?;
    let outcome = walk(&txn, key).await;
    txn.commit().await?;
    outcome
}

pub(super) async fn walk(
    txn: &impl ConnectionTrait,
    key: &AuditKey,
) -> Result<Verification, DbErr> {
    let mut checked = 0u64;
    let mut last_id = None;
    let broken = |id: AuditLogId, reason: &str, checked: u64| Verification {
        checked_rows: checked,
        broken: Some((id, reason.to_owned())),
    };
    let Some(state) = load_state(txn).await? else {
        return Ok(broken(AuditLogId(0), "the chain state is missing", checked));
    };
    if !key.vouches_for(&state) {
        return Ok(broken(
            AuditLogId(0),
            "the chain state does not carry a valid MAC: it was rewritten, or AUDIT_KEY is not the chain's key",
            checked,
        ));
    }
    let (mut previous_seq, mut previous_mac) = match chain_start(txn, key).await? {
        Ok(start) => start,
        Err(reason) => return Ok(broken(AuditLogId(0), &reason, checked)),
    };
    loop {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::ChainSeq.gt(previous_seq))
            .order_by_asc(audit_log::Column::ChainSeq)
            .limit(VERIFY_BATCH)
            .all(txn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            checked += 1;
            let seq = row.chain_seq.unwrap_or_default();
            if seq != previous_seq + 1 {
                return Ok(broken(
                    row.id,
                    &format!(
                        "rows are missing before this one (expected position {}, found {seq})",
                        previous_seq + 1
                    ),
                    checked,
                ));
            }
            if key.row_mac(&RowContent::from(&row)) != row.row_mac {
                return Ok(broken(
                    row.id,
                    "the row's content does not match its MAC",
                    checked,
                ));
            }
            let expected = key.chain_mac(&previous_mac, seq, row.id, &row.row_mac);
            if row.chain_mac.as_deref() != Some(expected.as_str()) {
                return Ok(broken(
                    row.id,
                    "the row is not linked to the row before it (moved, swapped or inserted)",
                    checked,
                ));
            }
            previous_seq = seq;
            previous_mac = expected;
            last_id = Some(row.id);
        }
    }
    if previous_seq != state.head_seq || previous_mac != state.head_mac {
        let id = last_id.unwrap_or(AuditLogId(0));
        return Ok(broken(
            id,
            &format!(
                "the chain ends at position {previous_seq} but {} rows were sealed: the newest rows are missing",
                state.head_seq
            ),
            checked,
        ));
    }
    // Every row has its own nonce, so two rows with one MAC mean a row was copied (past the
    // unique index, which someone with enough access can drop).
    let duplicate = audit_log::Entity::find()
        .select_only()
        .column_as(audit_log::Column::Id.max(), "id")
        .group_by(audit_log::Column::RowMac)
        .having(sea_orm::sea_query::ExprTrait::gt(
            audit_log::Column::Id.count(),
            1,
        ))
        .limit(1)
        .into_tuple::<AuditLogId>()
        .one(txn)
        .await?;
    if let Some(id) = duplicate {
        return Ok(broken(id, "the row is a copy of another row", checked));
    }
    // Rows committed after the last seal are not linked yet; their content must still match.
    let mut after = AuditLogId(0);
    loop {
        let unsealed = audit_log::Entity::find()
            .filter(audit_log::Column::ChainSeq.is_null())
            .filter(audit_log::Column::Id.gt(after))
            .order_by_asc(audit_log::Column::Id)
            .limit(VERIFY_BATCH)
            .all(txn)
            .await?;
        let Some(last) = unsealed.last().map(|r| r.id) else {
            break;
        };
        for row in unsealed {
            checked += 1;
            if key.row_mac(&RowContent::from(&row)) != row.row_mac {
                return Ok(broken(
                    row.id,
                    "the row's content does not match its MAC",
                    checked,
                ));
            }
        }
        after = last;
    }
    Ok(Verification {
        checked_rows: checked,
        broken: None,
    })
}
