//! What the forms check before asking the coordinator, which checks again and has the last
//! word. The limits mirror the coordinator's, so most mistakes show without a round trip.

use crate::format;
use coordinator_api::users::rules;
use coordinator_api::{Role, UserId};

pub use coordinator_api::users::rules::MIN_PASSWORD_CHARS;

/// The coordinator's own username rule, worded for the form.
pub fn username_problem(username: &str) -> Option<String> {
    rules::check_username(username).err().map(sentence)
}

/// A new password, typed twice.
pub fn password_problem(password: &str, confirmation: &str) -> Option<String> {
    if let Err(problem) = rules::check_password(password) {
        Some(sentence(&problem))
    } else if password != confirmation {
        Some("The two passwords differ; type the same password twice.".to_owned())
    } else {
        None
    }
}

/// The coordinator's rule messages (`password must be …`) as a sentence for a form.
fn sentence(rule: &str) -> String {
    let mut text = format!("The {rule}");
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

pub fn new_user_problem(username: &str, password: &str, confirmation: &str) -> Option<String> {
    username_problem(username).or_else(|| password_problem(password, confirmation))
}

/// Admins never lock themselves out from here: their own role and access are changed by
/// another admin.
pub fn may_change_access(me: Option<UserId>, user: UserId) -> bool {
    me != Some(user)
}

/// What a role may do, in words, from the one permission table.
pub fn role_powers(role: Role) -> String {
    let powers: Vec<String> = role
        .permissions()
        .iter()
        .map(|permission| format::words(permission.as_str()))
        .collect();
    let list = match powers.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    };
    format!("A user with the role {role} may: {list}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_coordinator_rule() {
        assert_eq!(username_problem("alice"), None);
        assert_eq!(username_problem("ops.team-1_@example"), None);
        assert!(username_problem("al").is_some());
        assert!(username_problem(&"a".repeat(65)).is_some());
        assert!(username_problem("alice smith").is_some());
        assert!(username_problem("alicé").is_some());
        assert!(username_problem("").is_some());
    }

    #[test]
    fn passwords_are_long_enough_and_confirmed() {
        let good = "correct horse battery";
        assert_eq!(password_problem(good, good), None);
        assert_eq!(
            password_problem("short", "short").as_deref(),
            Some("The password must be at least 12 characters.")
        );
        assert!(
            password_problem(good, "correct horse battery!").is_some_and(|p| p.contains("differ"))
        );
        // Counted in characters, as the coordinator counts them.
        let accented = "éééééééééééé";
        assert_eq!(password_problem(accented, accented), None);
        let huge = "x".repeat(rules::MAX_PASSWORD_BYTES + 1);
        assert!(password_problem(&huge, &huge).is_some());
    }

    #[test]
    fn a_new_user_reports_the_first_problem() {
        assert!(new_user_problem("a", "short", "other").is_some_and(|p| p.contains("username")));
        assert!(
            new_user_problem("alice", "long enough pass", "other")
                .is_some_and(|p| p.contains("differ"))
        );
        assert_eq!(
            new_user_problem("alice", "long enough pass", "long enough pass"),
            None
        );
    }

    #[test]
    fn nobody_changes_their_own_access() {
        assert!(!may_change_access(Some(UserId(1)), UserId(1)));
        assert!(may_change_access(Some(UserId(1)), UserId(2)));
        assert!(may_change_access(None, UserId(2)));
    }

    #[test]
    fn role_powers_come_from_the_permission_table() {
        let viewer = role_powers(Role::Viewer);
        assert!(viewer.starts_with("A user with the role viewer may: view servers, "));
        assert!(viewer.ends_with(" and view metrics."), "{viewer}");
        assert!(!viewer.contains("view remediations"));
        assert!(!viewer.contains("manage users"));
        assert!(role_powers(Role::Admin).contains("manage users"));
    }
}
