//! What the live connection does with each message, apart from the browser: which channels
//! changed, where to resume after a reconnect, and how long to wait before trying again.

use chrono::{DateTime, Utc};
use coordinator_api::Role;
use coordinator_api::events::{Channel, ServerMessage};
use coordinator_api::monitoring::SystemMetrics;
use std::collections::VecDeque;

/// Every channel, in the order they are subscribed.
pub const CHANNELS: [Channel; 8] = [
    Channel::Assessments,
    Channel::Remediations,
    Channel::Approvals,
    Channel::Executions,
    Channel::Servers,
    Channel::Audit,
    Channel::Metrics,
    Channel::Alerts,
];

/// A line of the activity feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: i64,
    pub channel: Channel,
    pub event: String,
    pub ts: DateTime<Utc>,
    pub actor: String,
    pub target: Option<String>,
}

/// What one message means for the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// These channels changed: views showing them reload. The flag says an account was
    /// created or changed, which no channel of its own carries.
    Changed(Vec<Channel>, Option<Activity>, bool),
    Sample(DateTime<Utc>, SystemMetrics),
    /// The coordinator dropped us for reading too slowly: reconnect and replay.
    Resync,
    /// A channel was refused: the dashboard asked for one its role may not read, which is a
    /// fault of the dashboard worth reporting.
    Refused(String),
    /// The token was revoked or expired.
    SessionEnded,
    Subscribed,
    Ignored,
}

const FIRST_DELAY_MS: u32 = 500;
const MAX_DELAY_MS: u32 = 15_000;
/// The copies of one row come one after another, so remembering this many rows is plenty.
const FEED_MEMORY: usize = 64;

#[derive(Debug, Default)]
pub struct Tracker {
    /// The id of the newest event received: a reconnect asks for everything after it.
    last_id: Option<i64>,
    /// The rows put in the activity feed lately, newest last.
    in_feed: VecDeque<i64>,
    failures: u32,
}

impl Tracker {
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    /// The socket address for `origin_ws` (`ws://host:port` or `wss://…`).
    pub fn url(&self, origin_ws: &str) -> String {
        match self.last_id {
            Some(id) => format!("{origin_ws}{}/ws?since={id}", crate::api::API_BASE),
            None => format!("{origin_ws}{}/ws", crate::api::API_BASE),
        }
    }

    /// The browser sends the token as a subprotocol, which keeps it out of URLs and logs.
    pub fn protocols(token: &str) -> [String; 2] {
        ["coordinator.v1".to_owned(), format!("bearer.{token}")]
    }

    /// The channels `role` may read: asking for others would only be refused.
    pub fn channels_for(role: Role) -> Vec<Channel> {
        CHANNELS
            .into_iter()
            .filter(|c| role.can(c.permission()))
            .collect()
    }

    pub fn subscribe_message(channels: &[Channel]) -> String {
        serde_json::json!({ "type": "subscribe", "channels": channels }).to_string()
    }

    pub fn connected(&mut self) {
        self.failures = 0;
    }

    /// Waits grow from half a second to fifteen, so a restarting coordinator is not flooded.
    pub fn next_delay_ms(&mut self) -> u32 {
        let delay = FIRST_DELAY_MS.saturating_mul(1 << self.failures.min(5));
        self.failures = self.failures.saturating_add(1);
        delay.min(MAX_DELAY_MS)
    }

    pub fn on_message(&mut self, text: &str) -> Effect {
        let Ok(message) = serde_json::from_str::<ServerMessage>(text) else {
            return Effect::Ignored;
        };
        match message {
            ServerMessage::Event {
                channel,
                event,
                id,
                ts,
                data,
                ..
            } => {
                self.last_id = Some(self.last_id.map_or(id, |last| last.max(id)));
                // A row comes once per subscribed channel it belongs to, `audit` included and
                // in any order, and a role that may not read a row's own channel sees it on
                // `audit` only: the feed takes each row once, whichever copy comes first, if
                // it belongs to a channel besides `audit` (logins and the like stay out).
                // Ids, not order: on Postgres a row may become visible after a newer one.
                let own = Channel::of(&event, data.target.as_deref())
                    .filter(|_| !self.in_feed.contains(&id));
                // Account changes (`user_created`, `user_updated`), not sign-ins: a sign-in
                // changes only a time, and should not rebuild a form an admin is filling in.
                let accounts = event.starts_with("user_");
                if own.is_some() {
                    if self.in_feed.len() == FEED_MEMORY {
                        self.in_feed.pop_front();
                    }
                    self.in_feed.push_back(id);
                }
                let activity = own.map(|own| Activity {
                    id,
                    channel: own,
                    event,
                    ts,
                    actor: data.actor,
                    target: data.target,
                });
                Effect::Changed(vec![channel], activity, accounts)
            }
            ServerMessage::Metrics { ts, system, .. } => Effect::Sample(ts, system),
            ServerMessage::Resync { .. } => Effect::Resync,
            ServerMessage::Error { code, .. } if code == "unauthorized" => Effect::SessionEnded,
            ServerMessage::Error { code, message } if code == "forbidden" => {
                Effect::Refused(message)
            }
            ServerMessage::Subscribed { .. } => Effect::Subscribed,
            ServerMessage::Error { .. } => Effect::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: i64, channel: &str) -> String {
        json!({
            "type": "event", "channel": channel, "event": "remediation_approved", "id": id,
            "ts": "2026-11-21T10:00:00Z", "correlationId": null,
            "data": {"actor": "ann", "actorType": "user", "target": "proposal:1",
                     "result": "success", "details": {}}
        })
        .to_string()
    }

    #[test]
    fn reconnects_resume_after_the_newest_event() {
        let mut tracker = Tracker::default();
        assert_eq!(tracker.url("ws://h:1"), "ws://h:1/api/v1/ws");
        assert!(matches!(
            tracker.on_message(&event(7, "remediations")),
            Effect::Changed(ref c, Some(_), false) if c == &[Channel::Remediations]
        ));
        // The same row on `audit` changes that channel but adds no second feed line.
        assert_eq!(
            tracker.on_message(&event(7, "audit")),
            Effect::Changed(vec![Channel::Audit], None, false)
        );
        // A row whose `audit` copy comes first reaches the feed from it, under its own channel
        // (all a viewer gets of a remediation), and only once.
        assert!(matches!(
            tracker.on_message(&event(9, "audit")),
            Effect::Changed(_, Some(ref a), _) if a.id == 9 && a.channel == Channel::Remediations
        ));
        assert_eq!(
            tracker.on_message(&event(9, "remediations")),
            Effect::Changed(vec![Channel::Remediations], None, false)
        );
        // A row of no other channel (a sign-in) changes `audit` and stays out of the feed.
        let login = event(10, "audit").replace("remediation_approved", "login_succeeded");
        let login = login.replace("\"proposal:1\"", "\"user:1\"");
        assert_eq!(
            tracker.on_message(&login),
            Effect::Changed(vec![Channel::Audit], None, false)
        );
        // A change to an account does too, and changes the list of accounts.
        let changed = login.replace("login_succeeded", "user_updated");
        assert_eq!(
            tracker.on_message(&changed),
            Effect::Changed(vec![Channel::Audit], None, true)
        );
        // A row that became visible late still reaches the feed, once.
        assert!(matches!(
            tracker.on_message(&event(8, "audit")),
            Effect::Changed(_, Some(ref a), _) if a.id == 8
        ));
        assert_eq!(
            tracker.on_message(&event(8, "remediations")),
            Effect::Changed(vec![Channel::Remediations], None, false)
        );
        assert_eq!(tracker.last_id(), Some(10));
        assert_eq!(tracker.url("wss://h"), "wss://h/api/v1/ws?since=10");
    }

    #[test]
    fn control_messages_and_noise() {
        let mut tracker = Tracker::default();
        assert_eq!(
            tracker.on_message(r#"{"type":"resync","lastId":3}"#),
            Effect::Resync
        );
        assert_eq!(
            tracker.on_message(r#"{"type":"error","code":"unauthorized","message":"x"}"#),
            Effect::SessionEnded
        );
        assert_eq!(
            tracker.on_message(r#"{"type":"error","code":"forbidden","message":"x"}"#),
            Effect::Refused("x".to_owned())
        );
        assert_eq!(
            tracker.on_message(r#"{"type":"error","code":"bad_request","message":"x"}"#),
            Effect::Ignored
        );
        assert_eq!(tracker.on_message("not json"), Effect::Ignored);
        let sample = json!({"type": "metrics", "channel": "metrics", "ts": "2026-11-21T10:00:00Z",
            "system": {"cpu": {"usage": 12.5, "cores": 2},
                "memory": {"total": 8.0, "used": 2.0, "free": 6.0, "usage": 25.0},
                "disk": {"total": 100.0, "used": 50.0, "free": 50.0, "usage": 50.0},
                "network": {"incoming": 1.0, "outgoing": 2.0}}});
        assert!(
            matches!(tracker.on_message(&sample.to_string()), Effect::Sample(_, s) if s.cpu.usage == 12.5)
        );
        assert!(Tracker::subscribe_message(&CHANNELS).contains("\"alerts\""));
        assert_eq!(Tracker::protocols("abc")[1], "bearer.abc");
    }

    #[test]
    fn each_role_subscribes_to_what_it_may_read() {
        assert_eq!(Tracker::channels_for(Role::Admin), CHANNELS);
        assert_eq!(Tracker::channels_for(Role::User), CHANNELS);
        assert_eq!(
            Tracker::channels_for(Role::Viewer),
            [
                Channel::Servers,
                Channel::Audit,
                Channel::Metrics,
                Channel::Alerts
            ]
        );
        let message = Tracker::subscribe_message(&Tracker::channels_for(Role::Viewer));
        assert!(message.contains("\"audit\"") && !message.contains("\"remediations\""));
    }

    #[test]
    fn waits_grow_and_reset_on_success() {
        let mut tracker = Tracker::default();
        let delays: Vec<u32> = (0..8).map(|_| tracker.next_delay_ms()).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]
        );
        tracker.connected();
        assert_eq!(tracker.next_delay_ms(), 500);
    }
}
