//! Stopping a coordinator stops its background loops (sealer, reaper, relay, sampler, alert
//! evaluator, retention, housekeeping), so one restarted in the same process runs alone.

use crate::common::*;
use coordinator::background::Background;
use std::time::Duration;

/// The loops that run whatever the configuration: sealer, housekeeping, reaper, relay and
/// alert evaluator.
const ALWAYS_RUNNING: usize = 5;

async fn until_shut_down(background: &Background) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !background.is_shut_down() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} loops still running", background.running()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_an_application_down_ends_its_loops() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut vars = app.vars.clone();
    vars.retain(|(k, _)| k != "PORT");
    vars.push(("PORT".into(), "0".into()));
    let config = coordinator::Config::load(&coordinator::config::Source::from_pairs(vars)).unwrap();
    let other = coordinator::Application::build(config).await.unwrap();
    let background = other.state().background.clone();
    assert!(
        background.running() >= ALWAYS_RUNNING,
        "{}",
        background.running()
    );

    other.shutdown().await;
    assert!(
        background.is_shut_down(),
        "{} loops left",
        background.running()
    );
    assert_eq!(background.running(), 0);
    // The first application's loops are its own and go on.
    assert!(app.state.background.running() >= ALWAYS_RUNNING);
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_ends_the_loops() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let background = app.state.background.clone();
    assert!(background.running() >= ALWAYS_RUNNING);
    app.server.take().unwrap().stop(true).await;
    until_shut_down(&background).await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_leaves_no_old_loops_behind() {
    let mut app = TestApp::spawn(Backend::Postgres).await;
    let before = app.state.background.clone();
    // On Postgres the relay also keeps a LISTEN connection.
    assert!(before.running() > ALWAYS_RUNNING, "{}", before.running());
    app.restart().await;
    until_shut_down(&before).await;
    assert!(!app.state.background.is_shut_down());
    assert!(app.state.background.running() > ALWAYS_RUNNING);
    // The new coordinator still seals: the audit log verifies after more audited work.
    let admin = app.admin().await;
    app.seal().await;
    let reply = app.get("/audit/verify", &admin).await;
    assert_eq!(reply.body["verified"], true, "{}", reply.text);
    app.teardown().await;
}
