//! The request examples of the specification, sent as a client that copies them would: the
//! bodies verbatim, only tokens, keys and dates adjusted (an `expiresAt` in the future). The
//! story runs from sign-in to a running execution; each answer must succeed and carry the
//! field names the specification shows. The other tests here pin down, one by one, what the
//! story needs: ids in the spec's forms, assessments named by their `requestId`, the root
//! WebSocket, `GET …/ping`, servers reading their own entry, installers requesting
//! assessments, and refusals that say what to send instead.

use crate::common::*;
use crate::events::{connect_at, next_of, subscribe};
use crate::{dual_test, dual_test_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The password of the specification's sign-in example.
const SPEC_PASSWORD: &str = "secure_password";

fn assert_fields(body: &Value, fields: &[&str]) {
    for field in fields {
        assert!(
            body.get(field).is_some(),
            "`{field}` is missing from {body}"
        );
    }
}

fn ok(reply: &Reply, status: StatusCode) -> &Value {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.body["success"], json!(true), "{}", reply.text);
    &reply.body
}

fn bearer(body: &Value) -> As {
    As::Bearer(body["token"].as_str().expect("token").to_owned())
}

async fn enrollment_key(app: &TestApp, admin: &As, kind: &str) -> As {
    let reply = app
        .post("/servers/enrollment-keys", admin, json!({ "kind": kind }))
        .await;
    let body = ok(&reply, StatusCode::CREATED);
    As::EnrollmentKey(body["enrollmentKey"].as_str().unwrap().to_owned())
}

/// A person created by `admin` (whose password is the spec's, not the helpers'), signed in.
async fn person(app: &TestApp, admin: &As, username: &str, role: &str) -> As {
    let reply = app
        .post(
            "/users",
            admin,
            json!({ "username": username, "password": PASSWORD, "role": role }),
        )
        .await;
    ok(&reply, StatusCode::CREATED);
    bearer(ok(&app.login(username, PASSWORD).await, StatusCode::OK))
}

/// An approval token from the specification's body, with an `expiresAt` ten minutes ahead.
async fn spec_approval_token(app: &TestApp, who: &As) -> String {
    let expires_at = (chrono::Utc::now() + chrono::Duration::minutes(10))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let reply = app
        .post(
            "/auth/approval-token",
            who,
            json!({
                "reason": "Approving security remediation",
                "expiresAt": expires_at
            }),
        )
        .await;
    let body = ok(&reply, StatusCode::CREATED);
    assert_fields(body, &["success", "approvalToken", "expiresAt"]);
    body["approvalToken"].as_str().unwrap().to_owned()
}

dual_test_with!(
    every_request_example_of_the_spec_succeeds,
    &[("ADMIN_PASSWORD", SPEC_PASSWORD)],
    async |app: &TestApp| {
        // Authentication and Authorization: the login example.
        let reply = app
            .post(
                "/auth/login",
                &As::Nobody,
                json!({ "username": "admin", "password": "secure_password" }),
            )
            .await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["success", "token", "user"]);
        assert_fields(&body["user"], &["id", "username", "role"]);
        let admin = bearer(body);

        // The WebSocket example, opened early so that it sees the story.
        let mut socket = connect_at(app, &admin, "/ws").await;
        let subscribed =
            subscribe(&mut socket, &["assessments", "remediations", "approvals"]).await;
        assert_eq!(
            subscribed["channels"],
            json!(["assessments", "remediations", "approvals"])
        );

        // Server Registration: both examples, each with an enrollment key.
        let key = enrollment_key(app, &admin, "installer").await;
        let reply = app
            .post(
                "/servers/register",
                &key,
                json!({
                    "installerId": "generic-mcp-installer",
                    "version": "1.0.0",
                    "capabilities": ["install_server", "remove_server", "generate_config"],
                    "contact": {
                        "email": "admin@example.com",
                        "phone": "+1234567890"
                    }
                }),
            )
            .await;
        let body = ok(&reply, StatusCode::CREATED);
        assert_fields(body, &["serverId", "apiKey"]);
        let installer = As::ApiKey(body["apiKey"].as_str().unwrap().to_owned());

        let key = enrollment_key(app, &admin, "compliance").await;
        let reply = app
            .post(
                "/servers/register",
                &key,
                json!({
                    "serverId": "compliance-server",
                    "version": "1.0.0",
                    "tools": [
                        "compliance_assessment",
                        "generate_remediation_proposal",
                        "execute_remediation"
                    ],
                    "health": {
                        "status": "healthy",
                        "uptime": 3600,
                        "lastCheck": "2025-08-24T10:00:00Z"
                    }
                }),
            )
            .await;
        let body = ok(&reply, StatusCode::CREATED);
        assert_eq!(body["serverId"], "compliance-server");
        let compliance = As::ApiKey(body["apiKey"].as_str().unwrap().to_owned());

        // Communication Protocols: GET /servers/{id}, POST and GET /servers/{id}/ping.
        for who in [&compliance, &admin] {
            let reply = app.get("/servers/compliance-server", who).await;
            let body = ok(&reply, StatusCode::OK);
            assert_eq!(body["server"]["id"], "compliance-server");
            assert_fields(&body["server"], &["status", "lastSeenAt"]);
        }
        let reply = app
            .send(
                Method::POST,
                "/servers/compliance-server/ping",
                &compliance,
                None,
            )
            .await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["serverId", "status", "lastSeenAt"]);
        let reply = app.get("/servers/compliance-server/ping", &admin).await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["serverId", "status", "lastSeenAt", "reachable"]);
        assert_eq!(body["reachable"], json!(true), "{body}");

        // Troubleshooting: the permissions example.
        let reply = app.get("/auth/permissions", &admin).await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["role", "permissions"]);
        assert!(
            body["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!("approve_remediation"))
        );

        // Assessment Workflow: the request, with its timestamp.
        let reply = app
            .post(
                "/assessments",
                &admin,
                json!({
                    "requestId": "assessment-123",
                    "assessmentType": "compliance",
                    "options": {
                        "includeDetails": true,
                        "generateReport": true,
                        "autoApprove": false
                    },
                    "targetServers": ["filesystem", "postgres"],
                    "timestamp": "2025-08-24T10:00:00.000Z"
                }),
            )
            .await;
        let body = ok(&reply, StatusCode::CREATED);
        assert_fields(
            body,
            &["assessmentId", "status", "requiresApproval", "autoExecuted"],
        );
        assert_eq!(body["status"], "pending");
        assert_eq!(body["requiresApproval"], json!(true));
        assert_eq!(body["autoExecuted"], json!(false));

        // The compliance server claims it and reports results shaped like the spec's.
        let reply = app
            .claim_reply(
                &compliance,
                json!({ "kinds": ["assessment"], "waitSeconds": 0 }),
            )
            .await;
        let body = ok(&reply, StatusCode::OK);
        let task = &body["task"]["assessment"];
        assert_eq!(task["targetServers"], json!(["filesystem", "postgres"]));
        let assessment = task["assessmentId"].as_i64().unwrap();
        let reply = app
            .post(
                &format!("/assessments/assessment-{assessment}/results"),
                &compliance,
                json!({
                    "summary": { "totalIssues": 5, "criticalIssues": 2, "warningIssues": 3 },
                    "servers": {
                        "filesystem": { "status": "compliant", "issues": [] },
                        "postgres": {
                            "status": "non_compliant",
                            "issues": ["missing_config", "security_issue"]
                        }
                    }
                }),
            )
            .await;
        ok(&reply, StatusCode::OK);

        // GET /assessments/{id} under the id the client chose.
        let reply = app.get("/assessments/assessment-123", &admin).await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["assessmentId", "status", "results"]);
        assert_eq!(body["assessmentId"], json!(assessment));
        assert_eq!(body["status"], "completed");
        assert_eq!(
            body["results"]["summary"],
            json!({ "totalIssues": 5, "criticalIssues": 2, "warningIssues": 3 })
        );
        assert_eq!(
            body["results"]["servers"]["postgres"],
            json!({ "status": "non_compliant", "issues": ["missing_config", "security_issue"] })
        );
        assert_eq!(
            body["results"]["servers"]["filesystem"],
            json!({ "status": "compliant", "issues": [] })
        );

        // Remediation Workflow: the proposal, verbatim.
        let reply = app
            .post(
                "/remediations/propose",
                &admin,
                json!({
                    "assessmentId": "assessment-123",
                    "issues": ["missing_config", "security_issue"],
                    "priority": "high",
                    "autoApprove": false,
                    "proposedActions": [
                        {
                            "id": "action-1",
                            "type": "install_server",
                            "serverName": "postgres",
                            "command": "npx",
                            "args": ["-y", "@modelcontextprotocol/server-postgres"],
                            "env": {
                                "DATABASE_URL": "postgresql://user:pass@localhost:5432/db"
                            }
                        }
                    ]
                }),
            )
            .await;
        let body = ok(&reply, StatusCode::CREATED);
        assert_fields(
            body,
            &["proposalId", "status", "requiresApproval", "autoExecuted"],
        );
        assert_eq!(body["status"], "pending");
        assert_eq!(body["autoExecuted"], json!(false));
        // `high` needs two distinct approvers by the default policy.
        assert_eq!(body["approvalsRequired"], json!(2), "{body}");
        let proposal = body["proposalId"].as_i64().unwrap();
        assert!(!reply.text.contains("user:pass"), "{}", reply.text);

        // Approval Workflow: two approvers, neither of whom requested or proposed it.
        let approvers = [
            person(app, &admin, "approver-one", "approver").await,
            person(app, &admin, "approver-two", "approver").await,
        ];
        let mut execution = Value::Null;
        for approver in &approvers {
            let token = spec_approval_token(app, approver).await;
            let reply = app
                .post(
                    "/approvals",
                    approver,
                    json!({
                        "approvalId": "approval-123",
                        "proposalId": format!("remediation-{proposal}"),
                        "decision": "approved",
                        "reason": "Security compliance required",
                        "approvalToken": token
                    }),
                )
                .await;
            let body = ok(&reply, StatusCode::OK);
            assert_fields(body, &["approvalId", "decision", "executionId"]);
            assert_eq!(body["decision"], "approved");
            execution = body["executionId"].clone();
        }
        let execution = execution.as_i64().expect("the second approval creates it");

        // Execution Workflow: the release, verbatim but for the ids and the token.
        let token = spec_approval_token(app, &approvers[0]).await;
        let reply = app
            .post(
                "/remediations/execute",
                &approvers[0],
                json!({
                    "proposalId": format!("remediation-{proposal}"),
                    "approvalToken": token,
                    "dryRun": false,
                    "rollbackOnFailure": true,
                    "parallelExecution": false
                }),
            )
            .await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["executionId", "status"]);
        assert_eq!(body["executionId"], json!(execution));

        // The installer picks it up, so the status below is a running one.
        app.claim_execution(&installer, execution).await;
        let reply = app
            .get(&format!("/remediations/execution/{execution}"), &admin)
            .await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(
            body,
            &[
                "executionId",
                "status",
                "progress",
                "currentAction",
                "startTime",
                "estimatedCompletion",
                "results",
            ],
        );
        assert_eq!(body["status"], "running", "{body}");
        assert_fields(
            &body["results"],
            &["completed", "total", "successful", "failed"],
        );
        let again = app
            .get(&format!("/remediations/execution/exec-{execution}"), &admin)
            .await;
        assert_eq!(ok(&again, StatusCode::OK)["executionId"], json!(execution));

        // API Reference: the audit log example, with a date-only startDate.
        let reply = app
            .get(
                "/audit/logs?actor=admin&action=assessment_requested&startDate=2025-08-24&limit=10&offset=0",
                &admin,
            )
            .await;
        let body = ok(&reply, StatusCode::OK);
        assert_fields(body, &["logs", "total", "page", "pageSize"]);
        assert_eq!(body["total"], json!(1), "{body}");
        assert_eq!(body["page"], json!(1));
        assert_eq!(body["pageSize"], json!(10));
        let log = &body["logs"][0];
        assert_fields(
            log,
            &[
                "id",
                "timestamp",
                "action",
                "actor",
                "target",
                "result",
                "details",
            ],
        );
        assert_eq!(log["details"]["requestId"], "assessment-123");
        assert_eq!(log["details"]["assessmentType"], "compliance");

        // Monitoring: the system metrics example.
        let mut reply = app.get("/metrics/system", &admin).await;
        for _ in 0..50 {
            if !reply.body["metrics"]["system"].is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            reply = app.get("/metrics/system", &admin).await;
        }
        let body = ok(&reply, StatusCode::OK);
        let metrics = &body["metrics"];
        assert_fields(metrics, &["timestamp", "system", "services"]);
        assert_fields(&metrics["system"], &["cpu", "memory", "disk"]);
        assert_fields(&metrics["system"]["cpu"], &["usage", "cores"]);
        assert_fields(
            &metrics["system"]["memory"],
            &["total", "used", "free", "usage"],
        );
        let coordinator = &metrics["services"]["integration-coordinator"];
        assert_fields(
            coordinator,
            &["status", "uptime", "responseTime", "errorRate"],
        );
        assert_fields(&coordinator["responseTime"], &["average", "p95"]);

        // And the subscriber saw the story.
        let event = next_of(&mut socket, "event").await;
        assert_eq!(event["event"], "assessment_requested", "{event}");
    }
);

dual_test!(
    ids_are_read_in_the_spec_forms_everywhere,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let admin = app.admin().await;
        for path in [
            format!("/remediations/{proposal}"),
            format!("/remediations/remediation-{proposal}"),
            format!("/remediations/execution/{execution}"),
            format!("/remediations/execution/exec-{execution}"),
            format!("/assessments/{}", world.assessment),
            format!("/assessments/assessment-{}", world.assessment),
            format!("/remediations?assessmentId=assessment-{}", world.assessment),
        ] {
            let reply = app.get(&path, &admin).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        }
        let listed = app
            .get(
                &format!("/remediations?assessmentId={}", world.assessment),
                &admin,
            )
            .await;
        assert_eq!(listed.body["total"], json!(1), "{}", listed.text);

        // A token bound with the prefixed form binds the same proposal.
        let reply = app
            .approval_token_reply(
                &world.approver_two,
                json!({ "reason": "typo check", "proposalId": format!("remediation-{proposal}") }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["proposalId"], json!(proposal));
        // Ids are still written as numbers.
        assert!(reply.body["proposalId"].is_i64());
    }
);

dual_test!(
    an_id_of_the_wrong_kind_is_refused_with_the_accepted_forms,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let admin = app.admin().await;
        let token = app.approval_token(&world.approver_two, None).await;
        let rows = app.audit_rows().await.len();
        let cases = [
            (
                format!("/remediations/exec-{proposal}"),
                "`remediation-<n>`",
            ),
            (
                format!("/remediations/execution/remediation-{execution}"),
                "`exec-<n>`",
            ),
            ("/remediations/execution/-1".to_owned(), "negative"),
            (
                "/remediations/execution/99999999999999999999".to_owned(),
                "too large",
            ),
            (
                "/remediations?assessmentId=exec-1".to_owned(),
                "`assessment-<n>`",
            ),
        ];
        for (path, hint) in cases {
            let reply = app.get(&path, &admin).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}: {}",
                reply.text
            );
            assert_eq!(reply.error_code(), "validation_failed");
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(hint), "{path}: {message}");
        }
        // In a body: `exec-7` where a proposal id is expected.
        let reply = app
            .post(
                "/approvals",
                &world.approver_two,
                json!({
                    "proposalId": format!("exec-{execution}"),
                    "decision": "approved",
                    "reason": "wrong id",
                    "approvalToken": token
                }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("proposal id") && message.contains("`remediation-<n>`"),
            "{message}"
        );
        // Each refusal is audited, and nothing else was written.
        let after = app.audit_rows().await;
        let actions: Vec<&str> = after[rows..].iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, vec!["request_rejected"; 6]);
        assert_eq!(app.proposal(proposal).await["approvalsReceived"], json!(1));
    }
);

dual_test!(
    an_assessment_is_found_by_its_request_id,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let (_, alice) = app.user("alice", "user").await;
        let (_, bob) = app.user("bob", "user").await;
        let admin = app.admin().await;
        let nightly = app
            .completed_assessment(&alice, &compliance, "nightly-run", &["postgres"])
            .await;

        let reply = app.get("/assessments/nightly-run", &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["assessmentId"], json!(nightly));
        let reply = app
            .propose(
                &alice,
                json!({
                    "assessmentId": "nightly-run",
                    "priority": "medium",
                    "proposedActions": [install_action("action-1", "postgres")]
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(
            app.proposal(reply.body["proposalId"].as_i64().unwrap())
                .await["assessmentId"],
            json!(nightly)
        );

        // A requestId that reads like another assessment's id wins over that id.
        let decoy = app
            .request_assessment(&alice, &format!("assessment-{nightly}"), &["filesystem"])
            .await;
        let reply = app
            .get(&format!("/assessments/assessment-{nightly}"), &admin)
            .await;
        assert_eq!(reply.body["assessmentId"], json!(decoy), "{}", reply.text);
        // A number (or a string of digits) is always the coordinator's own id.
        let reply = app.get(&format!("/assessments/{nightly}"), &admin).await;
        assert_eq!(reply.body["assessmentId"], json!(nightly), "{}", reply.text);

        // Request ids are unique per requester only.
        let other = app
            .request_assessment(&bob, "nightly-run", &["postgres"])
            .await;
        let reply = app.get("/assessments/nightly-run", &admin).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&nightly.to_string()) && message.contains(&other.to_string()),
            "{message}"
        );

        let proposals = app.count("proposals").await;
        for (wanted, says) in [
            ("no-such-run", "requestId `no-such-run`"),
            ("assessment-99999", "or id 99999"),
        ] {
            let reply = app.get(&format!("/assessments/{wanted}"), &admin).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{message}");
            let reply = app
                .propose(
                    &alice,
                    json!({
                        "assessmentId": wanted,
                        "priority": "medium",
                        "proposedActions": [install_action("action-1", "postgres")]
                    }),
                )
                .await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        }
        let reply = app.get("/assessments/99999", &admin).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.body["error"]["message"], "assessment 99999 not found");
        assert_eq!(app.count("proposals").await, proposals);
    }
);

dual_test!(
    get_ping_answers_reachability_to_readers_of_the_registry,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let installer = app.server("installer", "generic-mcp-installer").await;
        let (_, viewer) = app.user("vera", "viewer").await;
        let reply = app.get("/servers/compliance-server/ping", &viewer).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["serverId"], "compliance-server");
        assert_eq!(reply.body["status"], "healthy");
        assert_eq!(reply.body["reachable"], json!(true));
        assert!(reply.body["lastSeenAt"].is_string(), "{}", reply.text);
        // Reading is not a heartbeat: nothing was written.
        let rows = app.audit_rows().await.len();
        let seen = reply.body["lastSeenAt"].clone();
        let again = app.get("/servers/compliance-server/ping", &viewer).await;
        assert_eq!(again.body["lastSeenAt"], seen);
        assert_eq!(app.audit_rows().await.len(), rows);

        let own = app
            .get("/servers/compliance-server/ping", &compliance)
            .await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.text);
        let other = app.get("/servers/compliance-server/ping", &installer).await;
        assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
        let missing = app.get("/servers/nobody/ping", &viewer).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
        let anonymous = app
            .get("/servers/compliance-server/ping", &As::Nobody)
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
);

dual_test!(
    a_server_reads_its_own_entry_and_no_other,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let installer = app.server("installer", "generic-mcp-installer").await;
        let reply = app.get("/servers/generic-mcp-installer", &installer).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["server"]["id"], "generic-mcp-installer");
        assert_eq!(reply.body["server"]["kind"], "installer");
        let denied = app.audit_count("access_denied").await;
        for (who, path) in [
            (&installer, "/servers/compliance-server"),
            (&compliance, "/servers/generic-mcp-installer"),
            (&compliance, "/servers"),
        ] {
            let reply = app.get(path, who).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                reply.text
            );
        }
        assert_eq!(app.audit_count("access_denied").await, denied + 3);
    }
);

dual_test!(
    an_installer_requests_an_assessment,
    async |app: &TestApp| {
        let installer = app.server("installer", "generic-mcp-installer").await;
        let reply = app
            .request_assessment_reply(&installer, "assessment-123", &["filesystem", "postgres"])
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.body["assessmentId"].as_i64().unwrap();
        let assessment = app.assessment(id).await;
        assert_eq!(assessment["requestedBy"], "generic-mcp-installer");
        // It still decides nothing.
        let reply = app
            .post(
                "/approvals",
                &installer,
                json!({ "proposalId": 1, "decision": "approved", "reason": "x", "approvalToken": "x" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
);

dual_test!(
    a_registration_without_credentials_says_how_to_enroll,
    async |app: &TestApp| {
        let reply = app
            .post(
                "/servers/register",
                &As::Nobody,
                json!({ "installerId": "generic-mcp-installer", "version": "1.0.0" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        let message = reply.body["error"]["message"].as_str().unwrap();
        for needed in ["X-Enrollment-Key", "/servers/enrollment-keys", "X-API-Key"] {
            assert!(message.contains(needed), "{message}");
        }
        assert_eq!(app.count("servers").await, 0);
        assert_eq!(app.audit_count("access_denied").await, 1);
    }
);

dual_test!(
    audit_filters_take_dates_and_say_what_they_accept,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let today = chrono::Utc::now().date_naive();
        let tomorrow = today.succ_opt().unwrap();
        let yesterday = today.pred_opt().unwrap();
        let total = |reply: &Reply| {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.body["total"].as_u64().unwrap()
        };
        let all = total(&app.get("/audit/logs", &admin).await);
        assert!(all > 0);
        // A date as endDate is the whole of that day, not its first instant.
        for (query, expected) in [
            (format!("startDate={today}"), all),
            (format!("endDate={today}"), all),
            (format!("startDate={today}&endDate={today}"), all),
            (format!("startDate={tomorrow}"), 0),
            (format!("endDate={yesterday}"), 0),
        ] {
            let reply = app.get(&format!("/audit/logs?{query}"), &admin).await;
            assert_eq!(total(&reply), expected, "{query}");
        }
        let export = app
            .get(
                &format!("/audit/export?format=ndjson&startDate={tomorrow}"),
                &admin,
            )
            .await;
        assert_eq!(export.status, StatusCode::OK, "{}", export.text);
        assert!(export.text.trim().is_empty(), "{}", export.text);

        for (query, says) in [
            ("startDate=yesterday", "startDate: `yesterday`"),
            ("endDate=24.08.2025", "endDate: `24.08.2025`"),
        ] {
            for route in ["/audit/logs", "/audit/export"] {
                let reply = app.get(&format!("{route}?{query}"), &admin).await;
                assert_eq!(
                    reply.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{}",
                    reply.text
                );
                let message = reply.body["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains(says)
                        && message.contains("RFC 3339")
                        && message.contains("2025-08-24"),
                    "{message}"
                );
            }
        }
    }
);

dual_test!(a_bad_count_names_the_parameter, async |app: &TestApp| {
    let admin = app.admin().await;
    for (route, param) in [
        ("/audit/logs?limit=lots", "limit"),
        ("/remediations?offset=-1", "offset"),
        ("/assessments?status=pending&limit=ten", "limit"),
    ] {
        let reply = app.get(route, &admin).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{param} must be a whole number")),
            "{route}: {message}"
        );
    }
});
