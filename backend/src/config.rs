//! Settings from the environment (and an optional `.env`), validated once at start-up.
//!
//! Every setting has the name the specification gives it. A bad value stops start-up with a
//! message naming the variable; secrets are held as `SecretString` and never printed.

use anyhow::{Context, anyhow, bail};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The smallest secret accepted for signing tokens and sealing the audit chain.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub enum DatabaseConfig {
    /// The embedded default: one file under `DATA_DIR`.
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        url: SecretString,
    },
}

impl DatabaseConfig {
    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseConfig::Sqlite { .. } => "sqlite",
            DatabaseConfig::Postgres { .. } => "postgres",
        }
    }
}

/// Distinct approvals a proposal needs, by priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalPolicy {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl ApprovalPolicy {
    pub fn required(&self, priority: coordinator_api::remediations::Priority) -> u32 {
        use coordinator_api::remediations::Priority;
        match priority {
            Priority::Critical => self.critical,
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub database: DatabaseConfig,
    pub data_dir: PathBuf,
    pub jwt_secret: SecretString,
    pub jwt_expiry: Duration,
    /// Key of the audit chain's MACs. Every replica must share it.
    pub audit_key: SecretString,
    /// Key that seals remediation env values at rest. Every replica must share it.
    pub encryption_key: SecretString,
    pub log_level: String,
    pub log_file_path: Option<PathBuf>,
    pub audit_retention_days: u32,
    pub metrics_retention_days: u32,
    pub admin_username: String,
    pub admin_password: Option<SecretString>,
    /// A server silent for longer than this shows as `unreachable`.
    pub server_unreachable_after: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed; nobody else's is.
    pub trusted_proxies: Vec<IpAddr>,
    /// Failed logins for one username before further attempts are refused for a while.
    pub login_max_failures_per_user: u32,
    /// Failed logins from one client address before further attempts are refused for a while.
    pub login_max_failures_per_address: u32,
    pub login_lockout: Duration,
    pub db_max_connections: u32,
    /// Longest life of an approval token.
    pub approval_token_max_ttl: Duration,
    /// How long a proposal waits for its decision before it expires.
    pub proposal_ttl: Duration,
    pub approval_policy: ApprovalPolicy,
    /// Leases of an assessment that may run out before it is given up as failed.
    pub assessment_max_attempts: u32,
    /// Commands a remediation may run without lowering its estimated success rate.
    pub command_allowlist: Vec<String>,
    /// Origins besides the service's own that may open a WebSocket.
    pub ws_allowed_origins: Vec<String>,
    /// How often the machine is sampled.
    pub metrics_interval: Duration,
    /// Alert rules created or updated (by name) at start.
    pub alert_rules_file: Option<PathBuf>,
    /// How often alert rules are evaluated.
    pub alert_eval_interval: Duration,
    /// Warnings about the configuration, logged once logging is set up.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database.backend_name())
            .field("data_dir", &self.data_dir)
            .field("jwt_expiry", &self.jwt_expiry)
            .field("log_level", &self.log_level)
            .finish_non_exhaustive()
    }
}

/// Where settings come from: the process environment in production, a map in tests.
pub struct Source {
    vars: HashMap<String, String>,
}

impl Source {
    pub fn from_env() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| anyhow!("{name}: invalid value `{raw}`: {e}")),
        }
    }

    fn duration(&self, name: &str, default: Duration) -> anyhow::Result<Duration> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => {
                parse_duration(raw).with_context(|| format!("{name}: invalid value `{raw}`"))
            }
        }
    }
}

/// The longest duration any setting accepts.
const MAX_DURATION_SECONDS: u64 = 366 * 86_400;

/// `3600`, `3600s`, `15m`, `12h` or `7d`, up to a year.
pub fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| anyhow!("expected a number of seconds or a number with s, m, h or d"))?;
    let unit_seconds: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("unknown unit `{unit}`: use s, m, h or d"),
    };
    let seconds = amount
        .checked_mul(unit_seconds)
        .filter(|s| *s <= MAX_DURATION_SECONDS)
        .ok_or_else(|| anyhow!("must be at most a year"))?;
    if seconds == 0 {
        bail!("must be longer than zero");
    }
    Ok(Duration::from_secs(seconds))
}

impl Config {
    /// Reads and validates every setting. Generates and persists the secrets of the embedded
    /// default when they are missing, which is why this may write under `DATA_DIR`.
    pub fn load(source: &Source) -> anyhow::Result<Self> {
        let mut warnings = Vec::new();
        let data_dir = PathBuf::from(source.get("DATA_DIR").unwrap_or("./data"));
        let database = database_config(source, &data_dir)?;
        let embedded = matches!(database, DatabaseConfig::Sqlite { .. });
        if embedded && !data_dir.exists() {
            create_private_dir(&data_dir)
                .with_context(|| format!("DATA_DIR: cannot create `{}`", data_dir.display()))?;
        }

        let jwt_secret = secret_setting(source, "JWT_SECRET", &data_dir, embedded, &mut warnings)?;
        let audit_key = secret_setting(source, "AUDIT_KEY", &data_dir, embedded, &mut warnings)?;
        let encryption_key =
            secret_setting(source, "ENCRYPTION_KEY", &data_dir, embedded, &mut warnings)?;

        let admin_password = match (
            source.get("ADMIN_PASSWORD"),
            source.get("ADMIN_PASSWORD_FILE"),
        ) {
            (Some(_), Some(_)) => bail!("ADMIN_PASSWORD and ADMIN_PASSWORD_FILE: set only one"),
            (Some(password), None) => Some(SecretString::from(password.to_owned())),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("ADMIN_PASSWORD_FILE: cannot read `{file}`"))?;
                Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                ))
            }
            (None, None) => None,
        };

        let log_level = source.get("LOG_LEVEL").unwrap_or("info").to_owned();
        tracing_subscriber::EnvFilter::try_new(&log_level)
            .map_err(|e| anyhow!("LOG_LEVEL: invalid value `{log_level}`: {e}"))?;

        let trusted_proxies = match source.get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|ip| {
                    ip.parse()
                        .map_err(|_| anyhow!("TRUSTED_PROXIES: `{ip}` is not an IP address"))
                })
                .collect::<anyhow::Result<_>>()?,
        };

        let max_body_bytes: usize = source.parse("MAX_BODY_BYTES", 1024 * 1024)?;
        if max_body_bytes < 1024 {
            bail!("MAX_BODY_BYTES: must be at least 1024");
        }

        Ok(Self {
            host: source.get("HOST").unwrap_or("127.0.0.1").to_owned(),
            port: source.parse("PORT", 3000)?,
            database,
            data_dir,
            jwt_secret,
            jwt_expiry: jwt_expiry(source)?,
            audit_key,
            log_level,
            log_file_path: source.get("LOG_FILE_PATH").map(PathBuf::from),
            audit_retention_days: source.parse("AUDIT_RETENTION_DAYS", 90)?,
            metrics_retention_days: source.parse("METRICS_RETENTION_DAYS", 30)?,
            admin_username: source.get("ADMIN_USERNAME").unwrap_or("admin").to_owned(),
            admin_password,
            server_unreachable_after: source
                .duration("SERVER_UNREACHABLE_AFTER", Duration::from_secs(120))?,
            max_body_bytes,
            trusted_proxies,
            login_max_failures_per_user: source.parse("LOGIN_MAX_FAILURES_PER_USER", 5)?,
            login_max_failures_per_address: source.parse("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)?,
            login_lockout: source.duration("LOGIN_LOCKOUT", Duration::from_secs(900))?,
            db_max_connections: source.parse("DB_MAX_CONNECTIONS", 10)?,
            encryption_key,
            approval_token_max_ttl: source
                .duration("APPROVAL_TOKEN_MAX_TTL", Duration::from_secs(15 * 60))?,
            proposal_ttl: source.duration("PROPOSAL_TTL", Duration::from_secs(72 * 3600))?,
            approval_policy: ApprovalPolicy {
                critical: approvals(source, "APPROVALS_REQUIRED_CRITICAL", 2)?,
                high: approvals(source, "APPROVALS_REQUIRED_HIGH", 2)?,
                medium: approvals(source, "APPROVALS_REQUIRED_MEDIUM", 1)?,
                low: approvals(source, "APPROVALS_REQUIRED_LOW", 1)?,
            },
            assessment_max_attempts: match source.parse("ASSESSMENT_MAX_ATTEMPTS", 3)? {
                0 => bail!("ASSESSMENT_MAX_ATTEMPTS: must be at least 1"),
                n => n,
            },
            metrics_interval: source.duration("METRICS_INTERVAL", Duration::from_secs(15))?,
            alert_rules_file: source.get("ALERT_RULES_FILE").map(PathBuf::from),
            alert_eval_interval: source.duration("ALERT_EVAL_INTERVAL", Duration::from_secs(10))?,
            ws_allowed_origins: source
                .get("WS_ALLOWED_ORIGINS")
                .unwrap_or("")
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            command_allowlist: source
                .get("COMMAND_ALLOWLIST")
                .unwrap_or("npx,uvx,uv,node,python,python3,deno,bunx,docker")
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            warnings,
        })
    }
}

/// A quorum: at least one approver, never more than ten.
fn approvals(source: &Source, name: &str, default: u32) -> anyhow::Result<u32> {
    let required: u32 = source.parse(name, default)?;
    if !(1..=10).contains(&required) {
        bail!("{name}: must be between 1 and 10");
    }
    Ok(required)
}

/// Tokens live at most 30 days: a stolen one must not work for longer.
fn jwt_expiry(source: &Source) -> anyhow::Result<Duration> {
    let expiry = source.duration("JWT_EXPIRY", Duration::from_secs(3600))?;
    if expiry > Duration::from_secs(30 * 86_400) {
        bail!("JWT_EXPIRY: must be at most 30 days");
    }
    Ok(expiry)
}

/// Checks a Postgres URL now, so a typo is reported as a setting and not as a failed connection.
fn postgres_url(name: &str, url: String) -> anyhow::Result<DatabaseConfig> {
    url.parse::<sea_orm::sqlx::postgres::PgConnectOptions>()
        .map_err(|e| anyhow!("{name}: not a valid Postgres URL: {e}"))?;
    Ok(DatabaseConfig::Postgres {
        url: SecretString::from(url),
    })
}

fn database_config(source: &Source, data_dir: &Path) -> anyhow::Result<DatabaseConfig> {
    if let Some(url) = source.get("DATABASE_URL") {
        return if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres_url("DATABASE_URL", url.to_owned())
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            // Every pooled connection would get its own, empty, in-memory database.
            if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
                bail!("DATABASE_URL: in-memory SQLite is not supported; name a file");
            }
            Ok(DatabaseConfig::Sqlite {
                path: PathBuf::from(path),
            })
        } else {
            bail!("DATABASE_URL: expected a postgres:// or sqlite: URL")
        };
    }
    if let Some(host) = source.get("DB_HOST") {
        let port: u16 = source.parse("DB_PORT", 5432)?;
        let database = source
            .get("DB_DATABASE")
            .ok_or_else(|| anyhow!("DB_DATABASE: required when DB_HOST is set"))?;
        let user = source
            .get("DB_USER")
            .ok_or_else(|| anyhow!("DB_USER: required when DB_HOST is set"))?;
        let credentials = match source.get("DB_PASSWORD") {
            Some(password) => format!("{}:{}", url_encode(user), url_encode(password)),
            None => url_encode(user),
        };
        return postgres_url(
            "DB_HOST/DB_PORT/DB_DATABASE/DB_USER/DB_PASSWORD",
            format!(
                "postgres://{credentials}@{}:{port}/{}",
                host,
                url_encode(database)
            ),
        );
    }
    Ok(DatabaseConfig::Sqlite {
        path: data_dir.join("coordinator.db"),
    })
}

fn url_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A signing secret: taken from the environment when strong enough; for the embedded default
/// otherwise generated once and kept in `DATA_DIR`; for Postgres a hard error, because
/// replicas sharing one database must share the secret too.
fn secret_setting(
    source: &Source,
    name: &str,
    data_dir: &Path,
    embedded: bool,
    warnings: &mut Vec<String>,
) -> anyhow::Result<SecretString> {
    match source.get(name) {
        Some(value) if value.len() >= MIN_SECRET_BYTES => {
            return Ok(SecretString::from(value.to_owned()));
        }
        Some(_) if !embedded => {
            bail!("{name}: must be at least {MIN_SECRET_BYTES} bytes long")
        }
        None if !embedded => {
            bail!("{name}: required when a Postgres database is configured (at least {MIN_SECRET_BYTES} bytes)")
        }
        Some(_) => warnings.push(format!(
            "{name} is shorter than {MIN_SECRET_BYTES} bytes; using a generated secret kept in DATA_DIR instead"
        )),
        None => {}
    }
    let file = data_dir.join(name.to_ascii_lowercase());
    let mut bytes = [0u8; 48];
    rand::fill(&mut bytes);
    let generated = hex::encode(bytes);
    match create_private_file(&file, &generated) {
        Ok(()) => {
            warnings.push(format!(
                "{name} is not set; generated one and kept it in {}",
                file.display()
            ));
            Ok(SecretString::from(generated))
        }
        // Kept from an earlier start, or written a moment ago by another process starting
        // at the same time: either way, that one is the secret.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = std::fs::read_to_string(&file)
                .with_context(|| format!("{name}: cannot read `{}`", file.display()))?;
            let existing = existing.trim();
            if existing.len() < MIN_SECRET_BYTES {
                // Never replace it: a new audit key would orphan the whole audit chain.
                bail!(
                    "{name}: `{}` holds fewer than {MIN_SECRET_BYTES} bytes; restore it or set {name}",
                    file.display()
                );
            }
            Ok(SecretString::from(existing.to_owned()))
        }
        Err(err) => Err(err).with_context(|| {
            format!(
                "{name}: cannot persist a generated secret in `{}`",
                file.display()
            )
        }),
    }
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Writes a new file readable by its owner only; fails if the file exists.
fn create_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Secrets as bytes, for the signing code.
pub fn secret_bytes(secret: &SecretString) -> &[u8] {
    secret.expose_secret().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("coordinator-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn embedded_default_generates_and_keeps_secrets() {
        let dir = temp_dir("generate");
        let source = Source::from_pairs([("DATA_DIR", dir.to_string_lossy().to_string())]);
        let first = Config::load(&source).unwrap();
        let second = Config::load(&source).unwrap();
        assert_eq!(
            first.jwt_secret.expose_secret(),
            second.jwt_secret.expose_secret()
        );
        assert!(first.jwt_secret.expose_secret().len() >= MIN_SECRET_BYTES);
        assert!(matches!(first.database, DatabaseConfig::Sqlite { .. }));
        assert_eq!(first.port, 3000);
        assert_eq!(first.host, "127.0.0.1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("jwt_secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn postgres_refuses_missing_or_weak_secrets() {
        let err = Config::load(&Source::from_pairs([(
            "DATABASE_URL",
            "postgres://localhost/x",
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        let err = Config::load(&Source::from_pairs([
            ("DATABASE_URL", "postgres://localhost/x"),
            ("JWT_SECRET", "short"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn db_parts_build_a_postgres_url() {
        let config = Config::load(&Source::from_pairs([
            ("DB_HOST", "db"),
            ("DB_DATABASE", "mcp_integration"),
            ("DB_USER", "mcp_user"),
            ("DB_PASSWORD", "p@ss word"),
            ("JWT_SECRET", "x".repeat(32).as_str()),
            ("AUDIT_KEY", "y".repeat(32).as_str()),
            ("ENCRYPTION_KEY", "z".repeat(32).as_str()),
        ]))
        .unwrap();
        match config.database {
            DatabaseConfig::Postgres { url } => assert_eq!(
                url.expose_secret(),
                "postgres://mcp_user:p%40ss%20word@db:5432/mcp_integration"
            ),
            DatabaseConfig::Sqlite { .. } => panic!("expected postgres"),
        }
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let dir = temp_dir("invalid");
        for (name, value) in [
            ("PORT", "eighty"),
            ("JWT_EXPIRY", "soon"),
            ("LOG_LEVEL", "loud[["),
            ("TRUSTED_PROXIES", "nope"),
            ("AUDIT_RETENTION_DAYS", "-1"),
        ] {
            let err = Config::load(&Source::from_pairs([
                ("DATA_DIR".to_owned(), dir.to_string_lossy().to_string()),
                (name.to_owned(), value.to_owned()),
            ]))
            .unwrap_err();
            assert!(format!("{err:#}").contains(name), "{name}: {err:#}");
        }
    }

    #[test]
    fn a_damaged_secret_file_is_an_error_not_a_new_secret() {
        let dir = temp_dir("damaged");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("audit_key"), "short").unwrap();
        let err = Config::load(&Source::from_pairs([(
            "DATA_DIR",
            dir.to_string_lossy().to_string(),
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("AUDIT_KEY"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("audit_key")).unwrap(),
            "short"
        );
    }

    #[test]
    fn bad_database_urls_and_expiries_name_their_variable() {
        let dir = temp_dir("urls");
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![("DATA_DIR".to_owned(), dir.to_string_lossy().to_string())];
            all.extend(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            Config::load(&Source::from_pairs(all))
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert!(with(&[("DATABASE_URL", "sqlite::memory:")]).contains("DATABASE_URL"));
        assert!(with(&[("DATABASE_URL", "mysql://x")]).contains("DATABASE_URL"));
        assert!(with(&[("JWT_EXPIRY", "90d")]).contains("JWT_EXPIRY"));
        assert!(with(&[("JWT_EXPIRY", "99999999999999d")]).contains("JWT_EXPIRY"));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5w").is_err());
    }
}
