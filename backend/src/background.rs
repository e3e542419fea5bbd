//! The loops an application runs beside its HTTP server (the audit sealer, the reaper, the
//! event relay, …), owned by that application so that stopping it stops them too: a
//! coordinator restarted in the same process must not leave the old one's loops working on
//! the same database.

use std::future::Future;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone, Default)]
pub struct Background {
    tracker: TaskTracker,
    token: CancellationToken,
}

impl Background {
    /// Runs `task` until it ends or the application shuts down, whichever comes first. The
    /// loops hold no state that must outlive an await point: a transaction dropped there
    /// rolls back, and the next start picks up what was pending.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let token = self.token.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                () = token.cancelled() => {}
                () = task => {}
            }
        });
    }

    /// Asks every loop to stop and waits until all of them have.
    pub async fn shutdown(&self) {
        self.tracker.close();
        self.token.cancel();
        self.tracker.wait().await;
    }

    /// How many loops are still running.
    pub fn running(&self) -> usize {
        self.tracker.len()
    }

    pub fn is_shut_down(&self) -> bool {
        self.token.is_cancelled() && self.tracker.is_closed() && self.tracker.is_empty()
    }
}
