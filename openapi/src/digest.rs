//! The payload digest: what an approval binds to.
//!
//! The digest is the SHA-256 (hex) of a canonical JSON form of a proposal's actions:
//!
//! ```text
//! {"actions":[{"args":[..],"command":..,"env":{"NAME":"<hex HMAC-SHA256(salt, NAME=value)>"},
//!   "id":..,"serverName":..,"type":..}, ...],"machine":"ws-07","version":2}
//! ```
//!
//! with object keys sorted and no whitespace, actions in proposal order. The machine is part
//! of what was decided: the same actions on another machine are another change. Version 1,
//! the form of proposals made before machines were named, has no `machine` key. Env values enter
//! only as HMACs keyed with the proposal's random `digestSalt`, so the digest can be shown to
//! everyone without revealing secrets, while the installer — which receives the salt with the
//! plaintext actions — can recompute it and refuse anything that differs from what was approved.

use crate::MachineId;
use crate::remediations::ProposedAction;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The form new proposals are digested in.
pub const DIGEST_VERSION: u32 = 2;

/// Whether an installer knows how to recompute a digest of this version.
pub fn is_known_version(version: u32) -> bool {
    (1..=DIGEST_VERSION).contains(&version)
}

fn env_mac(salt: &[u8], name: &str, value: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(salt)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(name.as_bytes());
    mac.update(b"=");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Writes `value` as JSON with every object's keys in byte order and no whitespace, whatever
/// order the map type keeps them in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The canonical form the digest is computed over.
pub fn canonical_form(
    version: u32,
    machine: &MachineId,
    actions: &[ProposedAction],
    salt: &[u8],
) -> String {
    let actions: Vec<Value> = actions
        .iter()
        .map(|action| {
            let env: Map<String, Value> = action
                .env
                .iter()
                .map(|(name, value)| {
                    (
                        name.clone(),
                        Value::String(env_mac(salt, name, value.expose())),
                    )
                })
                .collect();
            json!({
                "id": action.id,
                "type": action.action_type.as_str(),
                "serverName": action.server_name,
                "command": action.command,
                "args": action.args,
                "env": env,
            })
        })
        .collect();
    let payload = if version == 1 {
        json!({ "version": 1, "actions": actions })
    } else {
        json!({ "version": version, "machine": machine.as_str(), "actions": actions })
    };
    let mut out = String::new();
    write_canonical(&payload, &mut out);
    out
}

/// `sha256:<hex>` of the canonical form.
pub fn payload_digest(
    version: u32,
    machine: &MachineId,
    actions: &[ProposedAction],
    salt: &[u8],
) -> String {
    let form = canonical_form(version, machine, actions, salt);
    format!("sha256:{}", hex::encode(Sha256::digest(form.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediations::ActionType;
    use std::collections::BTreeMap;

    fn action(value: &str) -> ProposedAction {
        ProposedAction {
            id: "action-1".into(),
            action_type: ActionType::InstallServer,
            server_name: "postgres".into(),
            command: Some("npx".into()),
            args: vec![
                "-y".into(),
                "@modelcontextprotocol/server-postgres@0.6.2".into(),
            ],
            env: BTreeMap::from([("DATABASE_URL".to_owned(), value.into())]),
        }
    }

    fn ws(name: &str) -> MachineId {
        MachineId::parse(name).unwrap()
    }

    fn digest(machine: &str, actions: &[ProposedAction], salt: &[u8]) -> String {
        payload_digest(DIGEST_VERSION, &ws(machine), actions, salt)
    }

    /// Fixed answers, so that an installer written in any language can check its own
    /// implementation against this one.
    #[test]
    fn a_known_payload_has_a_known_digest() {
        let salt = b"0123456789abcdef0123456789abcdef";
        let actions = [action("postgresql://u:secret@h/db")];
        let mac = env_mac(salt, "DATABASE_URL", "postgresql://u:secret@h/db");
        let entry = format!(
            r#"{{"args":["-y","@modelcontextprotocol/server-postgres@0.6.2"],"command":"npx","env":{{"DATABASE_URL":"{mac}"}},"id":"action-1","serverName":"postgres","type":"install_server"}}"#
        );
        assert_eq!(
            canonical_form(2, &ws("ws-07"), &actions, salt),
            format!(r#"{{"actions":[{entry}],"machine":"ws-07","version":2}}"#)
        );
        assert_eq!(digest("ws-07", &actions, salt), KNOWN_DIGEST);
        // Proposals made before machines were named keep the digest they were approved with.
        assert_eq!(
            canonical_form(1, &ws("ws-07"), &actions, salt),
            format!(r#"{{"actions":[{entry}],"version":1}}"#)
        );
        assert_eq!(
            payload_digest(1, &ws("anything"), &actions, salt),
            KNOWN_V1_DIGEST
        );
    }

    const KNOWN_DIGEST: &str =
        "sha256:d7c9c4fab581af2b4c26edf923eb7be818433e0a800434cc18639bf691e88b1d";
    const KNOWN_V1_DIGEST: &str =
        "sha256:9e2ab0122e4c214f0abab462a8e2a57badf64d5a7f8e48bc2bc5395d9039809e";

    #[test]
    fn the_digest_binds_every_field_and_the_machine_and_hides_secrets() {
        let salt = b"0123456789abcdef0123456789abcdef";
        let secret = "postgresql://u:secret@h/db";
        let base = digest("ws-07", &[action(secret)], salt);
        assert!(base.starts_with("sha256:") && base.len() == 7 + 64);
        assert_eq!(base, digest("ws-07", &[action(secret)], salt));
        assert_ne!(base, digest("ws-08", &[action(secret)], salt));
        assert_ne!(
            base,
            digest("ws-07", &[action("postgresql://u:other@h/db")], salt)
        );
        assert_ne!(base, digest("ws-07", &[action(secret)], b"another salt"));
        let mut changed = action(secret);
        changed.args.push("--read-only".into());
        assert_ne!(base, digest("ws-07", &[changed], salt));
        assert!(!canonical_form(2, &ws("ws-07"), &[action(secret)], salt).contains("secret"));
        assert!(is_known_version(1) && is_known_version(2) && !is_known_version(3));
    }
}
