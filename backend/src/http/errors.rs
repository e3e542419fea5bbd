//! Middleware that keeps every error in the contract's shape and contains panics.

use crate::error::ApiError;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use coordinator_api::ErrorCode;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// A panic in a handler is answered with a 500 in the contract's shape; the worker goes on
/// serving other requests. The panic becomes an error (rather than a response built here)
/// because the request must not be cloned before routing has run.
pub async fn contain_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(ApiError::internal(anyhow::anyhow!("handler panicked: {what}")).into())
        }
    }
}

/// One line per request at `info`, inside the request's span (so it carries the request id).
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    tracing::info!(%method, %path, status, elapsed_ms = started.elapsed().as_millis() as u64, "request handled");
    result
}

/// The code the one code→status table gives this status (the first, where several share it).
fn code_for_status(status: u16) -> ErrorCode {
    let fallback = if (400..500).contains(&status) {
        ErrorCode::BadRequest
    } else {
        ErrorCode::Internal
    };
    ErrorCode::ALL
        .iter()
        .copied()
        .find(|code| code.status() == status)
        .unwrap_or(fallback)
}

fn message_for(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "no such route",
        ErrorCode::MethodNotAllowed => "this route does not accept this method",
        ErrorCode::PayloadTooLarge => "the request body is too large",
        ErrorCode::Internal => "internal error; see the coordinator's logs",
        _ => "the request could not be handled",
    }
}

/// Errors produced outside our handlers (unknown routes, wrong methods, framework limits)
/// get the contract's JSON body too.
pub async fn contract_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let response = next.call(req).await?;
    let status = response.status();
    let ours = response
        .response()
        .extensions()
        .get::<ErrorCode>()
        .is_some();
    if !status.is_client_error() && !status.is_server_error() || ours {
        return Ok(response.map_into_left_body());
    }
    let code = code_for_status(status.as_u16());
    let (request, _) = response.into_parts();
    let mut replacement =
        HttpResponse::build(status).json(coordinator_api::ErrorBody::new(code, message_for(code)));
    replacement.extensions_mut().insert(code);
    Ok(ServiceResponse::new(request, replacement).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpServer, web};

    #[actix_web::test]
    async fn a_panicking_handler_gets_a_500_and_the_server_goes_on() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(|| {
            App::new()
                .wrap(from_fn(contract_errors))
                .wrap(from_fn(contain_panics))
                .route(
                    "/boom",
                    web::get().to(|| async { panic!("kaboom") as &'static str }),
                )
                .route("/fine", web::get().to(|| async { "fine" }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        let client = reqwest::Client::new();
        for _ in 0..3 {
            let response = client.get(format!("{base}/boom")).send().await.unwrap();
            assert_eq!(response.status(), 500);
            let body: coordinator_api::ErrorBody = response.json().await.unwrap();
            assert_eq!(body.error.code, ErrorCode::Internal);
            assert!(!body.error.message.contains("kaboom"));
            let response = client.get(format!("{base}/fine")).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
        let response = client.get(format!("{base}/missing")).send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body: coordinator_api::ErrorBody = response.json().await.unwrap();
        assert_eq!(body.error.code, ErrorCode::NotFound);
    }
}
