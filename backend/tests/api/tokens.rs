//! Forged, stale and revoked tokens are refused with 401, and every refusal is audited.

use crate::common::*;
use crate::dual_test;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coordinator::auth::jwt::{AUDIENCE, Claims, ISSUER};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn claims_for(user_id: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: user_id.to_string(),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: now,
        exp: now + 600,
        jti: "f00dfeedf00dfeedf00dfeedf00dfeed".to_owned(),
        ver: 0,
    }
}

fn sign(claims: &Claims, algorithm: Algorithm, secret: &[u8]) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// Asserts a 401 in the contract's shape and one more `access_denied` row.
async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let before = app.audit_rows_for("access_denied").await.len();
    let reply = app.get("/auth/me", &As::Bearer(token.to_owned())).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        reply.text
    );
    assert_eq!(reply.error_code(), "unauthorized", "{what}");
    let rows = app.audit_rows_for("access_denied").await;
    assert_eq!(rows.len(), before + 1, "{what} was not audited");
    let row = rows.last().unwrap();
    assert_eq!(row.result.as_str(), "denied");
    assert_eq!(row.target.as_deref(), Some("/api/v1/auth/me"));
    assert!(
        !row.details.contains(token),
        "{what}: the token leaked into the audit log"
    );
}

dual_test!(
    forged_and_stale_tokens_are_refused_and_audited,
    async |app: &TestApp| {
        let admin_id = 1;
        let secret = JWT_SECRET.as_bytes();
        let good = sign(&claims_for(admin_id), Algorithm::HS256, secret);
        // The control: a token signed the way the service signs is accepted.
        assert_eq!(
            app.get("/auth/me", &As::Bearer(good.clone())).await.status,
            StatusCode::OK
        );

        let payload = good.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_refused(app, &format!("{none_header}.{payload}."), "alg none").await;

        assert_refused(
            app,
            &sign(&claims_for(admin_id), Algorithm::HS512, secret),
            "unpinned HS512",
        )
        .await;
        assert_refused(
            app,
            &sign(&claims_for(admin_id), Algorithm::HS384, secret),
            "unpinned HS384",
        )
        .await;

        let other_secret = sign(
            &claims_for(admin_id),
            Algorithm::HS256,
            b"some-other-secret-that-is-long-enough",
        );
        assert_refused(app, &other_secret, "bad signature").await;
        let mut tampered = good.clone();
        tampered.pop();
        tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
        assert_refused(app, &tampered, "altered signature").await;

        let mut expired = claims_for(admin_id);
        expired.iat -= 7200;
        expired.exp = chrono::Utc::now().timestamp() - 120;
        assert_refused(app, &sign(&expired, Algorithm::HS256, secret), "expired").await;

        let mut wrong_aud = claims_for(admin_id);
        wrong_aud.aud = "some-other-api".to_owned();
        assert_refused(
            app,
            &sign(&wrong_aud, Algorithm::HS256, secret),
            "wrong audience",
        )
        .await;

        let mut wrong_iss = claims_for(admin_id);
        wrong_iss.iss = "someone-else".to_owned();
        assert_refused(
            app,
            &sign(&wrong_iss, Algorithm::HS256, secret),
            "wrong issuer",
        )
        .await;

        let mut missing = serde_json::to_value(claims_for(admin_id)).unwrap();
        missing.as_object_mut().unwrap().remove("aud");
        let no_aud = encode(
            &Header::new(Algorithm::HS256),
            &missing,
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_refused(app, &no_aud, "missing audience").await;

        let mut unknown_user = claims_for(424242);
        unknown_user.jti = "aaaa".to_owned();
        assert_refused(
            app,
            &sign(&unknown_user, Algorithm::HS256, secret),
            "unknown user",
        )
        .await;

        assert_refused(app, "not-a-jwt-at-all", "garbage").await;
    }
);

dual_test!(
    a_token_after_logout_is_refused_and_audited,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let As::Bearer(token) = admin.clone() else {
            unreachable!()
        };
        let reply = app.send(Method::POST, "/auth/logout", &admin, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_refused(app, &token, "after logout").await;
    }
);

dual_test!(
    a_token_of_a_disabled_user_is_refused_and_audited,
    async |app: &TestApp| {
        let (id, token) = app.user("gina", "viewer").await;
        let admin = app.admin().await;
        let reply = app
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "disabled": true })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let As::Bearer(token) = token else {
            unreachable!()
        };
        assert_refused(app, &token, "disabled user").await;
        // Re-enabling does not bring old tokens back: they were revoked, not paused.
        let reply = app
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "disabled": false })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_refused(app, &token, "re-enabled user's old token").await;
    }
);

dual_test!(
    bad_api_keys_are_refused_and_audited,
    async |app: &TestApp| {
        let before = app.audit_rows_for("access_denied").await.len();
        let reply = app
            .get("/servers", &As::ApiKey("mcs_not-a-real-key".to_owned()))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let reply = app.get("/servers", &As::Nobody).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let reply = app
            .client
            .get(app.url("/servers"))
            .header("Authorization", "Basic YWRtaW46YWRtaW4=")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.audit_rows_for("access_denied").await.len(), before + 3);
    }
);
