//! How request bodies, query strings and paths that cannot be read are answered: malformed
//! syntax is 400 `bad_request`, well-formed input of the wrong shape (wrong types, missing
//! fields, unknown enum values or fields) is 422 `validation_failed`, an oversized body 413.
//! A path segment that is not an id of the expected kind is 422 too.

use crate::error::ApiError;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
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

/// Counts every list takes. serde's message for a bad one ("invalid digit found in string")
/// names neither the parameter nor what to send, so the parameter is found and named here.
const COUNT_PARAMS: [&str; 2] = ["limit", "offset"];

fn query_message(err: &serde::de::value::Error, query: &str) -> String {
    let raw = err.to_string();
    let numeric = ["invalid digit", "empty string", "too large to fit"]
        .iter()
        .any(|m| raw.contains(m));
    if !numeric {
        return format!("invalid query string: {raw}");
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default();
    match pairs
        .iter()
        .find(|(k, v)| COUNT_PARAMS.contains(&k.as_str()) && v.parse::<u64>().is_err())
    {
        Some((key, _)) => format!(
            "invalid query string: {key} must be a whole number from 0 up, such as `{key}=10`"
        ),
        None => format!("invalid query string: {raw}; a whole number was expected, such as 10"),
    }
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, req| {
        let message = match err {
            QueryPayloadError::Deserialize(err) => query_message(&err, req.query_string()),
            _ => "invalid query string".to_owned(),
        };
        ApiError::validation(message).into()
    })
}

pub fn path_config() -> web::PathConfig {
    // Ids in paths come in several accepted forms (`7`, `exec-7`); a segment in none of them
    // is answered with the forms that are, not with a bare 404.
    web::PathConfig::default().error_handler(|err, _| {
        let message = match err {
            PathError::Deserialize(err) => format!("invalid path: {err}"),
            _ => "invalid path".to_owned(),
        };
        ApiError::validation(message).into()
    })
}

/// Parses an optional JSON body: empty means `T::default()`; anything else must be valid.
pub fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|err| serde_error(&err))
}
