//! How the client reaches the coordinator. The browser uses `fetch`; tests plug in their own
//! transport, so everything above this line runs without a browser.

use std::future::Future;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One request, relative to the API base (`/api/v1`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: Method,
    /// Path and query, such as `/audit/logs?actor=alice`.
    pub path: String,
    pub bearer: Option<String>,
    /// JSON text.
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Sends requests. Not `Send`: in the browser everything runs on one thread.
pub trait Transport: Clone + 'static {
    fn send(&self, request: HttpRequest) -> impl Future<Output = Result<HttpResponse, String>>;
}

/// `fetch` in the browser, against the origin that served the dashboard.
#[derive(Debug, Clone, Default)]
pub struct Browser;

impl Transport for Browser {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        use gloo_net::http::{Method as GlooMethod, RequestBuilder};
        let method = match request.method {
            Method::Get => GlooMethod::GET,
            Method::Post => GlooMethod::POST,
            Method::Patch => GlooMethod::PATCH,
            Method::Delete => GlooMethod::DELETE,
        };
        let mut builder =
            RequestBuilder::new(&format!("{}{}", super::API_BASE, request.path)).method(method);
        if let Some(token) = &request.bearer {
            builder = builder.header("Authorization", &format!("Bearer {token}"));
        }
        let prepared = match request.body {
            Some(body) => builder
                .header("Content-Type", "application/json")
                .body(body),
            None => builder.build(),
        }
        .map_err(|err| err.to_string())?;
        let response = prepared.send().await.map_err(|err| err.to_string())?;
        Ok(HttpResponse {
            status: response.status(),
            content_type: response.headers().get("content-type"),
            body: response.binary().await.map_err(|err| err.to_string())?,
        })
    }
}
