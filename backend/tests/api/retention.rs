//! Audit retention: pruning a prefix behind a signed checkpoint keeps the rest verifiable.

use crate::common::*;
use crate::dual_test;
use chrono::{DateTime, Utc};
use coordinator::audit::Origin;
use coordinator::audit::retention::{self, PruneError, Pruned};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn add_users(app: &TestApp, admin: &As, names: &[&str]) {
    for name in names {
        let reply = app
            .post(
                "/users",
                admin,
                json!({ "username": name, "password": PASSWORD, "role": "viewer" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
}

/// Some audited actions, then a moment, then more: rows before the moment are old.
async fn old_and_new(app: &TestApp) -> (As, DateTime<Utc>) {
    let admin = app.admin().await;
    add_users(app, &admin, &["ann", "ben", "cyd"]).await;
    app.seal().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let moment = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    add_users(app, &admin, &["dee", "eve"]).await;
    app.seal().await;
    (admin, moment)
}

async fn prune(app: &TestApp, before: DateTime<Utc>) -> Result<Option<Pruned>, PruneError> {
    retention::prune(&app.state, before, &Origin::system("test")).await
}

async fn verify(app: &TestApp, who: &As) -> Value {
    let reply = app.get("/audit/verify", who).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

dual_test!(
    pruning_keeps_what_remains_verifiable,
    async |app: &TestApp| {
        let (admin, moment) = old_and_new(app).await;
        let before: Vec<_> = app.audit_rows().await;
        let old = before.iter().filter(|r| r.timestamp < moment).count() as u64;
        assert!(old >= 4, "the first actions left rows: {old}");

        let pruned = prune(app, moment).await.unwrap().expect("rows to prune");
        assert_eq!(pruned.rows, old);
        let remaining = app.audit_rows().await;
        assert!(remaining.iter().all(|r| r.timestamp >= moment));
        assert!(remaining.iter().any(|r| r.action == "user_created"));
        assert_eq!(app.count("audit_checkpoints").await, 1);

        let recorded = app.audit_rows_for("audit_pruned").await;
        assert_eq!(recorded.len(), 1);
        let details: Value = serde_json::from_str(&recorded[0].details).unwrap();
        assert_eq!(details["rows"], json!(old));
        assert_eq!(details["throughSeq"], json!(pruned.through_seq));

        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(true), "{result}");

        // Nothing more is old enough; a second run changes nothing.
        assert_eq!(prune(app, moment).await.unwrap(), None);
        assert_eq!(app.count("audit_checkpoints").await, 1);

        // A later cut extends the checkpoint and the log still verifies.
        app.seal().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let later = Utc::now();
        add_users(app, &admin, &["fay"]).await;
        let again = prune(app, later).await.unwrap().expect("more to prune");
        assert!(again.through_seq > pruned.through_seq);
        assert_eq!(app.count("audit_checkpoints").await, 2);
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(true), "{result}");
    }
);

dual_test!(
    a_changed_row_after_pruning_is_reported,
    async |app: &TestApp| {
        let (admin, moment) = old_and_new(app).await;
        prune(app, moment).await.unwrap().expect("rows to prune");
        app.seal().await;
        let target = app.audit_rows_for("user_created").await[0].id.0;
        app.disable_audit_guards().await;
        app.sql(&format!(
            "UPDATE audit_logs SET actor = 'mallory' WHERE id = {target}"
        ))
        .await;
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(false), "{result}");
        assert_eq!(result["firstBrokenId"], json!(target), "{result}");
    }
);

dual_test!(
    a_row_deleted_after_the_checkpoint_is_reported,
    async |app: &TestApp| {
        let (admin, moment) = old_and_new(app).await;
        let pruned = prune(app, moment).await.unwrap().expect("rows to prune");
        app.seal().await;
        // The guard still refuses every row the checkpoint does not cover.
        assert!(app.try_sql("DELETE FROM audit_logs").await.is_err());
        app.disable_audit_guards().await;
        app.sql(&format!(
            "DELETE FROM audit_logs WHERE chain_seq = {}",
            pruned.through_seq + 1
        ))
        .await;
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(false), "{result}");
        assert!(
            result["reason"].as_str().unwrap().contains("missing"),
            "{result}"
        );
    }
);

dual_test!(a_forged_checkpoint_is_reported, async |app: &TestApp| {
    let (admin, _) = old_and_new(app).await;
    let rows = app.audit_rows().await;
    let third = rows.iter().find(|r| r.chain_seq == Some(3)).unwrap();
    // Without the key, a checkpoint that hides the first rows cannot carry a valid MAC.
    app.sql(&format!(
            "INSERT INTO audit_checkpoints (through_seq, through_id, through_mac, through_timestamp, \
             pruned_rows, created_at, checkpoint_mac) VALUES (3, {}, '{}', '2026-01-01 00:00:00+00:00', \
             3, '2026-01-01 00:00:00+00:00', '{}')",
            third.id.0,
            third.chain_mac.clone().unwrap(),
            "0".repeat(64)
        ))
        .await;
    app.sql("DELETE FROM audit_logs WHERE chain_seq <= 3").await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false), "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains("checkpoint"),
        "{result}"
    );
    // Checkpoints are append-only.
    assert!(app.try_sql("DELETE FROM audit_checkpoints").await.is_err());
    assert!(
        app.try_sql("UPDATE audit_checkpoints SET through_seq = 1")
            .await
            .is_err()
    );
});

dual_test!(a_broken_log_is_never_pruned, async |app: &TestApp| {
    let (_, moment) = old_and_new(app).await;
    let target = app.audit_rows_for("user_created").await[0].id.0;
    app.disable_audit_guards().await;
    app.sql(&format!(
        "UPDATE audit_logs SET actor = 'mallory' WHERE id = {target}"
    ))
    .await;
    let rows = app.count("audit_logs").await;
    let refused = prune(app, moment).await;
    assert!(
        matches!(refused, Err(PruneError::Broken(id, _)) if id.0 == target),
        "{refused:?}"
    );
    assert_eq!(app.count("audit_checkpoints").await, 0);
    let failures = app.audit_rows_for("audit_pruned").await;
    assert_eq!(failures.len(), 1);
    assert_eq!(app.count("audit_logs").await, rows + 1);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_prunes_only_what_is_old_enough() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    add_users(&app, &admin, &["ann"]).await;
    let run = |days: &str| app.cli(&["audit", "prune", "--older-than-days", days]);
    let rows = app.count("audit_logs").await;
    let fresh = run("1");
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    assert!(String::from_utf8_lossy(&fresh.stdout).contains("nothing older than 1 days"));
    assert_eq!(app.count("audit_logs").await, rows);
    // Zero days would prune everything at once; the command refuses it.
    let zero = run("0");
    assert_eq!(zero.status.code(), Some(2));
    assert_eq!(app.count("audit_logs").await, rows);
    app.teardown().await;
}
