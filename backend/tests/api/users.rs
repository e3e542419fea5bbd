//! Admin user management.

use crate::common::*;
use crate::dual_test;
use reqwest::{Method, StatusCode};
use serde_json::json;

dual_test!(
    admins_create_list_and_change_users,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let created = app
            .post(
                "/users",
                &admin,
                json!({ "username": "alice", "password": PASSWORD, "role": "approver" }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(created.body["user"]["role"], "approver");
        assert!(!created.text.contains(PASSWORD));
        let id = created.body["user"]["id"].as_i64().unwrap();

        let list = app.get("/users", &admin).await;
        let names: Vec<&str> = list.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "alice"]);

        let changed = app
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "role": "viewer" })),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["user"]["role"], "viewer");

        let rows = app.audit_rows().await;
        let created_row = rows.iter().find(|r| r.action == "user_created").unwrap();
        assert_eq!(created_row.actor, "admin");
        assert_eq!(
            created_row.target.as_deref(),
            Some(format!("user:{id}").as_str())
        );
        assert!(!created_row.details.contains(PASSWORD));
        let updated_row = rows.iter().find(|r| r.action == "user_updated").unwrap();
        assert!(
            updated_row.details.contains("viewer"),
            "{}",
            updated_row.details
        );
    }
);

dual_test!(
    duplicate_usernames_conflict_and_change_nothing,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let body = json!({ "username": "bob", "password": PASSWORD, "role": "user" });
        assert_eq!(
            app.post("/users", &admin, body.clone()).await.status,
            StatusCode::CREATED
        );
        let users_before = app.count("users").await;
        let again = app.post("/users", &admin, body).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.error_code(), "conflict");
        assert_eq!(app.count("users").await, users_before);
        let rejected = app.audit_rows_for("request_rejected").await;
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].result.as_str(), "failure");
        assert_eq!(rejected[0].actor, "admin");
    }
);

dual_test!(
    role_change_and_disabling_revoke_tokens_at_once,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let (id, token) = app.user("dora", "approver").await;
        assert_eq!(app.get("/auth/me", &token).await.status, StatusCode::OK);
        let reply = app
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "role": "user" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            app.get("/auth/me", &token).await.status,
            StatusCode::UNAUTHORIZED
        );

        let fresh = app.login("dora", PASSWORD).await;
        let fresh = As::Bearer(fresh.body["token"].as_str().unwrap().to_owned());
        assert_eq!(
            app.get("/auth/me", &fresh).await.body["user"]["role"],
            "user"
        );
        let reply = app
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "disabled": true })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            app.get("/auth/me", &fresh).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
);

dual_test!(password_reset_takes_effect, async |app: &TestApp| {
    let admin = app.admin().await;
    let (id, old) = app.user("erin", "user").await;
    let reply = app
        .send(
            Method::PATCH,
            &format!("/users/{id}"),
            &admin,
            Some(json!({ "password": "a-brand-new-password" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        app.get("/auth/me", &old).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("erin", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("erin", "a-brand-new-password").await.status,
        StatusCode::OK
    );
    let row = app.audit_rows_for("user_updated").await.pop().unwrap();
    assert!(!row.details.contains("a-brand-new-password"));
    assert!(row.details.contains("passwordReset"));
});

dual_test!(
    the_last_admin_cannot_be_demoted_or_disabled,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let me = app.get("/auth/me", &admin).await;
        let id = me.body["user"]["id"].as_i64().unwrap();
        for change in [json!({ "role": "viewer" }), json!({ "disabled": true })] {
            let reply = app
                .send(Method::PATCH, &format!("/users/{id}"), &admin, Some(change))
                .await;
            assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        }
        assert_eq!(
            app.get("/auth/me", &admin).await.body["user"]["role"],
            "admin"
        );
        // With a second admin it is allowed.
        app.user("second-admin", "admin").await;
        let reply = app
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "role": "viewer" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
);

dual_test!(
    unknown_users_are_404_and_unreadable_ids_422,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let reply = app
            .send(
                Method::PATCH,
                "/users/9999",
                &admin,
                Some(json!({ "role": "viewer" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.error_code(), "not_found");
        let reply = app
            .send(
                Method::PATCH,
                "/users/not-a-number",
                &admin,
                Some(json!({ "role": "viewer" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.error_code(), "validation_failed");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("`user-<n>`"), "{message}");
    }
);

dual_test!(
    weak_passwords_and_bad_usernames_are_refused,
    async |app: &TestApp| {
        let admin = app.admin().await;
        for body in [
            json!({ "username": "frank", "password": "short", "role": "user" }),
            json!({ "username": "x", "password": PASSWORD, "role": "user" }),
            json!({ "username": "has space", "password": PASSWORD, "role": "user" }),
        ] {
            let reply = app.post("/users", &admin, body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                reply.text
            );
            assert_eq!(reply.error_code(), "validation_failed");
        }
        assert_eq!(app.count("users").await, 1);
    }
);

dual_test!(bootstrap_happens_once, async |app: &TestApp| {
    let rows = app.audit_rows_for("admin_bootstrapped").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_type.as_str(), "system");
    assert!(!rows[0].details.contains(ADMIN_PASSWORD));
});

dual_test!(
    two_admins_cannot_demote_each_other_at_once,
    async |app: &TestApp| {
        let (second_id, second) = app.user("second-admin", "admin").await;
        let first = app.admin().await;
        let first_id = app.get("/auth/me", &first).await.body["user"]["id"]
            .as_i64()
            .unwrap();
        let (a, b) = futures_util::future::join(
            app.send(
                Method::PATCH,
                &format!("/users/{second_id}"),
                &first,
                Some(json!({ "disabled": true })),
            ),
            app.send(
                Method::PATCH,
                &format!("/users/{first_id}"),
                &second,
                Some(json!({ "disabled": true })),
            ),
        )
        .await;
        let statuses = [a.status, b.status];
        assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
        let page = app
            .get(
                "/users",
                &if a.status == StatusCode::OK {
                    first
                } else {
                    second
                },
            )
            .await;
        let active_admins = page.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["role"] == "admin" && u["disabled"] == json!(false))
            .count();
        assert_eq!(active_admins, 1, "{statuses:?} {}", page.text);
    }
);
