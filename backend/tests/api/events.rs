//! Live events over WebSocket: order, replay with `since`, revocation, slow consumers.

use crate::common::*;
use crate::{dual_test, dual_test_with};
use coordinator_api::Role;
use coordinator_api::events::Channel;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client whose socket buffers almost nothing: once it stops reading, the server notices
/// within a few messages instead of after megabytes of kernel buffering.
async fn connect_with_small_buffers(
    app: &TestApp,
    who: &As,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let As::Bearer(token) = who else {
        panic!("people subscribe")
    };
    let url = format!("{}/api/v1/ws", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("coordinator.v1, bearer.{token}").parse().unwrap(),
    );
    let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let stream = socket.connect(address).await.unwrap();
    tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap()
        .0
}

async fn connect(app: &TestApp, who: &As, since: Option<i64>) -> Socket {
    let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
    connect_at(app, who, &format!("/api/v1/ws{query}")).await
}

/// Opens the WebSocket at `path` (with its query), authenticated the browser's way.
pub async fn connect_at(app: &TestApp, who: &As, path: &str) -> Socket {
    let As::Bearer(token) = who else {
        panic!("people subscribe")
    };
    let url = format!("{}{path}", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("coordinator.v1, bearer.{token}").parse().unwrap(),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "coordinator.v1"
    );
    socket
}

pub async fn subscribe(socket: &mut Socket, channels: &[&str]) -> Value {
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "channels": channels }).to_string(),
        ))
        .await
        .unwrap();
    next_of(socket, "subscribed").await
}

/// The next message of type `kind`, skipping others, within 10 seconds.
pub async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == kind {
                        return value;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended while waiting for {kind}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} message within 10 seconds"))
}

/// Events until one with `event == last`, in the order received.
async fn events_until(socket: &mut Socket, last: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let event = next_of(socket, "event").await;
        let done = event["event"] == last;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn is_subsequence(wanted: &[&str], actual: &[String]) -> bool {
    let mut rest = actual.iter();
    wanted.iter().all(|w| rest.any(|a| a == w))
}

dual_test!(
    a_subscriber_follows_the_workflow_in_order,
    async |app: &TestApp| {
        let (_, watcher) = app.user("watcher", "user").await;
        let mut socket = connect(app, &watcher, None).await;
        let subscribed = subscribe(
            &mut socket,
            &["assessments", "remediations", "approvals", "executions"],
        )
        .await;
        assert_eq!(subscribed["channels"].as_array().unwrap().len(), 4);

        let world = World::new(app).await;
        let (proposal, execution) = world.approved_proposal(app).await;
        assert_eq!(
            app.execute(&world.approver_two, proposal, false)
                .await
                .status,
            StatusCode::OK
        );
        let task = app.claim_execution(&world.installer, execution).await;
        let digest = TestApp::recompute_digest(&task);
        app.progress(
            &world.installer,
            execution,
            "action-1",
            "succeeded",
            &digest,
        )
        .await;
        let done = app
            .complete(
                &world.installer,
                execution,
                json!({ "outcome": "succeeded", "payloadDigest": digest }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);

        let events = events_until(&mut socket, "execution_completed").await;
        let names: Vec<String> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            is_subsequence(
                &[
                    "assessment_requested",
                    "assessment_results_reported",
                    "assessment_reviewed",
                    "remediation_proposed",
                    "approval_recorded",
                    "remediation_approved",
                    "execution_released",
                    "execution_claimed",
                    "execution_progress",
                    "execution_completed"
                ],
                &names
            ),
            "{names:?}"
        );
        let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
        // Ids are audit row ids, and events carry the story's correlation id.
        let rows = app.audit_rows().await;
        for event in &events {
            let row = rows
                .iter()
                .find(|r| r.id.0 == event["id"].as_i64().unwrap())
                .unwrap();
            assert_eq!(event["event"], row.action.as_str());
            assert_eq!(
                event["correlationId"].as_str(),
                row.correlation_id.as_deref()
            );
        }
        assert!(
            events
                .iter()
                .all(|e| !e.to_string().contains(SECRET_ENV_VALUE))
        );
    }
);

dual_test!(
    a_reconnect_with_since_misses_nothing,
    async |app: &TestApp| {
        let admin = app.admin().await;
        let mut first = connect(app, &admin, None).await;
        subscribe(&mut first, &["audit"]).await;
        app.get("/servers", &As::Nobody).await;
        let seen = next_of(&mut first, "event").await;
        let last_seen = seen["id"].as_i64().unwrap();
        drop(first);

        // While disconnected, things happen.
        for i in 0..5 {
            let reply = app.post("/users", &admin, json!({ "username": format!("while-away-{i}"), "password": PASSWORD, "role": "viewer" })).await;
            assert_eq!(reply.status, StatusCode::CREATED);
        }
        let missed: Vec<i64> = app
            .audit_rows()
            .await
            .iter()
            .map(|r| r.id.0)
            .filter(|id| *id > last_seen)
            .collect();
        assert!(missed.len() >= 5);

        let mut second = connect(app, &admin, Some(last_seen)).await;
        subscribe(&mut second, &["audit"]).await;
        let mut replayed = Vec::new();
        while replayed.len() < missed.len() {
            replayed.push(next_of(&mut second, "event").await["id"].as_i64().unwrap());
        }
        assert_eq!(replayed, missed);
        // And the live stream continues after the replay, without repeats.
        app.get("/servers", &As::Nobody).await;
        let live = next_of(&mut second, "event").await["id"].as_i64().unwrap();
        assert!(live > *missed.last().unwrap());
    }
);

dual_test!(
    bad_messages_are_answered_with_an_error_frame,
    async |app: &TestApp| {
        let (_, viewer) = app.user("vera", "viewer").await;
        let mut socket = connect(app, &viewer, None).await;
        socket.send(Message::text("not json")).await.unwrap();
        assert_eq!(next_of(&mut socket, "error").await["code"], "bad_request");
        socket
            .send(Message::text(
                json!({ "type": "subscribe", "channels": ["gossip"] }).to_string(),
            ))
            .await
            .unwrap();
        assert_eq!(next_of(&mut socket, "error").await["code"], "bad_request");
        let subscribed = subscribe(&mut socket, &["servers"]).await;
        assert_eq!(subscribed["channels"], json!(["servers"]));
    }
);

/// Subscribes to every channel and returns the refused ones (from the error frames, which
/// come before the acknowledgement) and the acknowledged ones.
async fn subscribe_to_all(socket: &mut Socket) -> (Vec<String>, Vec<String>) {
    let all: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "channels": all }).to_string(),
        ))
        .await
        .unwrap();
    let mut refused = Vec::new();
    loop {
        let message = next_of_any(socket).await;
        match message["type"].as_str() {
            Some("error") => {
                assert_eq!(message["code"], "forbidden", "{message}");
                let text = message["message"].as_str().unwrap();
                let channel = all.iter().find(|c| text.contains(&format!("`{c}`")));
                refused.push(channel.expect("the refusal names its channel").to_string());
            }
            Some("subscribed") => {
                let granted = message["channels"].as_array().unwrap();
                let granted = granted.iter().map(|c| c.as_str().unwrap().to_owned());
                return (refused, granted.collect());
            }
            _ => {}
        }
    }
}

async fn next_of_any(socket: &mut Socket) -> Value {
    let next = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
    match next.expect("a message within 10 seconds") {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
        Some(Ok(_)) => Value::Null,
        other => panic!("the socket ended: {other:?}"),
    }
}

dual_test!(
    each_role_subscribes_to_exactly_the_channels_it_may_read,
    async |app: &TestApp| {
        for role in Role::ALL {
            let (_, person) = app.user(&format!("{role}-reader"), role.as_str()).await;
            let mut socket = connect(app, &person, None).await;
            let (refused, granted) = subscribe_to_all(&mut socket).await;
            let (may, may_not): (Vec<Channel>, Vec<Channel>) =
                Channel::ALL.iter().partition(|c| role.can(c.permission()));
            let names = |channels: Vec<Channel>| -> Vec<String> {
                channels.iter().map(|c| c.as_str().to_owned()).collect()
            };
            assert_eq!(granted, names(may), "{role}");
            assert_eq!(refused, names(may_not), "{role}");
        }
    }
);

dual_test!(
    a_viewer_cannot_follow_results_it_may_not_read,
    async |app: &TestApp| {
        let world = World::new(app).await;
        world.approved_proposal(app).await;
        let (_, viewer) = app.user("vera", "viewer").await;
        let (_, reader) = app.user("rhea", "user").await;
        let logged: Vec<i64> = app.audit_rows().await.iter().map(|r| r.id.0).collect();
        let newest = *logged.last().unwrap();

        // A replay from the start hands over the whole story as audit rows, and nothing on a
        // channel the viewer was refused.
        let mut watching = connect(app, &viewer, Some(0)).await;
        let (refused, granted) = subscribe_to_all(&mut watching).await;
        for channel in ["assessments", "remediations", "approvals", "executions"] {
            assert!(
                refused.iter().any(|c| c == channel),
                "{channel}: {refused:?}"
            );
        }
        assert!(granted.iter().any(|c| c == "audit"), "{granted:?}");
        let mut on_audit = Vec::new();
        while on_audit.last() != Some(&newest) {
            let event = next_of(&mut watching, "event").await;
            let channel = event["channel"].as_str().unwrap();
            assert!(!refused.iter().any(|c| c == channel), "{event}");
            if channel == "audit" {
                on_audit.push(event["id"].as_i64().unwrap());
            }
        }
        assert_eq!(on_audit, logged);

        // Live, the same: the user sees the new proposal on `remediations`, the viewer the
        // same row on `audit` and on nothing it was refused.
        let mut reading = connect(app, &reader, None).await;
        subscribe(&mut reading, &["remediations"]).await;
        world.propose(app, "low").await;
        let proposed = next_of(&mut reading, "event").await;
        assert_eq!(proposed["event"], "remediation_proposed");
        loop {
            let event = next_of(&mut watching, "event").await;
            let channel = event["channel"].as_str().unwrap();
            assert!(!refused.iter().any(|c| c == channel), "{event}");
            if event["id"] == proposed["id"] {
                assert_eq!((channel, &event["event"]), ("audit", &proposed["event"]));
                break;
            }
        }
    }
);

dual_test!(
    sockets_close_when_their_user_is_revoked,
    async |app: &TestApp| {
        let (id, user) = app.user("temporary", "user").await;
        let mut socket = connect(app, &user, None).await;
        subscribe(&mut socket, &["audit"]).await;
        let admin = app.admin().await;
        let reply = app
            .send(
                reqwest::Method::PATCH,
                &format!("/users/{id}"),
                &admin,
                Some(json!({ "disabled": true })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match socket.next().await {
                    None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return true,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(
            closed.unwrap_or(false),
            "the socket stayed open after the user was disabled"
        );
    }
);

dual_test!(
    anonymous_and_foreign_origins_are_refused,
    async |app: &TestApp| {
        let url = format!("{}/api/v1/ws", app.address.replace("http://", "ws://"));
        let refused = tokio_tungstenite::connect_async(url.clone()).await;
        assert!(refused.is_err());
        let admin = app.admin().await;
        let As::Bearer(token) = admin else {
            unreachable!()
        };
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("coordinator.v1, bearer.{token}").parse().unwrap(),
        );
        request
            .headers_mut()
            .insert("Origin", "https://evil.example".parse().unwrap());
        assert!(tokio_tungstenite::connect_async(request).await.is_err());
        assert!(app.audit_rows_for("access_denied").await.len() >= 2);
    }
);

/// Enough events to overflow what the kernel buffers for a socket that is not read (a few
/// megabytes on loopback), so the coordinator has to give up on it.
const EVENTS: usize = 12_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_while_others_keep_receiving() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    let mut stalled = connect_with_small_buffers(&app, &admin).await;
    stalled
        .send(Message::text(
            json!({ "type": "subscribe", "channels": ["audit"] }).to_string(),
        ))
        .await
        .unwrap();
    let mut reader = connect(&app, &admin, None).await;
    subscribe(&mut reader, &["audit"]).await;
    let reading = tokio::spawn(async move {
        let mut count = 0usize;
        while let Some(Ok(message)) = reader.next().await {
            if matches!(message, Message::Text(_)) {
                count += 1;
            }
            if count >= EVENTS {
                break;
            }
        }
        count
    });
    // Thousands of refusals, each an audit row and an event, while one client reads nothing.
    for _ in 0..EVENTS / 100 {
        let batch = (0..100).map(|_| app.get("/servers", &As::Nobody));
        futures_util::future::join_all(batch).await;
    }
    let received = tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received, EVENTS, "the reading client missed events");
    // The client that never read was dropped rather than buffered for: counted, and its
    // stream ends once the little it was sent is read.
    let dropped = || {
        app.state
            .dropped_slow_consumers
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while dropped() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dropped(), 1, "the stalled client was never dropped");
    // Given up on, the client now reads at full speed: through a 2 KB window, draining what
    // the coordinator's kernel still holds for it can take longer than the point proved here.
    socket2::SockRef::from(stalled.get_ref())
        .set_recv_buffer_size(1 << 20)
        .unwrap();
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        let mut frames = 0usize;
        while let Some(Ok(message)) = stalled.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
            frames += 1;
        }
        frames
    })
    .await
    .expect("the stalled client's stream never ended");
    assert!(
        drained < EVENTS,
        "the stalled client got everything: {drained}"
    );
    app.teardown().await;
}

dual_test_with!(
    machine_samples_reach_metrics_subscribers_only,
    &[("METRICS_INTERVAL", "1")],
    async |app: &TestApp| {
        let (_, watcher) = app.user("watcher", "viewer").await;
        let mut metrics = connect(app, &watcher, Some(0)).await;
        subscribe(&mut metrics, &["metrics"]).await;
        let mut audit = connect(app, &watcher, None).await;
        subscribe(&mut audit, &["audit"]).await;

        let sample = next_of(&mut metrics, "metrics").await;
        assert_eq!(sample["channel"], "metrics");
        assert!(sample["ts"].is_string());
        let cpu = sample["system"]["cpu"]["usage"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{sample}");
        assert!(sample["system"]["memory"]["total"].as_f64().unwrap() > 0.0);
        // Samples are not audit rows: no id, and `since=0` replayed nothing on `metrics`.
        assert!(sample.get("id").is_none());

        // The audit subscriber gets events, never samples.
        app.user("someone", "user").await;
        let mut kinds = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), async {
            while let Some(Ok(message)) = audit.next().await {
                if let Message::Text(text) = message {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    kinds.push(value["type"].as_str().unwrap().to_owned());
                }
            }
        })
        .await
        .ok();
        assert!(kinds.iter().any(|k| k == "event"), "{kinds:?}");
        assert!(!kinds.iter().any(|k| k == "metrics"), "{kinds:?}");
    }
);

dual_test!(
    the_socket_is_also_served_at_the_root_and_takes_prefixed_ids,
    async |app: &TestApp| {
        let (_, watcher) = app.user("root-watcher", "user").await;
        app.request_assessment(&watcher, "before-connect", &["postgres"])
            .await;
        let before = app.audit_rows_for("assessment_requested").await[0].id.0;
        // `wss://host:3000/ws`, as the specification's clients open it; `since` in the
        // spec's `audit-<n>` form replays what followed that row.
        let mut socket =
            connect_at(app, &watcher, &format!("/ws?since=audit-{}", before - 1)).await;
        let subscribed = subscribe(&mut socket, &["assessments"]).await;
        assert_eq!(subscribed["channels"], json!(["assessments"]));
        let replayed = next_of(&mut socket, "event").await;
        assert_eq!(replayed["event"], "assessment_requested", "{replayed}");

        let As::Bearer(token) = &watcher else {
            panic!("people subscribe")
        };
        let refused = app
            .client
            .get(format!("{}/ws?since=exec-1", app.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = refused.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("`audit-<n>`"), "{message}");
    }
);
