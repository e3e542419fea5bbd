//! The dashboard's API client (`coordinator_dashboard::api`) against the real server, without
//! a browser: the same code the wasm dashboard runs, over a native HTTP transport.

use crate::common::*;
use coordinator_api::alerts::{AlertAction, AlertRuleRequest, AlertSeverity};
use coordinator_api::approvals::Decision;
use coordinator_api::assessments::AssessmentQuery;
use coordinator_api::assessments::AssessmentStatus;
use coordinator_api::audit::{AuditQuery, ExportFormat};
use coordinator_api::executions::ExecutionStatus;
use coordinator_api::monitoring::MetricsHistoryQuery;
use coordinator_api::remediations::{ProposalQuery, ProposalStatus};
use coordinator_api::servers::EnrollmentKeyRequest;
use coordinator_api::users::{CreateUserRequest, UpdateUserRequest};
use coordinator_api::{AssessmentId, ProposalId, Role, Secret, ServerKind};
use coordinator_dashboard::api::{API_BASE, Api, HttpRequest, HttpResponse, Method, Transport};
use reqwest::StatusCode;

/// The client's requests over reqwest, to one test server.
#[derive(Clone)]
struct Native {
    base: String,
    http: reqwest::Client,
}

impl Transport for Native {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let url = format!("{}{API_BASE}{}", self.base, request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.http.request(method, url);
        if let Some(token) = request.bearer {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = request.body {
            builder = builder
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = builder.send().await.map_err(|e| e.to_string())?;
        Ok(HttpResponse {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: response.bytes().await.map_err(|e| e.to_string())?.to_vec(),
        })
    }
}

fn anonymous(app: &TestApp) -> Api<Native> {
    Api::new(
        Native {
            base: app.address.clone(),
            http: reqwest::Client::new(),
        },
        None,
    )
}

async fn signed_in(app: &TestApp, username: &str, password: &str) -> Api<Native> {
    let client = anonymous(app);
    let login = client.login(username, password).await.unwrap();
    client.with_token(Some(login.token.into_inner()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_signs_in_and_reports_errors_in_the_contracts_words() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("vera", "viewer").await;

    let refused = anonymous(&app)
        .login("vera", "not-the-password")
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (401, "invalid_credentials")
    );
    assert!(!refused.message.is_empty());

    let vera = signed_in(&app, "vera", PASSWORD).await;
    let permissions = vera.permissions().await.unwrap();
    assert_eq!(permissions.role, Role::Viewer);

    // A viewer may not decide: the server says so, whatever the dashboard offers.
    let forbidden = vera
        .decide(ProposalId(1), Decision::Approved, "looks fine")
        .await
        .unwrap_err();
    assert_eq!(
        (forbidden.status, forbidden.code.as_str()),
        (403, "forbidden")
    );

    // A viewer reads the log, not the results, whether or not the assessment exists.
    let refused = vera.assessment(AssessmentId(999)).await.unwrap_err();
    assert_eq!((refused.status, refused.code.as_str()), (403, "forbidden"));
    app.user("rhea", "user").await;
    let rhea = signed_in(&app, "rhea", PASSWORD).await;
    let missing = rhea.assessment(AssessmentId(999)).await.unwrap_err();
    assert_eq!((missing.status, missing.code.as_str()), (404, "not_found"));

    // After signing out the token is dead: the next call says the session is over.
    vera.logout().await.unwrap();
    let expired = vera.servers().await.unwrap_err();
    assert!(expired.is_session_expired(), "{expired:?}");

    let unreachable = Api::new(
        Native {
            base: "http://127.0.0.1:9".to_owned(),
            http: reqwest::Client::new(),
        },
        None,
    )
    .servers()
    .await
    .unwrap_err();
    assert_eq!(
        (unreachable.status, unreachable.code.as_str()),
        (0, "network")
    );
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_carries_a_change_from_review_to_release() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let compliance = app.server("compliance", "compliance-server").await;
    let (_, requester) = app.user("requester", "user").await;
    app.user("ann", "approver").await;
    app.user("bob", "approver").await;
    let assessment = app
        .completed_assessment(&requester, &compliance, "client-story", &["postgres"])
        .await;
    let ann = signed_in(&app, "ann", PASSWORD).await;
    let bob = signed_in(&app, "bob", PASSWORD).await;

    let waiting = ann
        .assessments(&AssessmentQuery {
            status: Some(AssessmentStatus::Completed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(waiting.total, 1);
    let reviewed = ann
        .review(AssessmentId(assessment), Decision::Approved, "checked")
        .await
        .unwrap();
    assert_eq!(reviewed.assessment.status, AssessmentStatus::Approved);

    let reply = app
        .propose(
            &compliance,
            propose_body(
                assessment,
                "high",
                serde_json::json!([install_action("action-1", "postgres")]),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let proposal = ProposalId(reply.body["proposalId"].as_i64().unwrap());

    let pending = ann
        .proposals(&ProposalQuery {
            status: Some(ProposalStatus::Pending),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.proposals.len(), 1);
    let shown = ann.proposal(proposal).await.unwrap().proposal;
    let env = &shown.proposed_actions[0].env["DATABASE_URL"];
    assert!(!env.masked.contains("s3cr3t"), "{env:?}");

    // Each decision fetches its own single-use token bound to the proposal.
    let first = ann
        .decide(proposal, Decision::Approved, "pinned version")
        .await
        .unwrap();
    assert_eq!((first.approvals_received, first.approvals_required), (1, 2));
    let again = ann
        .decide(proposal, Decision::Approved, "twice")
        .await
        .unwrap_err();
    assert_eq!(again.status, 409, "{again:?}");
    let second = bob
        .decide(proposal, Decision::Approved, "agreed")
        .await
        .unwrap();
    assert_eq!(second.proposal_status, ProposalStatus::Approved);

    let released = bob.execute(proposal, true, true, false).await.unwrap();
    let execution = bob
        .execution(released.execution_id)
        .await
        .unwrap()
        .execution;
    assert_eq!(execution.status, ExecutionStatus::Queued);
    assert!(execution.dry_run);
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reads_exports_and_verifies_the_audit_log() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = World::new(&app).await;
    world.propose(&app, "medium").await;
    app.seal().await;
    let admin = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let story = AuditQuery {
        correlation_id: Some(world.correlation.clone()),
        limit: Some(2),
        ..Default::default()
    };
    let first = admin.audit_logs(&story).await.unwrap();
    assert_eq!(first.logs.len(), 2);
    assert!(first.total > 2);
    let next = admin
        .audit_logs(&AuditQuery {
            cursor: first.next_cursor.clone(),
            ..story.clone()
        })
        .await
        .unwrap();
    assert!(next.logs.iter().all(|row| !first.logs.contains(row)));
    assert!(
        next.logs
            .iter()
            .all(|row| row.correlation_id.as_deref() == Some(world.correlation.as_str()))
    );

    // The export ignores paging: the whole story, as CSV.
    let csv = admin.audit_export(&story, ExportFormat::Csv).await.unwrap();
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = String::from_utf8(csv.bytes).unwrap();
    assert_eq!(text.lines().count() as u64, first.total + 1, "{text}");
    let json = admin
        .audit_export(&story, ExportFormat::Json)
        .await
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
    assert!(rows.to_string().contains(&world.correlation));

    let verify = admin.audit_verify().await.unwrap();
    assert!(verify.verified, "{verify:?}");
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_administers_users_servers_and_alert_rules() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let created = admin
        .create_user(&CreateUserRequest {
            username: "carol".into(),
            password: Secret::new(PASSWORD),
            role: Role::Viewer,
        })
        .await
        .unwrap()
        .user;
    let duplicate = admin
        .create_user(&CreateUserRequest {
            username: "carol".into(),
            password: Secret::new(PASSWORD),
            role: Role::Viewer,
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.status, 409);
    let changed = admin
        .update_user(
            created.id,
            &UpdateUserRequest {
                role: Some(Role::Approver),
                disabled: Some(true),
                password: None,
            },
        )
        .await
        .unwrap()
        .user;
    assert_eq!((changed.role, changed.disabled), (Role::Approver, true));
    assert_eq!(admin.users().await.unwrap().users.len(), 2);

    let key = admin
        .create_enrollment_key(&EnrollmentKeyRequest {
            kind: Some(ServerKind::Installer),
            machine_id: None,
            expires_at: None,
        })
        .await
        .unwrap();
    assert!(!key.enrollment_key.expose().is_empty());
    app.server("compliance", "compliance-server").await;
    let servers = admin.servers().await.unwrap().servers;
    assert_eq!(servers.len(), 1);
    let one = admin.server(&servers[0].id).await.unwrap();
    assert_eq!(one.server.id, servers[0].id);

    let rule = admin
        .save_alert_rule(&AlertRuleRequest {
            name: "cpu-high".into(),
            condition: "cpu_usage > 90".into(),
            action: AlertAction::NotifyAdmin,
            severity: AlertSeverity::Critical,
            webhook_url: None,
        })
        .await
        .unwrap()
        .rule;
    let invalid = admin
        .save_alert_rule(&AlertRuleRequest {
            name: "nonsense".into(),
            condition: "cpu_usage >>> 90".into(),
            action: AlertAction::NotifyAdmin,
            severity: AlertSeverity::Warning,
            webhook_url: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (invalid.status, invalid.code.as_str()),
        (422, "validation_failed")
    );
    assert_eq!(admin.alert_rules().await.unwrap().rules.len(), 1);
    admin.delete_alert_rule(rule.id).await.unwrap();
    assert!(admin.alert_rules().await.unwrap().rules.is_empty());

    let snapshot = admin.system_metrics().await.unwrap();
    assert!(
        snapshot
            .metrics
            .services
            .contains_key("integration-coordinator")
    );
    admin
        .metrics_history(&MetricsHistoryQuery::default())
        .await
        .unwrap();
    app.teardown().await;
}
