//! `examples/walkthrough.sh`, the curl walk-through of `docs/api.md`, run against a real
//! coordinator: one change from enrollment to the verified audit chain, and then once more
//! against the same data under another tag, as a reader repeating it would. And the links of
//! the documentation that explains it: every relative link and `#anchor` in `README.md` and
//! `docs/*.md` resolves.

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

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Lines outside fenced code blocks, with their numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push((n + 1, line));
        }
    }
    lines
}

fn anchors(text: &str) -> std::collections::HashSet<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut anchors = std::collections::HashSet::new();
    for (_, line) in prose(text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = slug(&line[hashes..]);
            let n = seen.entry(base.clone()).or_default();
            anchors.insert(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
    }
    anchors
}

/// Every relative link in `README.md` and `docs/*.md` leads to a file that exists, and every
/// `#anchor` to a heading of the file it names.
#[test]
fn the_documentation_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("reading docs/") {
        let path = entry.expect("a docs/ entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("reading a documentation file");
        let dir = file.parent().expect("a directory");
        for (n, line) in prose(&text) {
            for (start, _) in line.match_indices("](") {
                let rest = &line[start + 2..];
                let Some(end) = rest.find(')') else { continue };
                let target = &rest[..end];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    dir.join(path)
                };
                let at = format!("{}:{n}: {target}", file.display());
                if !dest.exists() {
                    broken.push(format!("{at}: no such file"));
                } else if !anchor.is_empty() {
                    let text = std::fs::read_to_string(&dest).unwrap_or_default();
                    if !anchors(&text).contains(anchor) {
                        broken.push(format!("{at}: no such heading"));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
