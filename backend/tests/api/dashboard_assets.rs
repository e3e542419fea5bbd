//! The embedded dashboard as the coordinator serves it: its page for every address a person
//! can open, its files compressed for browsers that take it, and the contract's 404 for the
//! API.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH,
};

async fn get(
    app: &TestApp,
    path: &str,
    headers: &[(reqwest::header::HeaderName, &str)],
) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap()
}

dual_test!(
    the_dashboard_is_served_at_the_root_and_its_own_addresses,
    async |app: &TestApp| {
        let index = get(app, "/", &[]).await;
        assert_eq!(index.status(), StatusCode::OK);
        assert!(
            index.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let policy = index.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{policy}"
        );
        let page = index.text().await.unwrap();
        assert!(page.contains("/boot.js"), "{page}");

        // A deep link opened in a browser gets the same page; its router draws the rest.
        let deep = get(app, "/remediations/12?run=3", &[(ACCEPT, "text/html,*/*")]).await;
        assert_eq!(deep.status(), StatusCode::OK);
        assert_eq!(deep.text().await.unwrap(), page);

        // The API keeps its JSON 404, whatever the client accepts.
        for accept in ["text/html", "application/json"] {
            let missing = get(app, "/api/v1/no-such-route", &[(ACCEPT, accept)]).await;
            assert_eq!(missing.status(), StatusCode::NOT_FOUND);
            let body: serde_json::Value = missing.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_found");
        }
        let not_a_page = get(app, "/nothing-here", &[(ACCEPT, "application/json")]).await;
        assert_eq!(not_a_page.status(), StatusCode::NOT_FOUND);
    }
);

dual_test!(
    the_wasm_is_sent_compressed_and_revalidated,
    async |app: &TestApp| {
        let plain = get(app, "/dashboard_bg.wasm", &[]).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers()[CONTENT_TYPE], "application/wasm");
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());
        let etag = plain.headers()[ETAG].to_str().unwrap().to_owned();
        let raw = plain.bytes().await.unwrap();
        assert_eq!(&raw[..4], b"\0asm");

        let gzipped = get(
            app,
            "/dashboard_bg.wasm",
            &[(ACCEPT_ENCODING, "br, gzip;q=0.9")],
        )
        .await;
        assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(gzipped.headers()[CONTENT_TYPE], "application/wasm");
        let gz_etag = gzipped.headers()[ETAG].to_str().unwrap().to_owned();
        assert_ne!(gz_etag, etag);
        let compressed = gzipped.bytes().await.unwrap();
        assert_eq!(&compressed[..2], &[0x1f, 0x8b]);
        assert!(compressed.len() < raw.len() / 2);

        let fresh = get(app, "/dashboard_bg.wasm", &[(IF_NONE_MATCH, etag.as_str())]).await;
        assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);
        assert!(fresh.bytes().await.unwrap().is_empty());

        // The compressed copies are not addresses of their own.
        let direct = get(
            app,
            "/dashboard_bg.wasm.gz",
            &[(ACCEPT, "application/json")],
        )
        .await;
        assert_eq!(direct.status(), StatusCode::NOT_FOUND);
    }
);
