//! Two coordinators on one Postgres database behave as one service.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A second coordinator sharing `app`'s database and keys; returns its address.
async fn second_replica(app: &TestApp) -> String {
    let mut vars = app.vars.clone();
    vars.retain(|(k, _)| k != "PORT");
    vars.push(("PORT".into(), "0".into()));
    let config = coordinator::Config::load(&coordinator::config::Source::from_pairs(vars)).unwrap();
    let replica = coordinator::Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run_until_stopped());
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_on_one_replica_reaches_a_subscriber_on_the_other() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let other = second_replica(&app).await;
    let As::Bearer(token) = app.admin().await else {
        unreachable!()
    };
    let mut request = format!("{}/api/v1/ws", other.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("coordinator.v1, bearer.{token}").parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "channels": ["servers"] }).to_string(),
        ))
        .await
        .unwrap();

    // The action happens on the first replica.
    app.server("compliance", "seen-elsewhere").await;
    let event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(Message::Text(text))) = socket.next().await {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "event" {
                    return value;
                }
            }
        }
    })
    .await
    .expect("the other replica delivered the event");
    assert_eq!(event["event"], "server_registered");
    assert_eq!(event["data"]["target"], "server:seen-elsewhere");
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimers_spread_over_two_replicas_never_share_a_task() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let other = second_replica(&app).await;
    let (_, requester) = app.user("requester", "user").await;
    let mut servers = Vec::new();
    for i in 0..20 {
        servers.push(app.server("compliance", &format!("claimer-{i}")).await);
    }
    for i in 0..200 {
        let reply = app
            .post(
                "/assessments",
                &requester,
                json!({ "requestId": format!("spread-{i}"), "assessmentType": "compliance", "targetServers": ["x"] }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let claims = servers.iter().enumerate().map(|(i, server)| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            other.clone()
        };
        let As::ApiKey(key) = server.clone() else {
            unreachable!()
        };
        let client = app.client.clone();
        async move {
            let mut taken = Vec::new();
            loop {
                let reply = client
                    .post(format!("{base}/api/v1/work/claim"))
                    .header("X-API-Key", &key)
                    .json(&json!({ "kinds": ["assessment"], "waitSeconds": 0 }))
                    .send()
                    .await
                    .unwrap();
                if reply.status() == StatusCode::NO_CONTENT {
                    return taken;
                }
                let body: Value = reply.json().await.unwrap();
                taken.push(body["task"]["taskId"].as_i64().unwrap());
            }
        }
    });
    let all: Vec<i64> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .flatten()
        .collect();
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 200, "every task claimed");
    assert_eq!(distinct.len(), 200, "no task claimed twice");
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_count_on_every_replica() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let other = second_replica(&app).await;
    app.user("target", "user").await;
    let http = reqwest::Client::new();
    let login_on_other = async |password: &str| {
        http.post(format!("{other}/api/v1/auth/login"))
            .json(&json!({ "username": "target", "password": password }))
            .send()
            .await
            .unwrap()
            .status()
    };
    // Five wrong passwords (the default allowance), spread over both replicas.
    for attempt in 0..5 {
        let status = if attempt % 2 == 0 {
            app.login("target", "not-the-password").await.status
        } else {
            login_on_other("not-the-password").await
        };
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Both replicas now refuse the account, even with the right password.
    assert_eq!(
        login_on_other(PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let reply = app.login("target", PASSWORD).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text
    );
    app.teardown().await;
}
