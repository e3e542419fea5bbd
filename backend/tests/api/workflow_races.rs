//! The workflow under concurrency and failure: single-use tokens under 100 concurrent
//! redemptions, many claimers on one queue, self-approval, changed payloads, expiry, lost
//! leases, and env values that must never leave the coordinator.

use crate::common::*;
use crate::{dual_test, dual_test_with};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Polls `path` (as the admin) until its `status` is `want`; panics after `seconds`.
async fn wait_for_status(app: &TestApp, path: &str, want: &str, seconds: u64) -> Value {
    let admin = app.admin().await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let reply = app.get(path, &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        if reply.body["status"] == want {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never became `{want}`: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Claims an execution task with a lease of `lease` seconds; asserts it is `execution`.
async fn claim_execution_for(app: &TestApp, installer: &As, execution: i64, lease: u32) -> Value {
    let reply = app
        .claim_reply(
            installer,
            json!({ "kinds": ["execution"], "leaseSeconds": lease, "waitSeconds": 0 }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let task = reply.body["task"].clone();
    assert_eq!(task["execution"]["executionId"], json!(execution), "{task}");
    task
}

dual_test!(
    one_token_is_redeemed_once_under_100_concurrent_approvals,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let proposal = world.propose(app, "high").await;
        let token = app
            .approval_token(&world.approver_one, Some(proposal))
            .await;
        let rejected = app.audit_count("request_rejected").await;

        let replies = join_all(
            (0..100).map(|_| app.decide_with(&world.approver_one, proposal, "approved", &token)),
        )
        .await;
        let ok: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert_eq!(ok.len(), 1, "exactly one redemption succeeds");
        assert_eq!(ok[0].body["approvalsReceived"], 1);
        for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
            assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
            assert!(
                ["token_used", "conflict"].contains(&reply.error_code()),
                "{}",
                reply.text
            );
        }
        assert_eq!(app.count("approvals").await, 1);
        assert_eq!(app.audit_count("approval_recorded").await, 1);
        assert_eq!(app.audit_count("request_rejected").await, rejected + 99);
        let shown = app.proposal(proposal).await;
        assert_eq!(shown["approvalsReceived"], 1);
        assert_eq!(shown["status"], "pending");
    }
);

dual_test!(
    one_unbound_token_is_redeemed_once_across_two_proposals,
    async |app: &TestApp| {
        // Each proposal could take this approver's decision; only the token stops a second one.
        let world = World::new(app).await;
        let proposals = [
            world.propose(app, "high").await,
            world.propose(app, "high").await,
        ];
        let token = app.approval_token(&world.approver_one, None).await;

        let replies =
            join_all((0..100).map(|i| {
                app.decide_with(&world.approver_one, proposals[i % 2], "approved", &token)
            }))
            .await;
        let ok = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert_eq!(ok, 1, "the token was redeemed {ok} times");
        for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
            assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        }
        assert_eq!(app.count("approvals").await, 1);
        assert_eq!(app.audit_count("approval_recorded").await, 1);
    }
);

dual_test!(
    one_token_is_redeemed_once_under_100_concurrent_reviews,
    async |app: &TestApp| {
        let compliance = app.server("compliance", "compliance-server").await;
        let (_, requester) = app.user("requester", "user").await;
        let (_, approver) = app.user("approver", "approver").await;
        let assessment = app
            .completed_assessment(&requester, &compliance, "reviewed-once", &["postgres"])
            .await;
        let token = app.approval_token(&approver, None).await;

        let replies = join_all((0..100).map(|i| {
            let decision = if i % 2 == 0 { "approved" } else { "rejected" };
            app.review_with(&approver, assessment, decision, &token)
        }))
        .await;
        let ok: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert_eq!(ok.len(), 1, "exactly one review succeeds");
        for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
            assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        }
        assert_eq!(app.audit_count("assessment_reviewed").await, 1);
        let shown = app.assessment(assessment).await;
        assert_eq!(shown["status"], ok[0].body["status"]);
        assert_eq!(shown["review"]["decision"], ok[0].body["status"]);
    }
);

dual_test!(
    an_approved_proposal_is_released_once_under_concurrent_executes,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let mut tokens = Vec::new();
        for _ in 0..20 {
            tokens.push(
                app.approval_token(&world.approver_one, Some(proposal))
                    .await,
            );
        }
        let executions = app.count("executions").await;

        let replies = join_all(
            tokens
                .iter()
                .map(|t| app.execute_with(&world.approver_one, proposal, false, t)),
        )
        .await;
        let ok = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert_eq!(ok, 1, "exactly one release succeeds");
        assert!(
            replies
                .iter()
                .all(|r| r.status == StatusCode::OK || r.status == StatusCode::CONFLICT)
        );
        assert_eq!(app.count("executions").await, executions);
        assert_eq!(app.audit_count("execution_released").await, 1);
        app.claim_execution(&world.installer, execution).await;
        assert_eq!(app.claim(&world.installer, "execution").await, None);
    }
);

/// Registers `n` compliance servers with one admin token; returns their keys.
async fn compliance_servers(app: &TestApp, n: usize) -> Vec<As> {
    let admin = app.admin().await;
    let mut keys = Vec::new();
    for i in 0..n {
        let reply = app
            .post(
                "/servers/register",
                &admin,
                json!({
                    "serverId": format!("compliance-{i:02}"), "version": "1.0.0",
                    "tools": ["compliance_assessment"],
                    "health": { "status": "healthy", "uptime": 10 }
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        keys.push(As::ApiKey(
            reply.body["apiKey"].as_str().unwrap().to_owned(),
        ));
    }
    keys
}

dual_test!(
    twenty_claimers_share_two_hundred_tasks_without_overlap,
    async |app: &TestApp| {
        let servers = compliance_servers(app, 20).await;
        let (_, requester) = app.user("requester", "user").await;
        let mut created = BTreeSet::new();
        for batch in 0..10 {
            let replies = join_all((0..20).map(|i| {
                let request_id = format!("bulk-{batch:02}-{i:02}");
                let requester = requester.clone();
                async move {
                    app.request_assessment(&requester, &request_id, &["x"])
                        .await
                }
            }))
            .await;
            created.extend(replies);
        }
        assert_eq!(created.len(), 200);

        let started = Instant::now();
        let claimed = join_all(servers.iter().map(|server| async move {
            let mut got = Vec::new();
            loop {
                let reply = app
                    .claim_reply(
                        server,
                        json!({ "kinds": ["assessment"], "leaseSeconds": 600, "waitSeconds": 0 }),
                    )
                    .await;
                match reply.status {
                    StatusCode::NO_CONTENT => break,
                    StatusCode::OK => {
                        let task = &reply.body["task"];
                        assert_eq!(task["kind"], "assessment", "{task}");
                        got.push((
                            task["taskId"].as_i64().expect("taskId"),
                            task["assessment"]["assessmentId"]
                                .as_i64()
                                .expect("assessmentId"),
                        ));
                    }
                    other => panic!("claim: {other}: {}", reply.text),
                }
            }
            got
        }))
        .await;
        let elapsed = started.elapsed();

        let all: Vec<(i64, i64)> = claimed.into_iter().flatten().collect();
        assert_eq!(all.len(), 200, "every task handed out exactly once");
        let tasks: BTreeSet<i64> = all.iter().map(|(t, _)| *t).collect();
        assert_eq!(tasks.len(), 200, "a task was handed out twice");
        let assessments: BTreeSet<i64> = all.iter().map(|(_, a)| *a).collect();
        assert_eq!(assessments, created);

        let admin = app.admin().await;
        let running = app
            .get("/assessments?status=running&limit=200", &admin)
            .await;
        assert_eq!(running.status, StatusCode::OK, "{}", running.text);
        assert_eq!(running.body["total"], 200);
        let ids: BTreeSet<i64> = running.body["assessments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["assessmentId"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, created);
        let pending = app.get("/assessments?status=pending", &admin).await;
        assert_eq!(pending.body["total"], 0);
        assert!(
            elapsed < Duration::from_secs(60),
            "claiming 200 tasks took {elapsed:?}"
        );
    }
);

dual_test!(nobody_approves_their_own_work, async |app: &TestApp| {
    let compliance = app.server("compliance", "compliance-server").await;
    let (_, asker) = app.user("approver-asker", "approver").await;
    let (_, proposer) = app.user("approver-proposer", "approver").await;
    let (_, reviewer) = app.user("approver-reviewer", "approver").await;
    let assessment = app
        .completed_assessment(&asker, &compliance, "own-work", &["postgres"])
        .await;

    // The requester may not review their own assessment.
    let denied = app.audit_count("access_denied").await;
    let token = app.approval_token(&asker, None).await;
    let reply = app
        .review_with(&asker, assessment, "approved", &token)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(app.audit_count("access_denied").await, denied + 1);
    let shown = app.assessment(assessment).await;
    assert_eq!(shown["status"], "completed");
    assert_eq!(shown["review"], Value::Null);
    app.review(&reviewer, assessment, "approved").await;

    let proposed = app
        .propose(
            &proposer,
            propose_body(
                assessment,
                "medium",
                json!([install_action("action-1", "postgres")]),
            ),
        )
        .await;
    assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
    let proposal = proposed.body["proposalId"].as_i64().unwrap();
    assert_eq!(
        app.proposal(proposal).await["proposedBy"],
        "approver-proposer"
    );

    // Neither the proposer nor the assessment's requester may decide it.
    for (who, name) in [(&proposer, "proposer"), (&asker, "requester")] {
        let denied = app.audit_count("access_denied").await;
        let reply = app.decide(who, proposal, "approved").await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{name}: {}",
            reply.text
        );
        assert_eq!(app.audit_count("access_denied").await, denied + 1, "{name}");
    }
    assert_eq!(app.count("approvals").await, 0);
    let shown = app.proposal(proposal).await;
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["approvalsReceived"], 0);

    // Somebody else may.
    let reply = app.decide(&reviewer, proposal, "approved").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["proposalStatus"], "approved");
});

dual_test!(
    each_approver_decides_once_and_a_rejection_rejects,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let proposal = world.propose(app, "critical").await;
        assert_eq!(app.proposal(proposal).await["approvalsRequired"], 2);

        let first = app.decide(&world.approver_one, proposal, "approved").await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let refusals = app.refusals().await;
        let again = app.decide(&world.approver_one, proposal, "approved").await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
        assert_eq!(app.refusals().await, refusals + 1);
        assert_eq!(app.count("approvals").await, 1);
        let shown = app.proposal(proposal).await;
        assert_eq!(shown["approvalsReceived"], 1);
        assert_eq!(shown["status"], "pending");

        let no = app.decide(&world.approver_two, proposal, "rejected").await;
        assert_eq!(no.status, StatusCode::OK, "{}", no.text);
        assert_eq!(no.body["proposalStatus"], "rejected");
        assert_eq!(no.body["executionId"], Value::Null);
        assert_eq!(app.proposal(proposal).await["status"], "rejected");
        assert_eq!(app.count("executions").await, 0);

        // Nothing more can be decided or released.
        let (_, third) = app.user("approver-three", "approver").await;
        let late = app.decide(&third, proposal, "approved").await;
        assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
        let release = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(release.status, StatusCode::CONFLICT, "{}", release.text);
        assert_eq!(app.count("executions").await, 0);
        assert_eq!(app.count("approvals").await, 2);
    }
);

dual_test!(
    actions_changed_after_approval_are_never_released,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;

        let select = format!("SELECT actions FROM proposals WHERE id = {proposal}");
        let stored = app.sql_text(&select).await.expect("stored actions");
        assert!(
            !stored.contains("s3cr3t-Value-XYZ"),
            "env values must be encrypted at rest: {stored}"
        );
        assert!(stored.contains("postgres"), "{stored}");
        app.sql(&format!(
            "UPDATE proposals SET actions = replace(actions, 'postgres', 'evil') WHERE id = {proposal}"
        ))
        .await;
        assert_ne!(app.sql_text(&select).await.unwrap(), stored);

        let refusals = app.refusals().await;
        let reply = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert_eq!(app.refusals().await, refusals + 1);
        assert_eq!(app.execution(execution).await["status"], "pending");
        assert_eq!(app.count("executions").await, 1);
        assert_eq!(app.audit_count("execution_released").await, 0);
        assert_eq!(app.claim(&world.installer, "execution").await, None);

        // A dry run of the changed actions is refused too.
        let reply = app.execute(&world.approver_one, proposal, true).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert_eq!(app.count("executions").await, 1);

        // Changed after release, before an installer picks it up: dispatch checks again.
        let (proposal, execution) = world.approved_proposal(app).await;
        let reply = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        app.sql(&format!(
            "UPDATE proposals SET actions = replace(actions, 'postgres', 'evil') WHERE id = {proposal}"
        ))
        .await;
        assert_eq!(
            app.claim(&world.installer, "execution").await,
            None,
            "changed actions were handed to an installer"
        );
        let shown = app.execution(execution).await;
        assert!(
            !["running", "succeeded"].contains(&shown["status"].as_str().unwrap()),
            "{shown}"
        );
        assert_ne!(app.proposal(proposal).await["status"], "executed");
    }
);

dual_test!(
    the_installer_must_hold_the_lease_and_report_the_approved_digest,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let other = app.server("installer", "another-installer").await;
        let released = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(released.status, StatusCode::OK, "{}", released.text);
        let task = app.claim_execution(&world.installer, execution).await;
        let digest = TestApp::recompute_digest(&task);
        let before = app.execution(execution).await;

        let refusals = app.refusals().await;
        let forged = format!("sha256:{}", "0".repeat(64));
        let reply = app
            .progress(&world.installer, execution, "action-1", "running", &forged)
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        let reply = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": forged }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        let reply = app
            .progress(&other, execution, "action-1", "running", &digest)
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        let reply = app
            .progress(&world.installer, execution, "action-9", "running", &digest)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        let task_id = task["taskId"].as_i64().unwrap();
        let reply = app
            .post(&format!("/work/{task_id}/heartbeat"), &other, json!({}))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        assert_eq!(app.refusals().await, refusals + 5);

        let after = app.execution(execution).await;
        assert_eq!(after["status"], before["status"]);
        assert_eq!(after["actions"], before["actions"]);
        assert_eq!(after["progress"], before["progress"]);

        let reply = app
            .progress(&world.installer, execution, "action-1", "failed", &digest)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let reply = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "rolled_back", "payloadDigest": digest, "message": "restored" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let done = app.execution(execution).await;
        assert_eq!(done["status"], "rolled_back");
        assert_eq!(done["results"]["failed"], 1);
        assert_eq!(done["reassessmentId"], Value::Null);
        assert_eq!(app.proposal(proposal).await["status"], "failed");
    }
);

dual_test!(
    approval_tokens_are_personal_bound_single_use_and_short_lived,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let proposal = world.propose(app, "high").await;
        let other_proposal = world.propose(app, "high").await;
        let (_, user) = app.user("plain-user", "user").await;

        let tokens = app.count("approval_tokens").await;

        // Who may ask, and for what.
        let reply = app
            .approval_token_reply(&user, json!({ "reason": "let me" }))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        let reply = app
            .approval_token_reply(
                &world.approver_one,
                json!({ "reason": "typo", "proposalId": 999_999 }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        let reply = app
            .approval_token_reply(
                &world.approver_one,
                json!({ "reason": "late", "expiresAt": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339() }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        let reply = app
            .approval_token_reply(
                &world.approver_one,
                json!({ "reason": "forever", "proposalId": proposal,
                        "expiresAt": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339() }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["proposalId"], json!(proposal));
        let expires: chrono::DateTime<chrono::Utc> =
            reply.body["expiresAt"].as_str().unwrap().parse().unwrap();
        assert!(
            expires
                <= chrono::Utc::now()
                    + chrono::Duration::minutes(15)
                    + chrono::Duration::seconds(5),
            "not clamped: {expires}"
        );
        assert_eq!(app.count("approval_tokens").await, tokens + 1);
        let token_of_one = reply.body["approvalToken"].as_str().unwrap().to_owned();
        let clear = app
            .sql_text(&format!(
                "SELECT token_hash FROM approval_tokens WHERE token_hash = '{}'",
                token_of_one.replace('\'', "")
            ))
            .await;
        assert_eq!(clear, None, "the token is stored in clear");

        let check = |reply: Reply, status: StatusCode, code: Option<&str>| {
            assert_eq!(reply.status, status, "{}", reply.text);
            if let Some(code) = code {
                assert_eq!(reply.error_code(), code, "{}", reply.text);
            }
        };

        // Redemption failures, each audited and changing nothing.
        let refusals = app.refusals().await;
        check(
            app.decide_with(
                &world.approver_one,
                proposal,
                "approved",
                "not-a-real-token",
            )
            .await,
            StatusCode::FORBIDDEN,
            None,
        );
        check(
            app.decide_with(&world.approver_two, proposal, "approved", &token_of_one)
                .await,
            StatusCode::FORBIDDEN,
            None,
        );
        check(
            app.decide_with(
                &world.approver_one,
                other_proposal,
                "approved",
                &token_of_one,
            )
            .await,
            StatusCode::FORBIDDEN,
            None,
        );
        let short = app
            .approval_token_reply(
                &world.approver_two,
                json!({ "reason": "quick", "proposalId": proposal,
                        "expiresAt": (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339() }),
            )
            .await;
        assert_eq!(short.status, StatusCode::CREATED, "{}", short.text);
        let short = short.body["approvalToken"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_secs(2)).await;
        check(
            app.decide_with(&world.approver_two, proposal, "approved", &short)
                .await,
            StatusCode::GONE,
            Some("expired"),
        );
        assert_eq!(app.refusals().await, refusals + 4);
        assert_eq!(app.count("approvals").await, 0);
        assert_eq!(app.proposal(proposal).await["approvalsReceived"], 0);

        // A token is redeemed once; a second use is a conflict.
        let fresh = app
            .approval_token(&world.approver_one, Some(proposal))
            .await;
        check(
            app.decide_with(&world.approver_one, proposal, "approved", &fresh)
                .await,
            StatusCode::OK,
            None,
        );
        let rejected = app.audit_count("request_rejected").await;
        let unbound = app.approval_token(&world.approver_two, None).await;
        check(
            app.decide_with(&world.approver_two, proposal, "approved", &unbound)
                .await,
            StatusCode::OK,
            None,
        );
        check(
            app.execute_with(&world.approver_two, proposal, false, &unbound)
                .await,
            StatusCode::CONFLICT,
            Some("token_used"),
        );
        assert_eq!(app.audit_count("request_rejected").await, rejected + 1);
        assert_eq!(app.count("approvals").await, 2);
        let approved = app.proposal(proposal).await;
        assert_eq!(approved["status"], "approved");
        let execution = approved["executionId"].as_i64().unwrap();
        assert_eq!(app.execution(execution).await["status"], "pending");
    }
);

dual_test_with!(
    undecided_proposals_expire,
    &[("PROPOSAL_TTL", "1")],
    async |app: &TestApp| {
        let world = World::new(app).await;
        let proposal = world.propose(app, "medium").await;
        let token = app
            .approval_token(&world.approver_one, Some(proposal))
            .await;
        let expires: chrono::DateTime<chrono::Utc> = app.proposal(proposal).await["expiresAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(expires <= chrono::Utc::now() + chrono::Duration::seconds(2));
        tokio::time::sleep(Duration::from_secs(2)).await;

        let rejected = app.audit_count("request_rejected").await;
        let reply = app
            .decide_with(&world.approver_one, proposal, "approved", &token)
            .await;
        assert_eq!(reply.status, StatusCode::GONE, "{}", reply.text);
        assert_eq!(reply.error_code(), "expired");
        assert_eq!(app.audit_count("request_rejected").await, rejected + 1);
        assert_eq!(app.count("approvals").await, 0);
        assert_eq!(app.count("executions").await, 0);
        let shown = app.proposal(proposal).await;
        assert_eq!(shown["status"], "expired");
        let listed = app
            .get("/remediations?status=expired", &world.requester)
            .await;
        assert_eq!(listed.body["total"], 1, "{}", listed.text);
    }
);

dual_test!(
    a_lease_lost_after_progress_interrupts_the_execution,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        let released = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(released.status, StatusCode::OK, "{}", released.text);
        let task = claim_execution_for(app, &world.installer, execution, 1).await;
        let task_id = task["taskId"].as_i64().unwrap();
        let digest = TestApp::recompute_digest(&task);
        let reply = app
            .progress(&world.installer, execution, "action-1", "running", &digest)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

        // The installer goes quiet; the reclaimer notices.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let shown = wait_for_status(
            app,
            &format!("/remediations/execution/{execution}"),
            "interrupted",
            10,
        )
        .await;
        assert_eq!(shown["actions"][0]["status"], "running");

        let refusals = app.refusals().await;
        let beat = app
            .post(
                &format!("/work/{task_id}/heartbeat"),
                &world.installer,
                json!({ "leaseSeconds": 60 }),
            )
            .await;
        assert_eq!(beat.status, StatusCode::CONFLICT, "{}", beat.text);
        let late = app
            .progress(
                &world.installer,
                execution,
                "action-1",
                "succeeded",
                &digest,
            )
            .await;
        assert!(
            late.status == StatusCode::FORBIDDEN || late.status == StatusCode::CONFLICT,
            "{}",
            late.text
        );
        let late = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            )
            .await;
        assert!(
            late.status == StatusCode::FORBIDDEN || late.status == StatusCode::CONFLICT,
            "{}",
            late.text
        );
        assert_eq!(app.refusals().await, refusals + 3);

        // Never retried by itself.
        assert_eq!(app.claim(&world.installer, "execution").await, None);
        let shown = app.execution(execution).await;
        assert_eq!(shown["status"], "interrupted");
        assert_eq!(shown["actions"][0]["status"], "running");
        assert_eq!(shown["reassessmentId"], Value::Null);
        assert_ne!(app.proposal(proposal).await["status"], "executed");
    }
);

dual_test!(
    expired_leases_return_untouched_work_to_the_queue,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let second = app.server("compliance", "compliance-two").await;
        let assessment = app
            .request_assessment(&world.requester, "flaky-run", &["postgres"])
            .await;
        let path = format!("/assessments/{assessment}");
        let short = json!({ "kinds": ["assessment"], "leaseSeconds": 1, "waitSeconds": 0 });

        // First attempt: the server vanishes; the assessment goes back to the queue.
        let first = app.claim_reply(&world.compliance, short.clone()).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        assert_eq!(first.body["task"]["attempt"], 1);
        let task_id = first.body["task"]["taskId"].as_i64().unwrap();
        wait_for_status(app, &path, "pending", 10).await;
        let beat = app
            .post(
                &format!("/work/{task_id}/heartbeat"),
                &world.compliance,
                json!({}),
            )
            .await;
        assert_eq!(beat.status, StatusCode::CONFLICT, "{}", beat.text);

        // Second attempt, on another server; the first one may no longer report.
        let again = app.claim_reply(&second, short.clone()).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.body["task"]["attempt"], 2);
        assert_eq!(
            again.body["task"]["assessment"]["assessmentId"],
            json!(assessment)
        );
        let stale = app
            .report_results(
                &world.compliance,
                assessment,
                failing_results(&["postgres"]),
            )
            .await;
        assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.text);
        wait_for_status(app, &path, "pending", 10).await;

        // Third and last attempt.
        let last = app.claim_reply(&second, short).await;
        assert_eq!(last.status, StatusCode::OK, "{}", last.text);
        assert_eq!(last.body["task"]["attempt"], 3);
        let failed = wait_for_status(app, &path, "failed", 10).await;
        assert_eq!(failed["results"], Value::Null);
        assert_eq!(app.claim(&second, "assessment").await, None);

        // An execution whose actions never started goes back to the queue.
        let (proposal, execution) = world.approved_proposal(app).await;
        let released = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(released.status, StatusCode::OK, "{}", released.text);
        let task = claim_execution_for(app, &world.installer, execution, 1).await;
        assert_eq!(task["attempt"], 1);
        wait_for_status(
            app,
            &format!("/remediations/execution/{execution}"),
            "queued",
            10,
        )
        .await;
        let task = app.claim_execution(&world.installer, execution).await;
        assert_eq!(task["attempt"], 2);
        let digest = TestApp::recompute_digest(&task);
        for status in ["running", "succeeded"] {
            let reply = app
                .progress(&world.installer, execution, "action-1", status, &digest)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
        let done = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert_eq!(app.execution(execution).await["status"], "succeeded");
    }
);

/// The distinctive part of `SECRET_ENV_VALUE`: catches partial and re-encoded leaks too.
const NEEDLE: &str = "s3cr3t-Value-XYZ";

mod no_env_value_leaves_the_coordinator {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }

    /// Runs the real binary (its logging is only set up there) with a debug log file, drives
    /// a proposal with a secret env value through a dry run and a real run, and looks for the
    /// value everywhere it must not be.
    async fn run(backend: Backend) {
        let (app, mut process) = TestApp::spawn_process(
            backend,
            &[("LOG_FILE_PATH", "log.jsonl"), ("LOG_LEVEL", "debug")],
        )
        .await;
        let world = World::new(&app).await;
        let mut seen: Vec<Reply> = Vec::new();

        // Refused proposals carrying the value do not echo it.
        let mut bad_name = install_action("action-1", "postgres");
        bad_name["env"] = json!({ "BAD-NAME": SECRET_ENV_VALUE });
        let mut no_command = install_action("action-1", "postgres");
        no_command["command"] = json!("");
        for action in [bad_name, no_command] {
            let reply = app
                .propose(
                    &world.compliance,
                    propose_body(world.assessment, "high", json!([action])),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                reply.text
            );
            seen.push(reply);
        }

        let proposed = app
            .propose(
                &world.compliance,
                propose_body(
                    world.assessment,
                    "high",
                    json!([install_action("action-1", "postgres")]),
                ),
            )
            .await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
        let proposal = proposed.body["proposalId"].as_i64().unwrap();
        seen.push(proposed);
        let admin = app.admin().await;
        seen.push(app.get(&format!("/remediations/{proposal}"), &admin).await);
        seen.push(app.get("/remediations?limit=200", &admin).await);
        seen.push(app.decide(&world.approver_one, proposal, "approved").await);
        let second = app.decide(&world.approver_two, proposal, "approved").await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.text);
        let execution = second.body["executionId"].as_i64().unwrap();
        seen.push(second);

        // A dry run, then the real run; only the claimed tasks carry the value.
        let dry = app.execute(&world.approver_one, proposal, true).await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
        let dry_run = dry.body["executionId"].as_i64().unwrap();
        seen.push(dry);
        let task = app.claim_execution(&world.installer, dry_run).await;
        assert_eq!(
            task["execution"]["actions"][0]["env"]["DATABASE_URL"],
            SECRET_ENV_VALUE
        );
        let digest = TestApp::recompute_digest(&task);
        seen.push(
            app.complete(
                &world.installer,
                dry_run,
                json!({ "outcome": "succeeded", "payloadDigest": digest,
                        "report": { "diff": "+ mcpServers.postgres" } }),
            )
            .await,
        );
        seen.push(app.execute(&world.approver_two, proposal, false).await);
        let task = app.claim_execution(&world.installer, execution).await;
        assert_eq!(
            task["execution"]["actions"][0]["env"]["DATABASE_URL"],
            SECRET_ENV_VALUE
        );
        for status in ["running", "succeeded"] {
            seen.push(
                app.progress(&world.installer, execution, "action-1", status, &digest)
                    .await,
            );
        }
        seen.push(
            app.complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            )
            .await,
        );
        for path in [
            format!("/remediations/execution/{execution}"),
            format!("/remediations/execution/{dry_run}"),
            "/assessments?limit=200".to_owned(),
            "/audit/logs?limit=1000".to_owned(),
            format!("/audit/logs?correlationId={}&limit=1000", world.correlation),
            "/audit/export?format=ndjson".to_owned(),
            "/audit/export?format=json".to_owned(),
            "/audit/export?format=csv".to_owned(),
        ] {
            let reply = app.get(&path, &admin).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
            assert!(!reply.text.is_empty(), "{path}");
            seen.push(reply);
        }
        assert_eq!(
            app.execution(execution).await["status"],
            "succeeded",
            "the run did not finish"
        );

        for reply in &seen {
            assert!(
                !reply.text.contains(NEEDLE),
                "a response carries the env value: {}",
                reply.text
            );
        }
        let rows = app.audit_rows().await;
        assert!(rows.len() > 20);
        for row in &rows {
            assert!(!row.details.contains(NEEDLE), "audit details: {row:?}");
            assert!(
                !row.target.as_deref().unwrap_or_default().contains(NEEDLE),
                "audit target: {row:?}"
            );
        }
        let stored = app
            .sql_text(&format!(
                "SELECT actions FROM proposals WHERE id = {proposal}"
            ))
            .await
            .unwrap();
        assert!(!stored.contains(NEEDLE), "stored in clear: {stored}");

        // The log file, once the process has flushed it on shutdown.
        process.stop();
        let mut log = String::new();
        for entry in std::fs::read_dir(&app.data_dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with("log.jsonl") {
                log.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
        assert!(
            log.lines().count() > 10,
            "the debug log file is (nearly) empty: {log:?}"
        );
        assert!(log.contains("remediations"), "the log shows no requests");
        assert!(
            !log.contains(NEEDLE),
            "the log file carries the env value: {}",
            log.lines()
                .filter(|l| l.contains(NEEDLE))
                .collect::<Vec<_>>()
                .join("\n")
        );
        app.teardown().await;
    }
}

dual_test!(claims_are_validated_and_long_poll, async |app: &TestApp| {
    let compliance = app.server("compliance", "compliance-server").await;
    let (_, requester) = app.user("requester", "user").await;

    let rejected = app.audit_count("request_rejected").await;
    for body in [
        json!({ "leaseSeconds": 0 }),
        json!({ "leaseSeconds": 3601 }),
        json!({ "waitSeconds": 31 }),
        json!({ "kinds": ["coffee"] }),
    ] {
        let reply = app.claim_reply(&compliance, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(app.audit_count("request_rejected").await, rejected + 4);

    // Nothing to do: 204 at once, or after the wait.
    let started = Instant::now();
    assert_eq!(app.claim(&compliance, "assessment").await, None);
    assert!(started.elapsed() < Duration::from_secs(2));
    let started = Instant::now();
    let reply = app
        .claim_reply(&compliance, json!({ "waitSeconds": 2 }))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
        "waited {waited:?}"
    );

    // A waiting claimer gets work that arrives while it waits.
    let started = Instant::now();
    let (claimed, requested) = futures_util::future::join(
        app.claim_reply(
            &compliance,
            json!({ "kinds": ["assessment"], "waitSeconds": 20 }),
        ),
        async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            app.request_assessment(&requester, "arrives-later", &["postgres"])
                .await
        },
    )
    .await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text);
    assert_eq!(
        claimed.body["task"]["assessment"]["assessmentId"],
        json!(requested)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the waiting claim was not woken: {:?}",
        started.elapsed()
    );
});

dual_test!(
    work_goes_only_to_servers_that_can_do_it,
    async |app: &TestApp| {
        let world = World::new(app).await;
        let admin = app.admin().await;

        // A compliance server without the assessment tool gets no assessments.
        let reply = app
            .post(
                "/servers/register",
                &admin,
                json!({ "serverId": "proposals-only", "version": "1.0.0",
                        "tools": ["generate_remediation_proposal"],
                        "health": { "status": "healthy", "uptime": 10 } }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let proposals_only = As::ApiKey(reply.body["apiKey"].as_str().unwrap().to_owned());
        let waiting = app
            .request_assessment(&world.requester, "for-the-right-server", &["postgres"])
            .await;
        let reply = app
            .claim_reply(&proposals_only, json!({ "waitSeconds": 0 }))
            .await;
        assert_ne!(reply.status, StatusCode::OK, "{}", reply.text);
        let reply = app
            .claim_reply(
                &world.installer,
                json!({ "kinds": ["assessment"], "waitSeconds": 0 }),
            )
            .await;
        assert_ne!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(app.assessment(waiting).await["status"], "pending");

        // An update needs an installer that can update.
        let update = json!([{
            "id": "action-1", "type": "update_server", "serverName": "postgres",
            "command": "npx", "args": ["-y", "@modelcontextprotocol/server-postgres@0.6.3"],
            "env": {}
        }]);
        let proposed = app
            .propose(
                &world.compliance,
                propose_body(world.assessment, "medium", update),
            )
            .await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
        let proposal = proposed.body["proposalId"].as_i64().unwrap();
        let decided = app.decide(&world.approver_one, proposal, "approved").await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.text);
        let execution = decided.body["executionId"].as_i64().unwrap();
        let released = app.execute(&world.approver_one, proposal, false).await;
        assert_eq!(released.status, StatusCode::OK, "{}", released.text);

        assert_eq!(app.claim(&world.installer, "execution").await, None);
        let reply = app
            .claim_reply(
                &world.compliance,
                json!({ "kinds": ["execution"], "waitSeconds": 0 }),
            )
            .await;
        assert_ne!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(app.execution(execution).await["status"], "queued");

        let reply = app
            .post(
                "/servers/register",
                &admin,
                json!({ "installerId": "full-installer", "version": "1.0.0",
                        "capabilities": ["install_server", "remove_server", "update_server", "generate_config"],
                        "contact": { "email": "ops@example.com" } }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let full = As::ApiKey(reply.body["apiKey"].as_str().unwrap().to_owned());
        let task = app.claim_execution(&full, execution).await;
        assert_eq!(task["execution"]["actions"][0]["type"], "update_server");
        assert_eq!(
            app.execution(execution).await["installer"],
            "full-installer"
        );
    }
);
