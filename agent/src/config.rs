//! The agent's own configuration (TOML). Relative paths are resolved against the directory
//! of the configuration file, so a config and its policy can travel together.

use crate::mcp_config::Format;
use anyhow::{Context, bail};
use coordinator_api::Secret;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    coordinator_url: String,
    ca_file: Option<PathBuf>,
    machine_id: Option<String>,
    state_dir: PathBuf,
    policy: PathBuf,
    #[serde(default = "default_ping")]
    ping_interval_seconds: u64,
    #[serde(default = "default_wait")]
    poll_wait_seconds: u32,
    #[serde(default = "default_lease")]
    lease_seconds: u32,
    compliance: Option<RawRole>,
    installer: Option<RawRole>,
    install_target: Option<PathBuf>,
    files: Vec<RawFile>,
}

fn default_ping() -> u64 {
    30
}

fn default_wait() -> u32 {
    20
}

fn default_lease() -> u32 {
    120
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    server_id: String,
    enrollment_key: Option<Secret>,
    enrollment_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: PathBuf,
    format: Format,
}

/// One role the agent plays, registered as its own server.
#[derive(Debug, Clone)]
pub struct Role {
    pub server_id: String,
    /// Used to enroll when no kept API key works; the API key received is kept in the state
    /// directory after that. A `Secret`, so that printing the configuration hides it.
    pub enrollment_key: Option<Secret>,
}

/// A configuration file the agent manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFile {
    pub path: PathBuf,
    pub format: Format,
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub coordinator_url: String,
    /// PEM certificates of a private authority to trust, besides the public ones, for an
    /// `https://` coordinator.
    pub ca_file: Option<PathBuf>,
    /// The workstation this agent looks after: `machine_id` from agent.toml, or the host
    /// name in lower case.
    pub machine_id: coordinator_api::MachineId,
    /// API keys and backups.
    pub state_dir: PathBuf,
    pub policy: PathBuf,
    pub ping_interval: Duration,
    pub poll_wait_seconds: u32,
    pub lease_seconds: u32,
    pub compliance: Option<Role>,
    pub installer: Option<Role>,
    pub files: Vec<ManagedFile>,
    /// Where servers that are not configured anywhere yet are installed.
    pub install_target: ManagedFile,
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// `https://` anywhere; plain `http://` only to this machine, where no one else can read the
/// keys every request carries.
fn check_coordinator_url(url: &str) -> anyhow::Result<()> {
    use reqwest::Url;
    let parsed =
        Url::parse(url).with_context(|| format!("coordinator_url `{url}` is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => bail!(
            "coordinator_url `{url}`: plain http:// would send the agent's keys unencrypted; \
             use https:// (http:// is only for an address on this machine: 127.0.0.1, ::1 or \
             localhost)"
        ),
        _ => bail!("coordinator_url `{url}` must start with https://"),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // An IPv6 host comes in brackets.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl AgentConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the agent configuration `{}`", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).with_context(|| format!("in `{}`", path.display()))
    }

    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let raw: RawConfig = toml::from_str(text)?;
        let url = raw.coordinator_url.trim_end_matches('/').to_owned();
        check_coordinator_url(&url)?;
        if raw.compliance.is_none() && raw.installer.is_none() {
            bail!("give at least one role: [compliance] or [installer]");
        }
        if raw.files.is_empty() {
            bail!("list at least one MCP configuration file in [[files]]");
        }
        if !(1..=30).contains(&raw.poll_wait_seconds) {
            bail!("poll_wait_seconds must be between 1 and 30");
        }
        if !(10..=3600).contains(&raw.lease_seconds) {
            bail!("lease_seconds must be between 10 and 3600");
        }
        let role = |raw: Option<RawRole>| -> anyhow::Result<Option<Role>> {
            let Some(raw) = raw else { return Ok(None) };
            let enrollment_key = match (raw.enrollment_key, raw.enrollment_key_file) {
                (Some(_), Some(_)) => bail!("give enrollment_key or enrollment_key_file, not both"),
                (Some(key), None) => Some(Secret::new(key.expose().trim())),
                // Gone after the first run is normal: the kept API key signs in from then on.
                (None, Some(file)) => match std::fs::read_to_string(resolve(base, &file)) {
                    Ok(key) => Some(Secret::new(key.trim())),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                    Err(err) => {
                        return Err(err)
                            .with_context(|| format!("cannot read `{}`", file.display()));
                    }
                },
                (None, None) => None,
            };
            // An empty key could only be refused; without one, the error names what is missing.
            let enrollment_key = enrollment_key.filter(|key| !key.expose().is_empty());
            Ok(Some(Role {
                server_id: raw.server_id,
                enrollment_key,
            }))
        };
        let files: Vec<ManagedFile> = raw
            .files
            .iter()
            .map(|f| ManagedFile {
                path: resolve(base, &f.path),
                format: f.format,
            })
            .collect();
        // Two entries for one file would have an action applied to it twice, each time from
        // a stale read. Links are followed so that two names for one file count as one.
        let mut seen = std::collections::BTreeSet::new();
        for file in &files {
            let real = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
            if !seen.insert(real) {
                bail!(
                    "[[files]] lists `{}` more than once (or under two names)",
                    file.path.display()
                );
            }
        }
        let install_target = match &raw.install_target {
            None => files[0].clone(),
            Some(target) => {
                let target = resolve(base, target);
                files
                    .iter()
                    .find(|f| f.path == target)
                    .cloned()
                    .with_context(|| {
                        format!(
                            "install_target `{}` is not one of [[files]]",
                            target.display()
                        )
                    })?
            }
        };
        let compliance = role(raw.compliance)?;
        let installer = role(raw.installer)?;
        if let (Some(compliance), Some(installer)) = (&compliance, &installer)
            && compliance.server_id == installer.server_id
        {
            // Each role registers as a server of its own kind; one id cannot be both.
            bail!(
                "[compliance] and [installer] both use server_id `{}`; give each role its own",
                compliance.server_id
            );
        }
        Ok(Self {
            coordinator_url: url,
            ca_file: raw.ca_file.map(|file| resolve(base, &file)),
            machine_id: crate::machine_id::resolve(raw.machine_id.as_deref())?,
            state_dir: resolve(base, &raw.state_dir),
            policy: resolve(base, &raw.policy),
            ping_interval: Duration::from_secs(raw.ping_interval_seconds.max(1)),
            poll_wait_seconds: raw.poll_wait_seconds,
            lease_seconds: raw.lease_seconds,
            compliance,
            installer,
            files,
            install_target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
coordinator_url = "http://127.0.0.1:3000/"
machine_id = "laptop"
state_dir = "state"
policy = "policy.toml"
[compliance]
server_id = "laptop-compliance"
enrollment_key = "mce_abc"
[[files]]
path = "claude_desktop_config.json"
format = "mcp_servers"
[[files]]
path = "/abs/.vscode/mcp.json"
format = "vscode"
"#;

    #[test]
    fn paths_resolve_against_the_config_directory() {
        let config = AgentConfig::parse(SAMPLE, Path::new("/etc/agent")).unwrap();
        assert_eq!(config.coordinator_url, "http://127.0.0.1:3000");
        assert_eq!(config.state_dir, PathBuf::from("/etc/agent/state"));
        assert_eq!(config.files[1].path, PathBuf::from("/abs/.vscode/mcp.json"));
        assert_eq!(
            config.install_target.path,
            PathBuf::from("/etc/agent/claude_desktop_config.json")
        );
        assert!(config.installer.is_none());
        let key = config.compliance.unwrap().enrollment_key.unwrap();
        assert_eq!(key.expose(), "mce_abc");
        assert!(!format!("{key:?}").contains("mce_abc"));
    }

    #[test]
    fn the_machine_id_is_given_or_the_host_name() {
        let given = AgentConfig::parse(SAMPLE, Path::new("/")).unwrap();
        assert_eq!(given.machine_id.as_str(), "laptop");
        let odd = SAMPLE.replace("\"laptop\"", "\"Ana's laptop\"");
        let err = AgentConfig::parse(&odd, Path::new("/")).unwrap_err();
        assert!(
            format!("{err:#}").contains("machine_id `Ana's laptop`: a machine id is 1 to 64"),
            "{err:#}"
        );
        let absent = SAMPLE.replace("machine_id = \"laptop\"\n", "");
        let host = gethostname::gethostname().to_string_lossy().to_lowercase();
        match AgentConfig::parse(&absent, Path::new("/")) {
            Ok(config) => assert_eq!(config.machine_id.as_str(), host),
            // Only a host name that breaks the rule gets here, and then it says what to do.
            Err(err) => assert!(format!("{err:#}").contains("set machine_id"), "{err:#}"),
        }
    }

    #[test]
    fn mistakes_are_named() {
        let err = AgentConfig::parse(
            &SAMPLE.replace("[compliance]", "[complianse]"),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("complianse"), "{err:#}");
        let err =
            AgentConfig::parse(&SAMPLE.replace("mcp_servers", "yaml"), Path::new("/")).unwrap_err();
        assert!(format!("{err:#}").contains("yaml"), "{err:#}");
    }

    #[test]
    fn https_anywhere_and_http_only_to_this_machine() {
        let with_url = |url: &str| SAMPLE.replace("http://127.0.0.1:3000/", url);
        for url in [
            "https://coordinator.example.com",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:3000",
            "http://127.8.9.10",
            "http://localhost:3000",
            "http://LOCALHOST",
            "http://[::1]:3000",
        ] {
            let config = AgentConfig::parse(&with_url(url), Path::new("/"));
            assert!(config.is_ok(), "{url}: {:#}", config.unwrap_err());
        }
        for url in [
            "http://coordinator.example.com",
            "http://10.0.0.5:3000",
            "http://[::2]:3000",
            "http://localhost.example.com",
        ] {
            let err = AgentConfig::parse(&with_url(url), Path::new("/")).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains("use https://"), "{url}: {text}");
        }
        for url in ["ftp://127.0.0.1", "127.0.0.1:3000", "not a url"] {
            let err = AgentConfig::parse(&with_url(url), Path::new("/")).unwrap_err();
            assert!(
                format!("{err:#}").contains("coordinator_url"),
                "{url}: {err:#}"
            );
        }
    }

    #[test]
    fn the_ca_file_resolves_against_the_config_directory() {
        let config = AgentConfig::parse(SAMPLE, Path::new("/etc/agent")).unwrap();
        assert_eq!(config.ca_file, None);
        let with_ca = format!("ca_file = \"ca.pem\"\n{SAMPLE}");
        let config = AgentConfig::parse(&with_ca, Path::new("/etc/agent")).unwrap();
        assert_eq!(config.ca_file, Some(PathBuf::from("/etc/agent/ca.pem")));
        let absolute = format!("ca_file = \"/etc/coordinator/ca.pem\"\n{SAMPLE}");
        let config = AgentConfig::parse(&absolute, Path::new("/etc/agent")).unwrap();
        assert_eq!(
            config.ca_file,
            Some(PathBuf::from("/etc/coordinator/ca.pem"))
        );
    }

    #[test]
    fn a_file_listed_twice_is_refused() {
        let twice = format!(
            "{SAMPLE}[[files]]\npath = \"./claude_desktop_config.json\"\nformat = \"mcp_servers\"\n"
        );
        let err = AgentConfig::parse(&twice, Path::new("/etc/agent")).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("more than once"), "{text}");
        assert!(text.contains("claude_desktop_config.json"), "{text}");
    }

    #[test]
    fn one_server_id_cannot_play_both_roles() {
        let both = format!("{SAMPLE}[installer]\nserver_id = \"laptop-compliance\"\n");
        let err = AgentConfig::parse(&both, Path::new("/")).unwrap_err();
        assert!(format!("{err:#}").contains("both use server_id"), "{err:#}");
        let apart = format!("{SAMPLE}[installer]\nserver_id = \"laptop-installer\"\n");
        let config = AgentConfig::parse(&apart, Path::new("/")).unwrap();
        assert!(config.installer.unwrap().enrollment_key.is_none());
    }
}
