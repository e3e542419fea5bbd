//! What went wrong with a request, in words a person can act on.

use coordinator_api::ErrorBody;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status; 0 when the coordinator could not be reached at all.
    pub status: u16,
    /// The error code of the body (`forbidden`, `token_used`, …), or `network`.
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn network(detail: impl Into<String>) -> Self {
        Self {
            status: 0,
            code: "network".to_owned(),
            message: format!(
                "The coordinator could not be reached ({}). Check the connection and try again.",
                detail.into()
            ),
        }
    }

    /// From an error answer; bodies that are not the contract's shape still give a message.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Self {
                status,
                code: parsed.error.code.to_string(),
                message: parsed.error.message,
            },
            Err(_) => Self {
                status,
                code: "unexpected".to_owned(),
                message: format!("The coordinator answered with status {status}."),
            },
        }
    }

    pub fn unreadable(detail: impl std::fmt::Display) -> Self {
        Self {
            status: 200,
            code: "unexpected".to_owned(),
            message: format!("The coordinator's answer could not be read: {detail}"),
        }
    }

    /// The session is gone (expired or revoked): the person has to sign in again.
    pub fn is_session_expired(&self) -> bool {
        self.status == 401
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
