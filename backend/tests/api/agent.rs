//! The reference agent against a real coordinator: it assesses the demo workstation in
//! `examples/workstation`, proposes fixes, and applies what two approvers approved.

use crate::common::*;
use crate::dual_test;
use coordinator_agent::config::AgentConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;

const CLAUDE: &str = "claude_desktop_config.json";
const VSCODE: &str = ".vscode/mcp.json";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/workstation")
}

/// A copy of the demo workstation, and an agent configured for this coordinator.
struct Workstation {
    dir: PathBuf,
    stop: watch::Sender<bool>,
    agent: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Workstation {
    async fn start(app: &TestApp) -> Self {
        let dir = app.data_dir.join("workstation");
        std::fs::create_dir_all(dir.join(".vscode")).unwrap();
        for file in [CLAUDE, VSCODE, "policy.toml"] {
            std::fs::copy(examples().join(file), dir.join(file)).unwrap();
        }
        let admin = app.admin().await;
        for kind in ["compliance", "installer"] {
            let key = app
                .post("/servers/enrollment-keys", &admin, json!({ "kind": kind }))
                .await;
            assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
            std::fs::write(
                dir.join(format!("{kind}.enrollment-key")),
                key.body["enrollmentKey"].as_str().unwrap(),
            )
            .unwrap();
        }
        Self::run(app, dir).await
    }

    async fn run(app: &TestApp, dir: PathBuf) -> Self {
        let mut text = std::fs::read_to_string(examples().join("agent.toml")).unwrap();
        for (from, to) in [
            ("http://127.0.0.1:3000", app.address.as_str()),
            ("ping_interval_seconds = 30", "ping_interval_seconds = 1"),
            ("poll_wait_seconds = 20", "poll_wait_seconds = 1"),
            ("lease_seconds = 120", "lease_seconds = 30"),
        ] {
            text = replaced(&text, from, to);
        }
        let config = AgentConfig::parse(&text, &dir).unwrap();
        let (stop, stopped) = watch::channel(false);
        let agent = tokio::spawn(coordinator_agent::runner::run(config, stopped));
        Self { dir, stop, agent }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.agent)
            .await
            .expect("the agent stops when asked")
            .expect("the agent task")
            .expect("the agent ends cleanly");
    }
}

/// `text` with `from` replaced by `to`, failing loudly when `from` is not there: an example
/// that changed must break the test, not quietly leave a setting as it was.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in:\n{text}");
    text.replace(from, to)
}

/// Every env value in the workstation's configuration files.
fn env_values(station: &Workstation) -> Vec<String> {
    let mut values = Vec::new();
    for (file, key) in [(CLAUDE, "mcpServers"), (VSCODE, "servers")] {
        let parsed: Value = serde_json::from_str(&station.read(file)).unwrap();
        for entry in parsed[key].as_object().into_iter().flat_map(|s| s.values()) {
            for value in entry["env"]
                .as_object()
                .into_iter()
                .flat_map(|e| e.values())
            {
                values.push(value.as_str().unwrap().to_owned());
            }
        }
    }
    values
}

/// Polls `path` until `ready` holds, for up to 30 seconds.
pub(crate) async fn eventually(
    app: &TestApp,
    who: &As,
    path: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..150 {
        let reply = app.get(path, who).await;
        if reply.status == StatusCode::OK && ready(&reply.body) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{path} never reached the expected state: {}",
        app.get(path, who).await.text
    );
}

/// Requests an assessment of everything, and returns it once the agent has reported.
async fn assessed(app: &TestApp, who: &As, request_id: &str) -> (i64, Value) {
    let reply = app
        .post(
            "/assessments",
            who,
            json!({ "requestId": request_id, "assessmentType": "compliance", "targetServers": ["*"] }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.body["assessmentId"].as_i64().unwrap();
    let done = eventually(app, who, &format!("/assessments/{id}"), |a| {
        a["status"] == "completed"
    })
    .await;
    (id, done)
}

fn issues(results: &Value, server: &str) -> Vec<String> {
    let mut issues: Vec<String> =
        serde_json::from_value(results["servers"][server]["issues"].clone()).unwrap_or_default();
    issues.sort();
    issues
}

/// The proposal the agent made for `assessment`.
async fn proposal_for(app: &TestApp, who: &As, assessment: i64) -> Value {
    let page = eventually(
        app,
        who,
        &format!("/remediations?assessmentId={assessment}"),
        |p| p["total"] == 1,
    )
    .await;
    page["proposals"][0].clone()
}

pub(crate) async fn approve(app: &TestApp, proposal: i64) -> i64 {
    let (_, one) = app.user("approver-one", "approver").await;
    let (_, two) = app.user("approver-two", "approver").await;
    assert_eq!(
        app.decide(&one, proposal, "approved").await.body["approvalsReceived"],
        1
    );
    let last = app.decide(&two, proposal, "approved").await;
    assert_eq!(last.body["proposalStatus"], "approved", "{}", last.text);
    last.body["executionId"].as_i64().unwrap()
}

pub(crate) async fn release(app: &TestApp, proposal: i64, dry_run: bool) -> i64 {
    let (_, releaser) = app
        .user(if dry_run { "dry-runner" } else { "releaser" }, "approver")
        .await;
    let reply = app.execute(&releaser, proposal, dry_run).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["executionId"].as_i64().unwrap()
}

pub(crate) async fn finished(app: &TestApp, execution: i64) -> Value {
    let admin = app.admin().await;
    eventually(
        app,
        &admin,
        &format!("/remediations/execution/{execution}"),
        |e| !matches!(e["status"].as_str(), Some("queued" | "running" | "pending")),
    )
    .await
}

/// The exact text of `name`'s entry in the original demo file.
fn original_entry(name: &str) -> String {
    let text = std::fs::read_to_string(examples().join(CLAUDE)).unwrap();
    let start = text.find(&format!("\"{name}\": {{")).unwrap();
    let end = start + text[start..].find("\n    }").unwrap() + 6;
    text[start..end].to_owned()
}

dual_test!(
    the_agent_finds_the_planted_problems_and_applies_the_approved_fixes,
    async |app: &TestApp| {
        let station = Workstation::start(app).await;
        let (_, requester) = app.user("requester", "user").await;
        let (assessment, done) = assessed(app, &requester, "workstation-1").await;

        let results = &done["results"];
        assert_eq!(
            results["summary"],
            json!({ "totalIssues": 5, "criticalIssues": 2, "warningIssues": 3 }),
            "{results}"
        );
        assert_eq!(issues(results, "filesystem"), ["unpinned_package"]);
        assert_eq!(issues(results, "github"), ["security_issue"]);
        assert_eq!(
            issues(results, "shady-tools"),
            ["command_not_allowed", "forbidden_server"]
        );
        assert_eq!(issues(results, "memory"), ["missing_config"]);
        assert_eq!(issues(results, "postgres"), Vec::<String>::new());
        assert_eq!(results["servers"]["postgres"]["status"], "compliant");
        assert!(
            !done.to_string().contains("ghp_demo"),
            "a secret value reached the results"
        );

        let proposal = proposal_for(app, &requester, assessment).await;
        assert_eq!(proposal["priority"], "critical");
        assert_eq!(proposal["approvalsRequired"], 2);
        let mut planned: Vec<(String, String)> = proposal["proposedActions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["type"].as_str().unwrap().to_owned(),
                    a["serverName"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        planned.sort();
        assert_eq!(
            planned,
            [
                ("install_server".to_owned(), "memory".to_owned()),
                ("remove_server".to_owned(), "shady-tools".to_owned()),
                ("update_server".to_owned(), "filesystem".to_owned()),
            ]
        );

        let proposal_id = proposal["proposalId"].as_i64().unwrap();
        let secrets = env_values(&station);
        assert!(!secrets.is_empty(), "the example has env values to protect");
        let shown = app
            .get(&format!("/remediations/{proposal_id}"), &requester)
            .await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
        for secret in &secrets {
            assert!(
                !shown.text.contains(secret.as_str()),
                "an env value reached the proposal"
            );
        }
        approve(app, proposal_id).await;
        let execution = release(app, proposal_id, false).await;
        let run = finished(app, execution).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(
            run["results"],
            json!({ "completed": 3, "total": 3, "successful": 3, "failed": 0, "skipped": 0, "rolledBack": 0 })
        );
        for secret in &secrets {
            assert!(
                !run.to_string().contains(secret.as_str()),
                "an env value reached the execution's report"
            );
        }

        // The file now says what the approved actions say, and nothing else changed.
        let claude = station.read(CLAUDE);
        let parsed: Value = serde_json::from_str(&claude).unwrap();
        let servers = &parsed["mcpServers"];
        assert!(servers.get("shady-tools").is_none());
        assert_eq!(servers["memory"]["command"], "npx");
        assert_eq!(
            servers["memory"]["args"],
            json!(["-y", "@modelcontextprotocol/server-memory@2025.8.4"])
        );
        assert_eq!(
            servers["filesystem"]["args"],
            json!([
                "-y",
                "@modelcontextprotocol/server-filesystem@2025.8.21",
                "/home/demo/projects"
            ])
        );
        assert!(
            claude.contains(&original_entry("github")),
            "the github entry changed:\n{claude}"
        );
        assert!(
            claude.contains("\"globalShortcut\": \"Ctrl+Space\"\n}"),
            "{claude}"
        );
        assert_eq!(
            station.read(VSCODE),
            std::fs::read_to_string(examples().join(VSCODE)).unwrap()
        );
        let backups = station
            .dir
            .join("agent-state/backups")
            .join(format!("execution-{execution}"));
        assert_eq!(
            std::fs::read_dir(&backups).unwrap().count(),
            1,
            "one file changed, one backup kept"
        );

        // The loop closes: the re-assessment of what the actions touched finds them compliant.
        let follow_up = run["reassessmentId"].as_i64().unwrap();
        let again = eventually(app, &requester, &format!("/assessments/{follow_up}"), |a| {
            a["status"] == "completed"
        })
        .await;
        assert_eq!(
            again["targetServers"],
            json!(["filesystem", "memory", "shady-tools"])
        );
        assert_eq!(again["results"]["summary"]["totalIssues"], 0, "{again}");
        for server in ["filesystem", "memory", "shady-tools"] {
            assert_eq!(
                again["results"]["servers"][server]["status"], "compliant",
                "{again}"
            );
        }
        station.stop().await;
    }
);

dual_test!(
    a_dry_run_reports_the_diff_and_writes_nothing,
    async |app: &TestApp| {
        let station = Workstation::start(app).await;
        let (_, requester) = app.user("requester", "user").await;
        let (assessment, _) = assessed(app, &requester, "workstation-dry").await;
        let proposal = proposal_for(app, &requester, assessment).await["proposalId"]
            .as_i64()
            .unwrap();
        approve(app, proposal).await;
        let before = station.read(CLAUDE);
        let execution = release(app, proposal, true).await;
        let run = finished(app, execution).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(station.read(CLAUDE), before);
        let diff = run["report"]["diffs"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(path, _)| path.ends_with(CLAUDE))
            .map(|(_, diff)| diff.as_str().unwrap().to_owned())
            .expect("a diff of the Claude configuration");
        assert!(diff.contains("-    \"shady-tools\": {"), "{diff}");
        assert!(diff.contains("+    \"memory\": {"), "{diff}");
        assert!(
            !diff.contains("ghp_demo"),
            "a secret value reached the report"
        );
        // The approval is still usable for the real run.
        assert_eq!(app.proposal(proposal).await["status"], "approved");
        station.stop().await;
    }
);

dual_test!(
    a_failing_action_with_rollback_leaves_the_original_file,
    async |app: &TestApp| {
        let station = Workstation::start(app).await;
        let (_, requester) = app.user("requester", "user").await;
        let (assessment, _) = assessed(app, &requester, "workstation-rollback").await;
        // Removing github succeeds; updating it afterwards cannot, since it is gone.
        let body = propose_body(
            assessment,
            "high",
            json!([
                { "id": "remove", "type": "remove_server", "serverName": "github" },
                { "id": "update", "type": "update_server", "serverName": "github", "command": "npx",
                  "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"] }
            ]),
        );
        let proposed = app.propose(&requester, body).await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
        let proposal = proposed.body["proposalId"].as_i64().unwrap();
        approve(app, proposal).await;
        let before = station.read(CLAUDE);
        let execution = release(app, proposal, false).await;
        let run = finished(app, execution).await;
        assert_eq!(run["status"], "rolled_back", "{run}");
        assert_eq!(
            station.read(CLAUDE),
            before,
            "the original file is back, byte for byte"
        );
        assert_eq!(app.proposal(proposal).await["status"], "failed");
        station.stop().await;
    }
);

dual_test!(
    a_changed_proposal_is_refused_and_changes_nothing,
    async |app: &TestApp| {
        let station = Workstation::start(app).await;
        let (_, requester) = app.user("requester", "user").await;
        let (assessment, _) = assessed(app, &requester, "workstation-tamper").await;
        let proposal = proposal_for(app, &requester, assessment).await["proposalId"]
            .as_i64()
            .unwrap();
        approve(app, proposal).await;
        app.sql(&format!(
        "UPDATE proposals SET actions = replace(actions, 'shady-tools', 'github') WHERE id = {proposal}"
    ))
    .await;
        let before = station.read(CLAUDE);
        let (_, releaser) = app.user("releaser", "approver").await;
        let refused = app.execute(&releaser, proposal, false).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
        // Nothing was queued for the installer, so the running agent has nothing it could
        // apply: no need to wait and see.
        assert_eq!(app.count("work_items WHERE kind = 'execution'").await, 0);
        assert_eq!(station.read(CLAUDE), before);
        station.stop().await;
    }
);

dual_test!(
    malformed_files_are_findings_and_are_never_rewritten,
    async |app: &TestApp| {
        let station = Workstation::start(app).await;
        let broken = "{ \"servers\": { \"postgres\": { \"command\": 42 } }";
        std::fs::write(station.dir.join(VSCODE), broken).unwrap();
        let (_, requester) = app.user("requester", "user").await;
        let (assessment, done) = assessed(app, &requester, "workstation-broken").await;
        let key = format!("file:{}", station.dir.join(VSCODE).display());
        let entry = &done["results"]["servers"][&key];
        assert_eq!(entry["status"], "error", "{done}");
        assert_eq!(entry["issues"], json!(["malformed_config"]));
        // The agent keeps working: the fixes for the readable file are proposed and applied.
        let proposal = proposal_for(app, &requester, assessment).await["proposalId"]
            .as_i64()
            .unwrap();
        approve(app, proposal).await;
        let execution = release(app, proposal, false).await;
        assert_eq!(finished(app, execution).await["status"], "succeeded");
        assert_eq!(
            station.read(VSCODE),
            broken,
            "a malformed file is never rewritten"
        );
        station.stop().await;
    }
);

dual_test!(
    a_pinned_update_sends_no_env_and_keeps_the_files_env,
    async |app: &TestApp| {
        let station = Workstation::start(app).await;
        // The unpinned filesystem server gets env values, a secret among them: the update that
        // pins it must neither carry them to the coordinator nor lose them from the file.
        let claude = replaced(
            &station.read(CLAUDE),
            "\"/home/demo/projects\"]\n",
            "\"/home/demo/projects\"],\n      \"env\": {\n        \"FS_API_TOKEN\": \"sk-fs-demo-0000000000000000\",\n        \"FS_LOG\": \"quietly-please\"\n      }\n",
        );
        std::fs::write(station.dir.join(CLAUDE), &claude).unwrap();
        let secrets = env_values(&station);
        assert_eq!(secrets.len(), 3, "{secrets:?}");

        let (_, requester) = app.user("requester", "user").await;
        let (assessment, done) = assessed(app, &requester, "workstation-env").await;
        assert_eq!(
            issues(&done["results"], "filesystem"),
            ["security_issue", "unpinned_package"]
        );
        let proposal = proposal_for(app, &requester, assessment).await;
        let proposal_id = proposal["proposalId"].as_i64().unwrap();
        let shown = app
            .get(&format!("/remediations/{proposal_id}"), &requester)
            .await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
        let update = shown.body["proposedActions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["type"] == "update_server")
            .cloned()
            .expect("the pin is proposed");
        assert_eq!(update["serverName"], "filesystem");
        assert!(
            update["env"].as_object().is_none_or(|env| env.is_empty()),
            "{update}"
        );
        for secret in &secrets {
            assert!(
                !shown.text.contains(secret.as_str()),
                "an env value reached the proposal"
            );
        }

        approve(app, proposal_id).await;
        let execution = release(app, proposal_id, false).await;
        let run = finished(app, execution).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        for secret in &secrets {
            assert!(
                !run.to_string().contains(secret.as_str()),
                "an env value reached the execution's report"
            );
        }
        let parsed: Value = serde_json::from_str(&station.read(CLAUDE)).unwrap();
        let filesystem = &parsed["mcpServers"]["filesystem"];
        assert_eq!(
            filesystem["args"],
            json!([
                "-y",
                "@modelcontextprotocol/server-filesystem@2025.8.21",
                "/home/demo/projects"
            ])
        );
        assert_eq!(
            filesystem["env"],
            json!({ "FS_API_TOKEN": "sk-fs-demo-0000000000000000", "FS_LOG": "quietly-please" }),
            "the update kept the file's env"
        );
        station.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_survives_the_coordinator_restarting() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut app = TestApp::spawn(backend).await;
        let station = Workstation::start(&app).await;
        let (_, requester) = app.user("requester", "user").await;
        assessed(&app, &requester, "before-restart").await;

        app.restart().await;
        // The agent was long-polling when the coordinator went away; it comes back by itself.
        let (_, after) = assessed(&app, &requester, "after-restart").await;
        assert_eq!(after["results"]["summary"]["totalIssues"], 5);
        station.stop().await;
        app.teardown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_keeps_its_api_key_private_and_reuses_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let station = Workstation::start(&app).await;
    let (_, requester) = app.user("requester", "user").await;
    assessed(&app, &requester, "first-run").await;
    let dir = station.dir.clone();
    station.stop().await;
    let key_file = dir.join("agent-state/workstation-compliance.api-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The enrollment keys are spent; the second run signs in with the kept API keys.
    let station = Workstation::run(&app, dir).await;
    let (_, second) = assessed(&app, &requester, "second-run").await;
    assert_eq!(second["assignedServer"], "workstation-compliance");
    station.stop().await;
    app.teardown().await;
}
