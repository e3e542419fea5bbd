//! The error body every failing request answers with, and the codes it can carry.

use crate::wire_enum;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

wire_enum! {
    /// Machine-readable reason of a failure; each code has exactly one HTTP status.
    pub enum ErrorCode {
        /// 400: the request could not be read (malformed JSON, bad query string).
        BadRequest = "bad_request",
        /// 422: the request was read but its content is not acceptable.
        ValidationFailed = "validation_failed",
        /// 401: no valid credentials were presented.
        Unauthorized = "unauthorized",
        /// 401: the username or password is wrong (never says which).
        InvalidCredentials = "invalid_credentials",
        /// 403: the caller is known but may not do this.
        Forbidden = "forbidden",
        /// 404: no such resource or route.
        NotFound = "not_found",
        /// 405: the route exists but not with this method.
        MethodNotAllowed = "method_not_allowed",
        /// 409: the request conflicts with the current state.
        Conflict = "conflict",
        /// 409: a single-use token was already redeemed.
        TokenUsed = "token_used",
        /// 410: the token, key or proposal has expired.
        Expired = "expired",
        /// 413: the body is larger than allowed.
        PayloadTooLarge = "payload_too_large",
        /// 415: the body is not `application/json`.
        UnsupportedMediaType = "unsupported_media_type",
        /// 429: too many attempts; retry later.
        RateLimited = "rate_limited",
        /// 500: something failed inside the coordinator; details are in its logs.
        Internal = "internal",
        /// 503: a dependency (the database) is unavailable.
        Unavailable = "unavailable",
    }
}

impl ErrorCode {
    /// The one table from error code to HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::TokenUsed => 409,
            ErrorCode::Expired => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// `{"success": false, "error": {...}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence for people; never contains secrets or internal details.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            success: false,
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}
