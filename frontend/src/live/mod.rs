//! The dashboard's live connection: one WebSocket per tab, subscribed to every channel.
//! Views read a channel's revision to reload when it changes, so new items, decisions and
//! progress appear without a reload; a reconnect resumes after the last event seen and then
//! reloads every view, so nothing missed while offline stays missing.

mod tracker;

pub use tracker::{Activity, CHANNELS, Effect, Tracker};

use chrono::{DateTime, Utc};
use coordinator_api::events::Channel;
use coordinator_api::monitoring::SystemMetrics;
use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use leptos::prelude::*;
use std::collections::VecDeque;

/// Lines kept in the activity feed.
const FEED: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// Lost; trying again in this many seconds.
    Reconnecting(u32),
    /// Signed out: nothing to follow.
    Off,
}

impl Connection {
    pub fn label(self) -> String {
        match self {
            Connection::Connecting => "Connecting…".to_owned(),
            Connection::Live => "Live".to_owned(),
            Connection::Reconnecting(0) => "Reconnecting…".to_owned(),
            Connection::Reconnecting(s) => format!("Offline, retrying in {s}s"),
            Connection::Off => "Not connected".to_owned(),
        }
    }
}

#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    revisions: RwSignal<[u64; CHANNELS.len()]>,
    pub sample: RwSignal<Option<(DateTime<Utc>, SystemMetrics)>>,
    pub feed: RwSignal<VecDeque<Activity>>,
    /// Bumped on every sign-in, so a connection of an earlier session stops.
    generation: StoredValue<u64>,
}

fn index(channel: Channel) -> usize {
    CHANNELS.iter().position(|c| *c == channel).unwrap_or(0)
}

impl Default for Live {
    fn default() -> Self {
        Self {
            connection: RwSignal::new(Connection::Off),
            revisions: RwSignal::new([0; CHANNELS.len()]),
            sample: RwSignal::new(None),
            feed: RwSignal::new(VecDeque::new()),
            generation: StoredValue::new(0),
        }
    }
}

impl Live {
    /// Read inside a reactive closure to reload whenever `channel` changes.
    pub fn revision(&self, channel: Channel) -> u64 {
        self.revisions.with(|r| r[index(channel)])
    }

    fn bump(&self, channels: &[Channel]) {
        self.revisions.update(|r| {
            for channel in channels {
                r[index(*channel)] += 1;
            }
        });
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::Changed(channels, activity) => {
                self.bump(&channels);
                if let Some(activity) = activity {
                    self.feed.update(|feed| {
                        feed.push_front(activity);
                        feed.truncate(FEED);
                    });
                }
            }
            Effect::Sample(ts, system) => self.sample.set(Some((ts, system))),
            Effect::Resync | Effect::SessionEnded | Effect::Subscribed | Effect::Ignored => {}
        }
    }

    pub fn stop(&self) {
        self.generation.update_value(|g| *g += 1);
        self.connection.set(Connection::Off);
    }

    /// Follows events for the holder of `token` until `stop` or the token stops working;
    /// `on_session_ended` is told when the coordinator says the token is no longer valid.
    pub fn start(&self, token: String, on_session_ended: impl Fn() + 'static) {
        self.generation.update_value(|g| *g += 1);
        let mine = self.generation.get_value();
        let live = *self;
        leptos::task::spawn_local(async move {
            let mut tracker = Tracker::default();
            let mut first = true;
            while live.generation.get_value() == mine {
                live.connection.set(Connection::Connecting);
                let ended = live.follow(&mut tracker, &token, mine, first).await;
                if live.generation.get_value() != mine {
                    return;
                }
                if ended {
                    live.connection.set(Connection::Off);
                    on_session_ended();
                    return;
                }
                first = false;
                let delay = tracker.next_delay_ms();
                live.connection
                    .set(Connection::Reconnecting(delay.div_ceil(1000)));
                gloo_timers::future::TimeoutFuture::new(delay).await;
            }
        });
    }

    /// One connection, until it closes. True when the session has ended.
    async fn follow(&self, tracker: &mut Tracker, token: &str, mine: u64, first: bool) -> bool {
        let Some(origin) = ws_origin() else {
            return false;
        };
        let protocols = Tracker::protocols(token);
        let Ok(socket) = WebSocket::open_with_protocols(&tracker.url(&origin), &protocols) else {
            return false;
        };
        let (mut write, mut read) = socket.split();
        if write
            .send(Message::Text(Tracker::subscribe_message()))
            .await
            .is_err()
        {
            return false;
        }
        while let Some(message) = read.next().await {
            if self.generation.get_value() != mine {
                return false;
            }
            let Ok(Message::Text(text)) = message else {
                break;
            };
            match tracker.on_message(&text) {
                Effect::Subscribed => {
                    tracker.connected();
                    self.connection.set(Connection::Live);
                    if !first {
                        // Whatever changed while offline: every view reloads once.
                        self.bump(&CHANNELS);
                    }
                }
                Effect::Resync => break,
                Effect::SessionEnded => return true,
                effect => self.apply(effect),
            }
        }
        false
    }
}

/// `ws://host:port` for a page served over http, `wss://…` over https.
fn ws_origin() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}", location.host().ok()?))
}
