//! The audit chain notices every kind of direct tampering, and the guards refuse changes.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A few audited actions so the chain has rows to tamper with.
async fn fill(app: &TestApp) -> As {
    let admin = app.admin().await;
    for name in ["ann", "ben", "cyd"] {
        let reply = app
            .post(
                "/users",
                &admin,
                json!({ "username": name, "password": PASSWORD, "role": "viewer" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    app.seal().await;
    admin
}

async fn verify(app: &TestApp, who: &As) -> Value {
    let reply = app.get("/audit/verify", who).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// Id of the n-th row in chain order (1-based).
async fn id_at(app: &TestApp, position: i64) -> i64 {
    app.audit_rows()
        .await
        .into_iter()
        .find(|r| r.chain_seq == Some(position))
        .unwrap_or_else(|| panic!("no row at position {position}"))
        .id
        .0
}

dual_test!(an_untouched_log_verifies, async |app: &TestApp| {
    let admin = fill(app).await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(true), "{result}");
    assert!(result["checkedRows"].as_u64().unwrap() >= 5);
    assert_eq!(result["firstBrokenId"], Value::Null);
});

dual_test!(
    the_guards_refuse_update_and_delete,
    async |app: &TestApp| {
        fill(app).await;
        assert!(
            app.try_sql("UPDATE audit_logs SET actor = 'mallory'")
                .await
                .is_err()
        );
        assert!(app.try_sql("DELETE FROM audit_logs").await.is_err());
        if app.backend == Backend::Postgres {
            assert!(app.try_sql("TRUNCATE audit_logs").await.is_err());
        }
        let rows = app.audit_rows().await;
        assert!(rows.iter().all(|r| r.actor != "mallory"));
        assert!(rows.len() >= 5);
    }
);

dual_test!(an_edited_row_is_reported, async |app: &TestApp| {
    let admin = fill(app).await;
    app.disable_audit_guards().await;
    let target = id_at(app, 3).await;
    app.sql(&format!(
        "UPDATE audit_logs SET actor = 'mallory' WHERE id = {target}"
    ))
    .await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false));
    assert_eq!(result["firstBrokenId"], json!(target), "{result}");
});

dual_test!(
    an_edited_detail_with_a_recomputed_plain_hash_is_reported,
    async |app: &TestApp| {
        let admin = fill(app).await;
        app.disable_audit_guards().await;
        let target = id_at(app, 2).await;
        // Without the key, the best an attacker can do is a hash of their own.
        app.sql(&format!(
            "UPDATE audit_logs SET details = '{{}}', row_mac = '{}' WHERE id = {target}",
            "0".repeat(64)
        ))
        .await;
        let result = verify(app, &admin).await;
        assert_eq!(result["firstBrokenId"], json!(target), "{result}");
    }
);

dual_test!(a_deleted_row_is_reported, async |app: &TestApp| {
    let admin = fill(app).await;
    app.disable_audit_guards().await;
    let deleted = id_at(app, 3).await;
    let next = id_at(app, 4).await;
    app.sql(&format!("DELETE FROM audit_logs WHERE id = {deleted}"))
        .await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false));
    assert_eq!(result["firstBrokenId"], json!(next), "{result}");
});

dual_test!(
    deleting_the_newest_rows_is_reported,
    async |app: &TestApp| {
        let admin = fill(app).await;
        app.disable_audit_guards().await;
        let rows = app.audit_rows().await;
        let last_seq = rows.iter().filter_map(|r| r.chain_seq).max().unwrap();
        app.sql(&format!(
            "DELETE FROM audit_logs WHERE chain_seq >= {}",
            last_seq - 1
        ))
        .await;
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(false), "{result}");
        assert!(
            result["reason"].as_str().unwrap().contains("newest"),
            "{result}"
        );
    }
);

const COPY_COLUMNS: &str = "timestamp, actor, actor_type, action, target, result, details, \
                            request_id, client_address, correlation_id, nonce, row_mac";

dual_test!(an_inserted_row_is_reported, async |app: &TestApp| {
    let admin = fill(app).await;
    app.disable_audit_guards().await;
    app.sql(&format!(
        "INSERT INTO audit_logs (id, timestamp, actor, actor_type, action, target, result, details, nonce, row_mac) \
         VALUES (100000, '2026-01-01 00:00:00+00:00', 'admin', 'user', 'user_deleted', 'user:2', 'success', '{{}}', \
         '00000000000000000000000000000000', '{}')",
        "ab".repeat(32)
    ))
    .await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false));
    assert_eq!(result["firstBrokenId"], json!(100000), "{result}");
});

dual_test!(
    a_copied_row_is_refused_by_the_database,
    async |app: &TestApp| {
        fill(app).await;
        let original = id_at(app, 2).await;
        // A replay: a genuine row's content and MAC under a new id, waiting to be sealed.
        let copy = format!(
            "INSERT INTO audit_logs (id, {COPY_COLUMNS}) SELECT 100001, {COPY_COLUMNS} FROM audit_logs WHERE id = {original}"
        );
        assert!(
            app.try_sql(&copy).await.is_err(),
            "the unique MAC should refuse a copy"
        );
    }
);

dual_test!(
    a_copied_row_past_a_rebuilt_table_is_reported,
    async |app: &TestApp| {
        let admin = fill(app).await;
        let original = id_at(app, 2).await;
        app.rebuild_audit_table_without_constraints().await;
        app.sql(&format!(
        "INSERT INTO audit_logs (id, {COPY_COLUMNS}) SELECT 100001, {COPY_COLUMNS} FROM audit_logs WHERE id = {original}"
    ))
    .await;
        // The sealer links the copy like any new row; only the duplicate MAC gives it away.
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(false), "{result}");
        assert_eq!(result["firstBrokenId"], json!(100001), "{result}");
    }
);

dual_test!(a_rewound_chain_state_is_reported, async |app: &TestApp| {
    let admin = fill(app).await;
    let rows = app.audit_rows().await;
    let last = rows.iter().filter_map(|r| r.chain_seq).max().unwrap();
    let previous = rows.iter().find(|r| r.chain_seq == Some(last - 1)).unwrap();
    app.disable_audit_guards().await;
    // Remove the newest row and rewind the head to the row before, as an attacker would.
    app.sql(&format!("DELETE FROM audit_logs WHERE chain_seq = {last}"))
        .await;
    app.sql(&format!(
        "UPDATE audit_chain_state SET head_seq = {}, head_mac = '{}'",
        last - 1,
        previous.chain_mac.clone().unwrap()
    ))
    .await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false), "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains("chain state"),
        "{result}"
    );
});

dual_test!(
    a_missing_chain_state_is_reported_not_an_error,
    async |app: &TestApp| {
        let admin = fill(app).await;
        app.sql("DELETE FROM audit_chain_state").await;
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(false), "{result}");
    }
);

dual_test!(swapped_rows_are_reported, async |app: &TestApp| {
    let admin = fill(app).await;
    app.disable_audit_guards().await;
    let (a, b) = (id_at(app, 2).await, id_at(app, 3).await);
    // Swap their places in the chain.
    app.sql(&format!(
        "UPDATE audit_logs SET chain_seq = -1 WHERE id = {a}"
    ))
    .await;
    app.sql(&format!(
        "UPDATE audit_logs SET chain_seq = 2 WHERE id = {b}"
    ))
    .await;
    app.sql(&format!(
        "UPDATE audit_logs SET chain_seq = 3 WHERE id = {a}"
    ))
    .await;
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false));
    assert_eq!(result["firstBrokenId"], json!(b), "{result}");
});

dual_test!(swapped_contents_are_reported, async |app: &TestApp| {
    let admin = fill(app).await;
    app.disable_audit_guards().await;
    let (a, b) = (id_at(app, 3).await, id_at(app, 4).await);
    // Swap everything but the ids, MACs included: each row stays self-consistent.
    app.sql(&format!(
        "CREATE TABLE swap_tmp AS SELECT id, {COPY_COLUMNS} FROM audit_logs WHERE id IN ({a}, {b})"
    ))
    .await;
    app.sql(&format!(
        "UPDATE audit_logs SET row_mac = 'parked' WHERE id = {a}"
    ))
    .await;
    for (to, from) in [(b, a), (a, b)] {
        let set = COPY_COLUMNS
            .split(", ")
            .map(|c| format!("{c} = (SELECT {c} FROM swap_tmp WHERE swap_tmp.id = {from})"))
            .collect::<Vec<_>>()
            .join(", ");
        app.sql(&format!("UPDATE audit_logs SET {set} WHERE id = {to}"))
            .await;
    }
    let result = verify(app, &admin).await;
    assert_eq!(result["verified"], json!(false));
    assert_eq!(result["firstBrokenId"], json!(a), "{result}");
});

dual_test!(
    a_change_whose_audit_row_fails_rolls_back,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let users_before = app.count("users").await;
        let rows_before = app.count("audit_logs").await;
        match app.backend {
        Backend::Sqlite => {
            app.sql(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_logs \
                 WHEN NEW.action = 'user_created' BEGIN SELECT RAISE(ABORT, 'audit store refused'); END",
            )
            .await
        }
        Backend::Postgres => {
            app.sql(
                "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN \
                 IF NEW.action = 'user_created' THEN RAISE EXCEPTION 'audit store refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
            )
            .await;
            app.sql("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION refuse_audit()")
                .await;
        }
    }
        let reply = app
            .post(
                "/users",
                &admin,
                json!({ "username": "henry", "password": PASSWORD, "role": "user" }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            reply.text
        );
        assert_eq!(reply.error_code(), "internal");
        assert!(
            !reply.text.contains("audit store refused"),
            "internal details leaked"
        );
        assert_eq!(
            app.count("users").await,
            users_before,
            "the user was created without its audit row"
        );
        assert_eq!(app.count("audit_logs").await, rows_before);
        assert_eq!(
            app.login("henry", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
);

dual_test!(
    verify_is_for_people_with_view_audit,
    async |app: &TestApp| {
        let (_, viewer) = app.user("ivy", "viewer").await;
        assert_eq!(verify(app, &viewer).await["verified"], json!(true));
        let reply = app.get("/audit/verify", &As::Nobody).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
);

#[tokio::test]
async fn a_different_audit_key_is_refused_at_start_up_and_never_extends_the_chain() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    fill(&app).await;
    let mut vars = app.vars.clone();
    vars.retain(|(k, _)| k != "AUDIT_KEY");
    vars.push((
        "AUDIT_KEY".into(),
        "a-different-audit-key-0123456789abcdef".into(),
    ));
    let config = coordinator::Config::load(&coordinator::config::Source::from_pairs(vars)).unwrap();
    let err = coordinator::Application::build(config)
        .await
        .err()
        .expect("start-up must fail");
    assert!(err.to_string().contains("AUDIT_KEY"), "{err}");

    // Nor can anyone holding the wrong key link pending rows.
    app.get("/servers", &As::Nobody).await;
    let wrong_key = coordinator::audit::AuditKey::new(b"a-different-audit-key-0123456789abcdef");
    assert!(
        coordinator::audit::chain::seal_pending(&app.state.db, &wrong_key)
            .await
            .is_err()
    );
    let admin = app.admin().await;
    assert_eq!(verify(&app, &admin).await["verified"], json!(true));
    app.teardown().await;
}

#[tokio::test]
async fn the_command_line_verifies_and_names_the_broken_row() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    fill(&app).await;
    let run = || app.cli(&["audit", "verify"]);
    let ok = run();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("chain intact"));

    app.disable_audit_guards().await;
    let target = id_at(&app, 2).await;
    app.sql(&format!(
        "UPDATE audit_logs SET target = 'user:999' WHERE id = {target}"
    ))
    .await;
    let broken = run();
    assert_eq!(broken.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert!(
        stdout.contains(&format!("BROKEN at row {target}")),
        "{stdout}"
    );
    app.teardown().await;
}

dual_test!(
    concurrent_writers_all_land_in_one_verifiable_chain,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let before = app.count("audit_logs").await;
        let requests = (0..60).map(|_| app.get("/servers", &As::Nobody));
        let replies = futures_util::future::join_all(requests).await;
        assert!(replies.iter().all(|r| r.status == StatusCode::UNAUTHORIZED));
        assert_eq!(app.count("audit_logs").await, before + 60);
        let result = verify(app, &admin).await;
        assert_eq!(result["verified"], json!(true), "{result}");
        let rows = app.audit_rows().await;
        let mut positions: Vec<i64> = rows.iter().filter_map(|r| r.chain_seq).collect();
        positions.sort_unstable();
        assert_eq!(positions, (1..=positions.len() as i64).collect::<Vec<_>>());
        assert!(positions.len() as i64 >= before + 60);
    }
);
