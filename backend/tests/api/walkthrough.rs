//! `examples/walkthrough.sh`, the curl walk-through of `docs/api.md`, run against a real
//! coordinator: one change from enrollment to the verified audit chain, and then once more
//! against the same data under another tag, as a reader repeating it would.

use crate::common::*;
use crate::dual_test;
use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false)
}

/// Runs the walk-through against `app`; panics with its output unless it exits with 0.
async fn walk(app: &TestApp, tag: &str) -> String {
    for tool in ["bash", "curl", "jq"] {
        assert!(
            have(tool),
            "the walk-through test needs `{tool}` on PATH (Debian: apt-get install {tool})"
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/walkthrough.sh");
    let address = app.address.clone();
    let tag = tag.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(&script)
            .env("COORDINATOR_URL", address)
            .env("ADMIN_USERNAME", "admin")
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("WALKTHROUGH_TAG", tag)
            .output()
            .expect("running examples/walkthrough.sh")
    })
    .await
    .expect("the walk-through's thread");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "examples/walkthrough.sh exited with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("The walk-through is complete."),
        "the walk-through stopped early:\n{stdout}"
    );
    stdout
}

dual_test!(walkthrough_runs, async |app: &TestApp| {
    let first = walk(app, "").await;
    assert!(first.contains("machine `default`"), "{first}");
    // The same story again, on the same data: new people, servers and ids, another machine.
    let again = walk(app, "2").await;
    assert!(again.contains("machine `walkthrough-2`"), "{again}");
    // What the script did is in the log, and the log still verifies.
    assert!(!app.audit_rows_for("execution_completed").await.is_empty());
    let verified = app.cli(&["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
});
