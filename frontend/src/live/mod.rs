//! The dashboard's live connection: one WebSocket per tab, subscribed to every channel the
//! signed-in role may read.
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
/// Longer than several sampling intervals (15 s by default).
const SILENCE_LIMIT_MS: u32 = 90_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// Lost; trying again, waiting longer after each failure.
    Reconnecting,
    /// Signed out: nothing to follow.
    Off,
}

impl Connection {
    pub fn label(self) -> String {
        match self {
            Connection::Connecting => "Connecting…".to_owned(),
            Connection::Live => "Live".to_owned(),
            Connection::Reconnecting => "Offline, reconnecting…".to_owned(),
            Connection::Off => "Not connected".to_owned(),
        }
    }
}

#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    /// One counter per channel, so an event reloads only the views that show its channel.
    revisions: [RwSignal<u64>; CHANNELS.len()],
    pub sample: RwSignal<Option<(DateTime<Utc>, SystemMetrics)>>,
    pub feed: RwSignal<VecDeque<Activity>>,
    /// Bumped when an account is created or changed, and on every (re)subscription:
    /// there is no channel for accounts, so the Users page follows this instead.
    accounts: RwSignal<u64>,
    /// Bumped on every sign-in, so a connection of an earlier session stops.
    generation: StoredValue<u64>,
}

fn index(channel: Channel) -> usize {
    match channel {
        Channel::Assessments => 0,
        Channel::Remediations => 1,
        Channel::Approvals => 2,
        Channel::Executions => 3,
        Channel::Servers => 4,
        Channel::Audit => 5,
        Channel::Metrics => 6,
        Channel::Alerts => 7,
    }
}

impl Default for Live {
    fn default() -> Self {
        Self {
            connection: RwSignal::new(Connection::Off),
            revisions: std::array::from_fn(|_| RwSignal::new(0)),
            sample: RwSignal::new(None),
            feed: RwSignal::new(VecDeque::new()),
            accounts: RwSignal::new(0),
            generation: StoredValue::new(0),
        }
    }
}

impl Live {
    /// Read inside a reactive closure to reload whenever `channel` changes.
    pub fn revision(&self, channel: Channel) -> u64 {
        self.revisions[index(channel)].get()
    }

    /// Read inside a reactive closure to reload whenever an account changes.
    pub fn accounts_revision(&self) -> u64 {
        self.accounts.get()
    }

    /// Runs `fetch` again until no event arrived on `channels` while it ran, so what a view
    /// settles on is never older than the last event it was told about, however events and
    /// answers interleave.
    pub async fn settled<T, F>(&self, channels: &[Channel], fetch: impl Fn() -> F) -> T
    where
        F: std::future::Future<Output = T>,
    {
        let seen = |live: &Live| -> u64 {
            channels
                .iter()
                .map(|c| live.revisions[index(*c)].get_untracked())
                .sum()
        };
        loop {
            let before = seen(self);
            let value = fetch().await;
            if seen(self) == before {
                return value;
            }
        }
    }

    fn bump(&self, channels: &[Channel]) {
        for channel in channels {
            self.revisions[index(*channel)].update(|r| *r += 1);
        }
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::Changed(channels, activity, accounts) => {
                self.bump(&channels);
                if accounts {
                    self.accounts.update(|r| *r += 1);
                }
                if let Some(activity) = activity {
                    self.feed.update(|feed| {
                        feed.push_front(activity);
                        feed.truncate(FEED);
                    });
                }
            }
            Effect::Sample(ts, system) => self.sample.set(Some((ts, system))),
            Effect::Refused(message) => leptos::logging::error!("live events: {message}"),
            Effect::Resync | Effect::SessionEnded | Effect::Subscribed | Effect::Ignored => {}
        }
    }

    /// Ends the connection and forgets what it showed, so the next person signing in on
    /// this tab sees nothing of the previous one's feed.
    pub fn stop(&self) {
        self.generation.update_value(|g| *g += 1);
        self.connection.set(Connection::Off);
        self.feed.set(VecDeque::new());
        self.sample.set(None);
    }

    /// Follows events for the holder of `token` until `stop` or the token stops working;
    /// `on_session_ended` is told when the coordinator says the token is no longer valid, or
    /// when it expires while the connection is down (a refused handshake says nothing).
    pub fn start(
        &self,
        token: String,
        expires_at: DateTime<Utc>,
        channels: Vec<Channel>,
        on_session_ended: impl Fn() + 'static,
    ) {
        self.generation.update_value(|g| *g += 1);
        let mine = self.generation.get_value();
        let live = *self;
        leptos::task::spawn_local(async move {
            let mut tracker = Tracker::default();
            while live.generation.get_value() == mine {
                live.connection.set(Connection::Connecting);
                let ended = live.follow(&mut tracker, &token, &channels, mine).await;
                if live.generation.get_value() != mine {
                    return;
                }
                if ended || Utc::now() >= expires_at {
                    live.connection.set(Connection::Off);
                    on_session_ended();
                    return;
                }
                let delay = tracker.next_delay_ms();
                live.connection.set(Connection::Reconnecting);
                gloo_timers::future::TimeoutFuture::new(delay).await;
            }
        });
    }

    /// One connection, until it closes. True when the session has ended.
    async fn follow(
        &self,
        tracker: &mut Tracker,
        token: &str,
        channels: &[Channel],
        mine: u64,
    ) -> bool {
        let Some(origin) = ws_origin() else {
            return false;
        };
        let protocols = Tracker::protocols(token);
        let Ok(socket) = WebSocket::open_with_protocols(&tracker.url(&origin), &protocols) else {
            return false;
        };
        let (mut write, mut read) = socket.split();
        if write
            .send(Message::Text(Tracker::subscribe_message(channels)))
            .await
            .is_err()
        {
            return false;
        }
        loop {
            // The page cannot see the coordinator's pings, but machine samples arrive on
            // `metrics` every few seconds: a connection silent for this long is dead even
            // if the browser has not noticed, and is replaced.
            let silence = gloo_timers::future::TimeoutFuture::new(SILENCE_LIMIT_MS);
            let message = match futures_util::future::select(read.next(), silence).await {
                futures_util::future::Either::Left((Some(message), _)) => message,
                futures_util::future::Either::Left((None, _))
                | futures_util::future::Either::Right(_) => break,
            };
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
                    // Whatever changed before the subscription took hold (while offline, or
                    // between a view's first load and this moment): every view reloads once.
                    self.bump(&CHANNELS);
                    self.accounts.update(|r| *r += 1);
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
