//! Parsing a registration request into what the registry stores.

use crate::error::{ApiError, ApiResult};
use coordinator_api::servers::{Contact, HealthReport, RegisterServerRequest};
use coordinator_api::{MachineId, ServerId, ServerKind};

const MAX_NAMES: usize = 64;

/// A validated registration.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: ServerId,
    pub kind: ServerKind,
    pub machine_id: MachineId,
    pub version: String,
    pub capabilities: Vec<String>,
    pub tools: Vec<String>,
    pub contact: Option<Contact>,
    pub health: Option<HealthReport>,
}

/// Capability and tool names: `install_server`, `compliance_assessment`, …
fn names(field: &str, values: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    let mut values = values.unwrap_or_default();
    if values.len() > MAX_NAMES {
        return Err(ApiError::validation(format!(
            "{field}: at most {MAX_NAMES} entries"
        )));
    }
    for value in &values {
        let valid = (1..=64).contains(&value.len())
            && value.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            });
        if !valid {
            return Err(ApiError::validation(format!(
                "{field}: `{value}` must be 1 to 64 characters of a-z, 0-9, '_', '-' or '.'"
            )));
        }
    }
    values.sort();
    values.dedup();
    Ok(values)
}

fn check_contact(contact: &Contact) -> ApiResult<()> {
    if let Some(email) = &contact.email
        && (email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace))
    {
        return Err(ApiError::validation(
            "contact.email is not an email address",
        ));
    }
    if let Some(phone) = &contact.phone
        && (phone.len() > 32
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')')))
    {
        return Err(ApiError::validation("contact.phone is not a phone number"));
    }
    Ok(())
}

impl Registration {
    pub fn parse(request: RegisterServerRequest) -> ApiResult<Self> {
        let (id, kind) = match (request.installer_id, request.server_id) {
            (Some(id), None) => (id, ServerKind::Installer),
            (None, Some(id)) => (id, ServerKind::Compliance),
            (Some(_), Some(_)) => {
                return Err(ApiError::validation(
                    "give installerId (an installer) or serverId (a compliance server), not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::validation(
                    "installerId (an installer) or serverId (a compliance server) is required",
                ));
            }
        };
        let version = request.version.trim().to_owned();
        if version.is_empty() || version.len() > 64 || version.chars().any(char::is_control) {
            return Err(ApiError::validation(
                "version must be 1 to 64 printable characters",
            ));
        }
        match kind {
            ServerKind::Installer if request.tools.is_some() => {
                return Err(ApiError::validation(
                    "tools belong to compliance servers; an installer lists capabilities",
                ));
            }
            ServerKind::Compliance if request.capabilities.is_some() => {
                return Err(ApiError::validation(
                    "capabilities belong to installers; a compliance server lists tools",
                ));
            }
            _ => {}
        }
        if let Some(contact) = &request.contact {
            check_contact(contact)?;
        }
        Ok(Self {
            id,
            kind,
            machine_id: request
                .machine_id
                .unwrap_or_else(MachineId::default_machine),
            version,
            capabilities: names("capabilities", request.capabilities)?,
            tools: names("tools", request.tools)?,
            contact: request.contact,
            health: request.health,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> RegisterServerRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_spec_shapes_parse() {
        let installer = Registration::parse(request(serde_json::json!({
            "installerId": "generic-mcp-installer",
            "version": "1.0.0",
            "capabilities": ["install_server", "remove_server", "generate_config"],
            "contact": {"email": "admin@example.com", "phone": "+1234567890"}
        })))
        .unwrap();
        assert_eq!(installer.kind, ServerKind::Installer);
        assert_eq!(installer.capabilities.len(), 3);

        let compliance = Registration::parse(request(serde_json::json!({
            "serverId": "compliance-server",
            "version": "1.0.0",
            "tools": ["compliance_assessment", "generate_remediation_proposal"],
            "health": {"status": "healthy", "uptime": 3600, "lastCheck": "2025-08-24T10:00:00Z"}
        })))
        .unwrap();
        assert_eq!(compliance.kind, ServerKind::Compliance);
    }

    #[test]
    fn mixed_or_missing_ids_are_refused() {
        assert!(Registration::parse(request(serde_json::json!({"version": "1"}))).is_err());
        assert!(
            Registration::parse(request(serde_json::json!({
                "installerId": "a", "serverId": "b", "version": "1"
            })))
            .is_err()
        );
        assert!(
            Registration::parse(request(serde_json::json!({
                "installerId": "a", "version": "1", "tools": ["x"]
            })))
            .is_err()
        );
        assert!(
            Registration::parse(request(serde_json::json!({
                "installerId": "a", "version": "1", "capabilities": ["Not Valid"]
            })))
            .is_err()
        );
    }
}
