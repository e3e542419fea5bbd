//! Every route × every kind of caller, against the checked-in table `authz_matrix.txt`,
//! which in turn must agree with the permission table and the OpenAPI document.

use crate::common::*;
use crate::dual_test;
use coordinator_api::{Permission, Role, ServerKind};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

const COLUMNS: [&str; 7] = [
    "anonymous",
    "viewer",
    "user",
    "approver",
    "admin",
    "compliance",
    "installer",
];
const TABLE: &str = include_str!("authz_matrix.txt");
const COMPLIANCE_ID: &str = "matrix-compliance";
const DOOMED_ID: &str = "matrix-doomed";

struct Row {
    method: Method,
    path: String,
    expected: Vec<String>,
}

fn rows() -> Vec<Row> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 2 + COLUMNS.len(), "malformed row: {line}");
            Row {
                method: fields[0].parse().expect("method"),
                path: fields[1].to_owned(),
                expected: fields[2..].iter().map(|s| (*s).to_owned()).collect(),
            }
        })
        .collect()
}

fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "401",
        403 => "403",
        _ => "ok",
    }
}

dual_test!(
    every_route_for_every_caller_matches_the_table,
    async |app: &TestApp| {
        // Tokens are issued directly, so that a row like logout cannot spend them for the next.
        let mut callers = vec![As::Nobody];
        for role in ["viewer", "user", "approver", "admin"] {
            let (id, _) = if role == "admin" {
                (1, As::Nobody)
            } else {
                app.user(&format!("matrix-{role}"), role).await
            };
            callers.push(As::Bearer(id.to_string()));
        }
        let compliance = app.server("compliance", COMPLIANCE_ID).await;
        let installer = app.server("installer", "matrix-installer").await;
        app.server("compliance", DOOMED_ID).await;
        callers.push(compliance);
        callers.push(installer);

        let fresh_token = |caller: &As| -> As {
            match caller {
                As::Bearer(id) => {
                    let issued = app
                        .state
                        .jwt
                        .issue(coordinator_api::UserId(id.parse().unwrap()), 0)
                        .unwrap();
                    As::Bearer(issued.token)
                }
                other => other.clone(),
            }
        };

        let mut mismatches = Vec::new();
        for row in rows() {
            let path = match (row.method.as_str(), row.path.as_str()) {
                ("DELETE", "/servers/{id}") => row.path.replace("{id}", DOOMED_ID),
                (_, p) if p.starts_with("/servers/") => row.path.replace("{id}", COMPLIANCE_ID),
                _ => row.path.replace("{id}", "2").replace("{taskId}", "2"),
            };
            let body = matches!(row.method, Method::POST | Method::PATCH).then(|| json!({}));
            for (column, caller) in COLUMNS.iter().zip(&callers) {
                let reply = app
                    .send(
                        row.method.clone(),
                        &path,
                        &fresh_token(caller),
                        body.clone(),
                    )
                    .await;
                let got = outcome(reply.status);
                let expected = &row.expected[COLUMNS.iter().position(|c| c == column).unwrap()];
                if got != expected {
                    mismatches.push(format!(
                        "{} {} as {column}: expected {expected}, got {} {}",
                        row.method, row.path, reply.status, reply.text
                    ));
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "authorization differs from the table:\n{}",
            mismatches.join("\n")
        );
    }
);

/// The table lists exactly the operations of the OpenAPI document.
#[test]
fn the_table_covers_every_documented_operation() {
    let doc = serde_json::to_value(coordinator::api_doc::openapi()).unwrap();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            let path = path.trim_start_matches("/api/v1").to_owned();
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let tabled: BTreeSet<String> = rows()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        documented, tabled,
        "the OpenAPI document and authz_matrix.txt disagree"
    );
}

/// Where the OpenAPI document names a permission, the table allows exactly the roles that
/// hold it, and no server kind that lacks it (unless the operation also admits a server's own
/// API key).
#[test]
fn the_table_agrees_with_the_permission_table() {
    let doc = serde_json::to_value(coordinator::api_doc::openapi()).unwrap();
    let roles = [Role::Viewer, Role::User, Role::Approver, Role::Admin];
    let kinds = [ServerKind::Compliance, ServerKind::Installer];
    let mut checked = 0;
    for row in rows() {
        let op = &doc["paths"][format!("/api/v1{}", row.path)][row.method.as_str().to_lowercase()];
        let scopes: Vec<Permission> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|requirement| requirement.as_object().unwrap().values())
            .flat_map(|scopes| scopes.as_array().unwrap().iter())
            .map(|scope| scope.as_str().unwrap().parse().expect("a known permission"))
            .collect();
        let Some(permission) = scopes.first().copied() else {
            continue;
        };
        checked += 1;
        assert_eq!(
            row.expected[0], "401",
            "{} {} must refuse anonymous callers",
            row.method, row.path
        );
        for (i, role) in roles.iter().enumerate() {
            let expected = if role.can(permission) { "ok" } else { "403" };
            assert_eq!(
                row.expected[1 + i],
                expected,
                "{} {} as {role} ({permission})",
                row.method,
                row.path
            );
        }
        let admits_api_key = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|requirement| requirement.get("api_key").is_some());
        for (i, kind) in kinds.iter().enumerate() {
            if !kind.can(permission) && !admits_api_key {
                assert_eq!(
                    row.expected[5 + i],
                    "403",
                    "{} {} as {kind} ({permission})",
                    row.method,
                    row.path
                );
            }
        }
    }
    assert!(checked >= 10, "too few operations name their permission");
}
