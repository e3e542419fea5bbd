//! Login, logout, me, permissions, throttling and password upgrades.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

dual_test!(login_returns_a_token_and_the_user, async |app: &TestApp| {
    let reply = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["success"], json!(true));
    assert_eq!(reply.body["user"]["username"], "admin");
    assert_eq!(reply.body["user"]["role"], "admin");
    assert!(reply.body["token"].as_str().unwrap().split('.').count() == 3);
    assert!(reply.body["expiresAt"].as_str().is_some());
    assert!(!reply.text.contains(ADMIN_PASSWORD));

    let rows = app.audit_rows_for("login_succeeded").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, "admin");
    assert!(!rows[0].details.contains(ADMIN_PASSWORD));
});

dual_test!(
    unknown_user_and_wrong_password_look_the_same,
    async |app: &TestApp| {
        let wrong = app.login("admin", "not-the-password-at-all").await;
        let unknown = app.login("nobody-here", "not-the-password-at-all").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.body, unknown.body);
        assert_eq!(wrong.error_code(), "invalid_credentials");

        let failures = app.audit_rows_for("login_failed").await;
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].actor, "admin");
        assert_eq!(failures[1].actor, "nobody-here");
        assert!(failures.iter().all(|r| r.result.as_str() == "denied"));
        assert!(
            failures
                .iter()
                .all(|r| !r.details.contains("not-the-password"))
        );
    }
);

dual_test!(disabled_users_cannot_log_in, async |app: &TestApp| {
    let (id, _) = app.user("carol", "user").await;
    let admin = app.admin().await;
    let reply = app
        .send(
            reqwest::Method::PATCH,
            &format!("/users/{id}"),
            &admin,
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let login = app.login("carol", PASSWORD).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login.error_code(), "invalid_credentials");
});

dual_test!(
    repeated_failures_are_throttled_even_with_forged_forwarded_for,
    async |app: &TestApp| {
        let mut statuses = Vec::new();
        for attempt in 0..8 {
            let reply = app
                .client
                .post(app.url("/auth/login"))
                .header("X-Forwarded-For", format!("203.0.113.{attempt}"))
                .json(&json!({ "username": "admin", "password": "guess-number-one-two" }))
                .send()
                .await
                .unwrap();
            statuses.push(reply.status().as_u16());
        }
        assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
        assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
        // Even the right password is refused while the username is throttled.
        let right = app.login("admin", ADMIN_PASSWORD).await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(right.error_code(), "rate_limited");
        let throttled = app.audit_rows_for("login_failed").await;
        assert!(throttled.iter().any(|r| r.details.contains("rate_limited")));
        // The address recorded is the real peer, not the forged header.
        assert!(
            throttled
                .iter()
                .all(|r| r.client_address.as_deref() == Some("127.0.0.1"))
        );
    }
);

dual_test!(the_address_limit_spans_usernames, async |app: &TestApp| {
    for i in 0..20 {
        let reply = app
            .login(&format!("spray-{i}"), "some-password-guess")
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let reply = app.login("spray-next", "some-password-guess").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
});

dual_test!(logout_revokes_the_token, async |app: &TestApp| {
    let admin = app.admin().await;
    assert_eq!(app.get("/auth/me", &admin).await.status, StatusCode::OK);
    let reply = app
        .send(reqwest::Method::POST, "/auth/logout", &admin, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let after = app.get("/auth/me", &admin).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.audit_rows_for("logout").await.len(), 1);
    // Another session of the same user is unaffected.
    let other = app.admin().await;
    assert_eq!(app.get("/auth/me", &other).await.status, StatusCode::OK);
});

dual_test!(
    me_and_permissions_describe_the_caller,
    async |app: &TestApp| {
        let (id, viewer) = app.user("vera", "viewer").await;
        let me = app.get("/auth/me", &viewer).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["user"]["id"], json!(id));
        assert_eq!(me.body["user"]["role"], "viewer");
        assert!(me.body["user"].get("passwordHash").is_none());
        assert!(!me.text.contains("argon2"));

        let permissions = app.get("/auth/permissions", &viewer).await;
        assert_eq!(permissions.body["role"], "viewer");
        let listed: Vec<String> =
            serde_json::from_value(permissions.body["permissions"].clone()).unwrap();
        let expected: Vec<String> = coordinator_api::Role::Viewer
            .permissions()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(listed, expected);
    }
);

dual_test!(
    weak_password_hashes_are_upgraded_on_login,
    async |app: &TestApp| {
        use coordinator::users::entity as user;
        let (id, _) = app.user("olga", "user").await;
        let weak = coordinator::auth::password::weak_hash_for_tests(PASSWORD).unwrap();
        app.sql(&format!(
            "UPDATE users SET password_hash = '{weak}' WHERE id = {id}"
        ))
        .await;
        let reply = app.login("olga", PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let stored = user::Entity::find()
            .filter(user::Column::Username.eq("olga"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            stored
                .password_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            stored.password_hash
        );
        assert_ne!(stored.password_hash, weak);
        let again = app.login("olga", PASSWORD).await;
        assert_eq!(again.status, StatusCode::OK);
    }
);

dual_test!(servers_have_no_session, async |app: &TestApp| {
    let key = app.server("compliance", "comp-1").await;
    let me = app.get("/auth/me", &key).await;
    assert_eq!(me.status, StatusCode::FORBIDDEN);
    assert_eq!(me.error_code(), "forbidden");
});

dual_test!(
    parallel_guesses_are_counted_before_they_are_checked,
    async |app: &TestApp| {
        let guesses = (0..40).map(|i| {
            app.login(
                "admin",
                if i == 39 {
                    ADMIN_PASSWORD
                } else {
                    "parallel-guess-xyz"
                },
            )
        });
        let replies = futures_util::future::join_all(guesses).await;
        let checked = replies
            .iter()
            .filter(|r| r.status == StatusCode::UNAUTHORIZED)
            .count();
        let throttled = replies
            .iter()
            .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(
            checked <= 5,
            "{checked} guesses were checked before the limit"
        );
        assert!(throttled >= 34, "{throttled}");
    }
);

dual_test!(
    implausible_usernames_are_refused_and_still_audited,
    async |app: &TestApp| {
        for username in ["x".repeat(300), "nul\u{0}byte".to_owned(), String::new()] {
            let reply = app.login(&username, "some-password-value").await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.text);
            assert_eq!(reply.error_code(), "invalid_credentials");
        }
        let rows = app.audit_rows_for("login_failed").await;
        assert_eq!(rows.len(), 3);
        assert!(
            rows.iter()
                .all(|r| r.actor.len() <= 128 && !r.actor.contains('\u{0}'))
        );
    }
);

dual_test!(
    refusals_with_overlong_paths_are_still_audited,
    async |app: &TestApp| {
        let path = format!("/servers/{}", "a".repeat(400));
        let reply = app.get(&path, &As::Nobody).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        let row = app.audit_rows_for("access_denied").await.pop().unwrap();
        assert_eq!(row.target.as_deref().map(str::len), Some(256));
    }
);
