//! The edges of the contract: unknown routes and methods, health, readiness, OpenAPI.

use crate::common::*;
use crate::dual_test;
use reqwest::{Method, StatusCode};

dual_test!(
    unknown_routes_and_methods_answer_in_the_contract_shape,
    async |app: &TestApp| {
        let reply = app.get("/no/such/route", &As::Nobody).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.error_code(), "not_found");

        let admin = app.admin().await;
        let reply = app.send(Method::PUT, "/users", &admin, None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(reply.error_code(), "method_not_allowed");

        let reply = app
            .send(Method::DELETE, "/auth/login", &As::Nobody, None)
            .await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(reply.error_code(), "method_not_allowed");
    }
);

dual_test!(health_and_readiness, async |app: &TestApp| {
    for path in ["/health", "/api/v1/health"] {
        let reply = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "{path}");
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
    let reply = app.get("/ready", &As::Nobody).await;
    assert_eq!(reply.status, StatusCode::OK);
    let expected = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(reply.body["database"], expected);
});

dual_test!(
    every_response_carries_a_request_id_in_its_audit_row,
    async |app: &TestApp| {
        let admin = app.admin().await;
        app.get("/users", &As::Nobody).await;
        let rows = app.audit_rows().await;
        assert!(!rows.is_empty());
        assert!(
            rows.iter()
                .filter(|r| r.actor_type.as_str() != "system")
                .all(|r| r.request_id.is_some())
        );
        drop(admin);
    }
);

dual_test!(
    a_correlation_id_travels_into_the_audit_row,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let As::Bearer(token) = &admin else {
            unreachable!()
        };
        let reply = app
            .client
            .post(app.url("/users"))
            .bearer_auth(token)
            .header("X-Correlation-Id", "change-4711")
            .json(&serde_json::json!({ "username": "mona", "password": PASSWORD, "role": "user" }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::CREATED);
        let page = app
            .get("/audit/logs?correlationId=change-4711", &admin)
            .await;
        assert_eq!(page.body["total"], 1, "{}", page.text);
        assert_eq!(page.body["logs"][0]["action"], "user_created");
    }
);

#[tokio::test]
async fn swagger_ui_and_the_served_document() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ui = app.client.get(app.url("/api-docs/")).send().await.unwrap();
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let doc = app.get("/api-docs/openapi.json", &As::Nobody).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(
        doc.body,
        serde_json::to_value(coordinator::api_doc::openapi()).unwrap()
    );
    app.teardown().await;
}

/// The committed `openapi/openapi.json` is the contract; regenerate it with
/// `UPDATE_OPENAPI=1 cargo test --test api openapi` after changing the API.
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let generated = coordinator::api_doc::openapi_json();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit it"
    );
}
