//! Holding this machine's MCP server configurations to the policy: what is wrong with each
//! server, and which of those problems the agent can fix by itself.
//!
//! Everything here is pure except [`command_on_path`], which callers pass in as
//! `command_exists`, so the rules can be tested without depending on what a machine has
//! installed.

mod secrets;

use crate::mcp_config::{NotMcpConfig, ServerEntry};
use crate::policy::{Policy, program_name};
use coordinator_api::assessments::{
    AssessmentResults, ComplianceStatus, Finding, ResultSummary, ServerResult, Severity,
};
use coordinator_api::packages::{is_pinned, launched_package, package_name};
use coordinator_api::remediations::{ActionType, Priority, ProposeRequest, ProposedAction};
use coordinator_api::{AssessmentId, Secret};
use secrets::EnvSecret;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const MALFORMED_CONFIG: &str = "malformed_config";
/// A readable file that is not an MCP client configuration (see [`NotMcpConfig`]).
pub const NOT_MCP_CONFIG: &str = "not_mcp_config";
pub const FORBIDDEN_SERVER: &str = "forbidden_server";
pub const SECURITY_ISSUE: &str = "security_issue";
/// Template text (`YOUR_API_KEY`, `<token>`, `changeme`...) where a credential should be.
pub const PLACEHOLDER_SECRET: &str = "placeholder_secret";
/// Informational only: a credential the client fills in from an input or the environment.
pub const SECRET_REFERENCE: &str = "secret_reference";
pub const MISSING_CONFIG: &str = "missing_config";
pub const COMMAND_NOT_ALLOWED: &str = "command_not_allowed";
pub const UNPINNED_PACKAGE: &str = "unpinned_package";
pub const COMMAND_NOT_FOUND: &str = "command_not_found";
/// Informational only: an assessed name this machine does not know.
pub const NOT_CONFIGURED: &str = "not_configured";

/// One configuration file as the agent found it.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub path: PathBuf,
    /// Err(why) when unreadable or malformed
    pub servers: Result<Vec<(String, ServerEntry)>, String>,
    /// Set when the file reads, but not as an MCP client configuration: it then lists no
    /// servers, which must not pass for a clean file.
    pub not_mcp_config: Option<NotMcpConfig>,
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub results: AssessmentResults,
    pub fixes: Vec<Fix>,
}

/// A problem the agent can fix, and the action that fixes it.
#[derive(Debug, Clone)]
pub struct Fix {
    pub issue: String,
    pub severity: Severity,
    pub action: ProposedAction,
}

/// The results key of a file that could not be read. The prefix keeps it apart from server
/// names, which never contain a colon in practice.
pub fn file_key(path: &Path) -> String {
    format!("file:{}", path.display())
}

pub fn assess(
    files: &[LoadedFile],
    policy: &Policy,
    targets: &[String],
    command_exists: &dyn Fn(&str) -> bool,
) -> Assessment {
    let mut configured: BTreeMap<&str, Vec<(&Path, &ServerEntry)>> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for file in files {
        match &file.servers {
            Ok(servers) => {
                for (name, entry) in servers {
                    configured
                        .entry(name.as_str())
                        .or_default()
                        .push((file.path.as_path(), entry));
                }
            }
            Err(why) => unreadable.push((file.path.as_path(), why.as_str())),
        }
    }

    let everything = targets.is_empty() || targets.iter().any(|t| t == "*");
    let assessed: BTreeSet<&str> = if everything {
        configured
            .keys()
            .copied()
            .chain(policy.required.iter().map(|r| r.name.as_str()))
            .collect()
    } else {
        targets.iter().map(String::as_str).collect()
    };

    let mut servers = BTreeMap::new();
    let mut fixes = Vec::new();
    // Malformed files are reported whatever the targets: any of them may hide a target.
    for (path, why) in &unreadable {
        let finding = Finding {
            issue: MALFORMED_CONFIG.to_owned(),
            severity: Severity::Critical,
            message: format!(
                "{} cannot be read as an MCP configuration: {why}",
                path.display()
            ),
        };
        servers.insert(
            file_key(path),
            ServerResult {
                status: ComplianceStatus::Error,
                issues: vec![MALFORMED_CONFIG.to_owned()],
                findings: vec![finding],
            },
        );
    }

    // Like malformed files, whatever the targets: the servers may be in it under the other
    // format's key, or the agent may be watching the wrong file while the real one goes
    // unchecked.
    for file in files {
        if let Some(why) = &file.not_mcp_config {
            let finding = Finding {
                issue: NOT_MCP_CONFIG.to_owned(),
                severity: Severity::Warning,
                message: format!("{} is not an MCP configuration: {why}", file.path.display()),
            };
            servers.insert(file_key(&file.path), result_of(vec![finding]));
        }
    }

    for name in assessed {
        let (findings, fix) = match configured.get(name) {
            Some(entries) => check_configured(name, entries, policy, command_exists),
            None => check_absent(name, policy, unreadable.len()),
        };
        fixes.extend(fix);
        servers.insert(name.to_owned(), result_of(findings));
    }

    fixes.sort_by(|a, b| {
        (a.issue.as_str(), a.action.server_name.as_str())
            .cmp(&(b.issue.as_str(), b.action.server_name.as_str()))
    });
    for (index, fix) in fixes.iter_mut().enumerate() {
        fix.action.id = format!("fix-{}", index + 1);
    }

    Assessment {
        results: AssessmentResults {
            summary: summarize(&servers),
            servers,
        },
        fixes,
    }
}

/// Findings for a server present in at least one file, and the one fix the agent would
/// propose for it. Removal wins over an update because updating a server that is about to be
/// removed would only give the installer two conflicting actions.
fn check_configured(
    name: &str,
    entries: &[(&Path, &ServerEntry)],
    policy: &Policy,
    command_exists: &dyn Fn(&str) -> bool,
) -> (Vec<Finding>, Option<Fix>) {
    let forbidden = policy.forbidden_entry(name);
    let mut findings = Vec::new();
    for (path, entry) in entries {
        let file = path.display();
        let mut add = |issue: &str, severity: Severity, message: String| {
            findings.push(Finding {
                issue: issue.to_owned(),
                severity,
                message: format!("{file}: {message}"),
            });
        };
        if let Some(rule) = forbidden {
            let why = rule
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            add(
                FORBIDDEN_SERVER,
                Severity::Critical,
                format!("`{name}` is forbidden by policy{why}"),
            );
        }
        for (variable, value) in &entry.env {
            match secrets::classify(variable, value) {
                Some(EnvSecret::PlainText(kind)) => add(
                    SECURITY_ISSUE,
                    Severity::Critical,
                    format!(
                        "env `{variable}` holds a secret in plain text ({kind}); \
                         reference it from the environment or a secret store instead"
                    ),
                ),
                Some(EnvSecret::Placeholder) => add(
                    PLACEHOLDER_SECRET,
                    Severity::Warning,
                    format!(
                        "env `{variable}` holds a placeholder, not a value, so the server starts \
                         without this secret; set the real value through the client's secret \
                         mechanism (an input the client prompts for, such as VS Code's \
                         `${{input:…}}`, or an environment variable it reads, such as \
                         `${{env:…}}`) rather than writing it into the file"
                    ),
                ),
                Some(EnvSecret::Reference) => add(
                    SECRET_REFERENCE,
                    Severity::Info,
                    format!(
                        "env `{variable}` is filled in by the client when it starts the server; \
                         make sure the client has the value"
                    ),
                ),
                None => {}
            }
        }
        // A server without a command is reached over the network; there is nothing to run.
        let Some(command) = entry.command.as_deref() else {
            continue;
        };
        if !policy.allows_command(command) {
            add(
                COMMAND_NOT_ALLOWED,
                Severity::Warning,
                format!(
                    "`{}` is not an allowed command (allowed: {})",
                    program_name(command),
                    policy.allowed_commands.join(", ")
                ),
            );
        }
        if policy.require_pinned_versions
            && let Some(package) = launched_package(command, &entry.args)
            && !is_pinned(&package)
        {
            let advice = match policy.pinned_versions.get(package_name(&package)) {
                Some(version) => format!("; the policy pins it to {version}"),
                None => String::new(),
            };
            add(
                UNPINNED_PACKAGE,
                Severity::Warning,
                format!("`{package}` runs without a pinned version{advice}"),
            );
        }
        if policy.check_commands_exist && !command_exists(command) {
            add(
                COMMAND_NOT_FOUND,
                Severity::Warning,
                format!("`{command}` is not found on this machine"),
            );
        }
    }
    let fix = match forbidden {
        Some(_) => Some(Fix {
            issue: FORBIDDEN_SERVER.to_owned(),
            severity: Severity::Critical,
            action: ProposedAction {
                id: String::new(),
                action_type: ActionType::RemoveServer,
                server_name: name.to_owned(),
                command: None,
                args: Vec::new(),
                env: BTreeMap::new(),
            },
        }),
        None => pin_update(name, entries, policy),
    };
    (findings, fix)
}

/// The update that pins an unpinned package to the policy's version, when one action can do
/// it for every file holding the server.
///
/// The installer applies an update to each file that has the server, so the command and args
/// proposed land in all of them: when the files launch the server differently, one of them
/// would silently get the other's arguments. Such a server is left to a person (its
/// `unpinned_package` findings say where).
///
/// The action carries no env: the installer keeps the env each file already has, and copying
/// it here would send the machine's secrets to the coordinator in the proposal.
fn pin_update(name: &str, entries: &[(&Path, &ServerEntry)], policy: &Policy) -> Option<Fix> {
    if !policy.require_pinned_versions {
        return None;
    }
    let (_, first) = entries.first()?;
    if entries
        .iter()
        .any(|(_, entry)| entry.command != first.command || entry.args != first.args)
    {
        return None;
    }
    let command = first.command.as_deref()?;
    let package = launched_package(command, &first.args)?;
    if is_pinned(&package) {
        return None;
    }
    let version = policy.pinned_versions.get(package_name(&package))?;
    let args = pinned_args(command, &first.args, &package, version)?;
    Some(Fix {
        issue: UNPINNED_PACKAGE.to_owned(),
        severity: Severity::Warning,
        action: ProposedAction {
            id: String::new(),
            action_type: ActionType::UpdateServer,
            server_name: name.to_owned(),
            command: Some(command.to_owned()),
            args,
            env: BTreeMap::new(),
        },
    })
}

/// Findings for a name no readable file configures: missing if the policy requires it,
/// otherwise merely unknown here.
fn check_absent(name: &str, policy: &Policy, unreadable: usize) -> (Vec<Finding>, Option<Fix>) {
    let Some(required) = policy.required_entry(name) else {
        let finding = Finding {
            issue: NOT_CONFIGURED.to_owned(),
            severity: Severity::Info,
            message: "not configured on this machine".to_owned(),
        };
        return (vec![finding], None);
    };
    let caveat = match unreadable {
        0 => String::new(),
        1 => " (one configuration file could not be read and may hold it)".to_owned(),
        n => format!(" ({n} configuration files could not be read and may hold it)"),
    };
    let finding = Finding {
        issue: MISSING_CONFIG.to_owned(),
        severity: Severity::Warning,
        message: format!(
            "`{name}` is required by policy but no MCP configuration on this machine has it{caveat}"
        ),
    };
    let fix = Fix {
        issue: MISSING_CONFIG.to_owned(),
        severity: Severity::Warning,
        action: ProposedAction {
            id: String::new(),
            action_type: ActionType::InstallServer,
            server_name: name.to_owned(),
            command: Some(required.command.clone()),
            args: required.args.clone(),
            env: required
                .env
                .iter()
                .map(|(k, v)| (k.clone(), Secret::new(v.as_str())))
                .collect(),
        },
    };
    (vec![finding], Some(fix))
}

fn counts(severity: Severity) -> bool {
    matches!(severity, Severity::Critical | Severity::Warning)
}

fn result_of(findings: Vec<Finding>) -> ServerResult {
    let issues: BTreeSet<&str> = findings
        .iter()
        .filter(|f| counts(f.severity))
        .map(|f| f.issue.as_str())
        .collect();
    let status = if issues.is_empty() {
        ComplianceStatus::Compliant
    } else {
        ComplianceStatus::NonCompliant
    };
    let issues = issues.into_iter().map(str::to_owned).collect();
    ServerResult {
        status,
        issues,
        findings,
    }
}

fn summarize(servers: &BTreeMap<String, ServerResult>) -> ResultSummary {
    let tally = |severity: Severity| {
        let n = servers
            .values()
            .flat_map(|s| &s.findings)
            .filter(|f| f.severity == severity)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let critical_issues = tally(Severity::Critical);
    let warning_issues = tally(Severity::Warning);
    ResultSummary {
        total_issues: critical_issues.saturating_add(warning_issues),
        critical_issues,
        warning_issues,
    }
}

/// `args` with the launched package replaced by its pinned spelling, or None when the
/// launcher has no known way to name a version.
fn pinned_args(
    command: &str,
    args: &[String],
    package: &str,
    version: &str,
) -> Option<Vec<String>> {
    let program = program_name(command);
    let name = package_name(package);
    let pinned = match program {
        "npx" | "bunx" | "pnpx" | "uvx" => format!("{name}@{version}"),
        // uv spells a version `pkg@1.2.3`; pipx takes a pip requirement.
        "pipx" => format!("{name}=={version}"),
        _ => return None,
    };
    // `pipx run <package>`: the subcommand comes first and must not be mistaken for it.
    let skip = usize::from(program == "pipx");
    let at = skip + args.get(skip..)?.iter().position(|a| a == package)?;
    let mut args = args.to_vec();
    args[at] = pinned;
    Some(args)
}

/// The remediation to propose for an assessment's fixes, or None when nothing can be fixed.
pub fn proposal(assessment_id: AssessmentId, assessment: &Assessment) -> Option<ProposeRequest> {
    let fixes = &assessment.fixes;
    if fixes.is_empty() {
        return None;
    }
    let priority = if fixes.iter().any(|f| f.severity == Severity::Critical) {
        Priority::Critical
    } else if fixes.iter().any(|f| f.issue == MISSING_CONFIG) {
        Priority::High
    } else {
        Priority::Medium
    };
    let issues: BTreeSet<&str> = fixes.iter().map(|f| f.issue.as_str()).collect();
    Some(ProposeRequest {
        assessment_id: assessment_id.into(),
        // The assessment's machine, which is this one: it is the only one the agent assesses.
        machine_id: None,
        issues: issues.into_iter().map(str::to_owned).collect(),
        priority,
        auto_approve: false,
        proposed_actions: fixes.iter().map(|f| f.action.clone()).collect(),
        rollback_plan: Some(
            "Before changing a configuration file the agent saves a backup copy of it; if any \
             action fails, every file already changed is restored from its backup."
                .to_owned(),
        ),
    })
}

/// Whether `command` is found: a path that exists, or a program on PATH (executable bit on unix).
pub fn command_on_path(command: &str) -> bool {
    if command.is_empty() {
        return false;
    }
    // Anything with a directory in it is taken as a path, the way a shell would.
    if command.contains('/') || (cfg!(windows) && command.contains('\\')) {
        return Path::new(command).exists();
    }
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .any(|dir| runnable_in(&dir, command))
}

#[cfg(unix)]
fn runnable_in(dir: &Path, program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir.join(program))
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn runnable_in(dir: &Path, program: &str) -> bool {
    // Windows finds `npx` as `npx.cmd`: try the extensions it would try.
    let extensions = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".to_owned());
    std::iter::once(String::new())
        .chain(extensions.split(';').map(str::to_owned))
        .any(|ext| dir.join(format!("{program}{ext}")).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(command: &str, args: &[&str], env: &[(&str, &str)]) -> ServerEntry {
        ServerEntry {
            command: Some(command.to_owned()),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn file(path: &str, servers: Vec<(&str, ServerEntry)>) -> LoadedFile {
        LoadedFile {
            path: PathBuf::from(path),
            servers: Ok(servers
                .into_iter()
                .map(|(n, e)| (n.to_owned(), e))
                .collect()),
            not_mcp_config: None,
        }
    }

    const POLICY: &str = r#"
allowed_commands = ["npx", "uvx", "node", "python3", "docker"]
[pinned_versions]
"@modelcontextprotocol/server-filesystem" = "2025.8.21"
mcp-server-git = "0.6.2"
[[required]]
name = "filesystem"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/srv/shared"]
[[required]]
name = "git"
command = "uvx"
args = ["mcp-server-git==0.6.2"]
[[forbidden]]
name = "shady-tools"
reason = "sends data to an unknown host"
"#;

    const GITHUB_TOKEN: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    const DB_PASSWORD: &str = "hunter2-but-longer";

    /// Claude Desktop's file, Cursor's file (which also has `git`, unpinned) and a VS Code
    /// file that is not valid JSON.
    fn sample() -> Vec<LoadedFile> {
        vec![
            file(
                "/home/ana/.config/Claude/claude_desktop_config.json",
                vec![
                    (
                        "github",
                        entry(
                            "npx",
                            &["-y", "@modelcontextprotocol/server-github@2025.4.8"],
                            &[("GITHUB_PERSONAL_ACCESS_TOKEN", GITHUB_TOKEN)],
                        ),
                    ),
                    (
                        "postgres",
                        entry(
                            "/usr/local/bin/postgres-mcp",
                            &["--readonly"],
                            &[(
                                "DATABASE_URL",
                                &format!("postgresql://app:{DB_PASSWORD}@db.internal/app"),
                            )],
                        ),
                    ),
                    ("shady-tools", entry("node", &["/opt/shady/index.js"], &[])),
                    (
                        "git",
                        entry("uvx", &["mcp-server-git", "--repository", "/srv/repo"], &[]),
                    ),
                ],
            ),
            file(
                "/home/ana/.cursor/mcp.json",
                vec![
                    (
                        "git",
                        entry(
                            "uvx",
                            &["mcp-server-git", "--repository", "/srv/other"],
                            &[("GIT_TOKEN", "${env:GIT_TOKEN}")],
                        ),
                    ),
                    ("fetch", entry("uvx", &["mcp-server-fetch==2025.1.1"], &[])),
                ],
            ),
            LoadedFile {
                path: PathBuf::from("/home/ana/project/.vscode/mcp.json"),
                servers: Err("expected `,` or `}` at line 7 column 5".to_owned()),
                not_mcp_config: None,
            },
        ]
    }

    fn present(command: &str) -> bool {
        command != "/usr/local/bin/postgres-mcp"
    }

    fn findings(result: &ServerResult) -> Vec<(&str, Severity)> {
        result
            .findings
            .iter()
            .map(|f| (f.issue.as_str(), f.severity))
            .collect()
    }

    #[test]
    fn a_realistic_machine() {
        let policy = Policy::parse(POLICY).unwrap();
        let assessment = assess(&sample(), &policy, &[], &present);
        let servers = &assessment.results.servers;
        let keys: Vec<&str> = servers.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "fetch",
                "file:/home/ana/project/.vscode/mcp.json",
                "filesystem",
                "git",
                "github",
                "postgres",
                "shady-tools"
            ]
        );
        use ComplianceStatus::*;
        use Severity::*;

        let malformed = &servers["file:/home/ana/project/.vscode/mcp.json"];
        assert_eq!(malformed.status, Error);
        assert_eq!(malformed.issues, ["malformed_config"]);
        assert_eq!(findings(malformed), [("malformed_config", Critical)]);
        assert!(malformed.findings[0].message.contains("line 7 column 5"));

        assert_eq!(servers["fetch"].status, Compliant);
        assert!(servers["fetch"].findings.is_empty());

        let filesystem = &servers["filesystem"];
        assert_eq!(filesystem.status, NonCompliant);
        assert_eq!(findings(filesystem), [("missing_config", Warning)]);
        assert!(
            filesystem.findings[0]
                .message
                .contains("one configuration file could not be read")
        );

        let git = &servers["git"];
        assert_eq!(git.status, NonCompliant);
        assert_eq!(git.issues, ["unpinned_package"]);
        // Cursor's file takes the token from the environment: noted, not counted.
        assert_eq!(
            findings(git),
            [
                ("unpinned_package", Warning),
                ("secret_reference", Info),
                ("unpinned_package", Warning)
            ]
        );
        assert!(
            git.findings[0]
                .message
                .starts_with("/home/ana/.config/Claude/")
        );
        assert!(
            git.findings[1]
                .message
                .starts_with("/home/ana/.cursor/mcp.json")
        );
        assert!(git.findings[2].message.contains("pins it to 0.6.2"));

        let github = &servers["github"];
        assert_eq!(findings(github), [("security_issue", Critical)]);
        assert!(
            github.findings[0]
                .message
                .contains("GITHUB_PERSONAL_ACCESS_TOKEN")
        );

        let postgres = &servers["postgres"];
        assert_eq!(
            postgres.issues,
            ["command_not_allowed", "command_not_found", "security_issue"]
        );
        assert_eq!(
            findings(postgres),
            [
                ("security_issue", Critical),
                ("command_not_allowed", Warning),
                ("command_not_found", Warning)
            ]
        );
        assert!(postgres.findings[0].message.contains("DATABASE_URL"));
        assert!(postgres.findings[1].message.contains("`postgres-mcp`"));

        let shady = &servers["shady-tools"];
        assert_eq!(findings(shady), [("forbidden_server", Critical)]);
        assert!(
            shady.findings[0]
                .message
                .contains("sends data to an unknown host")
        );

        assert_eq!(
            assessment.results.summary,
            ResultSummary {
                total_issues: 9,
                critical_issues: 4,
                warning_issues: 5
            }
        );

        let everything = serde_json::to_string(&assessment.results).unwrap();
        assert!(!everything.contains(GITHUB_TOKEN));
        assert!(!everything.contains(DB_PASSWORD));

        let fixes: Vec<(&str, &str, ActionType, Severity)> = assessment
            .fixes
            .iter()
            .map(|f| {
                (
                    f.action.id.as_str(),
                    f.action.server_name.as_str(),
                    f.action.action_type,
                    f.severity,
                )
            })
            .collect();
        // `git` is unpinned in two files that launch it with different arguments: one update
        // would give both files the same ones, so none is proposed.
        assert_eq!(
            fixes,
            [
                ("fix-1", "shady-tools", ActionType::RemoveServer, Critical),
                ("fix-2", "filesystem", ActionType::InstallServer, Warning),
            ]
        );
        let remove = &assessment.fixes[0].action;
        assert!(remove.command.is_none() && remove.args.is_empty() && remove.env.is_empty());
        let install = &assessment.fixes[1].action;
        assert_eq!(install.command.as_deref(), Some("npx"));
        assert_eq!(
            install.args,
            [
                "-y",
                "@modelcontextprotocol/server-filesystem@2025.8.21",
                "/srv/shared"
            ]
        );
    }

    #[test]
    fn an_update_keeps_the_command_and_carries_no_env() {
        let policy = Policy::parse(POLICY).unwrap();
        let files = [file(
            "/a.json",
            vec![(
                "files",
                entry(
                    "/usr/bin/npx",
                    &[
                        "-y",
                        "@modelcontextprotocol/server-filesystem@latest",
                        "/tmp",
                    ],
                    &[("LOG_LEVEL", "debug")],
                ),
            )],
        )];
        let assessment = assess(&files, &policy, &["files".to_owned()], &|_| true);
        assert_eq!(assessment.fixes.len(), 1);
        let update = &assessment.fixes[0].action;
        assert_eq!(update.action_type, ActionType::UpdateServer);
        assert_eq!(update.command.as_deref(), Some("/usr/bin/npx"));
        assert_eq!(
            update.args,
            [
                "-y",
                "@modelcontextprotocol/server-filesystem@2025.8.21",
                "/tmp"
            ]
        );
        // The installer keeps the env the file has; the proposal does not repeat it.
        assert!(update.env.is_empty());

        let pipx = pinned_args(
            "pipx",
            &["run".into(), "mcp-server-git".into()],
            "mcp-server-git",
            "1.0",
        );
        assert_eq!(pipx.unwrap(), ["run", "mcp-server-git==1.0"]);
    }

    #[test]
    fn unpinned_without_a_known_version_is_reported_but_not_fixed() {
        let policy = Policy::parse(POLICY).unwrap();
        let files = [file(
            "/a.json",
            vec![("x", entry("npx", &["-y", "some-mcp"], &[]))],
        )];
        let assessment = assess(&files, &policy, &["x".to_owned()], &|_| true);
        assert_eq!(assessment.results.servers["x"].issues, ["unpinned_package"]);
        assert!(assessment.fixes.is_empty());
        assert!(proposal(AssessmentId(1), &assessment).is_none());

        let lax = Policy {
            require_pinned_versions: false,
            ..policy
        };
        let assessment = assess(&files, &lax, &["x".to_owned()], &|_| true);
        assert_eq!(
            assessment.results.servers["x"].status,
            ComplianceStatus::Compliant
        );
    }

    #[test]
    fn targets_narrow_the_report() {
        let policy = Policy::parse(POLICY).unwrap();
        let targets = [
            "github".to_owned(),
            "filesystem".to_owned(),
            "nowhere".to_owned(),
        ];
        let assessment = assess(&sample(), &policy, &targets, &present);
        let servers = &assessment.results.servers;
        let keys: Vec<&str> = servers.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "file:/home/ana/project/.vscode/mcp.json",
                "filesystem",
                "github",
                "nowhere"
            ]
        );
        let nowhere = &servers["nowhere"];
        assert_eq!(nowhere.status, ComplianceStatus::Compliant);
        assert!(nowhere.issues.is_empty());
        assert_eq!(findings(nowhere), [("not_configured", Severity::Info)]);
        assert_eq!(
            nowhere.findings[0].message,
            "not configured on this machine"
        );
        assert_eq!(
            assessment.results.summary,
            ResultSummary {
                total_issues: 3,
                critical_issues: 2,
                warning_issues: 1
            }
        );
        let fixed: Vec<&str> = assessment
            .fixes
            .iter()
            .map(|f| f.action.server_name.as_str())
            .collect();
        assert_eq!(fixed, ["filesystem"]);

        let star = assess(
            &sample(),
            &policy,
            &["git".to_owned(), "*".to_owned()],
            &present,
        );
        assert_eq!(star.results.servers.len(), 7);
    }

    #[test]
    fn a_clean_machine_is_compliant() {
        let policy = Policy::parse(POLICY).unwrap();
        let files = [file(
            "/a.json",
            vec![
                (
                    "filesystem",
                    entry(
                        "npx",
                        &[
                            "-y",
                            "@modelcontextprotocol/server-filesystem@2025.8.21",
                            "/srv",
                        ],
                        &[],
                    ),
                ),
                ("git", entry("uvx", &["mcp-server-git==0.6.2"], &[])),
            ],
        )];
        let assessment = assess(&files, &policy, &[], &|_| true);
        assert!(
            assessment
                .results
                .servers
                .values()
                .all(|s| s.status == ComplianceStatus::Compliant)
        );
        assert_eq!(assessment.results.summary.total_issues, 0);
        assert!(proposal(AssessmentId(3), &assessment).is_none());
    }

    #[test]
    fn a_file_that_is_not_an_mcp_configuration_is_a_finding() {
        use crate::mcp_config::{Format, McpFile};
        let policy = Policy::default();
        let loaded = |path: &str, text: &str, format: Format| {
            let parsed = McpFile::parse(text, format).unwrap();
            LoadedFile {
                path: PathBuf::from(path),
                servers: Ok(parsed.servers()),
                not_mcp_config: parsed.not_mcp_config().cloned(),
            }
        };
        let files = [
            loaded(
                "/home/ana/.config/Code/User/settings.json",
                r#"{"editor.fontSize": 14}"#,
                Format::Vscode,
            ),
            loaded(
                "/home/ana/.cursor/mcp.json",
                r#"{"servers": {"fetch": {"command": "uvx"}}}"#,
                Format::McpServers,
            ),
            // A fresh Claude Desktop, and one with nothing in it yet: nothing to say.
            loaded("/home/ana/fresh.json", "{}", Format::McpServers),
            loaded(
                "/home/ana/empty.json",
                r#"{"mcpServers": {}}"#,
                Format::McpServers,
            ),
        ];
        let results = assess(&files, &policy, &["fetch".to_owned()], &|_| true).results;

        let settings = &results.servers["file:/home/ana/.config/Code/User/settings.json"];
        assert_eq!(settings.status, ComplianceStatus::NonCompliant);
        assert_eq!(settings.issues, [NOT_MCP_CONFIG]);
        assert_eq!(findings(settings), [(NOT_MCP_CONFIG, Severity::Warning)]);
        let message = &settings.findings[0].message;
        assert!(message.contains("settings.json"), "{message}");
        assert!(message.contains("`servers`"), "{message}");

        let cursor = &results.servers["file:/home/ana/.cursor/mcp.json"];
        let message = &cursor.findings[0].message;
        assert!(message.contains("has `servers`"), "{message}");
        assert!(message.contains("expects `mcpServers`"), "{message}");

        assert!(!results.servers.contains_key("file:/home/ana/fresh.json"));
        assert!(!results.servers.contains_key("file:/home/ana/empty.json"));
        assert_eq!(results.summary.warning_issues, 2);
    }

    #[test]
    fn placeholders_are_unset_secrets_and_references_are_only_noted() {
        let ghp = format!("ghp_{}", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");
        type Case<'a> = (&'a str, &'a str, Option<(&'a str, Severity)>);
        let cases: Vec<Case> = vec![
            (
                "GITHUB_TOKEN",
                &ghp,
                Some((SECURITY_ISSUE, Severity::Critical)),
            ),
            (
                "OPENAI_API_KEY",
                "sk-proj-4fQ9aZ2mR7",
                Some((SECURITY_ISSUE, Severity::Critical)),
            ),
            (
                "DATABASE_URL",
                "postgresql://app:hunter22@db/app",
                Some((SECURITY_ISSUE, Severity::Critical)),
            ),
            (
                "OPENAI_API_KEY",
                "YOUR_API_KEY",
                Some((PLACEHOLDER_SECRET, Severity::Warning)),
            ),
            (
                "GITHUB_TOKEN",
                "<token>",
                Some((PLACEHOLDER_SECRET, Severity::Warning)),
            ),
            (
                "API_KEY",
                "<your-api-key>",
                Some((PLACEHOLDER_SECRET, Severity::Warning)),
            ),
            (
                "GITHUB_TOKEN",
                "$GITHUB_TOKEN",
                Some((PLACEHOLDER_SECRET, Severity::Warning)),
            ),
            (
                "DB_PASSWORD",
                "changeme",
                Some((PLACEHOLDER_SECRET, Severity::Warning)),
            ),
            (
                "API_KEY",
                "xxxxxxxx",
                Some((PLACEHOLDER_SECRET, Severity::Warning)),
            ),
            (
                "GITHUB_TOKEN",
                "${input:api-key}",
                Some((SECRET_REFERENCE, Severity::Info)),
            ),
            (
                "GITHUB_TOKEN",
                "${env:GITHUB_TOKEN}",
                Some((SECRET_REFERENCE, Severity::Info)),
            ),
            (
                "GITHUB_TOKEN",
                "${GITHUB_TOKEN}",
                Some((SECRET_REFERENCE, Severity::Info)),
            ),
            ("LOG_LEVEL", "debug", None),
        ];
        for (variable, value, expected) in cases {
            let files = [file(
                "/a.json",
                vec![("s", entry("npx", &["x@1"], &[(variable, value)]))],
            )];
            let assessment = assess(&files, &Policy::default(), &[], &|_| true);
            let result = &assessment.results.servers["s"];
            assert_eq!(
                findings(result),
                expected.into_iter().collect::<Vec<_>>(),
                "{variable}={value}"
            );
            let compliant = !matches!(expected, Some((_, Severity::Critical | Severity::Warning)));
            assert_eq!(
                result.status == ComplianceStatus::Compliant,
                compliant,
                "{variable}={value}"
            );
            for finding in &result.findings {
                assert!(finding.message.contains(variable), "{}", finding.message);
                assert!(!finding.message.contains(value), "{}", finding.message);
            }
        }
        let files = [file(
            "/a.json",
            vec![("s", entry("npx", &["x@1"], &[("API_KEY", "YOUR_API_KEY")]))],
        )];
        let message = &assess(&files, &Policy::default(), &[], &|_| true)
            .results
            .servers["s"]
            .findings[0]
            .message;
        assert!(message.contains("client's secret mechanism"), "{message}");
    }

    #[test]
    fn no_message_repeats_a_secret_value() {
        let values = [
            "sk-proj-VERYSECRET",
            "AKIAABCDEFGHIJKLMNOP",
            "plain-password-VERYSECRET",
            "mysql://u:VERYSECRET@h/d",
        ];
        let env: Vec<(&str, &str)> = vec![
            ("OPENAI", values[0]),
            ("AWS", values[1]),
            ("ADMIN_PASSWORD", values[2]),
            ("DSN", values[3]),
        ];
        let files = [file("/a.json", vec![("s", entry("npx", &["x@1"], &env))])];
        let assessment = assess(&files, &Policy::default(), &[], &|_| true);
        let result = &assessment.results.servers["s"];
        assert_eq!(result.findings.len(), 4);
        assert!(result.findings.iter().all(|f| f.issue == "security_issue"));
        for finding in &result.findings {
            assert!(
                !finding.message.contains("VERYSECRET"),
                "{}",
                finding.message
            );
            assert!(!finding.message.contains("AKIAABCD"), "{}", finding.message);
        }
        assert!(assessment.fixes.is_empty());
    }

    #[test]
    fn servers_without_a_command_are_only_checked_for_secrets() {
        let files = [file(
            "/a.json",
            vec![(
                "remote",
                ServerEntry {
                    command: None,
                    ..ServerEntry::default()
                },
            )],
        )];
        let policy = Policy {
            allowed_commands: vec!["npx".to_owned()],
            ..Policy::default()
        };
        let assessment = assess(&files, &policy, &[], &|_| false);
        assert_eq!(
            assessment.results.servers["remote"].status,
            ComplianceStatus::Compliant
        );
    }

    fn fix(issue: &str, severity: Severity, action_type: ActionType) -> Fix {
        Fix {
            issue: issue.to_owned(),
            severity,
            action: ProposedAction {
                id: "fix-1".to_owned(),
                action_type,
                server_name: "s".to_owned(),
                command: None,
                args: Vec::new(),
                env: BTreeMap::new(),
            },
        }
    }

    fn priority_of(fixes: Vec<Fix>) -> Option<Priority> {
        let assessment = Assessment {
            results: AssessmentResults {
                summary: ResultSummary {
                    total_issues: 0,
                    critical_issues: 0,
                    warning_issues: 0,
                },
                servers: BTreeMap::new(),
            },
            fixes,
        };
        proposal(AssessmentId(9), &assessment).map(|p| p.priority)
    }

    #[test]
    fn proposal_priority_follows_the_worst_fix() {
        let remove = || {
            fix(
                FORBIDDEN_SERVER,
                Severity::Critical,
                ActionType::RemoveServer,
            )
        };
        let install = || fix(MISSING_CONFIG, Severity::Warning, ActionType::InstallServer);
        let update = || {
            fix(
                UNPINNED_PACKAGE,
                Severity::Warning,
                ActionType::UpdateServer,
            )
        };
        assert_eq!(priority_of(vec![]), None);
        assert_eq!(priority_of(vec![update()]), Some(Priority::Medium));
        assert_eq!(priority_of(vec![update(), install()]), Some(Priority::High));
        assert_eq!(
            priority_of(vec![install(), remove()]),
            Some(Priority::Critical)
        );
    }

    #[test]
    fn the_sample_proposal() {
        let policy = Policy::parse(POLICY).unwrap();
        let assessment = assess(&sample(), &policy, &[], &present);
        let request = proposal(AssessmentId(42), &assessment).unwrap();
        assert_eq!(request.assessment_id, AssessmentId(42).into());
        assert_eq!(request.issues, ["forbidden_server", "missing_config"]);
        assert_eq!(request.priority, Priority::Critical);
        assert!(!request.auto_approve);
        let ids: Vec<&str> = request
            .proposed_actions
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["fix-1", "fix-2"]);
        assert!(request.rollback_plan.unwrap().contains("backup"));
    }

    #[test]
    fn a_proposal_never_carries_the_machines_env_values() {
        const API_KEY: &str = "sk-proj-DoNotSendThisAnywhere";
        let policy = Policy::parse(POLICY).unwrap();
        let mut files = sample();
        // Unpinned, with a pin in the policy, and a secret in its env: an update is proposed.
        files.push(file(
            "/home/ana/.codeium/mcp_config.json",
            vec![(
                "scratch",
                entry(
                    "npx",
                    &["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                    &[("OPENAI_API_KEY", API_KEY), ("LOG_LEVEL", "debug")],
                ),
            )],
        ));
        let assessment = assess(&files, &policy, &[], &present);
        assert_eq!(
            assessment.results.servers["scratch"].issues,
            ["security_issue", "unpinned_package"]
        );
        let request = proposal(AssessmentId(7), &assessment).unwrap();
        let update = request
            .proposed_actions
            .iter()
            .find(|a| a.server_name == "scratch")
            .expect("the pin is proposed");
        assert_eq!(update.action_type, ActionType::UpdateServer);
        assert!(update.env.is_empty());
        // Nothing any file holds in its env reaches the wire, in any action.
        let wire = serde_json::to_string(&request).unwrap();
        for value in files
            .iter()
            .filter_map(|f| f.servers.as_ref().ok())
            .flatten()
            .flat_map(|(_, entry)| entry.env.values())
        {
            assert!(!wire.contains(value.as_str()), "{value} was sent: {wire}");
        }
    }

    #[test]
    fn an_update_is_proposed_only_when_every_file_launches_the_server_alike() {
        let policy = Policy::parse(POLICY).unwrap();
        let unpinned = |dir: &str, env: &[(&str, &str)]| {
            entry("uvx", &["mcp-server-git", "--repository", dir], env)
        };
        let same = [
            file("/a.json", vec![("git", unpinned("/srv/repo", &[]))]),
            // Env may differ: the installer keeps each file's own.
            file(
                "/b.json",
                vec![("git", unpinned("/srv/repo", &[("GIT_TOKEN", "${env:T}")]))],
            ),
        ];
        let assessment = assess(&same, &policy, &["git".to_owned()], &|_| true);
        assert_eq!(assessment.fixes.len(), 1);
        assert_eq!(
            assessment.fixes[0].action.args,
            ["mcp-server-git@0.6.2", "--repository", "/srv/repo"]
        );

        let different_args = [
            file("/a.json", vec![("git", unpinned("/srv/repo", &[]))]),
            file("/b.json", vec![("git", unpinned("/srv/other", &[]))]),
        ];
        let different_command = [
            file("/a.json", vec![("git", unpinned("/srv/repo", &[]))]),
            file(
                "/b.json",
                vec![(
                    "git",
                    entry(
                        "/usr/bin/uvx",
                        &["mcp-server-git", "--repository", "/srv/repo"],
                        &[],
                    ),
                )],
            ),
        ];
        for files in [different_args, different_command] {
            let assessment = assess(&files, &policy, &["git".to_owned()], &|_| true);
            assert!(assessment.fixes.is_empty());
            // Still reported, once per file.
            assert_eq!(
                findings(&assessment.results.servers["git"]),
                [
                    (UNPINNED_PACKAGE, Severity::Warning),
                    (UNPINNED_PACKAGE, Severity::Warning)
                ]
            );
        }
    }

    #[test]
    fn commands_are_looked_up() {
        assert!(command_on_path("sh"));
        assert!(command_on_path("/bin/sh"));
        assert!(!command_on_path("surely-no-such-program-4f1c9e"));
        assert!(!command_on_path("/nonexistent/dir/sh"));
        assert!(!command_on_path(""));
    }
}
