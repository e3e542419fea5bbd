//! Alert rules raise and resolve exactly once per crossing, and reach webhooks.

use crate::common::*;
use crate::dual_test_with;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn alerts(app: &TestApp, who: &As) -> Vec<Value> {
    app.get("/alerts", who).await.body["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_until(app: &TestApp, who: &As, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let current = alerts(app, who).await;
        if ready(&current) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "alerts never reached the expected state: {:?}",
        alerts(app, who).await
    );
}

/// A tiny webhook receiver: answers 200 and keeps every body it gets.
async fn webhook() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buffer).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            let _ = sender
                                .send(serde_json::from_str(&body[..length]).unwrap_or(Value::Null));
                            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, receiver)
}

dual_test_with!(
    a_rule_raises_and_resolves_exactly_once,
    &[("ALERT_EVAL_INTERVAL", "1")],
    async |app: &TestApp| {
        let admin = app.admin().await;
        let (url, mut posted) = webhook().await;
        let rule = app
        .post(
            "/alerts/rules",
            &admin,
            json!({ "name": "queue-backlog", "condition": "queue_depth > 2", "action": "notify_admin",
                    "severity": "warning", "webhookUrl": url }),
        )
        .await;
        assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.text);

        let (_, requester) = app.user("requester", "user").await;
        for i in 0..3 {
            app.request_assessment(&requester, &format!("backlog-{i}"), &["x"])
                .await;
        }
        let firing = wait_until(app, &admin, |a| a.iter().any(|x| x["status"] == "firing")).await;
        assert_eq!(firing.len(), 1);
        assert_eq!(firing[0]["value"], json!(3.0));
        // It keeps holding: still one alert, raised once.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(alerts(app, &admin).await.len(), 1);

        let compliance = app.server("compliance", "drainer").await;
        app.claim(&compliance, "assessment").await.unwrap();
        let resolved =
            wait_until(app, &admin, |a| a.iter().any(|x| x["status"] == "resolved")).await;
        assert_eq!(resolved.len(), 1);
        assert!(resolved[0]["resolvedAt"].is_string());
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            alerts(app, &admin).await.len(),
            1,
            "no second alert while the condition stays false"
        );
        assert_eq!(app.audit_rows_for("alert_raised").await.len(), 1);
        assert_eq!(app.audit_rows_for("alert_resolved").await.len(), 1);

        let first = tokio::time::timeout(Duration::from_secs(10), posted.recv())
            .await
            .unwrap()
            .unwrap();
        let second = tokio::time::timeout(Duration::from_secs(10), posted.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first["event"], "alert_raised");
        assert_eq!(second["event"], "alert_resolved");
        assert_eq!(first["alert"]["rule"], "queue-backlog");
    }
);

dual_test_with!(
    rules_are_validated_and_only_admins_change_them,
    &[],
    async |app: &TestApp| {
        let admin = app.admin().await;
        for body in [
            json!({ "name": "x", "condition": "cpu > 90", "action": "notify_admin" }),
            json!({ "name": "x", "condition": "cpu_usage >> 90", "action": "notify_admin" }),
            json!({ "name": "x", "condition": "cpu_usage > 90", "action": "page_everyone" }),
            json!({ "name": "x", "condition": "cpu_usage > 90", "action": "notify_admin", "webhookUrl": "ftp://x" }),
            json!({ "name": "x", "condition": "cpu_usage > 90", "action": "notify_admin", "webhookUrl": "http://" }),
            json!({ "name": "x", "condition": format!("cpu_usage > 1{}", "0".repeat(130)), "action": "notify_admin" }),
        ] {
            let reply = app.post("/alerts/rules", &admin, body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{body}: {}",
                reply.text
            );
        }
        let (_, approver) = app.user("approver", "approver").await;
        let reply = app
            .post(
                "/alerts/rules",
                &approver,
                json!({ "name": "x", "condition": "cpu_usage > 90", "action": "notify_admin" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(app.count("alert_rules").await, 0);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_come_from_the_rules_file_too() {
    let dir = std::env::temp_dir().join(format!("coordinator-alert-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alerts.toml");
    std::fs::write(
        &file,
        r#"
[[rules]]
name = "cpu-critical"
condition = "cpu_usage > 90"
action = "notify_admin"
severity = "critical"

[[rules]]
name = "slow"
condition = "response_time > 1000"
action = "log_warning"
"#,
    )
    .unwrap();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("ALERT_RULES_FILE", file.to_str().unwrap())],
    )
    .await;
    let admin = app.admin().await;
    let rules = app.get("/alerts/rules", &admin).await;
    let names: Vec<&str> = rules.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cpu-critical", "slow"]);
    assert_eq!(rules.body["rules"][0]["severity"], "critical");
    assert_eq!(app.audit_rows_for("alert_rule_created").await.len(), 2);
    // Loading the same file again at the next start changes and records nothing.
    let mut app = app;
    app.restart().await;
    assert_eq!(app.count("alert_rules").await, 2);
    assert_eq!(app.audit_rows_for("alert_rule_updated").await.len(), 0);
    app.teardown().await;
}

dual_test_with!(
    deleting_a_rule_resolves_its_firing_alert_on_the_record,
    &[("ALERT_EVAL_INTERVAL", "1")],
    async |app: &TestApp| {
        let admin = app.admin().await;
        let rule = app
            .post(
                "/alerts/rules",
                &admin,
                json!({ "name": "any-work", "condition": "queue_depth > 0", "action": "log_warning" }),
            )
            .await;
        assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.text);
        let (_, requester) = app.user("requester", "user").await;
        app.request_assessment(&requester, "pending-work", &["x"])
            .await;
        let firing = wait_until(app, &admin, |a| a.iter().any(|x| x["status"] == "firing")).await;
        let alert_id = firing[0]["id"].as_i64().unwrap();

        let id = firing[0]["ruleId"].as_i64().unwrap();
        let reply = app
            .send(
                reqwest::Method::DELETE,
                &format!("/alerts/rules/{id}"),
                &admin,
                None,
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
        let resolved = app.audit_rows_for("alert_resolved").await;
        assert_eq!(resolved.len(), 1);
        assert_eq!(
            resolved[0].target.as_deref(),
            Some(format!("alert:{alert_id}").as_str())
        );
        assert!(
            resolved[0].details.contains("rule_deleted"),
            "{}",
            resolved[0].details
        );
        assert_eq!(app.count("alerts").await, 0);
    }
);
