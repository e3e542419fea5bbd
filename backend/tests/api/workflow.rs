//! The approval workflow end to end: an assessment is requested, run by a compliance server and
//! reviewed; a remediation is proposed, approved by enough distinct people, released, executed
//! by an installer and followed by a re-assessment, every step audited under one correlation id.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Asserts that `expected` occurs in `actions` in this order (other actions may sit between).
fn assert_in_order(actions: &[String], expected: &[&str]) {
    let mut rest = actions.iter();
    for want in expected {
        assert!(
            rest.any(|a| a == want),
            "`{want}` is missing or out of order in {actions:?}"
        );
    }
}

fn is_digest(value: &Value) -> bool {
    value.as_str().is_some_and(|d| {
        d.strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
    })
}

dual_test!(
    the_whole_loop_from_assessment_to_reassessment,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let installer = app.server("installer", "generic-mcp-installer").await;
        let (_, requester) = app.user("requester", "user").await;
        let (_, approver_one) = app.user("approver-one", "approver").await;
        let (_, approver_two) = app.user("approver-two", "approver").await;

        // A user asks for an assessment, naming the story with a correlation id.
        let As::Bearer(requester_jwt) = &requester else {
            unreachable!()
        };
        let response = app
            .client
            .post(app.url("/assessments"))
            .bearer_auth(requester_jwt)
            .header("X-Correlation-Id", "story-1")
            .json(&json!({
                "requestId": "assessment-123",
                "assessmentType": "compliance",
                "options": { "includeDetails": true, "generateReport": true, "autoApprove": false },
                "targetServers": ["postgres", "filesystem"],
                "timestamp": chrono::Utc::now().to_rfc3339()
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["success"], json!(true));
        assert_eq!(created["status"], "pending", "{created}");
        assert_eq!(created["requiresApproval"], json!(true));
        assert_eq!(created["autoExecuted"], json!(false));
        assert_eq!(created["autoApproveIgnored"], json!(false));
        assert_eq!(created["correlationId"], "story-1");
        let assessment = created["assessmentId"]
            .as_i64()
            .expect("integer assessmentId");

        let read = app
            .get(&format!("/assessments/{assessment}"), &requester)
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(read.body["assessmentId"], json!(assessment));
        assert_eq!(read.body["requestId"], "assessment-123");
        assert_eq!(read.body["status"], "pending");
        assert_eq!(read.body["requestedBy"], "requester");
        assert_eq!(read.body["correlationId"], "story-1");
        assert_eq!(read.body["requiresApproval"], json!(true));
        assert_eq!(read.body["autoExecuted"], json!(false));
        assert_eq!(read.body["results"], Value::Null);
        assert_eq!(read.body["review"], Value::Null);
        assert_eq!(read.body["followsExecution"], Value::Null);

        // The compliance server pulls it from the queue and keeps its lease alive.
        let task = app.claim_assessment(&compliance, assessment).await;
        assert_eq!(task["attempt"], 1, "{task}");
        assert!(task["leaseExpiresAt"].is_string(), "{task}");
        assert_eq!(
            task["assessment"]["targetServers"],
            json!(["postgres", "filesystem"])
        );
        assert_eq!(task["assessment"]["assessmentType"], "compliance");
        assert_eq!(task["assessment"]["correlationId"], "story-1");
        let task_id = task["taskId"].as_i64().expect("integer taskId");
        let running = app.assessment(assessment).await;
        assert_eq!(running["status"], "running", "{running}");
        assert_eq!(running["assignedServer"], "compliance-server");
        let beat = app
            .post(
                &format!("/work/{task_id}/heartbeat"),
                &compliance,
                json!({ "leaseSeconds": 120 }),
            )
            .await;
        assert_eq!(beat.status, StatusCode::OK, "{}", beat.text);
        assert_eq!(beat.body["taskId"], json!(task_id));
        assert!(beat.body["leaseExpiresAt"].is_string());

        // It reports what it found.
        let reported = app
            .report_results(
                &compliance,
                assessment,
                failing_results(&["postgres", "filesystem"]),
            )
            .await;
        assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
        assert_eq!(reported.body["status"], "completed");
        let completed = app.assessment(assessment).await;
        assert_eq!(completed["status"], "completed");
        assert_eq!(
            completed["results"]["summary"],
            json!({ "totalIssues": 4, "criticalIssues": 2, "warningIssues": 2 })
        );
        assert_eq!(
            completed["results"]["servers"]["postgres"]["status"],
            "non_compliant"
        );
        assert_eq!(
            completed["results"]["servers"]["postgres"]["issues"],
            json!(["missing_config", "security_issue"])
        );

        // An approver who did not request it reviews it.
        let reviewed = app.review(&approver_one, assessment, "approved").await;
        assert_eq!(reviewed.body["review"]["decision"], "approved");
        assert_eq!(reviewed.body["review"]["reviewedBy"], "approver-one");
        assert!(reviewed.body["review"]["reviewedAt"].is_string());

        // The compliance server proposes a high priority fix carrying a secret.
        let proposed = app
            .propose(
                &compliance,
                propose_body(
                    assessment,
                    "high",
                    json!([install_action("action-1", "postgres")]),
                ),
            )
            .await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
        assert!(!proposed.text.contains(SECRET_ENV_VALUE));
        assert_eq!(proposed.body["status"], "pending");
        assert_eq!(proposed.body["requiresApproval"], json!(true));
        assert_eq!(proposed.body["autoExecuted"], json!(false));
        assert_eq!(proposed.body["autoApproveIgnored"], json!(false));
        assert_eq!(proposed.body["approvalsRequired"], 2);
        assert_eq!(proposed.body["correlationId"], "story-1");
        assert!(proposed.body["expiresAt"].is_string());
        assert!(
            is_digest(&proposed.body["payloadDigest"]),
            "{}",
            proposed.text
        );
        for level in ["impact", "effort", "successRate"] {
            let value = proposed.body["risk"][level].as_str().unwrap_or_default();
            assert!(
                ["low", "medium", "high"].contains(&value),
                "risk.{level}: {}",
                proposed.text
            );
        }
        assert!(proposed.body["risk"]["reasons"].is_array());
        let proposal = proposed.body["proposalId"].as_i64().expect("proposalId");
        let digest = proposed.body["payloadDigest"].as_str().unwrap().to_owned();

        let shown = app.proposal(proposal).await;
        assert_eq!(shown["status"], "pending");
        assert_eq!(shown["priority"], "high");
        assert_eq!(shown["assessmentId"], json!(assessment));
        assert_eq!(shown["proposedBy"], "compliance-server");
        assert_eq!(shown["approvalsReceived"], 0);
        assert_eq!(shown["executionId"], Value::Null);
        let env = &shown["proposedActions"][0]["env"]["DATABASE_URL"];
        assert_eq!(env["masked"], "••••", "{shown}");
        assert!(env["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));

        // Two distinct approvers approve.
        let first = app.decide(&approver_one, proposal, "approved").await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        assert!(first.body["approvalId"].is_i64(), "{}", first.text);
        assert_eq!(first.body["decision"], "approved");
        assert_eq!(first.body["approvalsReceived"], 1);
        assert_eq!(first.body["approvalsRequired"], 2);
        assert_eq!(first.body["proposalStatus"], "pending");
        assert_eq!(first.body["executionId"], Value::Null);
        assert_eq!(first.body["payloadDigest"], json!(digest));
        let second = app.decide(&approver_two, proposal, "approved").await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.text);
        assert_eq!(second.body["approvalsReceived"], 2);
        assert_eq!(second.body["approvalsRequired"], 2);
        assert_eq!(second.body["proposalStatus"], "approved");
        let execution = second.body["executionId"].as_i64().expect("executionId");
        let approved = app.proposal(proposal).await;
        assert_eq!(approved["status"], "approved");
        assert_eq!(approved["approvalsReceived"], 2);
        assert_eq!(approved["executionId"], json!(execution));
        let approvers: Vec<&str> = approved["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["approver"].as_str().unwrap())
            .collect();
        assert_eq!(approvers.len(), 2);
        assert!(approvers.contains(&"approver-one") && approvers.contains(&"approver-two"));
        assert!(
            approved["approvals"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["payloadDigest"] == json!(digest))
        );
        assert_eq!(app.execution(execution).await["status"], "pending");

        // An approver releases it.
        let released = app.execute(&approver_one, proposal, false).await;
        assert_eq!(released.status, StatusCode::OK, "{}", released.text);
        assert_eq!(released.body["executionId"], json!(execution));
        assert_eq!(released.body["status"], "queued");
        assert_eq!(released.body["dryRun"], json!(false));
        assert_eq!(released.body["autoExecuted"], json!(false));

        // The installer claims it, with the plaintext env, and checks the digest itself.
        let task = app.claim_execution(&installer, execution).await;
        let work = &task["execution"];
        assert_eq!(work["proposalId"], json!(proposal));
        assert_eq!(work["dryRun"], json!(false));
        assert_eq!(work["rollbackOnFailure"], json!(true));
        assert_eq!(work["parallelExecution"], json!(false));
        assert_eq!(work["correlationId"], "story-1");
        assert_eq!(work["actions"][0]["env"]["DATABASE_URL"], SECRET_ENV_VALUE);
        assert_eq!(work["payloadDigest"], json!(digest));
        assert_eq!(TestApp::recompute_digest(&task), digest);

        let step = app
            .progress(&installer, execution, "action-1", "running", &digest)
            .await;
        assert_eq!(step.status, StatusCode::OK, "{}", step.text);
        let during = app.execution(execution).await;
        assert_eq!(during["status"], "running", "{during}");
        assert_eq!(during["currentAction"], "action-1");
        assert!(during["startTime"].is_string());
        let step = app
            .progress(&installer, execution, "action-1", "succeeded", &digest)
            .await;
        assert_eq!(step.status, StatusCode::OK, "{}", step.text);
        let done = app
            .complete(
                &installer,
                execution,
                json!({
                    "outcome": "succeeded",
                    "payloadDigest": digest,
                    "message": "postgres installed",
                    "report": { "installed": ["postgres"] }
                }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);

        let finished = app.execution(execution).await;
        assert_eq!(finished["status"], "succeeded", "{finished}");
        assert_eq!(finished["progress"], 100);
        assert_eq!(
            finished["results"],
            json!({ "completed": 1, "total": 1, "successful": 1, "failed": 0, "skipped": 0, "rolledBack": 0 })
        );
        assert_eq!(finished["actions"][0]["actionId"], "action-1");
        assert_eq!(finished["actions"][0]["status"], "succeeded");
        assert_eq!(finished["installer"], "generic-mcp-installer");
        assert_eq!(finished["correlationId"], "story-1");
        assert_eq!(finished["report"], json!({ "installed": ["postgres"] }));
        assert!(finished["endTime"].is_string());
        assert_eq!(app.proposal(proposal).await["status"], "executed");

        // Success asks for a fresh look at what was changed.
        let reassessment = finished["reassessmentId"].as_i64().expect("reassessmentId");
        assert_ne!(reassessment, assessment);
        let again = app.assessment(reassessment).await;
        assert_eq!(again["followsExecution"], json!(execution));
        assert_eq!(again["correlationId"], "story-1");
        assert_eq!(again["targetServers"], json!(["postgres"]));
        assert_eq!(again["status"], "pending");
        assert_eq!(again["requiresApproval"], json!(true));

        // The audit log tells the whole story under the one correlation id.
        let auditor = app.admin().await;
        let story = app
            .get("/audit/logs?correlationId=story-1&limit=1000", &auditor)
            .await;
        assert_eq!(story.status, StatusCode::OK, "{}", story.text);
        let logs = story.body["logs"].as_array().unwrap();
        assert!(logs.iter().all(|l| l["correlationId"] == "story-1"));
        let actions: Vec<String> = logs
            .iter()
            .rev()
            .map(|l| l["action"].as_str().unwrap().to_owned())
            .collect();
        assert_in_order(
            &actions,
            &[
                "assessment_requested",
                "assessment_results_reported",
                "assessment_reviewed",
                "remediation_proposed",
                "approval_recorded",
                "approval_recorded",
                "execution_released",
                "execution_completed",
                "reassessment_requested",
            ],
        );
        let listed = app
            .get("/assessments?correlationId=story-1", &auditor)
            .await;
        assert_eq!(listed.body["total"], 2, "{}", listed.text);
        let listed = app
            .get("/remediations?correlationId=story-1", &auditor)
            .await;
        assert_eq!(listed.body["total"], 1, "{}", listed.text);

        app.seal().await;
        let verify = app.get("/audit/verify", &auditor).await;
        assert_eq!(verify.status, StatusCode::OK, "{}", verify.text);
        assert_eq!(verify.body["verified"], json!(true), "{}", verify.text);
    }
);

dual_test!(
    a_dry_run_leaves_the_approved_run_waiting,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let assessments = app.count("assessments").await;

        let dry = app.execute(&world.approver_one, proposal, true).await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
        assert_eq!(dry.body["dryRun"], json!(true));
        assert_eq!(dry.body["status"], "queued");
        assert_eq!(dry.body["autoExecuted"], json!(false));
        let dry_run = dry.body["executionId"].as_i64().expect("executionId");
        assert_ne!(dry_run, execution, "a dry run is an execution of its own");
        assert_eq!(app.execution(execution).await["status"], "pending");

        let task = app.claim_execution(&world.installer, dry_run).await;
        assert_eq!(task["execution"]["dryRun"], json!(true));
        let digest = TestApp::recompute_digest(&task);
        assert_eq!(task["execution"]["payloadDigest"], json!(digest));
        let done = app
            .complete(
                &world.installer,
                dry_run,
                json!({
                    "outcome": "succeeded",
                    "payloadDigest": digest,
                    "report": { "diff": "+ mcpServers.postgres (npx -y @modelcontextprotocol/server-postgres@0.6.2)" }
                }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);

        let shown = app.execution(dry_run).await;
        assert_eq!(shown["status"], "succeeded");
        assert_eq!(shown["dryRun"], json!(true));
        assert!(
            shown["report"]["diff"]
                .as_str()
                .is_some_and(|d| d.contains("postgres"))
        );
        assert_eq!(
            shown["reassessmentId"],
            Value::Null,
            "a dry run changes nothing to re-assess"
        );
        assert_eq!(app.count("assessments").await, assessments);
        let still = app.proposal(proposal).await;
        assert_eq!(still["status"], "approved");
        assert_eq!(still["executionId"], json!(execution));
        assert_eq!(app.execution(execution).await["status"], "pending");

        // The real run follows, with a new token, once.
        let real = app.execute(&world.approver_two, proposal, false).await;
        assert_eq!(real.status, StatusCode::OK, "{}", real.text);
        assert_eq!(real.body["executionId"], json!(execution));
        assert_eq!(real.body["status"], "queued");
        assert_eq!(real.body["dryRun"], json!(false));
        assert_eq!(app.execution(execution).await["status"], "queued");

        let refusals = app.refusals().await;
        let twice = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);
        assert_eq!(app.refusals().await, refusals + 1);
        assert_eq!(app.execution(execution).await["status"], "queued");
    }
);

dual_test!(
    invalid_proposals_are_refused_and_change_nothing,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let install = install_action("action-1", "postgres");
        let with = |patch: Value| {
            let mut action = install.clone();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    action.as_object_mut().unwrap().remove(k);
                } else {
                    action[k] = v.clone();
                }
            }
            action
        };
        let cases: Vec<(&str, Value)> = vec![
            (
                "unknown action type",
                json!([with(json!({ "type": "format_disk" }))]),
            ),
            (
                "install without command",
                json!([with(json!({ "command": null }))]),
            ),
            (
                "install with an empty command",
                json!([with(json!({ "command": "" }))]),
            ),
            (
                "update without command",
                json!([with(json!({ "type": "update_server", "command": null }))]),
            ),
            (
                "env name starting with a digit",
                json!([with(json!({ "env": { "1BAD": "x" } }))]),
            ),
            (
                "env name with a dash",
                json!([with(json!({ "env": { "BAD-NAME": "x" } }))]),
            ),
            (
                "duplicate action ids",
                json!([install.clone(), with(json!({ "serverName": "other" }))]),
            ),
            ("no actions", json!([])),
        ];
        let proposals = app.count("proposals").await;
        let rejected = app.audit_count("request_rejected").await;
        for (what, actions) in &cases {
            let reply = app
                .propose(
                    &world.compliance,
                    propose_body(world.assessment, "medium", actions.clone()),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what}: {}",
                reply.text
            );
            assert_eq!(reply.error_code(), "validation_failed", "{what}");
            assert_eq!(app.count("proposals").await, proposals, "{what}");
        }
        assert_eq!(
            app.audit_count("request_rejected").await,
            rejected + cases.len()
        );

        // A missing actions list and an unknown priority are refused the same way.
        let mut body = propose_body(world.assessment, "medium", json!([install.clone()]));
        body.as_object_mut().unwrap().remove("proposedActions");
        let reply = app.propose(&world.compliance, body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        let reply = app
            .propose(
                &world.compliance,
                propose_body(world.assessment, "urgent", json!([install.clone()])),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );

        // Proposals need an assessment that exists and has results.
        let reply = app
            .propose(
                &world.compliance,
                propose_body(999_999, "medium", json!([install.clone()])),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        let pending = app
            .request_assessment(&world.requester, "not-yet-run", &["postgres"])
            .await;
        let conflicts = app.audit_count("request_rejected").await;
        let reply = app
            .propose(
                &world.requester,
                propose_body(pending, "medium", json!([install.clone()])),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "pending: {}",
            reply.text
        );
        app.claim_assessment(&world.compliance, pending).await;
        let reply = app
            .propose(
                &world.requester,
                propose_body(pending, "medium", json!([install.clone()])),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "running: {}",
            reply.text
        );
        assert_eq!(app.audit_count("request_rejected").await, conflicts + 2);
        assert_eq!(app.count("proposals").await, proposals);

        // And the valid one still goes through.
        let reply = app
            .propose(
                &world.requester,
                propose_body(world.assessment, "low", json!([install])),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["approvalsRequired"], 1);
        assert_eq!(app.count("proposals").await, proposals + 1);
    }
);

dual_test!(
    results_come_from_the_lease_holder_and_add_up,
    async |app: &TestApp| {
        let holder = app.server("compliance", "compliance-a").await;
        let other = app.server("compliance", "compliance-b").await;
        let (_, requester) = app.user("requester", "user").await;
        let assessment = app
            .request_assessment(&requester, "lease-holder", &["postgres"])
            .await;
        let refusals = app.refusals().await;

        // Not claimed yet: nobody may report.
        let early = app
            .report_results(&holder, assessment, failing_results(&["postgres"]))
            .await;
        assert!(
            early.status == StatusCode::FORBIDDEN || early.status == StatusCode::CONFLICT,
            "{}",
            early.text
        );
        app.claim_assessment(&holder, assessment).await;
        let stranger = app
            .report_results(&other, assessment, failing_results(&["postgres"]))
            .await;
        assert_eq!(stranger.status, StatusCode::FORBIDDEN, "{}", stranger.text);
        let (_, user) = app.user("somebody", "user").await;
        let person = app
            .report_results(&user, assessment, failing_results(&["postgres"]))
            .await;
        assert_eq!(person.status, StatusCode::FORBIDDEN, "{}", person.text);

        let mut wrong = failing_results(&["postgres"]);
        wrong["summary"] = json!({ "totalIssues": 1, "criticalIssues": 1, "warningIssues": 1 });
        let inconsistent = app.report_results(&holder, assessment, wrong).await;
        assert_eq!(
            inconsistent.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            inconsistent.text
        );
        assert_eq!(app.refusals().await, refusals + 4);
        let still = app.assessment(assessment).await;
        assert_eq!(still["status"], "running");
        assert_eq!(still["results"], Value::Null);

        let reply = app
            .report_results(&holder, assessment, failing_results(&["postgres"]))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(app.assessment(assessment).await["status"], "completed");

        // A review needs results.
        let (_, approver) = app.user("approver", "approver").await;
        let fresh = app
            .request_assessment(&requester, "no-results-yet", &["postgres"])
            .await;
        let token = app.approval_token(&approver, None).await;
        let reply = app.review_with(&approver, fresh, "approved", &token).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert_eq!(app.assessment(fresh).await["status"], "pending");
    }
);

dual_test!(
    auto_approve_is_ignored_and_says_so,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let (_, requester) = app.user("requester", "user").await;

        let reply = app
            .post(
                "/assessments",
                &requester,
                json!({
                    "requestId": "please-auto-approve",
                    "assessmentType": "compliance",
                    "options": { "includeDetails": true, "generateReport": false, "autoApprove": true },
                    "targetServers": ["postgres"]
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["autoApproveIgnored"], json!(true));
        assert_eq!(reply.body["status"], "pending");
        assert_eq!(reply.body["requiresApproval"], json!(true));
        assert_eq!(reply.body["autoExecuted"], json!(false));
        let assessment = reply.body["assessmentId"].as_i64().unwrap();
        let row = app
            .audit_rows_for("assessment_requested")
            .await
            .pop()
            .unwrap();
        let details = row.details.to_lowercase().replace('_', "");
        assert!(
            details.contains("autoapprove") && details.contains("ignored"),
            "the audit row does not say autoApprove was ignored: {}",
            row.details
        );

        app.claim_assessment(&compliance, assessment).await;
        let reported = app
            .report_results(&compliance, assessment, failing_results(&["postgres"]))
            .await;
        assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
        let shown = app.assessment(assessment).await;
        assert_eq!(shown["status"], "completed", "nobody reviewed it: {shown}");
        assert_eq!(shown["review"], Value::Null);

        let mut body = propose_body(
            assessment,
            "low",
            json!([install_action("action-1", "postgres")]),
        );
        body["autoApprove"] = json!(true);
        let proposed = app.propose(&compliance, body).await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
        assert_eq!(proposed.body["autoApproveIgnored"], json!(true));
        assert_eq!(proposed.body["status"], "pending");
        assert_eq!(proposed.body["requiresApproval"], json!(true));
        assert_eq!(proposed.body["autoExecuted"], json!(false));
        let proposal = proposed.body["proposalId"].as_i64().unwrap();
        let row = app
            .audit_rows_for("remediation_proposed")
            .await
            .pop()
            .unwrap();
        let details = row.details.to_lowercase().replace('_', "");
        assert!(
            details.contains("autoapprove") && details.contains("ignored"),
            "the audit row does not say autoApprove was ignored: {}",
            row.details
        );

        let shown = app.proposal(proposal).await;
        assert_eq!(shown["status"], "pending");
        assert_eq!(shown["approvalsReceived"], 0);
        assert_eq!(shown["executionId"], Value::Null);
        assert_eq!(app.count("approvals").await, 0);
        assert_eq!(app.count("executions").await, 0);
        assert_eq!(app.claim(&compliance, "assessment").await, None);
    }
);

dual_test!(assessment_requests_are_idempotent, async |app: &TestApp| {
    let (_, requester) = app.user("requester", "user").await;

    // No compliance server is registered: the request waits and says so.
    let first = app
        .request_assessment_reply(&requester, "same-request", &["postgres", "filesystem"])
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(
        first.body["statusDetail"]
            .as_str()
            .is_some_and(|d| d.to_lowercase().contains("waiting")),
        "{}",
        first.text
    );
    let id = first.body["assessmentId"].as_i64().unwrap();
    assert!(
        first.body["correlationId"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "a correlation id is generated when none is given: {}",
        first.text
    );

    let again = app
        .request_assessment_reply(&requester, "same-request", &["postgres", "filesystem"])
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["assessmentId"], json!(id));
    assert_eq!(again.body["correlationId"], first.body["correlationId"]);
    assert_eq!(app.count("assessments").await, 1);

    let conflicts = app.audit_count("request_rejected").await;
    let other_targets = app
        .request_assessment_reply(&requester, "same-request", &["postgres"])
        .await;
    assert_eq!(
        other_targets.status,
        StatusCode::CONFLICT,
        "{}",
        other_targets.text
    );
    assert_eq!(other_targets.error_code(), "conflict");
    let other_options = app
        .post(
            "/assessments",
            &requester,
            json!({
                "requestId": "same-request",
                "assessmentType": "compliance",
                "options": { "includeDetails": false, "generateReport": true },
                "targetServers": ["postgres", "filesystem"]
            }),
        )
        .await;
    assert_eq!(
        other_options.status,
        StatusCode::CONFLICT,
        "{}",
        other_options.text
    );
    let other_type = app
        .post(
            "/assessments",
            &requester,
            json!({
                "requestId": "same-request",
                "assessmentType": "security",
                "options": { "includeDetails": true, "generateReport": false },
                "targetServers": ["postgres", "filesystem"]
            }),
        )
        .await;
    assert_eq!(
        other_type.status,
        StatusCode::CONFLICT,
        "{}",
        other_type.text
    );
    assert_eq!(app.audit_count("request_rejected").await, conflicts + 3);
    assert_eq!(app.count("assessments").await, 1);
    assert_eq!(app.audit_count("assessment_requested").await, 1);

    let listed = app.get("/assessments?status=pending", &requester).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["assessments"][0]["assessmentId"], json!(id));
});

/// Rows in the tables the workflow writes to.
async fn counts(app: &TestApp) -> [i64; 5] {
    [
        app.count("assessments").await,
        app.count("proposals").await,
        app.count("approvals").await,
        app.count("approval_tokens").await,
        app.count("executions").await,
    ]
}

dual_test!(
    users_read_results_viewers_read_logs_and_neither_decides,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let (_, viewer) = app.user("viewer", "viewer").await;

        let results = [
            "/assessments".to_owned(),
            format!("/assessments/{}", world.assessment),
            "/remediations".to_owned(),
            format!("/remediations/{proposal}"),
            format!("/remediations/execution/{execution}"),
        ];
        for path in &results {
            let reply = app.get(path, &world.requester).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
            assert!(!reply.text.contains(SECRET_ENV_VALUE), "{path}");
        }
        let page = app.get("/remediations", &world.requester).await;
        assert_eq!(page.body["total"], 1);
        assert_eq!(page.body["proposals"][0]["proposalId"], json!(proposal));

        // A viewer reads the log and the machines, not the results: each refusal is audited.
        let denied = app.audit_count("access_denied").await;
        for path in &results {
            let reply = app.get(path, &viewer).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                reply.text
            );
            assert_eq!(reply.body["error"]["code"], "forbidden");
        }
        assert_eq!(
            app.audit_count("access_denied").await,
            denied + results.len()
        );
        for path in ["/audit/logs", "/servers", "/metrics/system", "/alerts"] {
            let reply = app.get(path, &viewer).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        }

        let before = counts(app).await;
        let denied = app.audit_count("access_denied").await;
        let borrowed = app
            .approval_token(&world.approver_two, Some(proposal))
            .await;
        let review = format!("/assessments/{}/review", world.assessment);
        let attempts: Vec<(&str, Value)> = vec![
            (
                "/assessments",
                json!({ "requestId": "viewer-request", "assessmentType": "compliance",
                        "options": {}, "targetServers": ["postgres"] }),
            ),
            (
                "/remediations/propose",
                propose_body(
                    world.assessment,
                    "low",
                    json!([install_action("action-1", "postgres")]),
                ),
            ),
            (
                "/auth/approval-token",
                json!({ "reason": "I would like to decide" }),
            ),
            (
                "/approvals",
                json!({ "proposalId": proposal, "decision": "approved",
                        "reason": "looks fine", "approvalToken": borrowed }),
            ),
            (
                "/remediations/execute",
                json!({ "proposalId": proposal, "approvalToken": borrowed }),
            ),
            (
                &review,
                json!({ "decision": "rejected", "reason": "no", "approvalToken": borrowed }),
            ),
            ("/work/claim", json!({ "waitSeconds": 0 })),
        ];
        for (path, body) in &attempts {
            let reply = app.post(path, &viewer, body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                reply.text
            );
        }
        // A plain user may request assessments but not decide or take work either.
        for (path, body) in attempts.iter().skip(2) {
            let reply = app.post(path, &world.requester, body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "user {path}: {}",
                reply.text
            );
        }
        assert_eq!(
            app.audit_count("access_denied").await,
            denied + attempts.len() + attempts.len() - 2
        );
        let mut after = counts(app).await;
        after[3] -= 1; // the borrowed token
        assert_eq!(after, before);
        assert_eq!(app.execution(execution).await["status"], "pending");

        // The borrowed token was not spent by the refused attempts.
        let reply = app
            .execute_with(&world.approver_two, proposal, false, &borrowed)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
);

dual_test!(lists_filter_and_page, async |app: &TestApp| {
    let compliance = app.server("compliance", "compliance-server").await;
    let (_, requester) = app.user("requester", "user").await;
    let (_, reader) = app.user("reader", "user").await;
    let first = app
        .completed_assessment(&requester, &compliance, "list-1", &["postgres"])
        .await;
    let second = app
        .post(
            "/assessments",
            &requester,
            json!({ "requestId": "list-2", "assessmentType": "security",
                    "options": {}, "targetServers": ["filesystem"] }),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let second = second.body["assessmentId"].as_i64().unwrap();
    let third = app
        .request_assessment(&requester, "list-3", &["filesystem", "github"])
        .await;

    let assessment_ids = |reply: &Reply| -> Vec<i64> {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["assessments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["assessmentId"].as_i64().unwrap())
            .collect()
    };
    let all = app.get("/assessments", &reader).await;
    assert_eq!(
        assessment_ids(&all),
        vec![third, second, first],
        "newest first"
    );
    assert_eq!(all.body["total"], 3);
    let typed = app.get("/assessments?type=security", &reader).await;
    assert_eq!(assessment_ids(&typed), vec![second]);
    let targeting = app.get("/assessments?server=filesystem", &reader).await;
    assert_eq!(assessment_ids(&targeting), vec![third, second]);
    let ran = app
        .get("/assessments?server=compliance-server", &reader)
        .await;
    assert_eq!(assessment_ids(&ran), vec![first]);
    let done = app.get("/assessments?status=completed", &reader).await;
    assert_eq!(assessment_ids(&done), vec![first]);
    let waiting = app.get("/assessments?status=pending", &reader).await;
    assert_eq!(assessment_ids(&waiting), vec![third, second]);
    let correlation = app.assessment(second).await["correlationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let story = app
        .get(
            &format!("/assessments?correlationId={correlation}"),
            &reader,
        )
        .await;
    assert_eq!(assessment_ids(&story), vec![second]);
    let page = app.get("/assessments?limit=2", &reader).await;
    assert_eq!(assessment_ids(&page), vec![third, second]);
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["page"], 1);
    assert_eq!(page.body["pageSize"], 2);
    let page = app.get("/assessments?limit=2&offset=2", &reader).await;
    assert_eq!(assessment_ids(&page), vec![first]);
    assert_eq!(page.body["page"], 2);

    // Proposals.
    let action = json!([install_action("action-1", "postgres")]);
    let mut proposals = Vec::new();
    for priority in ["high", "low"] {
        let reply = app
            .propose(&compliance, propose_body(first, priority, action.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        proposals.push(reply.body["proposalId"].as_i64().unwrap());
    }
    let proposal_ids = |reply: &Reply| -> Vec<i64> {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["proposalId"].as_i64().unwrap())
            .collect()
    };
    let (high, low) = (proposals[0], proposals[1]);
    let listed = app.get("/remediations", &reader).await;
    assert_eq!(proposal_ids(&listed), vec![low, high]);
    assert!(!listed.text.contains(SECRET_ENV_VALUE));
    let listed = app.get("/remediations?priority=high", &reader).await;
    assert_eq!(proposal_ids(&listed), vec![high]);
    let listed = app
        .get(&format!("/remediations?assessmentId={first}"), &reader)
        .await;
    assert_eq!(proposal_ids(&listed), vec![low, high]);
    let listed = app
        .get(&format!("/remediations?assessmentId={second}"), &reader)
        .await;
    assert_eq!(proposal_ids(&listed), Vec::<i64>::new());
    let first_correlation = app.assessment(first).await["correlationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app
        .get(
            &format!("/remediations?correlationId={first_correlation}&status=pending"),
            &reader,
        )
        .await;
    assert_eq!(proposal_ids(&listed), vec![low, high]);
    let listed = app.get("/remediations?limit=1&offset=1", &reader).await;
    assert_eq!(proposal_ids(&listed), vec![high]);
    assert_eq!(listed.body["total"], 2);
    assert_eq!(listed.body["pageSize"], 1);
    assert_eq!(listed.body["page"], 2);
});
