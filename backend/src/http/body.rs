//! How request bodies, query strings and paths that cannot be read are answered: malformed
//! syntax is 400 `bad_request`, well-formed input of the wrong shape (wrong types, missing
//! fields, unknown enum values or fields) is 422 `validation_failed`, an oversized body 413.

use crate::error::ApiError;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::web;
use coordinator_api::ErrorCode;
use serde::de::DeserializeOwned;

fn serde_error(err: &serde_json::Error) -> ApiError {
    if err.is_data() {
        ApiError::validation(format!("invalid request body: {err}"))
    } else {
        ApiError::bad_request(format!("malformed JSON: {err}"))
    }
}

pub fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the request body is larger than {limit} bytes"),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected `Content-Type: application/json`",
        ),
        JsonPayloadError::Deserialize(err) => serde_error(&err),
        _ => ApiError::bad_request("the request body could not be read"),
    }
}

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _| json_error(err, limit).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let message = match err {
            QueryPayloadError::Deserialize(err) => format!("invalid query string: {err}"),
            _ => "invalid query string".to_owned(),
        };
        ApiError::validation(message).into()
    })
}

pub fn path_config() -> web::PathConfig {
    // A path segment that does not parse (`/users/abc`) names nothing that exists.
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found("resource").into())
}

/// Parses an optional JSON body: empty means `T::default()`; anything else must be valid.
pub fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|err| serde_error(&err))
}
