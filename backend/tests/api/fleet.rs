//! Two workstations, two real agents: every piece of work stays on the machine it is about.
//!
//! `ws-1` keeps a VS Code `.vscode/mcp.json` written as JSON with comments, trailing commas
//! and tabs; `ws-2` keeps a Claude Desktop file. One request assesses both; each proposal is
//! applied by its own machine's installer only, and a server of the other machine that tries
//! to claim, report or complete is refused and audited, while the other machine's files stay
//! byte for byte as they were.

use crate::agent::{eventually, finished};
use crate::common::*;
use crate::dual_test;
use coordinator_agent::config::AgentConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;

const VSCODE: &str = ".vscode/mcp.json";
const CLAUDE: &str = "claude_desktop_config.json";

/// ws-1's file: comments of both kinds, trailing commas, tabs.
const WS1_JSONC: &str = "// Workspace MCP servers of the ws-1 checkout.\n{\n\t\"servers\": {\n\t\t/* Files of the project, for the assistant to read. */\n\t\t\"filesystem\": {\n\t\t\t\"command\": \"npx\",\n\t\t\t\"args\": [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/home/ana/src\",],\n\t\t},\n\t\t// Notes kept between conversations.\n\t\t\"memory\": {\n\t\t\t\"command\": \"npx\",\n\t\t\t\"args\": [\"-y\", \"@modelcontextprotocol/server-memory@2025.8.4\"],\n\t\t},\n\t},\n}\n";

const WS1_COMMENTS: [&str; 3] = [
    "// Workspace MCP servers of the ws-1 checkout.",
    "/* Files of the project, for the assistant to read. */",
    "// Notes kept between conversations.",
];

/// ws-2's file: a forbidden server, and no memory server.
const WS2_CLAUDE: &str = r#"{
  "mcpServers": {
    "shady-tools": {
      "command": "npx",
      "args": ["-y", "shady-tools@1.0.0", "--home", "/Users/bo"]
    }
  }
}
"#;

const POLICY: &str = r#"
allowed_commands = ["npx"]
require_pinned_versions = true
check_commands_exist = false

[pinned_versions]
"@modelcontextprotocol/server-filesystem" = "2025.8.21"

[[required]]
name = "memory"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-memory@2025.8.4"]

[[forbidden]]
name = "shady-tools"
reason = "downloads and runs scripts from an unvetted host"
"#;

/// One workstation: its home directory, and its agent while it runs.
struct Station {
    machine: &'static str,
    dir: PathBuf,
    file: &'static str,
    running: Option<(
        watch::Sender<bool>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl Station {
    /// Lays out the home directory with enrollment keys bound to this machine.
    async fn prepare(
        app: &TestApp,
        machine: &'static str,
        file: &'static str,
        content: &str,
    ) -> Self {
        let dir = app.data_dir.join(machine);
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
        let admin = app.admin().await;
        for kind in ["compliance", "installer"] {
            let key = app
                .post(
                    "/servers/enrollment-keys",
                    &admin,
                    json!({ "kind": kind, "machineId": machine }),
                )
                .await;
            assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
            assert_eq!(key.body["machineId"], machine);
            std::fs::write(
                dir.join(format!("{kind}.enrollment-key")),
                key.body["enrollmentKey"].as_str().unwrap(),
            )
            .unwrap();
        }
        Self {
            machine,
            dir,
            file,
            running: None,
        }
    }

    fn server(&self, role: &str) -> String {
        format!("{}-{role}", self.machine.replace('-', ""))
    }

    fn start(&mut self, app: &TestApp) {
        let format = if self.file == VSCODE {
            "vscode"
        } else {
            "mcp_servers"
        };
        let config = format!(
            r#"coordinator_url = "{address}"
machine_id = "{machine}"
state_dir = "agent-state"
policy = "policy.toml"
ping_interval_seconds = 1
poll_wait_seconds = 1
lease_seconds = 30

[compliance]
server_id = "{compliance}"
enrollment_key_file = "compliance.enrollment-key"

[installer]
server_id = "{installer}"
enrollment_key_file = "installer.enrollment-key"

[[files]]
path = "{file}"
format = "{format}"
"#,
            address = app.address,
            machine = self.machine,
            compliance = self.server("compliance"),
            installer = self.server("installer"),
            file = self.file,
        );
        let config = AgentConfig::parse(&config, &self.dir).unwrap();
        let (stop, stopped) = watch::channel(false);
        let agent = tokio::spawn(coordinator_agent::runner::run(config, stopped));
        self.running = Some((stop, agent));
    }

    async fn stop(&mut self) {
        let Some((stop, agent)) = self.running.take() else {
            return;
        };
        let _ = stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), agent)
            .await
            .expect("the agent stops when asked")
            .expect("the agent task")
            .expect("the agent ends cleanly");
    }

    fn read(&self) -> String {
        std::fs::read_to_string(self.dir.join(self.file)).unwrap()
    }

    /// The API key the agent keeps for one of its roles.
    fn key(&self, role: &str) -> As {
        let path = self
            .dir
            .join("agent-state")
            .join(format!("{}.api-key", self.server(role)));
        As::ApiKey(std::fs::read_to_string(path).unwrap().trim().to_owned())
    }
}

/// Decides `proposal` with as many distinct approvers as it needs.
async fn approved(app: &TestApp, approvers: &[As], proposal: i64) -> Value {
    let needed = app.proposal(proposal).await["approvalsRequired"]
        .as_u64()
        .unwrap() as usize;
    let mut last = None;
    for approver in &approvers[..needed] {
        let reply = app.decide(approver, proposal, "approved").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        last = Some(reply.body);
    }
    let last = last.unwrap();
    assert_eq!(last["proposalStatus"], "approved", "{last}");
    last
}

async fn released(app: &TestApp, releaser: &As, proposal: i64) -> i64 {
    let reply = app.execute(releaser, proposal, false).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["executionId"].as_i64().unwrap()
}

async fn proposal_of(app: &TestApp, who: &As, assessment: i64) -> Value {
    let page = eventually(
        app,
        who,
        &format!("/remediations?assessmentId={assessment}"),
        |p| p["total"] == 1,
    )
    .await;
    page["proposals"][0].clone()
}

fn denials_by(rows: &[coordinator::audit::entity::audit_log::Model], actor: &str) -> usize {
    rows.iter().filter(|r| r.actor == actor).count()
}

dual_test!(
    each_change_lands_only_on_its_own_machine,
    async |app: &TestApp| {
        let mut ws1 = Station::prepare(app, "ws-1", VSCODE, WS1_JSONC).await;
        let mut ws2 = Station::prepare(app, "ws-2", CLAUDE, WS2_CLAUDE).await;
        ws1.start(app);
        ws2.start(app);
        let admin = app.admin().await;
        let (_, requester) = app.user("operator", "user").await;
        let mut approvers = Vec::new();
        for name in ["approver-one", "approver-two", "releaser"] {
            approvers.push(app.user(name, "approver").await.1);
        }
        eventually(app, &admin, "/machines", |m| {
            m["machines"].as_array().is_some_and(|all| {
                all.len() == 2
                    && all
                        .iter()
                        .all(|m| m["canAssess"] == true && m["canInstall"] == true)
            })
        })
        .await;
        let grouped = app.get("/servers?machineId=ws-2", &admin).await;
        let ids: Vec<&str> = grouped.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["ws2-compliance", "ws2-installer"], "{}", grouped.text);

        // With two machines, a request must say which one.
        let unclear = app
            .post(
                "/assessments",
                &requester,
                json!({ "requestId": "fleet-0", "assessmentType": "compliance", "targetServers": ["*"] }),
            )
            .await;
        assert_eq!(
            unclear.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            unclear.text
        );
        assert!(
            unclear.text.contains("machineId is required"),
            "{}",
            unclear.text
        );

        // One request for every machine: one assessment each, in one story.
        let both = app
            .post(
                "/assessments",
                &requester,
                json!({ "requestId": "fleet-1", "assessmentType": "compliance",
                        "targetServers": ["*"], "machineIds": ["*"] }),
            )
            .await;
        assert_eq!(both.status, StatusCode::CREATED, "{}", both.text);
        let created = both.body["assessments"].as_array().unwrap().clone();
        let machines: Vec<&str> = created
            .iter()
            .map(|a| a["machineId"].as_str().unwrap())
            .collect();
        assert_eq!(machines, ["ws-1", "ws-2"]);
        let correlation = both.body["correlationId"].as_str().unwrap();
        let listed = app
            .get(
                &format!("/assessments?correlationId={correlation}"),
                &requester,
            )
            .await;
        assert_eq!(listed.body["total"], 2, "{}", listed.text);
        let id_on = |i: usize| created[i]["assessmentId"].as_i64().unwrap();
        let (a1, a2) = (id_on(0), id_on(1));
        let mut done = Vec::new();
        for (id, station) in [(a1, &ws1), (a2, &ws2)] {
            let assessment = eventually(app, &requester, &format!("/assessments/{id}"), |a| {
                a["status"] == "completed"
            })
            .await;
            assert_eq!(assessment["machineId"], station.machine);
            assert_eq!(assessment["assignedServer"], station.server("compliance"));
            done.push(assessment);
        }
        // Each machine's findings are about its own files.
        let servers = |a: &Value| -> Vec<String> {
            a["results"]["servers"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert!(
            servers(&done[0]).contains(&"filesystem".to_owned()),
            "{}",
            done[0]
        );
        assert!(
            !servers(&done[0]).contains(&"shady-tools".to_owned()),
            "{}",
            done[0]
        );
        assert!(
            servers(&done[1]).contains(&"shady-tools".to_owned()),
            "{}",
            done[1]
        );
        assert!(
            !servers(&done[1]).contains(&"filesystem".to_owned()),
            "{}",
            done[1]
        );

        let p1 = proposal_of(app, &requester, a1).await;
        let p2 = proposal_of(app, &requester, a2).await;
        assert_eq!(p1["machineId"], "ws-1");
        assert_eq!(p2["machineId"], "ws-2");
        let (p1, p2) = (
            p1["proposalId"].as_i64().unwrap(),
            p2["proposalId"].as_i64().unwrap(),
        );

        // ws-2's change waits while ws-2's agent is away: ws-1's installer is never given it.
        ws2.stop().await;
        let ws1_before = ws1.read();
        let ws2_before = ws2.read();
        approved(app, &approvers[..2], p2).await;
        let e2 = released(app, &approvers[2], p2).await;
        let w1_installer = ws1.key("installer");
        let w1_compliance = ws1.key("compliance");
        let nothing = app
            .claim_reply(&w1_installer, json!({ "kinds": ["execution"] }))
            .await;
        assert_eq!(nothing.status, StatusCode::NO_CONTENT, "{}", nothing.text);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let waiting = app.execution(e2).await;
        assert_eq!(waiting["status"], "queued", "{waiting}");
        assert_eq!(waiting["machineId"], "ws-2");

        // Everything a server of ws-1 tries on ws-2's work is refused and recorded.
        let refusals_before = app.audit_rows_for("access_denied").await;
        let digest = waiting["payloadDigest"].as_str().unwrap();
        let task = app
            .sql_text(&format!(
                "SELECT CAST(id AS TEXT) FROM work_items WHERE kind = 'execution' AND subject_id = {e2}"
            ))
            .await
            .unwrap();
        let attempts = [
            (
                format!("/remediations/execution/{e2}/progress"),
                &w1_installer,
                json!({ "actionId": "action-1", "status": "running", "payloadDigest": digest }),
            ),
            (
                format!("/remediations/execution/{e2}/complete"),
                &w1_installer,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            ),
            (format!("/work/{task}/heartbeat"), &w1_installer, json!({})),
            (
                format!("/assessments/{a2}/results"),
                &w1_compliance,
                failing_results(&["shady-tools"]),
            ),
        ];
        for (path, who, body) in attempts {
            let refused = app.post(&path, who, body).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                refused.text
            );
            assert!(refused.text.contains("ws-2"), "{path}: {}", refused.text);
        }
        let refusals = app.audit_rows_for("access_denied").await;
        assert_eq!(
            denials_by(&refusals, "ws1-installer") - denials_by(&refusals_before, "ws1-installer"),
            3
        );
        assert_eq!(
            denials_by(&refusals, "ws1-compliance")
                - denials_by(&refusals_before, "ws1-compliance"),
            1
        );
        assert_eq!(app.assessment(a2).await["results"], done[1]["results"]);

        // Back online, ws-2's own installer applies it, to ws-2's file only.
        ws2.start(app);
        let run = finished(app, e2).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["installer"], "ws2-installer");
        let ws2_after = ws2.read();
        assert_ne!(ws2_after, ws2_before);
        assert!(
            !ws2_after.contains("shady-tools") && ws2_after.contains("server-memory"),
            "{ws2_after}"
        );
        assert_eq!(
            ws1.read(),
            ws1_before,
            "ws-1's file is byte for byte as it was"
        );

        // ws-1's JSONC file is changed by its own installer and keeps every comment.
        approved(app, &approvers[..2], p1).await;
        let e1 = released(app, &approvers[2], p1).await;
        let run = finished(app, e1).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["installer"], "ws1-installer");
        let changed = ws1.read();
        assert!(changed.contains("server-filesystem@2025.8.21"), "{changed}");
        for comment in WS1_COMMENTS {
            assert!(
                changed.contains(comment),
                "`{comment}` was lost:\n{changed}"
            );
        }
        assert_eq!(
            ws2.read(),
            ws2_after,
            "ws-2's file is untouched by ws-1's change"
        );

        // A run that fails is rolled back to the exact bytes, and says so action by action.
        let body = propose_body(
            a1,
            "high",
            json!([
                { "id": "remove", "type": "remove_server", "serverName": "memory" },
                { "id": "update", "type": "update_server", "serverName": "memory", "command": "npx",
                  "args": ["-y", "@modelcontextprotocol/server-memory@2025.9.1"] }
            ]),
        );
        let proposed = app.propose(&requester, body).await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{}", proposed.text);
        assert_eq!(proposed.body["machineId"], "ws-1");
        let p3 = proposed.body["proposalId"].as_i64().unwrap();
        approved(app, &approvers[..2], p3).await;
        let e3 = released(app, &approvers[2], p3).await;
        let run = finished(app, e3).await;
        assert_eq!(run["status"], "rolled_back", "{run}");
        assert!(
            run["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{run}"
        );
        let statuses: Vec<&str> = run["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["rolled_back", "failed"], "{run}");
        assert_eq!(run["results"]["rolledBack"], 1);
        assert_eq!(run["results"]["successful"], 0);
        assert_eq!(ws1.read(), changed, "the rollback restored the exact bytes");
        for comment in WS1_COMMENTS {
            assert!(ws1.read().contains(comment));
        }

        ws1.stop().await;
        ws2.stop().await;
    }
);
