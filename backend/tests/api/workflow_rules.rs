//! The finer rules of the workflow: whose request ids are whose, who may release, when a
//! run counts as succeeded, and what installers' messages may carry.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn assessment_body(request_id: &str) -> Value {
    json!({
        "requestId": request_id,
        "assessmentType": "compliance",
        "options": { "includeDetails": true, "generateReport": false, "autoApprove": false },
        "targetServers": ["filesystem"]
    })
}

async fn wait_for(app: &TestApp, path: &str, status: &str) -> Value {
    for _ in 0..50 {
        let reply = app.get(path, &app.admin().await).await;
        if reply.body["status"] == status {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{path} never became {status}");
}

dual_test!(request_ids_belong_to_their_caller, async |app: &TestApp| {
    let (_, alice) = app.user("alice", "user").await;
    let (_, bob) = app.user("bob-user", "user").await;
    let a = app
        .post("/assessments", &alice, assessment_body("nightly-1"))
        .await;
    let b = app
        .post("/assessments", &bob, assessment_body("nightly-1"))
        .await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{} {}",
        a.text,
        b.text
    );
    assert_ne!(a.body["assessmentId"], b.body["assessmentId"]);
    assert_ne!(a.body["correlationId"], b.body["correlationId"]);

    let reserved = app
        .post(
            "/assessments",
            &alice,
            assessment_body("coordinator:reassessment-after-execution-1"),
        )
        .await;
    assert_eq!(
        reserved.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reserved.text
    );
    assert_eq!(app.count("assessments").await, 2);
});

dual_test!(
    identical_requests_at_once_get_one_assessment,
    async |app: &TestApp| {
        let (_, alice) = app.user("alice", "user").await;
        let replies = futures_util::future::join_all(
            (0..10).map(|_| app.post("/assessments", &alice, assessment_body("burst-1"))),
        )
        .await;
        assert!(
            replies.iter().all(|r| r.status.is_success()),
            "{:?}",
            replies.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
        let ids: std::collections::BTreeSet<String> = replies
            .iter()
            .map(|r| r.body["assessmentId"].to_string())
            .collect();
        assert_eq!(ids.len(), 1);
        assert_eq!(app.count("assessments").await, 1);
    }
);

dual_test!(whoever_proposed_cannot_release, async |app: &TestApp| {
    let world = World::new(app).await;
    let reply = app
        .propose(
            &world.approver_one,
            propose_body(
                world.assessment,
                "medium",
                json!([install_action("action-1", "postgres")]),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let proposal = reply.body["proposalId"].as_i64().unwrap();
    let decided = app.decide(&world.approver_two, proposal, "approved").await;
    assert_eq!(
        decided.body["proposalStatus"], "approved",
        "{}",
        decided.text
    );
    let refused = app.execute(&world.approver_one, proposal, false).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let released = app.execute(&world.approver_two, proposal, false).await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text);
});

dual_test!(
    nothing_is_decided_on_rejected_results,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let (_, requester) = app.user("requester", "user").await;
        let (_, reviewer) = app.user("reviewer", "approver").await;
        let assessment = app
            .completed_assessment(&requester, &compliance, "doubtful", &["postgres"])
            .await;
        let reply = app
            .propose(
                &compliance,
                propose_body(
                    assessment,
                    "low",
                    json!([install_action("action-1", "postgres")]),
                ),
            )
            .await;
        let proposal = reply.body["proposalId"].as_i64().unwrap();
        assert_eq!(
            app.review(&reviewer, assessment, "rejected").await.status,
            StatusCode::OK
        );
        let decided = app.decide(&reviewer, proposal, "approved").await;
        assert_eq!(decided.status, StatusCode::CONFLICT, "{}", decided.text);
        assert_eq!(app.count("approvals").await, 0);
    }
);

dual_test!(
    a_run_succeeds_only_when_its_actions_did,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        assert_eq!(
            app.execute(&world.approver_two, proposal, false)
                .await
                .status,
            StatusCode::OK
        );
        let task = app.claim_execution(&world.installer, execution).await;
        let digest = TestApp::recompute_digest(&task);
        let early = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            )
            .await;
        assert_eq!(
            early.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            early.text
        );

        assert_eq!(
            app.progress(&world.installer, execution, "action-1", "running", &digest)
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.progress(
                &world.installer,
                execution,
                "action-1",
                "succeeded",
                &digest
            )
            .await
            .status,
            StatusCode::OK
        );
        let backwards = app
            .progress(&world.installer, execution, "action-1", "running", &digest)
            .await;
        assert_eq!(backwards.status, StatusCode::CONFLICT, "{}", backwards.text);
        assert_eq!(
            app.execution(execution).await["actions"][0]["status"],
            "succeeded"
        );

        let done = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    }
);

dual_test!(
    installer_messages_never_carry_env_values,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        assert_eq!(
            app.execute(&world.approver_two, proposal, false)
                .await
                .status,
            StatusCode::OK
        );
        let task = app.claim_execution(&world.installer, execution).await;
        let digest = TestApp::recompute_digest(&task);
        let leaky = format!("could not connect to {SECRET_ENV_VALUE}");
        let reply = app
        .post(
            &format!("/remediations/execution/{execution}/progress"),
            &world.installer,
            json!({ "actionId": "action-1", "status": "failed", "message": leaky, "payloadDigest": digest }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let reply = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "failed", "payloadDigest": digest, "message": leaky,
                    "report": { "error": leaky, "env": { "DATABASE_URL": SECRET_ENV_VALUE } } }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert!(!reply.text.contains(SECRET_ENV_VALUE), "{}", reply.text);
        assert!(
            reply.body["report"]["error"]
                .as_str()
                .unwrap()
                .contains("••••")
        );
        let shown = app
            .get(
                &format!("/remediations/execution/{execution}"),
                &world.approver_one,
            )
            .await;
        assert!(!shown.text.contains(SECRET_ENV_VALUE));
        assert!(
            app.audit_rows()
                .await
                .iter()
                .all(|r| !r.details.contains(SECRET_ENV_VALUE))
        );
    }
);

dual_test!(
    an_interrupted_run_waits_for_a_person_to_release_it_again,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        assert_eq!(
            app.execute(&world.approver_two, proposal, false)
                .await
                .status,
            StatusCode::OK
        );
        let claimed = app
            .claim_reply(
                &world.installer,
                json!({ "kinds": ["execution"], "leaseSeconds": 1 }),
            )
            .await;
        assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text);
        let digest = TestApp::recompute_digest(&claimed.body["task"]);
        assert_eq!(
            app.progress(&world.installer, execution, "action-1", "running", &digest)
                .await
                .status,
            StatusCode::OK
        );
        wait_for(
            app,
            &format!("/remediations/execution/{execution}"),
            "interrupted",
        )
        .await;
        // Never retried by itself...
        assert_eq!(app.claim(&world.installer, "execution").await, None);
        // ...but a person may release it again, as a new run.
        let again = app.execute(&world.approver_two, proposal, false).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        let rerun = again.body["executionId"].as_i64().unwrap();
        assert_ne!(rerun, execution);
        let task = app.claim_execution(&world.installer, rerun).await;
        assert_eq!(task["execution"]["proposalId"], json!(proposal));
        assert_eq!(app.execution(execution).await["status"], "interrupted");
        assert_eq!(app.proposal(proposal).await["executionId"], json!(rerun));
    }
);
