//! Answers every request no other route took: a file of the dashboard, the dashboard's page
//! for a browser opening one of its addresses, or the contract's 404.

use super::assets::{self, Asset};
use crate::error::ApiError;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse};

/// The dashboard's own addresses are drawn by its router; the API and the operational
/// endpoints never are.
fn is_page_address(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/api" || path.starts_with("/api-docs"))
}

fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Scripts only from this origin (wasm compiled here too), no framing, no third parties.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accepted| {
            accepted
                .split(',')
                .any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip"))
        })
}

/// The file, or its gzipped copy (made by the build) for a browser that takes it.
fn serve_file(req: &HttpRequest, name: &str, asset: &Asset) -> HttpResponse {
    let compressed = accepts_gzip(req)
        .then(|| assets::get(&format!("{name}.gz")))
        .flatten();
    match compressed {
        Some(gzipped) => {
            let mut response = serve(req, &gzipped);
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(asset.content_type),
            );
            headers.insert(
                header::CONTENT_ENCODING,
                header::HeaderValue::from_static("gzip"),
            );
            headers.insert(
                header::VARY,
                header::HeaderValue::from_static("accept-encoding"),
            );
            response
        }
        None => {
            let mut response = serve(req, asset);
            response.headers_mut().insert(
                header::VARY,
                header::HeaderValue::from_static("accept-encoding"),
            );
            response
        }
    }
}

fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::ETAG, asset.etag.clone()))
        // Names do not change between builds: always revalidate, never serve a stale build.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if fresh || req.method() == Method::HEAD {
        response.finish()
    } else {
        response.body(asset.bytes.clone())
    }
}

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Dashboard not built</title>\
    <p>This coordinator was built without its dashboard. Build it with \
    <code>./scripts/build-dashboard.sh</code> (or start with <code>./scripts/run.sh</code>, \
    which does) and rebuild the coordinator. The API is served at <code>/api/v1</code>.</p>";

pub async fn fallback(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    let readable = req.method() == Method::GET || req.method() == Method::HEAD;
    let file = path
        .strip_prefix('/')
        .filter(|name| !name.contains('/') && *name != "index.html");
    if readable
        && let Some(name) = file.filter(|name| !name.ends_with(".gz"))
        && let Some(asset) = assets::get(name)
    {
        return Ok(serve_file(&req, name, &asset));
    }
    if readable && is_page_address(path) && (path == "/" || wants_html(&req)) {
        return Ok(match assets::get("index.html") {
            Some(index) => serve(&req, &index),
            None => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(NOT_BUILT),
        });
    }
    Err(ApiError::not_found("route"))
}

#[cfg(test)]
mod tests {
    use super::is_page_address;

    #[test]
    fn api_addresses_are_never_pages() {
        assert!(is_page_address("/"));
        assert!(is_page_address("/remediations/4"));
        assert!(!is_page_address("/api/v1/nothing"));
        assert!(!is_page_address("/api"));
        assert!(!is_page_address("/api-docs/x"));
    }
}
