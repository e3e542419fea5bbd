//! Enrollment keys, registration, key rotation, pings and status.

use crate::common::*;
use crate::dual_test;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn enrollment_key(app: &TestApp, admin: &As, body: serde_json::Value) -> String {
    let reply = app.post("/servers/enrollment-keys", admin, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["enrollmentKey"].as_str().unwrap().to_owned()
}

fn installer(id: &str) -> serde_json::Value {
    json!({
        "installerId": id,
        "version": "1.0.0",
        "capabilities": ["install_server", "remove_server", "generate_config"],
        "contact": { "email": "admin@example.com", "phone": "+1234567890" }
    })
}

fn compliance(id: &str) -> serde_json::Value {
    json!({
        "serverId": id,
        "version": "1.0.0",
        "tools": ["compliance_assessment", "generate_remediation_proposal", "execute_remediation"],
        "health": { "status": "healthy", "uptime": 3600, "lastCheck": "2025-08-24T10:00:00Z" }
    })
}

dual_test!(
    a_server_enrolls_with_a_single_use_key,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let key = enrollment_key(app, &admin, json!({ "kind": "installer" })).await;
        let stored = app.audit_rows_for("enrollment_key_created").await;
        assert_eq!(stored.len(), 1);
        assert!(
            !stored[0].details.contains(&key),
            "the key leaked into the audit log"
        );

        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(key.clone()),
                installer("generic-mcp-installer"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["serverId"], "generic-mcp-installer");
        assert_eq!(reply.body["kind"], "installer");
        assert_eq!(reply.body["rotated"], json!(false));
        let api_key = reply.body["apiKey"].as_str().unwrap().to_owned();

        // The key is spent.
        let again = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(key.clone()),
                installer("second-installer"),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.error_code(), "token_used");
        assert_eq!(app.count("servers").await, 1);

        // Secrets are stored hashed only.
        let rows = app.audit_rows().await;
        assert!(
            rows.iter()
                .all(|r| !r.details.contains(&api_key) && !r.details.contains(&key))
        );
        let registered = rows
            .iter()
            .find(|r| r.action == "server_registered")
            .unwrap();
        assert_eq!(registered.actor, "generic-mcp-installer");
        assert_eq!(registered.actor_type.as_str(), "server");

        // The server's own key works.
        let ping = app
            .send(
                Method::POST,
                "/servers/generic-mcp-installer/ping",
                &As::ApiKey(api_key),
                None,
            )
            .await;
        assert_eq!(ping.status, StatusCode::OK, "{}", ping.text);

        let listed = app.get("/servers/generic-mcp-installer", &admin).await;
        assert_eq!(
            listed.body["server"]["capabilities"],
            json!(["generate_config", "install_server", "remove_server"])
        );
        assert_eq!(
            listed.body["server"]["contact"]["email"],
            "admin@example.com"
        );
        assert!(!listed.text.contains("apiKey") && !listed.text.contains("Hash"));
    }
);

dual_test!(
    enrollment_keys_expire_and_bind_a_kind,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let compliance_only = enrollment_key(app, &admin, json!({ "kind": "compliance" })).await;
        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(compliance_only.clone()),
                installer("sneaky"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        // A refused attempt does not spend the key.
        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(compliance_only),
                compliance("compliance-server"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

        let expiring = enrollment_key(
        app,
        &admin,
        json!({ "expiresAt": (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339() }),
    )
    .await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(expiring),
                installer("late"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::GONE, "{}", reply.text);
        assert_eq!(reply.error_code(), "expired");

        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey("mce_made-up".into()),
                installer("forger"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.count("servers").await, 1);
        assert_eq!(app.audit_rows_for("request_rejected").await.len(), 1);
        assert!(app.audit_rows_for("access_denied").await.len() >= 2);

        for body in [
            json!({ "expiresAt": "2020-01-01T00:00:00Z" }),
            json!({ "expiresAt": (chrono::Utc::now() + chrono::Duration::days(90)).to_rfc3339() }),
            json!({ "kind": "gateway" }),
        ] {
            let reply = app.post("/servers/enrollment-keys", &admin, body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                reply.text
            );
        }
    }
);

dual_test!(
    registering_again_rotates_the_key_and_updates_the_entry,
    async |app: &TestApp| {
        let old_key = app.server("compliance", "compliance-server").await;
        let admin = app.admin().await;
        let mut body = compliance("compliance-server");
        body["version"] = json!("2.0.0");
        body["tools"] = json!(["compliance_assessment"]);
        let reply = app.post("/servers/register", &admin, body).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.body["rotated"], json!(true));
        let new_key = As::ApiKey(reply.body["apiKey"].as_str().unwrap().to_owned());

        let refused = app
            .send(
                Method::POST,
                "/servers/compliance-server/ping",
                &old_key,
                None,
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let ok = app
            .send(
                Method::POST,
                "/servers/compliance-server/ping",
                &new_key,
                None,
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK);

        let server = app.get("/servers/compliance-server", &admin).await;
        assert_eq!(server.body["server"]["version"], "2.0.0");
        assert_eq!(
            server.body["server"]["tools"],
            json!(["compliance_assessment"])
        );
        assert_eq!(app.audit_rows_for("server_reregistered").await.len(), 1);

        // The same id cannot change kind.
        let reply = app
            .post("/servers/register", &admin, installer("compliance-server"))
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
    }
);

dual_test!(
    a_server_pings_only_itself_and_reports_health,
    async |app: &TestApp| {
        let first = app.server("compliance", "first").await;
        app.server("compliance", "second").await;
        let reply = app
            .send(
                Method::POST,
                "/servers/second/ping",
                &first,
                Some(json!({ "health": { "status": "healthy" } })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);

        let reply = app
            .send(
                Method::POST,
                "/servers/first/ping",
                &first,
                Some(json!({ "health": { "status": "degraded", "uptime": 5 } })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], "degraded");
        let changes = app.audit_rows_for("server_status_changed").await;
        assert_eq!(changes.len(), 1);
        assert!(changes[0].details.contains("degraded"));

        // A heartbeat that changes nothing is not audited again.
        let reply = app
            .send(Method::POST, "/servers/first/ping", &first, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["status"], "degraded");
        assert_eq!(app.audit_rows_for("server_status_changed").await.len(), 1);

        let reply = app
            .send_raw(
                Method::POST,
                "/servers/first/ping",
                &As::Nobody,
                "application/json",
                b"{".to_vec(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
);

#[tokio::test]
async fn silent_servers_become_unreachable_on_both_databases() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_with(backend, &[("SERVER_UNREACHABLE_AFTER", "1")]).await;
        let key = app.server("installer", "quiet-installer").await;
        let admin = app.admin().await;
        let fresh = app.get("/servers/quiet-installer", &admin).await;
        assert_eq!(fresh.body["server"]["status"], "unknown", "{}", fresh.text);
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let silent = app.get("/servers", &admin).await;
        assert_eq!(silent.body["servers"][0]["status"], "unreachable");
        let ping = app
            .send(
                Method::POST,
                "/servers/quiet-installer/ping",
                &key,
                Some(json!({ "health": { "status": "healthy" } })),
            )
            .await;
        assert_eq!(ping.body["status"], "healthy");
        let change = app.audit_rows_for("server_status_changed").await;
        assert!(change.last().unwrap().details.contains("unreachable"));
        app.teardown().await;
    }
}

dual_test!(
    admins_delete_servers_and_their_keys_stop_working,
    async |app: &TestApp| {
        let key = app.server("installer", "retired").await;
        let admin = app.admin().await;
        let reply = app
            .send(Method::DELETE, "/servers/retired", &admin, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            app.get("/servers/retired", &admin).await.status,
            StatusCode::NOT_FOUND
        );
        let ping = app
            .send(Method::POST, "/servers/retired/ping", &key, None)
            .await;
        assert_eq!(ping.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.audit_rows_for("server_deleted").await.len(), 1);
        let again = app
            .send(Method::DELETE, "/servers/retired", &admin, None)
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
);

dual_test!(
    an_enrollment_key_cannot_take_over_a_registered_server,
    async |app: &TestApp| {
        let own_key = app.server("compliance", "compliance-server").await;
        let admin = app.admin().await;
        let key = enrollment_key(app, &admin, json!({})).await;
        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(key.clone()),
                compliance("compliance-server"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert_eq!(reply.error_code(), "conflict");
        // The real server's key still works, and the refused attempt did not spend the key.
        let ping = app
            .send(
                Method::POST,
                "/servers/compliance-server/ping",
                &own_key,
                None,
            )
            .await;
        assert_eq!(ping.status, StatusCode::OK);
        let reply = app
            .post(
                "/servers/register",
                &As::EnrollmentKey(key),
                compliance("another-server"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
);

dual_test!(
    a_server_re_registers_itself_with_its_own_key,
    async |app: &TestApp| {
        let old_key = app.server("installer", "self-renewing").await;
        app.server("installer", "neighbour").await;
        let mut body = installer("self-renewing");
        body["capabilities"] = json!(["install_server"]);
        let reply = app.post("/servers/register", &old_key, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["rotated"], json!(true));
        let new_key = As::ApiKey(reply.body["apiKey"].as_str().unwrap().to_owned());
        assert_eq!(
            app.send(Method::POST, "/servers/self-renewing/ping", &old_key, None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.send(Method::POST, "/servers/self-renewing/ping", &new_key, None)
                .await
                .status,
            StatusCode::OK
        );
        let row = app
            .audit_rows_for("server_reregistered")
            .await
            .pop()
            .unwrap();
        assert_eq!(row.actor, "self-renewing");
        assert!(row.details.contains("own_api_key"));
        // But not anyone else.
        let reply = app
            .post("/servers/register", &new_key, installer("neighbour"))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    }
);

dual_test!(
    one_enrollment_key_enrolls_one_server_under_concurrency,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let key = enrollment_key(app, &admin, json!({})).await;
        let attempts = (0..20).map(|i| {
            let key = key.clone();
            async move {
                app.post(
                    "/servers/register",
                    &As::EnrollmentKey(key),
                    installer(&format!("racer-{i}")),
                )
                .await
            }
        });
        let replies = futures_util::future::join_all(attempts).await;
        let created = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(
            created,
            1,
            "{:?}",
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        assert!(
            replies
                .iter()
                .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
        );
        assert_eq!(app.count("servers").await, 1);
    }
);
