//! Reading the audit log: filters, offset pages, keyset cursors and streamed exports.

use crate::common::*;
use crate::dual_test;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Creates `n` users, each adding one `user_created` row.
async fn users(app: &TestApp, admin: &As, n: usize) {
    for i in 0..n {
        let reply = app
            .post("/users", admin, json!({ "username": format!("user-{i:03}"), "password": PASSWORD, "role": "viewer" }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

dual_test!(filters_narrow_the_log, async |app: &TestApp| {
    let admin = app.admin().await;
    users(app, &admin, 3).await;
    app.get("/users", &As::Nobody).await;

    let page = app.get("/audit/logs?action=user_created", &admin).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["total"], 3);
    assert!(
        page.body["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["action"] == "user_created")
    );

    let page = app
        .get("/audit/logs?actor=anonymous&result=denied", &admin)
        .await;
    assert_eq!(page.body["total"], 1, "{}", page.text);
    assert_eq!(page.body["logs"][0]["target"], "/api/v1/users");

    let page = app.get("/audit/logs?target=user:2", &admin).await;
    assert_eq!(page.body["total"], 1);

    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let page = app
        .get(&format!("/audit/logs?startDate={future}"), &admin)
        .await;
    assert_eq!(page.body["total"], 0, "{}", page.text);
    let page = app
        .get(&format!("/audit/logs?endDate={future}"), &admin)
        .await;
    assert!(page.body["total"].as_u64().unwrap() >= 5);
});

dual_test!(offset_pages_and_cursors_agree, async |app: &TestApp| {
    let admin = app.admin().await;
    users(app, &admin, 12).await;
    let all = app
        .get("/audit/logs?action=user_created&limit=1000", &admin)
        .await;
    let every: Vec<i64> = ids(&all.body);
    assert_eq!(every.len(), 12);
    assert!(every.windows(2).all(|w| w[0] > w[1]), "newest first");

    let page2 = app
        .get("/audit/logs?action=user_created&limit=5&offset=5", &admin)
        .await;
    assert_eq!(page2.body["page"], 2);
    assert_eq!(page2.body["pageSize"], 5);
    assert_eq!(page2.body["total"], 12);
    assert_eq!(ids(&page2.body), every[5..10]);

    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/audit/logs?action=user_created&limit=5&cursor={c}"),
            None => "/audit/logs?action=user_created&limit=5".to_owned(),
        };
        let page = app.get(&path, &admin).await;
        pages += 1;
        assert_eq!(page.body["page"], pages);
        walked.extend(ids(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, every);
});

dual_test!(exports_stream_every_format, async |app: &TestApp| {
    let admin = app.admin().await;
    users(app, &admin, 3).await;
    let As::Bearer(token) = &admin else {
        unreachable!()
    };
    let fetch = |format: &'static str| {
        let request = app
            .client
            .get(app.url(&format!(
                "/audit/export?format={format}&action=user_created"
            )))
            .bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let disposition = response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(disposition.contains(&format!(".{format}")), "{disposition}");
            (content_type, response.text().await.unwrap())
        }
    };

    let (content_type, json_text) = fetch("json").await;
    assert_eq!(content_type, "application/json");
    let rows: Vec<Value> = serde_json::from_str(&json_text).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["action"] == "user_created"));

    let (content_type, ndjson) = fetch("ndjson").await;
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, rows);

    let (content_type, csv) = fetch("csv").await;
    assert!(content_type.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.headers().unwrap().get(4), Some("action"));
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    let csv_ids: BTreeSet<String> = records.iter().map(|r| r[0].to_owned()).collect();
    let json_ids: BTreeSet<String> = rows.iter().map(|r| r["id"].to_string()).collect();
    assert_eq!(csv_ids, json_ids);

    // Exports are themselves audited.
    assert_eq!(app.audit_rows_for("audit_exported").await.len(), 3);
});

dual_test!(
    large_exports_cross_batch_boundaries,
    async |app: &TestApp| {
        let admin = app.admin().await;
        // Enough denied requests to span several export batches, cheaply.
        for _ in 0..1100 {
            app.get("/audit/logs", &As::Nobody).await;
        }
        let As::Bearer(token) = &admin else {
            unreachable!()
        };
        let text = app
            .client
            .get(app.url("/audit/export?format=ndjson&action=access_denied"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let ids: Vec<i64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ids.len(), 1100);
        assert!(ids.windows(2).all(|w| w[0] > w[1]));
    }
);

dual_test!(
    spreadsheet_formulas_are_defused_in_csv,
    async |app: &TestApp| {
        let admin = app.admin().await;
        app.login("=cmd|' /C calc'!A0", "whatever-password").await;
        let As::Bearer(token) = &admin else {
            unreachable!()
        };
        let csv = app
            .client
            .get(app.url("/audit/export?format=csv&action=login_failed"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert!(record[2].starts_with("'="), "{:?}", &record[2]);
    }
);
