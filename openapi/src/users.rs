//! User management (admins).

use crate::{Role, Secret, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The account rules, here so the coordinator and the dashboard (which checks a form before
/// sending it) cannot disagree. Messages name the rule, never the value.
pub mod rules {
    pub const MIN_PASSWORD_CHARS: usize = 12;
    pub const MAX_PASSWORD_BYTES: usize = 1024;

    /// 3 to 64 characters: letters, digits, `.`, `_`, `-` and `@`.
    pub fn check_username(username: &str) -> Result<(), &'static str> {
        let valid = (3..=64).contains(&username.len())
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if valid {
            Ok(())
        } else {
            Err("username must be 3 to 64 characters of letters, digits, '.', '_', '-' or '@'")
        }
    }

    pub fn check_password(password: &str) -> Result<(), String> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(format!(
                "password must be at least {MIN_PASSWORD_CHARS} characters"
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(format!(
                "password must be at most {MAX_PASSWORD_BYTES} bytes"
            ));
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn usernames_and_passwords_follow_the_rules() {
            assert!(check_username("alice.o-b_c@x").is_ok());
            assert!(check_username("al").is_err());
            assert!(check_username("al ice").is_err());
            assert!(check_username(&"a".repeat(65)).is_err());
            assert!(check_password("twelve chars").is_ok());
            assert!(check_password("eleven char").is_err());
            assert!(check_password(&"x".repeat(1025)).is_err());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    /// 3 to 64 characters: letters, digits, `.`, `_`, `-` and `@`.
    #[schema(example = "alice")]
    pub username: String,
    /// At least 12 characters.
    #[schema(value_type = String)]
    pub password: Secret,
    pub role: Role,
}

/// Every field is optional; what is present is changed. Changing the role, disabling the user
/// or resetting the password revokes the user's existing tokens.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    pub success: bool,
    pub user: User,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListResponse {
    pub success: bool,
    pub users: Vec<User>,
}
