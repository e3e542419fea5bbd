//! Middleware measuring every answered request, by route and by calling server.

use crate::auth::Principal;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use std::time::Instant;

pub async fn record_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let result = next.call(req).await;
    if let (Some(state), Ok(response)) = (state, &result) {
        let request = response.request();
        // The route pattern, not the path: `/servers/{id}` is one series, whatever the id.
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let caller = match request.extensions().get::<Principal>() {
            Some(Principal::Server { id, .. }) => Some(id.to_string()),
            _ => None,
        };
        state.recorder.request(
            &route,
            &method,
            response.status().as_u16(),
            started.elapsed(),
            caller.as_deref(),
        );
    }
    result
}
