//! How MCP servers are launched: which package a launcher command runs, and whether its
//! version is pinned. Shared by the coordinator's risk rules and the agent's policy checks,
//! so both judge a command the same way.

/// The package a launcher runs (`npx`, `bunx`, `pnpx`, `uvx`, `pipx run`), if the command is
/// one: the first argument that is not a flag.
pub fn launched_package(command: &str, args: &[String]) -> Option<String> {
    let program = command.rsplit('/').next().unwrap_or(command);
    let first_plain = |args: &[String]| args.iter().find(|a| !a.starts_with('-')).cloned();
    match program {
        "npx" | "bunx" | "pnpx" | "uvx" => first_plain(args),
        "pipx" if args.first().is_some_and(|a| a == "run") => first_plain(&args[1..]),
        _ => None,
    }
}

/// `pkg@1.2.3`, `@scope/pkg@1.2.3`, `pkg==1.2.3`: a version is named (`latest` is not one).
pub fn is_pinned(package: &str) -> bool {
    let unscoped = package.strip_prefix('@').unwrap_or(package);
    let version = unscoped
        .split_once('@')
        .map(|(_, v)| v)
        .or_else(|| package.split_once("==").map(|(_, v)| v));
    version.is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
}

/// The package name without its version: `@scope/pkg@1.2.3` → `@scope/pkg`, `pkg==2` → `pkg`.
pub fn package_name(package: &str) -> &str {
    if let Some((name, _)) = package.split_once("==") {
        return name;
    }
    let (scope, rest) = match package.strip_prefix('@') {
        Some(rest) => (1, rest),
        None => (0, package),
    };
    match rest.split_once('@') {
        Some((name, _)) => &package[..scope + name.len()],
        None => package,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_recognised() {
        assert!(is_pinned("pkg@1.2.3"));
        assert!(is_pinned("@scope/pkg@0.6.2"));
        assert!(is_pinned("pkg==2.0"));
        assert!(!is_pinned("@scope/pkg"));
        assert!(!is_pinned("pkg@latest"));
        assert!(!is_pinned("pkg"));
    }

    #[test]
    fn launchers_name_their_package() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            launched_package("npx", &args(&["-y", "@a/b@1"])).as_deref(),
            Some("@a/b@1")
        );
        assert_eq!(
            launched_package("/usr/bin/uvx", &args(&["mcp-git"])).as_deref(),
            Some("mcp-git")
        );
        assert_eq!(
            launched_package("pipx", &args(&["run", "tool"])).as_deref(),
            Some("tool")
        );
        assert_eq!(launched_package("node", &args(&["server.js"])), None);
    }

    #[test]
    fn names_drop_their_version() {
        assert_eq!(package_name("@scope/pkg@1.2.3"), "@scope/pkg");
        assert_eq!(package_name("@scope/pkg"), "@scope/pkg");
        assert_eq!(package_name("pkg@1"), "pkg");
        assert_eq!(package_name("pkg==2.0"), "pkg");
    }
}
