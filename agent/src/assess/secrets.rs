//! What an env value says about a secret: written in plain text, a placeholder left where
//! the secret should be, or a reference the client fills in when it starts the server.
//!
//! Nothing here returns (or logs) a value: the answers end up in reports others read.

/// What an env value holds, as far as secrets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSecret {
    /// A credential in plain text, and why it looks like one.
    PlainText(&'static str),
    /// Template text where a credential should be (`YOUR_API_KEY`, `<token>`, `changeme`,
    /// `sk-xxxx`, or a shell-style `$TOKEN`, which no client expands): the server starts
    /// without a working credential.
    Placeholder,
    /// A credential taken from `${input:…}`, `${env:…}` or `${NAME}` when the client starts
    /// the server. That is how a file should name a secret; whether the client has the value
    /// cannot be seen from here.
    Reference,
}

/// Variable names that mark a credential.
const CREDENTIAL_NAMES: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "private_key",
    "credential",
];

fn names_a_credential(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    CREDENTIAL_NAMES.iter().any(|n| lower.contains(n))
}

/// Prefixes of well-known credentials, with what a value starting with one looks like.
const SECRET_PREFIXES: [(&str, &str); 7] = [
    ("sk-", "it looks like an API key"),
    ("ghp_", "it looks like a GitHub token"),
    ("gho_", "it looks like a GitHub token"),
    ("github_pat_", "it looks like a GitHub token"),
    ("xoxb-", "it looks like a Slack token"),
    ("xoxp-", "it looks like a Slack token"),
    ("-----BEGIN", "it looks like a private key"),
];

/// Judges the env variable `variable` set to `value`; `None` when it says nothing about a
/// secret.
pub fn classify(variable: &str, value: &str) -> Option<EnvSecret> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    // What the client fills in at launch is no secret; what remains around it may hold one.
    let (literal, had_reference) = without_references(value);
    let literal = literal.trim();
    let credential = names_a_credential(variable);
    if !literal.is_empty() && is_placeholder(literal) {
        let about_a_secret =
            credential || names_a_credential(literal) || secret_prefixed(literal).is_some();
        return about_a_secret.then_some(EnvSecret::Placeholder);
    }
    if let Some(kind) = secret_shaped(literal) {
        return Some(EnvSecret::PlainText(kind));
    }
    if had_reference {
        return credential.then_some(EnvSecret::Reference);
    }
    if literal.is_empty() {
        return None;
    }
    credential.then_some(EnvSecret::PlainText("its name marks it as a credential"))
}

/// The text with every `${...}` removed, and whether there was any.
fn without_references(value: &str) -> (String, bool) {
    let mut literal = String::with_capacity(value.len());
    let mut rest = value;
    let mut found = false;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        found = true;
        literal.push_str(&rest[..start]);
        rest = &rest[start + len + 1..];
    }
    literal.push_str(rest);
    (literal, found)
}

/// Whether `text` is template text rather than a value: what documentation and examples put
/// where the reader is to write their own secret.
fn is_placeholder(text: &str) -> bool {
    let words = text.to_ascii_lowercase().replace(['-', ' ', '.'], "_");
    let filler = |s: &str| s.len() >= 3 && s.chars().all(|c| matches!(c, 'x' | '*' | '_'));
    const TEMPLATES: [&str; 9] = [
        "changeme",
        "change_me",
        "replaceme",
        "replace_me",
        "placeholder",
        "todo",
        "fixme",
        "redacted",
        "dummy",
    ];
    has_angle_placeholder(text)
        || shell_variable(text)
        || TEMPLATES.contains(&words.as_str())
        || words.starts_with("your_")
        || words.contains("_your_")
        || words.ends_with("_here")
        || filler(&words)
        || secret_prefixed(text)
            .is_some_and(|(prefix, _)| filler(&text[prefix.len()..].to_ascii_lowercase()))
}

/// `<token>`, `<your-api-key>`, `Bearer <token>`: a word in angle brackets.
fn has_angle_placeholder(text: &str) -> bool {
    text.split('<').skip(1).any(|after| {
        after.split_once('>').is_some_and(|(inside, _)| {
            !inside.is_empty()
                && inside
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ' | '.'))
        })
    })
}

/// `$TOKEN` or `%TOKEN%`: a shell's way to name a variable, which MCP clients pass on
/// literally instead of expanding.
fn shell_variable(text: &str) -> bool {
    let name = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match text.strip_prefix('$') {
        Some(rest) => name(rest),
        None => text
            .strip_prefix('%')
            .and_then(|rest| rest.strip_suffix('%'))
            .is_some_and(name),
    }
}

fn secret_prefixed(value: &str) -> Option<(&'static str, &'static str)> {
    SECRET_PREFIXES
        .into_iter()
        .find(|(prefix, _)| value.len() > prefix.len() && value.starts_with(prefix))
}

/// What kind of credential a value looks like, judged by well-known shapes.
fn secret_shaped(value: &str) -> Option<&'static str> {
    if let Some((_, kind)) = secret_prefixed(value) {
        return Some(kind);
    }
    if let Some(rest) = value.strip_prefix("AKIA")
        && rest.len() >= 16
        && rest
            .bytes()
            .take(16)
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some("it looks like an AWS access key");
    }
    if url_with_password(value) {
        return Some("it is a URL with a password in it");
    }
    None
}

/// `scheme://user:password@host...` with a non-empty password.
fn url_with_password(value: &str) -> bool {
    let Some((_, after_scheme)) = value.split_once("://") else {
        return false;
    };
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(after_scheme);
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    userinfo
        .split_once(':')
        .is_some_and(|(_, password)| !password.is_empty())
}

#[cfg(test)]
mod tests {
    use super::EnvSecret::*;
    use super::*;

    #[test]
    fn each_value_is_judged() {
        let ghp = format!("ghp_{}", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");
        let cases: Vec<(&str, &str, Option<EnvSecret>)> = vec![
            // Credentials in plain text.
            (
                "GITHUB_TOKEN",
                &ghp,
                Some(PlainText("it looks like a GitHub token")),
            ),
            (
                "OPENAI",
                "sk-proj-4fQ9aZ2mR7",
                Some(PlainText("it looks like an API key")),
            ),
            (
                "DSN",
                "postgres://app:hunter22@db/app",
                Some(PlainText("it is a URL with a password in it")),
            ),
            (
                "DSN",
                "postgres://u:pw@${env:HOST}/db",
                Some(PlainText("it is a URL with a password in it")),
            ),
            (
                "AWS_ID",
                "AKIAIOSFODNN7EXAMPLE",
                Some(PlainText("it looks like an AWS access key")),
            ),
            (
                "CERT",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIB...",
                Some(PlainText("it looks like a private key")),
            ),
            (
                "DB_PASSWORD",
                "correct horse",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "MYSQL_PASSWD",
                "x",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "client_secret",
                "abc",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "SLACK_Token",
                "abc",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "MAPS_APIKEY",
                "abc",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "x-api-key",
                "abc",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "GCP_PRIVATE_KEY",
                "abc",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "AWS_CREDENTIALS",
                "abc",
                Some(PlainText("its name marks it as a credential")),
            ),
            (
                "API_TOKEN",
                "yourself-knows-8812",
                Some(PlainText("its name marks it as a credential")),
            ),
            // Placeholders left where the credential should be.
            ("OPENAI_API_KEY", "YOUR_API_KEY", Some(Placeholder)),
            ("BRAVE", "YOUR_API_KEY", Some(Placeholder)),
            ("GITHUB_TOKEN", "<token>", Some(Placeholder)),
            ("API_KEY", "<your-api-key>", Some(Placeholder)),
            ("AUTH_TOKEN", "Bearer <token>", Some(Placeholder)),
            ("GITHUB_TOKEN", "$GITHUB_TOKEN", Some(Placeholder)),
            ("GITHUB_TOKEN", "%GITHUB_TOKEN%", Some(Placeholder)),
            ("DB_PASSWORD", "changeme", Some(Placeholder)),
            ("DB_PASSWORD", "CHANGE-ME", Some(Placeholder)),
            ("API_KEY", "xxx", Some(Placeholder)),
            ("API_KEY", "xxxxxxxxxxxxxxxx", Some(Placeholder)),
            ("API_KEY", "********", Some(Placeholder)),
            ("API_KEY", "your-api-key-here", Some(Placeholder)),
            ("API_KEY", "paste your key here", Some(Placeholder)),
            ("KEY", "sk-xxxxxxxxxxxxxxxx", Some(Placeholder)),
            ("GH", "ghp_XXXXXXXXXXXXXXXXXXXX", Some(Placeholder)),
            // References the client fills in.
            ("GITHUB_TOKEN", "${input:api-key}", Some(Reference)),
            ("GITHUB_TOKEN", "${env:GITHUB_TOKEN}", Some(Reference)),
            ("GITHUB_TOKEN", "${GITHUB_TOKEN}", Some(Reference)),
            ("AUTH_TOKEN", "Bearer ${env:TOKEN}", Some(Reference)),
            ("DATABASE_PASSWORD", "${input:db}", Some(Reference)),
            // Nothing to do with secrets.
            ("WORKSPACE", "${workspaceFolder}", None),
            ("DATABASE_URL", "postgres://app:${env:PW}@db/app", None),
            ("DATABASE_URL", "postgres://app@db/app", None),
            ("HOME_URL", "https://example.com/a:b@c", None),
            ("HOME", "$HOME", None),
            ("LABEL", "<none>", None),
            ("TOKEN", "", None),
            ("LOG_LEVEL", "debug", None),
            ("AWS_REGION", "AKIA-not-a-key", None),
            ("MODE", "sk-", None),
            ("KEYBOARD", "us", None),
        ];
        for (variable, value, expected) in cases {
            assert_eq!(classify(variable, value), expected, "{variable}={value}");
        }
    }
}
