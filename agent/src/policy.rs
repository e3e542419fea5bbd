//! The policy the agent holds MCP server configurations to, read from a TOML file.
//!
//! ```toml
//! allowed_commands = ["npx", "uvx", "node", "python3", "docker"]
//! require_pinned_versions = true
//! check_commands_exist = true
//!
//! [pinned_versions]
//! "@modelcontextprotocol/server-filesystem" = "2025.8.21"
//!
//! [[required]]
//! name = "filesystem"
//! command = "npx"
//! args = ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/srv/shared"]
//!
//! [[forbidden]]
//! name = "shady-tools"
//! reason = "sends data to an unknown host"
//! ```

use anyhow::anyhow;
use coordinator_api::packages::{is_pinned, launched_package, package_name};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every field may be left out; unknown keys are refused so that a misspelt rule is reported
/// instead of silently not applying.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Program names (no directory) servers may be started with; empty allows any.
    pub allowed_commands: Vec<String>,
    /// Packages run through a launcher (`npx`, `uvx`, ...) must name a version.
    pub require_pinned_versions: bool,
    /// The version to propose, by package name, when a package runs unpinned.
    pub pinned_versions: BTreeMap<String, String>,
    /// Report servers whose command cannot be found on this machine.
    pub check_commands_exist: bool,
    /// Servers every machine must have.
    pub required: Vec<RequiredServer>,
    /// Servers no machine may have.
    pub forbidden: Vec<ForbiddenServer>,
}

// Written out rather than derived: a derived `Default` would turn the two safety checks off,
// and `Policy::default()` must mean the same as an empty policy file.
impl Default for Policy {
    fn default() -> Self {
        Self {
            allowed_commands: Vec::new(),
            require_pinned_versions: true,
            pinned_versions: BTreeMap::new(),
            check_commands_exist: true,
            required: Vec::new(),
            forbidden: Vec::new(),
        }
    }
}

/// A server every configuration must have, and how to install it when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredServer {
    pub name: String,
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForbiddenServer {
    pub name: String,
    /// Shown in the finding, so people learn why their server is unwelcome.
    pub reason: Option<String>,
}

/// The program a command starts: its last path component. Both separators count because a
/// configuration written on Windows may be assessed anywhere.
pub fn program_name(command: &str) -> &str {
    command.rsplit(['/', '\\']).next().unwrap_or(command)
}

impl Policy {
    /// Reads a policy from TOML text; the error says which key or value is wrong and where.
    pub fn parse(text: &str) -> anyhow::Result<Policy> {
        Self::parse_or_explain(text).map_err(|why| anyhow!("invalid policy: {why}"))
    }

    /// Reads the policy file at `path`; the error names the file.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow!("cannot read policy file {}: {err}", path.display()))?;
        Self::parse_or_explain(&text)
            .map_err(|why| anyhow!("invalid policy file {}: {why}", path.display()))
    }

    fn parse_or_explain(text: &str) -> Result<Policy, String> {
        let policy: Policy = toml::from_str(text).map_err(|err| err.to_string())?;
        let problems = policy.contradictions();
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(problems.join("; "))
        }
    }

    /// Rules that cannot all hold at once. Left in, they would make the agent flag what it
    /// installs itself, or install what it then wants removed, on every run.
    fn contradictions(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for command in &self.allowed_commands {
            if command.is_empty() || program_name(command) != command {
                problems.push(format!(
                    "allowed_commands: `{command}` must be a program name without a directory"
                ));
            }
        }
        for (package, version) in &self.pinned_versions {
            if package.is_empty() || package_name(package) != package {
                problems.push(format!(
                    "pinned_versions: `{package}` must be a package name without a version"
                ));
            } else if !is_pinned(&format!("{package}@{version}")) {
                problems.push(format!(
                    "pinned_versions: `{version}` (for `{package}`) is not a version number"
                ));
            }
        }
        let forbidden: BTreeSet<&str> = self.forbidden.iter().map(|f| f.name.as_str()).collect();
        if forbidden.contains("") {
            problems.push("forbidden: a server name is empty".to_owned());
        }
        let mut seen = BTreeSet::new();
        for server in &self.required {
            let name = &server.name;
            if name.is_empty() {
                problems.push("required: a server name is empty".to_owned());
            } else if !seen.insert(name.as_str()) {
                problems.push(format!("required: `{name}` is listed twice"));
            }
            if forbidden.contains(name.as_str()) {
                problems.push(format!("`{name}` is both required and forbidden"));
            }
            if server.command.trim().is_empty() {
                problems.push(format!("required `{name}`: the command is empty"));
            } else if !self.allows_command(&server.command) {
                problems.push(format!(
                    "required `{name}`: its command `{}` is not in allowed_commands",
                    server.command
                ));
            }
            if self.require_pinned_versions
                && let Some(package) = launched_package(&server.command, &server.args)
                && !is_pinned(&package)
            {
                problems.push(format!(
                    "required `{name}`: `{package}` names no version, but require_pinned_versions is on"
                ));
            }
        }
        problems
    }

    /// Whether the allowlist admits `command`, judged by its program name. A Windows
    /// launcher suffix (`npx.cmd`) counts as the program it wraps.
    pub fn allows_command(&self, command: &str) -> bool {
        if self.allowed_commands.is_empty() {
            return true;
        }
        let program = program_name(command);
        let bare = [".exe", ".cmd", ".bat"]
            .iter()
            .find_map(|suffix| strip_suffix_ignore_case(program, suffix))
            .unwrap_or(program);
        self.allowed_commands
            .iter()
            .any(|allowed| allowed == program || allowed == bare)
    }

    /// The forbidden-list entry for a server name, if it has one.
    pub fn forbidden_entry(&self, name: &str) -> Option<&ForbiddenServer> {
        self.forbidden.iter().find(|f| f.name == name)
    }

    pub fn required_entry(&self, name: &str) -> Option<&RequiredServer> {
        self.required.iter().find(|r| r.name == name)
    }
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let (head, tail) = (text.get(..split)?, text.get(split..)?);
    (tail.eq_ignore_ascii_case(suffix) && !head.is_empty()).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# Commands MCP servers may be started with.
allowed_commands = ["npx", "uvx", "node", "python3", "docker"]
require_pinned_versions = true
check_commands_exist = false

[pinned_versions]
"@modelcontextprotocol/server-filesystem" = "2025.8.21"
mcp-server-git = "0.6.2"

[[required]]
name = "filesystem"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/srv/shared"]
env = {}

[[forbidden]]
name = "shady-tools"
reason = "sends data to an unknown host"

[[forbidden]]
name = "old-tools"
"#;

    #[test]
    fn the_documented_example_parses() {
        let policy = Policy::parse(SAMPLE).unwrap();
        assert_eq!(policy.allowed_commands.len(), 5);
        assert!(policy.require_pinned_versions);
        assert!(!policy.check_commands_exist);
        assert_eq!(policy.pinned_versions["mcp-server-git"], "0.6.2");
        assert_eq!(policy.required[0].name, "filesystem");
        assert_eq!(policy.required[0].args.len(), 3);
        assert_eq!(
            policy
                .forbidden_entry("shady-tools")
                .and_then(|f| f.reason.as_deref()),
            Some("sends data to an unknown host")
        );
        assert_eq!(
            policy
                .forbidden_entry("old-tools")
                .map(|f| f.reason.is_none()),
            Some(true)
        );
    }

    #[test]
    fn an_empty_file_is_the_default_policy() {
        let policy = Policy::parse("").unwrap();
        assert_eq!(policy, Policy::default());
        assert!(policy.require_pinned_versions);
        assert!(policy.check_commands_exist);
        assert!(policy.allows_command("/opt/anything/at-all"));
    }

    #[test]
    fn a_misspelt_key_is_named() {
        let err = Policy::parse("allowed_command = [\"npx\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid policy"), "{err}");
        assert!(err.contains("unknown field `allowed_command`"), "{err}");
        assert!(err.contains("allowed_commands"), "{err}");

        let err = Policy::parse("[[forbidden]]\nname = \"x\"\nwhy = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `why`"), "{err}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named() {
        let err = Policy::parse("require_pinned_versions = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("require_pinned_versions"), "{err}");
        assert!(
            err.contains("expected a boolean") || err.contains("bool"),
            "{err}"
        );

        let err = Policy::parse("[[required]]\nname = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `command`"), "{err}");
    }

    #[test]
    fn contradictions_are_refused() {
        let err = Policy::parse(
            r#"
allowed_commands = ["/usr/bin/npx", "uvx"]
[pinned_versions]
"pkg@1" = "2"
other = "latest"
[[required]]
name = "a"
command = "docker"
[[required]]
name = "a"
command = "npx"
args = ["-y", "pkg"]
[[forbidden]]
name = "a"
"#,
        )
        .unwrap_err()
        .to_string();
        for expected in [
            "`/usr/bin/npx` must be a program name",
            "`pkg@1` must be a package name without a version",
            "`latest` (for `other`) is not a version number",
            "required `a`: its command `docker` is not in allowed_commands",
            "required: `a` is listed twice",
            "`a` is both required and forbidden",
            "`pkg` names no version",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in {err}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("policy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.toml");
        std::fs::write(&path, "check_commands_exist = 3\n").unwrap();
        let err = Policy::load(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("check_commands_exist"), "{err}");

        std::fs::write(&path, SAMPLE).unwrap();
        assert_eq!(Policy::load(&path).unwrap(), Policy::parse(SAMPLE).unwrap());

        let missing = dir.join("absent.toml");
        let err = Policy::load(&missing).unwrap_err().to_string();
        assert!(err.contains("cannot read policy file"), "{err}");
        assert!(err.contains("absent.toml"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn commands_are_judged_by_program_name() {
        let policy = Policy {
            allowed_commands: vec!["npx".to_owned(), "node".to_owned()],
            ..Policy::default()
        };
        assert!(policy.allows_command("npx"));
        assert!(policy.allows_command("/usr/local/bin/npx"));
        assert!(policy.allows_command(r"C:\Program Files\nodejs\npx.CMD"));
        assert!(!policy.allows_command("bash"));
        assert!(!policy.allows_command("/tmp/npx-evil"));
        assert!(!policy.allows_command(".exe"));
    }
}
