//! Bad input gets the contract's error body, the right status, and changes nothing.

use crate::common::*;
use crate::dual_test;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Sends `body` to create a user and checks the answer and that no user appeared.
async fn refused(app: &TestApp, admin: &As, body: &[u8], status: StatusCode, code: &str) {
    let users = app.count("users").await;
    let reply = app
        .send_raw(
            Method::POST,
            "/users",
            admin,
            "application/json",
            body.to_vec(),
        )
        .await;
    assert_eq!(
        reply.status,
        status,
        "{}: {}",
        String::from_utf8_lossy(body),
        reply.text
    );
    assert_eq!(reply.error_code(), code);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(app.count("users").await, users, "state changed");
}

dual_test!(malformed_json_is_400, async |app: &TestApp| {
    let admin = app.admin().await;
    refused(
        app,
        &admin,
        br#"{"username": "x", "#,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    refused(
        app,
        &admin,
        b"not json",
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    refused(app, &admin, b"", StatusCode::BAD_REQUEST, "bad_request").await;
});

dual_test!(
    wrong_types_missing_fields_and_unknown_values_are_422,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let cases = [
            json!({ "username": 42, "password": PASSWORD, "role": "user" }),
            json!({ "username": "jack", "password": PASSWORD }),
            json!({ "username": "jack", "password": PASSWORD, "role": "root" }),
            json!({ "username": "jack", "password": PASSWORD, "role": "user", "isAdmin": true }),
        ];
        for body in cases {
            refused(
                app,
                &admin,
                body.to_string().as_bytes(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
        }
        let rejected = app.audit_rows_for("request_rejected").await;
        assert_eq!(rejected.len(), 4);
        assert!(rejected.iter().all(|r| !r.details.contains(PASSWORD)));
    }
);

dual_test!(the_wrong_content_type_is_415, async |app: &TestApp| {
    let admin = app.admin().await;
    let users = app.count("users").await;
    let body = json!({ "username": "kim", "password": PASSWORD, "role": "user" }).to_string();
    let reply = app
        .send_raw(
            Method::POST,
            "/users",
            &admin,
            "text/plain",
            body.into_bytes(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        reply.text
    );
    assert_eq!(reply.error_code(), "unsupported_media_type");
    assert_eq!(app.count("users").await, users);
});

#[tokio::test]
async fn oversized_bodies_are_413_on_both_databases() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_with(backend, &[("MAX_BODY_BYTES", "2048")]).await;
        let admin = app.admin().await;
        let users = app.count("users").await;
        let body = json!({ "username": "leo", "password": "x".repeat(10_000), "role": "user" })
            .to_string();
        let reply = app
            .send_raw(
                Method::POST,
                "/users",
                &admin,
                "application/json",
                body.into_bytes(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            reply.text
        );
        assert_eq!(reply.error_code(), "payload_too_large");
        assert_eq!(app.count("users").await, users);
        app.teardown().await;
    }
}

dual_test!(bad_query_strings_are_422, async |app: &TestApp| {
    let admin = app.admin().await;
    for query in [
        "limit=lots",
        "limit=0",
        "limit=5000",
        "result=maybe",
        "startDate=yesterday",
        "cursor=garbage",
        "startDate=2026-02-01T00:00:00Z&endDate=2026-01-01T00:00:00Z",
        "unknownFilter=1",
    ] {
        let reply = app.get(&format!("/audit/logs?{query}"), &admin).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.text
        );
        assert_eq!(reply.error_code(), "validation_failed");
    }
});

dual_test!(registration_input_is_validated, async |app: &TestApp| {
    let admin = app.admin().await;
    for body in [
        json!({ "version": "1.0.0" }),
        json!({ "installerId": "a", "serverId": "b", "version": "1.0.0" }),
        json!({ "installerId": "Bad Id!", "version": "1.0.0" }),
        json!({ "installerId": "inst", "version": "" }),
        json!({ "installerId": "inst", "version": "1", "tools": ["compliance_assessment"] }),
        json!({ "serverId": "comp", "version": "1", "health": { "status": "fine" } }),
        json!({ "installerId": "inst", "version": "1", "contact": { "email": "nope" } }),
    ] {
        let reply = app.post("/servers/register", &admin, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(app.count("servers").await, 0);
});

dual_test!(
    anonymous_callers_learn_nothing_from_a_bad_body,
    async |app: &TestApp| {
        // Credentials are checked before the body is read.
        let reply = app
            .send_raw(
                Method::POST,
                "/users",
                &As::Nobody,
                "application/json",
                b"{oops".to_vec(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let reply = app
            .post("/users", &As::Nobody, json!({ "role": "root" }))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
);
