//! Talking to a `TestApp` over HTTP: replies, identities, and the login, user and server
//! registration helpers every test starts with.

use super::{ADMIN_PASSWORD, PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the contract's error shape and returns the code.
    pub fn error_code(&self) -> &str {
        assert_eq!(
            self.body["success"],
            json!(false),
            "not an error body: {}",
            self.text
        );
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text))
    }
}

/// Who a request is sent as.
#[derive(Debug, Clone)]
pub enum As {
    Nobody,
    Bearer(String),
    ApiKey(String),
    EnrollmentKey(String),
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api-docs") || path == "/health" || path == "/ready" {
            format!("{}{path}", self.address)
        } else {
            format!("{}/api/v1{path}", self.address)
        }
    }

    /// Sends a request; `body` of `None` sends no body.
    pub async fn send(&self, method: Method, path: &str, who: &As, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        request = match who {
            As::Nobody => request,
            As::Bearer(token) => request.bearer_auth(token),
            As::ApiKey(key) => request.header("X-API-Key", key),
            As::EnrollmentKey(key) => request.header("X-Enrollment-Key", key),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status();
        let text = response.text().await.expect("reading a response");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// Sends a raw body with a content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        who: &As,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let As::Bearer(token) = who {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status();
        let text = response.text().await.expect("reading a response");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str, who: &As) -> Reply {
        self.send(Method::GET, path, who, None).await
    }

    pub async fn post(&self, path: &str, who: &As, body: Value) -> Reply {
        self.send(Method::POST, path, who, Some(body)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/login",
            &As::Nobody,
            json!({ "username": username, "password": password }),
        )
        .await
    }

    /// A fresh token of the bootstrap admin.
    pub async fn admin(&self) -> As {
        let reply = self.login("admin", ADMIN_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        As::Bearer(reply.body["token"].as_str().expect("token").to_owned())
    }

    /// Creates a user with `PASSWORD` and returns its id and a token.
    pub async fn user(&self, username: &str, role: &str) -> (i64, As) {
        let admin = self.admin().await;
        let created = self
            .post(
                "/users",
                &admin,
                json!({ "username": username, "password": PASSWORD, "role": role }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let reply = self.login(username, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        (
            created.body["user"]["id"].as_i64().expect("user id"),
            As::Bearer(reply.body["token"].as_str().expect("token").to_owned()),
        )
    }

    /// Registers a server of `kind` ("installer" or "compliance") as the admin; returns its key.
    pub async fn server(&self, kind: &str, id: &str) -> As {
        self.server_on(kind, id, None).await
    }

    /// Registers a server as `server` does, on `machine` (the machine `default` when `None`).
    pub async fn server_on(&self, kind: &str, id: &str, machine: Option<&str>) -> As {
        let admin = self.admin().await;
        let mut body = match kind {
            "installer" => json!({
                "installerId": id, "version": "1.0.0",
                "capabilities": ["install_server", "remove_server", "generate_config"],
                "contact": { "email": "ops@example.com" }
            }),
            _ => json!({
                "serverId": id, "version": "1.0.0",
                "tools": ["compliance_assessment", "generate_remediation_proposal"],
                "health": { "status": "healthy", "uptime": 10 }
            }),
        };
        if let Some(machine) = machine {
            body["machineId"] = json!(machine);
        }
        let reply = self.post("/servers/register", &admin, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        As::ApiKey(reply.body["apiKey"].as_str().expect("api key").to_owned())
    }
}
