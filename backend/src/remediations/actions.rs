//! Proposed actions: validated at the boundary, stored with their env values sealed, shown
//! masked, and opened only for the installer and for digest checks.

use super::sealing::{EnvSealer, SealedValue, SealingError};
use crate::error::{ApiError, ApiResult};
use coordinator_api::Secret;
use coordinator_api::remediations::{ActionType, MaskedAction, ProposedAction};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

const MAX_ACTIONS: usize = 50;
const MAX_ARGS: usize = 64;
const MAX_ARG_BYTES: usize = 1024;
const MAX_ENV: usize = 64;
const MAX_ENV_VALUE_BYTES: usize = 8192;

/// An action as stored in `proposals.actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAction {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: ActionType,
    pub server_name: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, SealedValue>,
}

/// `NAME`, `_NAME`, `NAME_2`: what shells and MCP clients accept as a variable name.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

fn is_plain(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/'))
}

/// Checks every action; the message names the action and the rule broken.
pub fn validate(actions: &[ProposedAction]) -> ApiResult<()> {
    if actions.is_empty() || actions.len() > MAX_ACTIONS {
        return Err(ApiError::validation(format!(
            "proposedActions must hold 1 to {MAX_ACTIONS} actions"
        )));
    }
    let mut ids = HashSet::new();
    for action in actions {
        let id = &action.id;
        let bad = |rule: &str| Err(ApiError::validation(format!("action `{id}`: {rule}")));
        if !is_plain(id, 64) {
            return Err(ApiError::validation(
                "every action needs an id of 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        if !ids.insert(id.as_str()) {
            return bad("the id is used twice");
        }
        if !is_plain(&action.server_name, 64) {
            return bad("serverName must be 1 to 64 letters, digits, '-', '_', '.', '@' or '/'");
        }
        let command = action.command.as_deref().map(str::trim);
        match action.action_type {
            ActionType::InstallServer | ActionType::UpdateServer => {
                if command.is_none_or(str::is_empty) {
                    return bad("a command is required to install or update a server");
                }
            }
            ActionType::RemoveServer => {
                if command.is_some() || !action.args.is_empty() || !action.env.is_empty() {
                    return bad("remove_server takes no command, args or env");
                }
            }
            ActionType::GenerateConfig => {}
        }
        if let Some(command) = command
            && (command.is_empty() || command.len() > 256 || command.chars().any(char::is_control))
        {
            return bad("the command must be 1 to 256 printable characters");
        }
        if action.args.len() > MAX_ARGS
            || action
                .args
                .iter()
                .any(|a| a.len() > MAX_ARG_BYTES || a.chars().any(|c| c.is_control() && c != '\t'))
        {
            return bad("args: at most 64 printable arguments of up to 1024 bytes");
        }
        if action.env.len() > MAX_ENV {
            return bad("env: at most 64 variables");
        }
        for (name, value) in &action.env {
            if !is_env_name(name) {
                return bad(&format!("env: `{name}` is not a valid variable name"));
            }
            if value.expose().len() > MAX_ENV_VALUE_BYTES {
                return bad(&format!(
                    "env: the value of `{name}` is longer than 8192 bytes"
                ));
            }
        }
    }
    Ok(())
}

pub fn seal(
    sealer: &EnvSealer,
    actions: &[ProposedAction],
) -> Result<Vec<StoredAction>, SealingError> {
    actions
        .iter()
        .map(|action| {
            let env = action
                .env
                .iter()
                .map(|(name, value)| Ok((name.clone(), sealer.seal(name, value.expose())?)))
                .collect::<Result<_, SealingError>>()?;
            Ok(StoredAction {
                id: action.id.clone(),
                action_type: action.action_type,
                server_name: action.server_name.clone(),
                command: action.command.clone(),
                args: action.args.clone(),
                env,
            })
        })
        .collect()
}

pub fn open(
    sealer: &EnvSealer,
    stored: &[StoredAction],
) -> Result<Vec<ProposedAction>, SealingError> {
    stored
        .iter()
        .map(|action| {
            let env = action
                .env
                .iter()
                .map(|(name, sealed)| Ok((name.clone(), Secret::new(sealer.open(name, sealed)?))))
                .collect::<Result<_, SealingError>>()?;
            Ok(ProposedAction {
                id: action.id.clone(),
                action_type: action.action_type,
                server_name: action.server_name.clone(),
                command: action.command.clone(),
                args: action.args.clone(),
                env,
            })
        })
        .collect()
}

pub fn masked(action: &StoredAction) -> MaskedAction {
    MaskedAction {
        id: action.id.clone(),
        action_type: action.action_type,
        server_name: action.server_name.clone(),
        command: action.command.clone(),
        args: action.args.clone(),
        env: action
            .env
            .iter()
            .map(|(n, v)| (n.clone(), v.masked()))
            .collect(),
    }
}

pub fn parse_stored(json: &str) -> ApiResult<Vec<StoredAction>> {
    serde_json::from_str(json).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(kind: ActionType, command: Option<&str>, env: &[(&str, &str)]) -> ProposedAction {
        ProposedAction {
            id: "action-1".into(),
            action_type: kind,
            server_name: "postgres".into(),
            command: command.map(str::to_owned),
            args: vec!["-y".into(), "@modelcontextprotocol/server-postgres".into()],
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Secret::new(*v)))
                .collect(),
        }
    }

    #[test]
    fn the_rules_name_what_is_wrong() {
        assert!(
            validate(&[action(
                ActionType::InstallServer,
                Some("npx"),
                &[("DATABASE_URL", "x")]
            )])
            .is_ok()
        );
        assert!(validate(&[]).is_err());
        assert!(validate(&[action(ActionType::InstallServer, None, &[])]).is_err());
        assert!(validate(&[action(ActionType::UpdateServer, Some("  "), &[])]).is_err());
        assert!(
            validate(&[action(
                ActionType::InstallServer,
                Some("npx"),
                &[("1BAD", "x")]
            )])
            .is_err()
        );
        assert!(
            validate(&[action(
                ActionType::InstallServer,
                Some("npx"),
                &[("BAD-NAME", "x")]
            )])
            .is_err()
        );
        let mut remove = action(ActionType::RemoveServer, None, &[]);
        remove.args.clear();
        assert!(validate(&[remove.clone()]).is_ok());
        let twice = [remove.clone(), remove];
        assert!(validate(&twice).unwrap_err().message().contains("twice"));
    }

    #[test]
    fn sealing_round_trips_and_masks() {
        let sealer = EnvSealer::new(b"an encryption key of thirty-two bytes!");
        let actions = [action(
            ActionType::InstallServer,
            Some("npx"),
            &[("TOKEN", "s3cret")],
        )];
        let stored = seal(&sealer, &actions).unwrap();
        assert!(!serde_json::to_string(&stored).unwrap().contains("s3cret"));
        assert_eq!(open(&sealer, &stored).unwrap(), actions);
        let shown = serde_json::to_string(&masked(&stored[0])).unwrap();
        assert!(!shown.contains("s3cret") && shown.contains("••••"));
    }
}
