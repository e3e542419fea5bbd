//! System metrics, service health and the Prometheus exposition.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use serde_json::json;

dual_test!(
    system_metrics_have_the_spec_shape_and_every_service,
    async |app: &TestApp| {
        let installer = app.server("installer", "generic-mcp-installer").await;
        // A few requests by the installer, one of them refused.
        app.send(
            reqwest::Method::POST,
            "/servers/generic-mcp-installer/ping",
            &installer,
            None,
        )
        .await;
        app.post("/work/claim", &installer, json!({ "waitSeconds": 0 }))
            .await;
        app.get("/servers", &installer).await;
        let (_, viewer) = app.user("vera", "viewer").await;

        // The sampler takes its first sample at start.
        let mut reply = app.get("/metrics/system", &viewer).await;
        for _ in 0..50 {
            if !reply.body["metrics"]["system"].is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            reply = app.get("/metrics/system", &viewer).await;
        }
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let metrics = &reply.body["metrics"];
        let system = &metrics["system"];
        assert!(system["cpu"]["cores"].as_u64().unwrap() >= 1, "{system}");
        assert!(system["memory"]["total"].as_f64().unwrap() > 0.0);
        let memory = &system["memory"];
        let sum = memory["used"].as_f64().unwrap() + memory["free"].as_f64().unwrap();
        assert!(
            (sum - memory["total"].as_f64().unwrap()).abs() < 0.05,
            "{memory}"
        );
        assert!(system["disk"]["usage"].as_f64().unwrap() >= 0.0);
        assert!(system["network"]["incoming"].as_f64().is_some());

        let coordinator = &metrics["services"]["integration-coordinator"];
        assert_eq!(coordinator["status"], "healthy");
        assert!(coordinator["responseTime"]["average"].as_f64().unwrap() > 0.0);
        assert!(
            coordinator["responseTime"]["p95"].as_f64().unwrap()
                >= coordinator["responseTime"]["average"].as_f64().unwrap() * 0.5
        );
        let installer_health = &metrics["services"]["generic-mcp-installer"];
        assert_eq!(installer_health["status"], "unknown");
        assert!(
            (installer_health["errorRate"].as_f64().unwrap() - 100.0 / 3.0).abs() < 0.1,
            "{installer_health}"
        );

        let history = app.get("/metrics/history", &viewer).await;
        assert_eq!(history.status, StatusCode::OK, "{}", history.text);
        assert!(!history.body["samples"].as_array().unwrap().is_empty());
        let bad = app.get("/metrics/history?limit=0", &viewer).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
);

dual_test!(
    prometheus_reports_requests_queues_and_audit,
    async |app: &TestApp| {
        let (_, requester) = app.user("requester", "user").await;
        app.request_assessment(&requester, "prometheus-1", &["x"])
            .await;
        let admin = app.admin().await;
        assert_eq!(
            app.get("/audit/verify", &admin).await.body["verified"],
            json!(true)
        );
        let text = app
            .client
            .get(format!("{}/metrics", app.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in [
            "coordinator_http_requests_total{route=\"/api/v1/assessments\",method=\"POST\",status=\"201\"} 1",
            "coordinator_work_queue_depth{kind=\"assessment\"} 1",
            "coordinator_audit_last_verify 1",
            "coordinator_websocket_connections 0",
            "# TYPE coordinator_http_request_duration_seconds histogram",
            "# TYPE coordinator_approval_decision_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
        let rows = app.count("audit_logs").await;
        assert!(
            text.lines()
                .any(|l| l == format!("coordinator_audit_rows {rows}")),
            "{text}"
        );
    }
);
