//! The risk of a proposal, by explicit rules. Every rule that fires adds a reason, so an
//! approver sees why, not just a verdict.
//!
//! - Impact: removing a server is high; installing or updating one is medium; only
//!   generating configuration is low. Critical priority raises it to at least medium; env
//!   values (secrets) raise it one level.
//! - Effort: one action is low, two to four medium, five or more high.
//! - Success rate: starts high. A package run through a launcher (`npx`, `bunx`, `pnpx`,
//!   `uvx`, `pipx run`) without a pinned version (`pkg@1.2.3`, `pkg==1.2.3`) lowers it to
//!   medium; a command outside the configured allow-list (`COMMAND_ALLOWLIST`) lowers it to low.

use coordinator_api::packages::{is_pinned, launched_package};
use coordinator_api::remediations::{ActionType, Level, Priority, ProposedAction, Risk};

fn raise(level: Level) -> Level {
    match level {
        Level::Low => Level::Medium,
        Level::Medium | Level::High => Level::High,
    }
}

fn rank(level: Level) -> u8 {
    match level {
        Level::Low => 0,
        Level::Medium => 1,
        Level::High => 2,
    }
}

/// The lower of the two levels.
fn lower(level: Level, to: Level) -> Level {
    if rank(to) < rank(level) { to } else { level }
}

pub fn assess(priority: Priority, actions: &[ProposedAction], allowlist: &[String]) -> Risk {
    let mut reasons = Vec::new();

    let mut impact = Level::Low;
    for action in actions {
        let level = match action.action_type {
            ActionType::RemoveServer => Level::High,
            ActionType::InstallServer | ActionType::UpdateServer => Level::Medium,
            ActionType::GenerateConfig => Level::Low,
        };
        if rank(level) > rank(impact) {
            impact = level;
        }
    }
    reasons.push(format!(
        "impact {}: the most far-reaching action is {}",
        impact.as_str(),
        actions
            .iter()
            .map(|a| a.action_type)
            .max_by_key(|t| match t {
                ActionType::RemoveServer => 3,
                ActionType::InstallServer | ActionType::UpdateServer => 2,
                ActionType::GenerateConfig => 1,
            })
            .map(|t| t.as_str())
            .unwrap_or("none")
    ));
    if priority == Priority::Critical && impact == Level::Low {
        impact = Level::Medium;
        reasons.push("impact raised: the priority is critical".to_owned());
    }
    let secrets: usize = actions.iter().map(|a| a.env.len()).sum();
    if secrets > 0 {
        impact = raise(impact);
        reasons.push(format!(
            "impact raised: it writes {secrets} secret env value(s)"
        ));
    }

    let effort = match actions.len() {
        1 => Level::Low,
        2..=4 => Level::Medium,
        _ => Level::High,
    };
    reasons.push(format!(
        "effort {}: {} action(s)",
        effort.as_str(),
        actions.len()
    ));

    let mut success_rate = Level::High;
    for action in actions {
        let Some(command) = action.command.as_deref() else {
            continue;
        };
        let program = command.rsplit('/').next().unwrap_or(command);
        if !allowlist.iter().any(|allowed| allowed == program) {
            success_rate = lower(success_rate, Level::Low);
            reasons.push(format!(
                "success rate low: action `{}` runs `{program}`, which is not on the allow-list",
                action.id
            ));
        }
        if let Some(package) = launched_package(command, &action.args)
            && !is_pinned(&package)
        {
            success_rate = lower(success_rate, Level::Medium);
            reasons.push(format!(
                "success rate lowered: action `{}` runs `{package}` without a pinned version",
                action.id
            ));
        }
    }
    Risk {
        impact,
        effort,
        success_rate,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator_api::Secret;

    fn action(kind: ActionType, command: &str, args: &[&str], env: bool) -> ProposedAction {
        ProposedAction {
            id: "a".into(),
            action_type: kind,
            server_name: "s".into(),
            command: Some(command.into()),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: if env {
                [("TOKEN".to_owned(), Secret::new("x"))].into()
            } else {
                Default::default()
            },
        }
    }

    fn allow() -> Vec<String> {
        vec!["npx".into(), "uvx".into()]
    }

    #[test]
    fn pinned_and_allowed_installs_are_likely_to_succeed() {
        let risk = assess(
            Priority::Low,
            &[action(
                ActionType::InstallServer,
                "npx",
                &["-y", "@modelcontextprotocol/server-postgres@0.6.2"],
                false,
            )],
            &allow(),
        );
        assert_eq!(
            (risk.impact, risk.effort, risk.success_rate),
            (Level::Medium, Level::Low, Level::High)
        );
    }

    #[test]
    fn unpinned_packages_secrets_and_unknown_commands_lower_the_odds() {
        let risk = assess(
            Priority::High,
            &[action(
                ActionType::InstallServer,
                "npx",
                &["-y", "@modelcontextprotocol/server-postgres"],
                true,
            )],
            &allow(),
        );
        assert_eq!(risk.success_rate, Level::Medium);
        assert_eq!(risk.impact, Level::High);
        assert!(risk.reasons.iter().any(|r| r.contains("pinned")));
        assert!(risk.reasons.iter().any(|r| r.contains("secret")));

        let risk = assess(
            Priority::Low,
            &[action(ActionType::InstallServer, "curl", &["x"], false)],
            &allow(),
        );
        assert_eq!(risk.success_rate, Level::Low);
    }
}
