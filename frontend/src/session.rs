//! The signed-in person: their token, role and permissions, kept in the tab's session
//! storage so a reload keeps them signed in while closing the tab signs them out.

use chrono::{DateTime, Utc};
use coordinator_api::auth::{LoginResponse, UserSummary};
use coordinator_api::{Permission, Role};
use serde::{Deserialize, Serialize};

const STORAGE_KEY: &str = "coordinator.session";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserSummary,
}

impl Session {
    pub fn from_login(login: LoginResponse) -> Self {
        Self {
            token: login.token.into_inner(),
            expires_at: login.expires_at,
            user: login.user,
        }
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// What the dashboard offers; the coordinator enforces the same table on every request.
    pub fn can(&self, permission: Permission) -> bool {
        self.user.role.can(permission)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// Where to go after signing in: only paths of this dashboard, never another site.
pub fn safe_return_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/login")
                && !path.contains('\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn load() -> Option<Session> {
    let text = storage()?.get_item(STORAGE_KEY).ok()??;
    let session: Session = serde_json::from_str(&text).ok()?;
    (!session.is_expired(Utc::now())).then_some(session)
}

pub fn save(session: &Session) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(session)) {
        let _ = storage.set_item(STORAGE_KEY, &text);
    }
}

pub fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return_path(Some("/audit?actor=a")), "/audit?actor=a");
        assert_eq!(safe_return_path(Some("//evil.example/x")), "/");
        assert_eq!(safe_return_path(Some("https://evil.example")), "/");
        assert_eq!(safe_return_path(Some("/login?next=/x")), "/");
        assert_eq!(safe_return_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn permissions_follow_the_one_table() {
        let session = |role| Session {
            token: "t".into(),
            expires_at: Utc::now(),
            user: UserSummary {
                id: coordinator_api::UserId(1),
                username: "u".into(),
                role,
            },
        };
        assert!(session(Role::Approver).can(Permission::ApproveRemediation));
        assert!(!session(Role::Viewer).can(Permission::ApproveRemediation));
        assert!(session(Role::Viewer).is_expired(Utc::now()));
    }
}
