//! One WebSocket subscriber: its subscriptions, replay from `since`, heartbeats, and the
//! rules that end a connection (revoked token, a client too slow to keep up, silence).

use super::hub::{Event, rows_after};
use crate::auth::Principal;
use crate::auth::principal::user_from_token;
use crate::state::AppState;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use coordinator_api::events::{Channel, ClientMessage, ServerMessage};
use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

pub const MAX_FRAME_BYTES: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(10);
const SILENCE_LIMIT: Duration = Duration::from_secs(30);
const RECHECK_TOKEN_EVERY: Duration = Duration::from_secs(2);
const REPLAY_BATCH: u64 = 500;

/// Who is connected, and with what.
pub struct Subscriber {
    pub principal: Principal,
    pub token: String,
    /// Replay audit rows after this id before the live stream.
    pub since: Option<i64>,
}

/// A client that cannot take a message for this long is not reading: it is closed, so a
/// stalled reader never holds its connection, or anything queued for it, for ever.
const SEND_DEADLINE: Duration = Duration::from_secs(5);

async fn send(session: &mut Session, message: &ServerMessage) -> bool {
    let Ok(text) = serde_json::to_string(message) else {
        return false;
    };
    matches!(
        tokio::time::timeout(SEND_DEADLINE, session.text(text)).await,
        Ok(Ok(()))
    )
}

fn error(code: &str, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Sends the logged events after `since` on `channels`, oldest first; returns the last id seen.
async fn replay(
    state: &AppState,
    session: &mut Session,
    channels: &BTreeSet<Channel>,
    since: i64,
) -> Option<i64> {
    let mut after = since;
    loop {
        let rows = rows_after(state, after, REPLAY_BATCH).await.ok()?;
        let count = rows.len() as u64;
        for row in rows {
            after = row.id.0;
            let event = Event::from_row(row);
            for channel in channels.iter().copied().filter(|c| event.on(*c)) {
                if !send(session, &event.message(channel)).await {
                    return None;
                }
            }
        }
        if count < REPLAY_BATCH {
            return Some(after);
        }
    }
}

pub async fn serve(
    state: AppState,
    mut session: Session,
    stream: actix_ws::MessageStream,
    subscriber: Subscriber,
) {
    let mut stream = stream
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations();
    let mut live = state.events.subscribe();
    let mut samples = state.events.subscribe_samples();
    let mut channels: BTreeSet<Channel> = BTreeSet::new();
    // Events up to this id were sent by a replay; the live stream skips them.
    let mut replayed_through = subscriber.since;
    let mut last_sent: Option<i64> = subscriber.since;
    let mut heard = Instant::now();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut recheck = tokio::time::interval(RECHECK_TOKEN_EVERY);
    let close = loop {
        tokio::select! {
            incoming = stream.next() => {
                heard = Instant::now();
                let message = match incoming {
                    None | Some(Ok(AggregatedMessage::Close(_))) => break None,
                    Some(Err(err)) => {
                        send(&mut session, &error("bad_frame", err.to_string())).await;
                        break Some(CloseReason { code: CloseCode::Protocol, description: Some("invalid frame".to_owned()) });
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() { break None; }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        send(&mut session, &error("bad_request", "messages are JSON text")).await;
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Text(text))) => text,
                };
                let parsed: Result<ClientMessage, _> = serde_json::from_str(&message);
                match parsed {
                    Err(err) => {
                        send(&mut session, &error("bad_request", format!("not a message this service understands: {err}"))).await;
                    }
                    Ok(ClientMessage::Subscribe { channels: wanted }) => {
                        let (allowed, refused): (Vec<Channel>, Vec<Channel>) =
                            wanted.into_iter().partition(|c| subscriber.principal.can(c.permission()));
                        for channel in &refused {
                            send(&mut session, &error("forbidden", format!(
                                "the `{}` channel needs the `{}` permission", channel, channel.permission()
                            ))).await;
                        }
                        let new: BTreeSet<Channel> = allowed.into_iter().filter(|c| !channels.contains(c)).collect();
                        channels.extend(new.iter().copied());
                        // Acknowledged first, so a client knows its replay starts after this.
                        let current = channels.iter().copied().collect();
                        if !send(&mut session, &ServerMessage::Subscribed { channels: current }).await { break None; }
                        if let (Some(since), false) = (subscriber.since, new.is_empty()) {
                            match replay(&state, &mut session, &new, since).await {
                                Some(through) => {
                                    replayed_through = replayed_through.max(Some(through));
                                    last_sent = last_sent.max(Some(through));
                                }
                                None => break None,
                            }
                        }
                    }
                    Ok(ClientMessage::Unsubscribe { channels: unwanted }) => {
                        for channel in unwanted { channels.remove(&channel); }
                        let current = channels.iter().copied().collect();
                        if !send(&mut session, &ServerMessage::Subscribed { channels: current }).await { break None; }
                    }
                }
            }
            event = live.recv() => match event {
                Ok(event) => {
                    if replayed_through.is_some_and(|through| event.id <= through) {
                        continue;
                    }
                    let event: Arc<Event> = event;
                    let mut delivered = true;
                    for channel in channels.iter().copied().filter(|c| event.on(*c)) {
                        delivered = delivered && send(&mut session, &event.message(channel)).await;
                    }
                    if !delivered {
                        state.metrics_dropped_slow_consumer();
                        break None;
                    }
                    last_sent = Some(event.id);
                }
                Err(RecvError::Lagged(_)) => {
                    // Too slow to keep up: resync from the log instead of buffering without end.
                    state.metrics_dropped_slow_consumer();
                    send(&mut session, &ServerMessage::Resync { last_id: last_sent }).await;
                    break Some(CloseReason { code: CloseCode::Again, description: Some("too slow; reconnect with since".to_owned()) });
                }
                Err(RecvError::Closed) => break None,
            },
            sample = samples.recv() => match sample {
                Ok(sample) => {
                    if channels.contains(&Channel::Metrics) && !send(&mut session, &sample).await {
                        state.metrics_dropped_slow_consumer();
                        break None;
                    }
                }
                // Samples are superseded by the next one; a missed one needs no resync.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break None,
            },
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    break Some(CloseReason { code: CloseCode::Away, description: Some("no answer to pings".to_owned()) });
                }
                if session.ping(b"").await.is_err() { break None; }
            }
            _ = recheck.tick() => {
                if user_from_token(&state, &subscriber.token).await.is_err() {
                    send(&mut session, &error("unauthorized", "the token has been revoked or has expired")).await;
                    break Some(CloseReason { code: CloseCode::Policy, description: Some("token revoked".to_owned()) });
                }
            }
        }
    };
    let _ = session.close(close).await;
}
