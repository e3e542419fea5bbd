//! The dashboard in a real browser (headless Chromium through chromedriver) against the real
//! server: the approval story from sign-in to an audited, exported change.
//!
//! Screenshots of every page and the measured time to first render of the overview are kept
//! in `target/browser-artifacts/`.

mod webdriver;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use webdriver::{Browser, Driver};

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    // Chromium does not finish a download into a folder named with `..` in it.
    dir.canonicalize().unwrap()
}

/// A browser window on the dashboard of `app`, and the place its screenshots go.
struct Dashboard {
    /// The coordinator's address: it outlives restarts of the coordinator.
    address: String,
    browser: Browser,
}

impl Dashboard {
    /// `name` keeps this test's downloads apart from those of tests running beside it.
    async fn open(app: &TestApp, driver: &Driver, name: &str, width: u32, height: u32) -> Self {
        let downloads = artifacts().join("downloads").join(name);
        let _ = std::fs::remove_dir_all(&downloads);
        let browser = Browser::open(driver, downloads, width, height).await;
        Self {
            address: app.address.clone(),
            browser,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Opens `path`; without a session the dashboard asks to sign in first and then returns
    /// to `path`.
    async fn sign_in_at(&self, path: &str, username: &str, password: &str) {
        self.browser.goto(&self.url(path)).await;
        self.browser.type_into("#username", username).await;
        self.browser.type_into("#password", password).await;
        self.browser
            .click_on("form[data-test=login] button[type=submit]")
            .await;
        let wanted = self.url(path);
        self.browser
            .wait_for(&format!("the return to {path}"), async || {
                self.browser.current_url().await == wanted
            })
            .await;
        self.browser.find("[data-test=connection]").await;
    }

    async fn sign_out(&self) {
        self.browser.click_on("header button.link").await;
        self.browser.find("form[data-test=login]").await;
    }

    async fn screenshot(&self, name: &str) {
        self.browser
            .screenshot(&artifacts().join(format!("{name}.png")))
            .await;
    }

    async fn assert_no_console_errors(&self, when: &str) {
        let errors = self.browser.console_errors().await;
        assert!(errors.is_empty(), "console errors {when}: {errors:#?}");
    }

    /// Fails if anything on the page matches `css`.
    async fn assert_absent(&self, css: &str) {
        let found = self.browser.all(css).await;
        assert!(found.is_empty(), "`{css}` should not be on the page");
    }

    async fn decide(&self, reason: &str, button: &str) {
        self.browser.type_into("#decision-reason", reason).await;
        self.browser
            .click_on(&format!("[data-test=decision] [data-test={button}]"))
            .await;
    }

    async fn progress(&self) -> Option<String> {
        let bar = self
            .browser
            .all("[data-test=progress]")
            .await
            .into_iter()
            .next()?;
        self.browser.attribute(&bar, "aria-valuenow").await
    }
}

/// Two installs, so an installer's reports move the progress bar through a middle value.
fn two_installs(assessment: i64) -> serde_json::Value {
    propose_body(
        assessment,
        "high",
        json!([
            install_action("action-1", "postgres"),
            install_action("action-2", "postgres-replica")
        ]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_story_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // The agent's two roles on one workstation: every piece of work is about that machine.
    let compliance = app
        .server_on("compliance", "compliance-server", Some("ws-07"))
        .await;
    let installer = app
        .server_on("installer", "generic-mcp-installer", Some("ws-07"))
        .await;
    let (_, requester) = app.user("requester", "user").await;
    let (_, approver_one) = app.user("approver-one", "approver").await;
    app.user("approver-two", "approver").await;
    app.user("auditor", "viewer").await;
    app.user("reader", "user").await;
    app.user("viewer", "viewer").await;
    let assessment = app
        .completed_assessment(&requester, &compliance, "browser-story", &["postgres"])
        .await;
    let correlation = app.assessment(assessment).await["correlationId"]
        .as_str()
        .unwrap()
        .to_owned();

    let driver = Driver::start().await;
    let page = Dashboard::open(&app, &driver, "story", 1280, 900).await;

    // An approver signs in and lands on the overview; then a fresh load of it is timed.
    page.sign_in_at("/", "approver-one", PASSWORD).await;
    page.browser.goto(&page.url("/")).await;
    page.browser.find("[data-test=needs-decision] table").await;
    page.browser
        .wait_for_text("[data-test=review-queue] [data-test=queue-row]", "ws-07")
        .await;
    let first_render = page
        .browser
        .script(
            "const m = performance.getEntriesByName('overview-ready')[0]; return m ? m.startTime : null;",
            json!([]),
        )
        .await;
    let first_render = first_render
        .as_f64()
        .expect("the overview marks its first render");
    std::fs::create_dir_all(artifacts()).unwrap();
    std::fs::write(
        artifacts().join("overview-first-render-ms.txt"),
        format!("{first_render:.0}\n"),
    )
    .unwrap();
    println!("time to first render of the overview: {first_render:.0} ms");
    page.screenshot("overview").await;
    page.assert_no_console_errors("on the overview").await;

    // ... reviews the assessment waiting for it.
    page.browser.goto(&page.url("/assessments")).await;
    page.browser.find("table a[href='/assessments/1']").await;
    page.browser
        .wait_for_text("[data-test=assessment-row]", "ws-07")
        .await;
    page.screenshot("assessments").await;
    // The machine filter lives in the address, like the others.
    page.browser
        .goto(&page.url("/assessments?machineId=ws-08"))
        .await;
    page.browser
        .wait_for_text(".empty", "No assessment matches these filters")
        .await;
    page.browser
        .goto(&page.url(&format!("/assessments/{assessment}")))
        .await;
    page.browser.find("[data-test=decision]").await;
    page.browser
        .wait_for_text("[data-test=machine-banner]", "Assesses machine ws-07")
        .await;
    page.screenshot("assessment-detail").await;
    page.decide("Findings match what we see on the machine", "approve")
        .await;
    page.browser
        .wait_for("the review to be recorded", async || {
            app.assessment(assessment).await["status"] == "approved"
        })
        .await;
    page.browser
        .wait_for("the review form to go away", async || {
            page.browser.all("[data-test=decision]").await.is_empty()
        })
        .await;

    // A high-priority proposal needs two approvers.
    let reply = app.propose(&compliance, two_installs(assessment)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let proposal = reply.body["proposalId"].as_i64().unwrap();
    let detail = format!("/remediations/{proposal}");
    // The queue says which workstation each change waiting for a decision is for.
    page.browser.goto(&page.url("/")).await;
    page.browser
        .wait_for_text("[data-test=proposal-queue] [data-test=queue-row]", "ws-07")
        .await;
    page.browser
        .goto(&page.url("/remediations?machineId=ws-07"))
        .await;
    page.browser
        .find(&format!("table a[href='{detail}']"))
        .await;
    page.browser
        .wait_for_text("[data-test=proposal-row]", "ws-07")
        .await;
    page.screenshot("remediations").await;
    page.browser.goto(&page.url(&detail)).await;
    page.browser
        .wait_for_text("[data-test=approvals-count]", "0 of 2")
        .await;
    // Before deciding, the approver reads which machine the change is for.
    page.browser
        .wait_for_text("[data-test=machine-banner]", "Changes machine ws-07")
        .await;
    page.browser
        .wait_for_text("[data-test=decide]", "on machine ws-07 only")
        .await;
    page.decide("Both installs are pinned and reviewed", "approve")
        .await;
    page.browser
        .wait_for_text("[data-test=approvals-count]", "1 of 2")
        .await;
    page.assert_no_console_errors("after the first approval")
        .await;
    page.sign_out().await;

    page.sign_in_at(&detail, "approver-two", PASSWORD).await;
    page.decide("Second pair of eyes: fine", "approve").await;
    page.browser
        .wait_for_text("[data-test=proposal-status]", "approved")
        .await;
    page.browser
        .wait_for_text("[data-test=approvals-count]", "2 of 2")
        .await;

    // A dry run first: the installer reports what it would change, and the page shows it.
    page.browser.click_on("[data-test=dry-run]").await;
    page.browser.click_on("[data-test=execute]").await;
    page.browser
        .wait_for_text("[data-test=execution-kind]", "Dry run")
        .await;
    let dry_run: i64 = page
        .browser
        .current_url()
        .await
        .rsplit_once("run=")
        .and_then(|(_, id)| id.parse().ok())
        .expect("the address names the dry run");
    let task = app.claim_execution(&installer, dry_run).await;
    let digest = TestApp::recompute_digest(&task);
    let finished = app
        .complete(
            &installer,
            dry_run,
            json!({
                "outcome": "succeeded",
                "payloadDigest": digest,
                "report": { "dryRun": true, "diffs": {
                    "claude_desktop_config.json": "--- a\n+++ b\n+    \"postgres\": {}\n"
                }}
            }),
        )
        .await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.text);
    page.browser
        .wait_for_text("[data-test=diff]", "claude_desktop_config.json")
        .await;
    // A dry run changed nothing and says so: its actions were skipped, not succeeded.
    page.browser
        .wait_for_text(
            "[data-test=execution-outcome]",
            "Dry run finished — nothing was changed",
        )
        .await;
    page.browser
        .wait_for_text("[data-test=execution-counts]", "2 of 2 finished: 2 skipped")
        .await;
    page.screenshot("remediation-dry-run").await;

    // The second approver starts the real execution; the installer's reports move the bar
    // live. The release form comes back with its defaults: no dry run.
    page.browser.find("[data-test=execute]").await;
    let dry = page
        .browser
        .script(
            "return document.querySelector('[data-test=dry-run]').checked;",
            json!([]),
        )
        .await;
    assert_eq!(dry, json!(false));
    page.browser.click_on("[data-test=execute]").await;
    page.browser
        .wait_for_text("[data-test=execution-status]", "queued")
        .await;
    let execution = app.proposal(proposal).await["executionId"]
        .as_i64()
        .unwrap();
    let task = app.claim_execution(&installer, execution).await;
    let digest = TestApp::recompute_digest(&task);
    let reported = app
        .progress(&installer, execution, "action-1", "succeeded", &digest)
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
    page.browser
        .wait_for("the bar at 50%", async || {
            page.progress().await.as_deref() == Some("50")
        })
        .await;
    page.screenshot("remediation-running").await;
    let reported = app
        .progress(&installer, execution, "action-2", "succeeded", &digest)
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
    page.browser
        .wait_for("the bar at 100%", async || {
            page.progress().await.as_deref() == Some("100")
        })
        .await;
    page.browser
        .wait_for_text("[data-test=action-row][data-action=action-2]", "succeeded")
        .await;
    page.screenshot("remediation-detail").await;
    page.assert_no_console_errors("while the execution ran")
        .await;
    page.sign_out().await;

    // An auditor follows the whole change by its correlation id and exports it.
    page.sign_in_at("/audit", "auditor", PASSWORD).await;
    page.browser
        .type_into("#filter-correlation", &correlation)
        .await;
    page.browser.click_on("[data-test=apply-filters]").await;
    page.browser
        .wait_for("only rows of the change", async || {
            let url = page.browser.current_url().await;
            let rows = page.browser.all("[data-test=audit-row]").await;
            url.contains(&correlation) && rows.len() >= 5
        })
        .await;
    page.screenshot("audit").await;
    page.browser.click_on("[data-test=export-csv]").await;
    let csv = page.browser.downloaded("audit-log.csv").await;
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.contains("correlation"), "{header}");
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 5, "{csv}");
    assert!(rows.iter().all(|row| row.contains(&correlation)), "{csv}");
    assert!(csv.contains("remediation_approved"), "{csv}");
    page.browser.click_on("[data-test=verify]").await;
    page.browser
        .wait_for_text("[data-test=verify-result]", "Verified")
        .await;
    page.assert_no_console_errors("on the audit page").await;
    page.sign_out().await;

    // A user reads a pending proposal and is offered no decision.
    let reply = app.propose(&compliance, two_installs(assessment)).await;
    let pending = reply.body["proposalId"].as_i64().unwrap();
    page.sign_in_at(&format!("/remediations/{pending}"), "reader", PASSWORD)
        .await;
    page.browser
        .wait_for_text("[data-test=proposal-status]", "pending")
        .await;
    page.assert_absent("[data-test=approve]").await;
    page.assert_absent("[data-test=execute]").await;
    page.screenshot("remediation-as-user").await;
    page.sign_out().await;

    // An approver who requested an assessment leaves the decisions on its proposals to others.
    let own = app
        .completed_assessment(&approver_one, &compliance, "own-request", &["postgres"])
        .await;
    let reply = app.propose(&compliance, two_installs(own)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let answering = reply.body["proposalId"].as_i64().unwrap();
    page.sign_in_at(
        &format!("/remediations/{answering}"),
        "approver-one",
        PASSWORD,
    )
    .await;
    page.browser
        .wait_for_text("[data-test=decide]", "You requested the assessment")
        .await;
    page.assert_absent("[data-test=approve]").await;
    page.sign_out().await;

    // A viewer reads the log and the machines, not the results: the proposal's address says
    // so, the menu offers neither results page, and nothing refused is asked for.
    page.sign_in_at(&format!("/remediations/{pending}"), "viewer", PASSWORD)
        .await;
    page.browser
        .wait_for_text("[data-test=not-permitted]", "does not read remediations")
        .await;
    page.assert_absent("[data-test=proposal-status]").await;
    page.browser.find("nav a[href='/audit']").await;
    page.assert_absent("nav a[href='/remediations']").await;
    page.assert_absent("nav a[href='/assessments']").await;
    page.screenshot("remediation-as-viewer").await;
    // The overview keeps the viewer informed: a new proposal arrives in the live activity
    // as a row of the log.
    page.browser.goto(&page.url("/")).await;
    page.browser
        .wait_for_text("[data-test=connection]", "Live")
        .await;
    page.assert_absent("[data-test=needs-decision]").await;
    let reply = app.propose(&compliance, two_installs(assessment)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    page.browser
        .wait_for_text(".activity", "remediation proposed")
        .await;
    page.screenshot("overview-as-viewer").await;
    page.assert_no_console_errors("as a viewer").await;
    page.sign_out().await;

    // The remaining pages, as an admin.
    page.sign_in_at("/system", "admin", ADMIN_PASSWORD).await;
    page.browser.find(".chart svg").await;
    page.screenshot("system").await;
    page.browser.goto(&page.url("/servers")).await;
    page.browser
        .wait_for_text("[data-test=servers]", "generic-mcp-installer")
        .await;
    // The registry, machine by machine: both servers of ws-07 are under it, and it can be
    // assessed and changed.
    page.browser
        .wait_for_text(
            "[data-test=machine-group][data-machine=ws-07]",
            "generic-mcp-installer",
        )
        .await;
    page.browser
        .wait_for_text(
            "[data-test=machine-group][data-machine=ws-07] [data-test=can-assess]",
            "can be assessed now",
        )
        .await;
    page.browser
        .wait_for_text(
            "[data-test=machine-group][data-machine=ws-07] [data-test=can-install]",
            "can be changed now",
        )
        .await;
    page.screenshot("servers").await;
    page.browser.goto(&page.url("/users")).await;
    page.browser
        .wait_for_text("[data-test=users]", "auditor")
        .await;
    // An account made elsewhere (here through the API) appears without a reload.
    page.browser
        .wait_for_text("[data-test=connection]", "Live")
        .await;
    app.user("newcomer", "viewer").await;
    page.browser
        .wait_for_text("[data-test=users]", "newcomer")
        .await;
    page.screenshot("users").await;
    page.assert_no_console_errors("on the admin pages").await;

    page.browser.close().await;
    app.teardown().await;
}

/// The dashboard on a phone-sized screen: the overview and a proposal stay usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_on_a_phone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = World::new(&app).await;
    let proposal = world.propose(&app, "critical").await;
    let driver = Driver::start().await;
    let page = Dashboard::open(&app, &driver, "phone", 390, 844).await;
    page.sign_in_at(
        &format!("/remediations/{proposal}"),
        "approver-one",
        PASSWORD,
    )
    .await;
    page.browser.find("[data-test=decision]").await;
    let overflow = page
        .browser
        .script(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            json!([]),
        )
        .await;
    assert!(
        overflow.as_f64().unwrap() <= 1.0,
        "the page scrolls sideways by {overflow} px"
    );
    page.screenshot("phone-remediation").await;
    page.browser.goto(&page.url("/")).await;
    page.browser.find("[data-test=needs-decision] table").await;
    page.screenshot("phone-overview").await;
    page.assert_no_console_errors("on a phone").await;
    page.browser.close().await;
    app.teardown().await;
}

/// A run the installer rolled back reads as what it is, on a phone too: nothing kept, in red,
/// with the installer's reason, and its actions counted by how they ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_run_says_nothing_was_kept() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = World::new(&app).await;
    let reply = app
        .propose(
            &world.compliance,
            propose_body(
                world.assessment,
                "medium",
                json!([
                    install_action("action-1", "postgres"),
                    install_action("action-2", "postgres-replica")
                ]),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let proposal = reply.body["proposalId"].as_i64().unwrap();
    let decided = app.decide(&world.approver_one, proposal, "approved").await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text);
    let released = app.execute(&world.approver_one, proposal, false).await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text);
    let execution = released.body["executionId"].as_i64().unwrap();
    let task = app.claim_execution(&world.installer, execution).await;
    let digest = TestApp::recompute_digest(&task);
    for (action, status) in [("action-1", "succeeded"), ("action-2", "failed")] {
        let reported = app
            .progress(&world.installer, execution, action, status, &digest)
            .await;
        assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
    }
    let why = "npx exited with status 1 for postgres-replica; restored claude_desktop_config.json";
    let finished = app
        .complete(
            &world.installer,
            execution,
            json!({ "outcome": "rolled_back", "payloadDigest": digest, "message": why }),
        )
        .await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.text);

    let driver = Driver::start().await;
    let page = Dashboard::open(&app, &driver, "rolled-back", 390, 844).await;
    page.sign_in_at(
        &format!("/remediations/{proposal}"),
        "approver-two",
        PASSWORD,
    )
    .await;
    page.browser
        .wait_for_text(
            "[data-test=execution-outcome]",
            "Rolled back — nothing kept",
        )
        .await;
    page.browser
        .wait_for_text("[data-test=execution-message]", why)
        .await;
    page.browser
        .wait_for_text(
            "[data-test=execution-counts]",
            "2 of 2 finished: 1 failed, 1 rolled back",
        )
        .await;
    page.browser
        .wait_for_text(
            "[data-test=action-row][data-action=action-1]",
            "rolled back",
        )
        .await;
    page.browser
        .wait_for_text("[data-test=action-row][data-action=action-2]", "failed")
        .await;
    page.browser
        .wait_for_text("[data-test=progress]", "Rolled back — nothing kept")
        .await;
    page.browser.find("[data-test=progress].progress-bad").await;
    page.browser
        .find("[data-test=action-row][data-action=action-1] .badge-rolled_back")
        .await;
    let overflow = page
        .browser
        .script(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            json!([]),
        )
        .await;
    assert!(
        overflow.as_f64().unwrap() <= 1.0,
        "the page scrolls sideways by {overflow} px"
    );
    page.browser
        .script(
            "document.querySelector('[data-test=execution]').scrollIntoView();",
            json!([]),
        )
        .await;
    page.screenshot("remediation-rolled-back").await;
    page.assert_no_console_errors("on a rolled-back run").await;
    page.browser.close().await;
    app.teardown().await;
}

/// A session that ends under the reader's feet (here: an admin resets their password, which
/// revokes their tokens) returns them to sign in, and then to the page they were on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_returns_to_the_page_it_left() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (auditor, _) = app.user("auditor", "viewer").await;
    let driver = Driver::start().await;
    let page = Dashboard::open(&app, &driver, "session", 1280, 900).await;
    let path = "/audit?actor=admin";

    // Signing in needs no mouse: the username has the focus, Tab reaches the password, Enter
    // sends the form.
    page.browser.goto(&page.url(path)).await;
    page.browser.find("form[data-test=login]").await;
    assert_eq!(page.browser.focused_id().await, "username");
    page.browser.keys("auditor\u{E004}").await;
    assert_eq!(page.browser.focused_id().await, "password");
    page.browser.keys(&format!("{PASSWORD}\u{E007}")).await;
    let wanted = page.url(path);
    page.browser
        .wait_for("the return to the audit page", async || {
            page.browser.current_url().await == wanted
        })
        .await;
    page.browser.find("[data-test=audit-row]").await;

    let admin = app.admin().await;
    let reset = app
        .send(
            reqwest::Method::PATCH,
            &format!("/users/{auditor}"),
            &admin,
            Some(json!({ "password": "a-brand-new-password" })),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);

    page.browser.find("form[data-test=login]").await;
    let login_url = page.browser.current_url().await;
    assert!(
        login_url.contains("next=%2Faudit%3Factor%3Dadmin"),
        "{login_url}"
    );
    page.browser.type_into("#username", "auditor").await;
    page.browser
        .type_into("#password", "a-brand-new-password")
        .await;
    page.browser
        .click_on("form[data-test=login] button[type=submit]")
        .await;
    let wanted = page.url(path);
    page.browser
        .wait_for("the return to the audit page", async || {
            page.browser.current_url().await == wanted
        })
        .await;
    page.browser.find("#filter-actor").await;
    page.browser
        .wait_for("the filter to be restored", async || {
            page.browser
                .script(
                    "return document.getElementById('filter-actor').value;",
                    json!([]),
                )
                .await
                == "admin"
        })
        .await;
    // The only errors allowed: the browser's own note of the requests the revoked token
    // was refused on, which is how the dashboard learnt that the session had ended.
    let errors: Vec<String> = page
        .browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("status of 401"))
        .collect();
    assert!(
        errors.is_empty(),
        "console errors after the session ended: {errors:#?}"
    );
    page.browser.close().await;
    app.teardown().await;
}

/// The coordinator restarts under an open dashboard: the page says it is offline, reconnects
/// by itself, and shows what happened meanwhile without being reloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reconnects_and_misses_nothing() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let world = World::new(&app).await;
    let driver = Driver::start().await;
    let page = Dashboard::open(&app, &driver, "reconnect", 1280, 900).await;
    page.sign_in_at("/remediations", "approver-one", PASSWORD)
        .await;
    page.browser
        .wait_for_text("[data-test=connection]", "Live")
        .await;
    // A mark a reload would wipe.
    page.browser
        .script("window.notReloaded = true;", json!([]))
        .await;

    app.restart().await;
    let proposal = world.propose(&app, "high").await;

    page.browser
        .find(&format!("table a[href='/remediations/{proposal}']"))
        .await;
    page.browser
        .wait_for_text("[data-test=connection]", "Live")
        .await;
    let same_page = page
        .browser
        .script("return window.notReloaded === true;", json!([]))
        .await;
    assert_eq!(same_page, json!(true), "the page was reloaded");
    page.assert_no_console_errors("across the restart").await;
    page.browser.close().await;
    app.teardown().await;
}
