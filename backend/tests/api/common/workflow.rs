//! The approval workflow: assessments, the work queue, proposals, approvals and executions.

use super::{As, Reply, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An env value that must never leave the coordinator except in the claimed execution task.
pub const SECRET_ENV_VALUE: &str = "postgresql://app:s3cr3t-Value-XYZ@db/app";

/// Results a compliance server reports for `targets`: every target non compliant with one
/// critical and one warning issue.
pub fn failing_results(targets: &[&str]) -> Value {
    let servers: serde_json::Map<String, Value> = targets
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                json!({
                    "status": "non_compliant",
                    "issues": ["missing_config", "security_issue"],
                    "findings": [
                        { "issue": "missing_config", "severity": "warning",
                          "message": format!("{name} has no configuration entry") },
                        { "issue": "security_issue", "severity": "critical",
                          "message": format!("{name} runs an outdated release") }
                    ]
                }),
            )
        })
        .collect();
    let n = targets.len() as u64;
    json!({
        "summary": { "totalIssues": 2 * n, "criticalIssues": n, "warningIssues": n },
        "servers": servers
    })
}

/// An `install_server` action for the MCP server `server_name`, with the secret in its env.
pub fn install_action(id: &str, server_name: &str) -> Value {
    json!({
        "id": id,
        "type": "install_server",
        "serverName": server_name,
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-postgres@0.6.2"],
        "env": { "DATABASE_URL": SECRET_ENV_VALUE }
    })
}

/// A proposal body for `assessment` with the given priority and actions.
pub fn propose_body(assessment: i64, priority: &str, actions: Value) -> Value {
    json!({
        "assessmentId": assessment,
        "issues": ["missing_config", "security_issue"],
        "priority": priority,
        "proposedActions": actions,
        "rollbackPlan": "Remove the postgres entry and restore the previous configuration"
    })
}

/// Everything a typical workflow test needs: the two servers, a requester, two approvers and
/// an assessment that has results and an approving review.
pub struct World {
    pub compliance: As,
    pub installer: As,
    pub requester: As,
    pub approver_one: As,
    pub approver_two: As,
    pub assessment: i64,
    pub correlation: String,
}

impl World {
    pub async fn new(app: &TestApp) -> Self {
        let compliance = app.server("compliance", "compliance-server").await;
        let installer = app.server("installer", "generic-mcp-installer").await;
        let (_, requester) = app.user("requester", "user").await;
        let (_, approver_one) = app.user("approver-one", "approver").await;
        let (_, approver_two) = app.user("approver-two", "approver").await;
        let assessment = app
            .completed_assessment(&requester, &compliance, "world-assessment", &["postgres"])
            .await;
        app.review(&approver_one, assessment, "approved").await;
        let correlation = app.assessment(assessment).await["correlationId"]
            .as_str()
            .expect("correlationId")
            .to_owned();
        Self {
            compliance,
            installer,
            requester,
            approver_one,
            approver_two,
            assessment,
            correlation,
        }
    }

    /// Proposes one secret-carrying install of `postgres`; returns the proposal id.
    pub async fn propose(&self, app: &TestApp, priority: &str) -> i64 {
        let reply = app
            .propose(
                &self.compliance,
                propose_body(
                    self.assessment,
                    priority,
                    json!([install_action("action-1", "postgres")]),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["proposalId"].as_i64().expect("proposalId")
    }

    /// A `medium` proposal approved by `approver_one`; returns (proposal, pending execution).
    pub async fn approved_proposal(&self, app: &TestApp) -> (i64, i64) {
        let proposal = self.propose(app, "medium").await;
        let reply = app.decide(&self.approver_one, proposal, "approved").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["proposalStatus"], "approved", "{}", reply.text);
        let execution = reply.body["executionId"].as_i64().expect("executionId");
        (proposal, execution)
    }
}

impl TestApp {
    /// Asks for an approval token (optionally bound to a proposal); the raw reply.
    pub async fn approval_token_reply(&self, who: &As, body: Value) -> Reply {
        self.post("/auth/approval-token", who, body).await
    }

    /// A fresh approval token of `who`, bound to `proposal` when given.
    pub async fn approval_token(&self, who: &As, proposal: Option<i64>) -> String {
        let mut body = json!({ "reason": "Deciding a remediation in a test" });
        if let Some(p) = proposal {
            body["proposalId"] = json!(p);
        }
        let reply = self.approval_token_reply(who, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["approvalToken"]
            .as_str()
            .expect("approvalToken")
            .to_owned()
    }

    /// `POST /assessments` with a compliance assessment of `targets`; the raw reply.
    pub async fn request_assessment_reply(
        &self,
        who: &As,
        request_id: &str,
        targets: &[&str],
    ) -> Reply {
        self.post(
            "/assessments",
            who,
            json!({
                "requestId": request_id,
                "assessmentType": "compliance",
                "options": { "includeDetails": true, "generateReport": false },
                "targetServers": targets
            }),
        )
        .await
    }

    /// Requests a new assessment and returns its id.
    pub async fn request_assessment(&self, who: &As, request_id: &str, targets: &[&str]) -> i64 {
        let reply = self
            .request_assessment_reply(who, request_id, targets)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["assessmentId"].as_i64().expect("assessmentId")
    }

    /// `GET /assessments/{id}` as the admin; the body.
    pub async fn assessment(&self, id: i64) -> Value {
        let reply = self
            .get(&format!("/assessments/{id}"), &self.admin().await)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `GET /remediations/{id}` as the admin; the body.
    pub async fn proposal(&self, id: i64) -> Value {
        let reply = self
            .get(&format!("/remediations/{id}"), &self.admin().await)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `GET /remediations/execution/{id}` as the admin; the body.
    pub async fn execution(&self, id: i64) -> Value {
        let reply = self
            .get(
                &format!("/remediations/execution/{id}"),
                &self.admin().await,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `POST /work/claim` with `body`; the raw reply.
    pub async fn claim_reply(&self, server: &As, body: Value) -> Reply {
        self.post("/work/claim", server, body).await
    }

    /// Claims one task of `kind` without waiting; `None` on 204.
    pub async fn claim(&self, server: &As, kind: &str) -> Option<Value> {
        let reply = self
            .claim_reply(server, json!({ "kinds": [kind], "waitSeconds": 0 }))
            .await;
        match reply.status {
            StatusCode::NO_CONTENT => {
                assert!(reply.text.is_empty(), "204 with a body: {}", reply.text);
                None
            }
            StatusCode::OK => Some(reply.body["task"].clone()),
            other => panic!("claiming {kind}: {other}: {}", reply.text),
        }
    }

    /// Claims until the assessment task for `assessment` comes up.
    pub async fn claim_assessment(&self, server: &As, assessment: i64) -> Value {
        for _ in 0..20 {
            let task = self
                .claim(server, "assessment")
                .await
                .unwrap_or_else(|| panic!("no assessment task for {assessment}"));
            assert_eq!(task["kind"], "assessment", "{task}");
            if task["assessment"]["assessmentId"] == json!(assessment) {
                return task;
            }
        }
        panic!("assessment {assessment} was never handed out");
    }

    /// Claims until the execution task for `execution` comes up.
    pub async fn claim_execution(&self, installer: &As, execution: i64) -> Value {
        for _ in 0..20 {
            let task = self
                .claim(installer, "execution")
                .await
                .unwrap_or_else(|| panic!("no execution task for {execution}"));
            assert_eq!(task["kind"], "execution", "{task}");
            if task["execution"]["executionId"] == json!(execution) {
                return task;
            }
        }
        panic!("execution {execution} was never handed out");
    }

    pub async fn report_results(&self, server: &As, assessment: i64, results: Value) -> Reply {
        self.post(
            &format!("/assessments/{assessment}/results"),
            server,
            results,
        )
        .await
    }

    /// Requests an assessment of `targets`, has `compliance` claim it and report failing
    /// results; returns the assessment, now `completed`.
    pub async fn completed_assessment(
        &self,
        requester: &As,
        compliance: &As,
        request_id: &str,
        targets: &[&str],
    ) -> i64 {
        let id = self
            .request_assessment(requester, request_id, targets)
            .await;
        self.claim_assessment(compliance, id).await;
        let reply = self
            .report_results(compliance, id, failing_results(targets))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], "completed", "{}", reply.text);
        id
    }

    /// `POST /assessments/{id}/review` with an explicit token; the raw reply.
    pub async fn review_with(
        &self,
        reviewer: &As,
        assessment: i64,
        decision: &str,
        token: &str,
    ) -> Reply {
        self.post(
            &format!("/assessments/{assessment}/review"),
            reviewer,
            json!({ "decision": decision, "reason": "Findings checked by hand", "approvalToken": token }),
        )
        .await
    }

    /// Reviews `assessment` as `reviewer` with a fresh token; asserts success.
    pub async fn review(&self, reviewer: &As, assessment: i64, decision: &str) -> Reply {
        let token = self.approval_token(reviewer, None).await;
        let reply = self
            .review_with(reviewer, assessment, decision, &token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], decision, "{}", reply.text);
        reply
    }

    pub async fn propose(&self, who: &As, body: Value) -> Reply {
        self.post("/remediations/propose", who, body).await
    }

    /// `POST /approvals` with an explicit token; the raw reply.
    pub async fn decide_with(&self, who: &As, proposal: i64, decision: &str, token: &str) -> Reply {
        self.post(
            "/approvals",
            who,
            json!({
                "proposalId": proposal,
                "decision": decision,
                "reason": "Reviewed the actions and the risk",
                "approvalToken": token
            }),
        )
        .await
    }

    /// Gets a token bound to `proposal` and decides it; the raw reply.
    pub async fn decide(&self, who: &As, proposal: i64, decision: &str) -> Reply {
        let token = self.approval_token(who, Some(proposal)).await;
        self.decide_with(who, proposal, decision, &token).await
    }

    /// `POST /remediations/execute` with an explicit token; the raw reply.
    pub async fn execute_with(&self, who: &As, proposal: i64, dry_run: bool, token: &str) -> Reply {
        self.post(
            "/remediations/execute",
            who,
            json!({
                "proposalId": proposal,
                "approvalToken": token,
                "dryRun": dry_run,
                "rollbackOnFailure": true,
                "parallelExecution": false
            }),
        )
        .await
    }

    /// Gets a token bound to `proposal` and releases it; the raw reply.
    pub async fn execute(&self, who: &As, proposal: i64, dry_run: bool) -> Reply {
        let token = self.approval_token(who, Some(proposal)).await;
        self.execute_with(who, proposal, dry_run, &token).await
    }

    /// The digest an installer computes over the actions of a claimed execution task.
    pub fn recompute_digest(task: &Value) -> String {
        let execution = &task["execution"];
        let actions: Vec<coordinator_api::remediations::ProposedAction> =
            serde_json::from_value(execution["actions"].clone()).expect("task actions");
        let salt = hex::decode(execution["digestSalt"].as_str().expect("digestSalt"))
            .expect("hex digestSalt");
        let machine: coordinator_api::MachineId =
            serde_json::from_value(execution["machineId"].clone()).expect("task machineId");
        let version = execution["digestVersion"].as_u64().expect("digestVersion") as u32;
        coordinator_api::digest::payload_digest(version, &machine, &actions, &salt)
    }

    pub async fn progress(
        &self,
        installer: &As,
        execution: i64,
        action: &str,
        status: &str,
        digest: &str,
    ) -> Reply {
        self.post(
            &format!("/remediations/execution/{execution}/progress"),
            installer,
            json!({ "actionId": action, "status": status, "message": format!("{action} {status}"), "payloadDigest": digest }),
        )
        .await
    }

    pub async fn complete(&self, installer: &As, execution: i64, body: Value) -> Reply {
        self.post(
            &format!("/remediations/execution/{execution}/complete"),
            installer,
            body,
        )
        .await
    }
}
