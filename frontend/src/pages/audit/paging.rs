//! Keyset paging through the log, and the order rows are shown in.
//!
//! The API pages with a cursor (the last row seen), which stays fast however deep the reader
//! goes; an offset would make the database count past every earlier row. A cursor only leads
//! forward, so the cursors of earlier pages are kept to go back.

use coordinator_api::audit::AuditLog;

/// Where the reader is in the pages of one filter. The position belongs to the filter's
/// address it was reached under: a new filter starts on the newest page by itself, with no
/// separate reset to forget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paging {
    search: String,
    /// The cursors of the pages before this one; `None` is the newest page.
    earlier: Vec<Option<String>>,
    current: Option<String>,
}

impl Paging {
    fn is_for(&self, search: &str) -> bool {
        self.search == search
    }

    /// The cursor of the page to show under `search`; `None` for the newest page.
    pub fn cursor(&self, search: &str) -> Option<String> {
        if self.is_for(search) {
            self.current.clone()
        } else {
            None
        }
    }

    /// 1 for the newest page.
    pub fn number(&self, search: &str) -> usize {
        if self.is_for(search) {
            self.earlier.len() + 1
        } else {
            1
        }
    }

    pub fn next(&mut self, search: &str, cursor: String) {
        if !self.is_for(search) {
            *self = Self {
                search: search.to_owned(),
                ..Self::default()
            };
        }
        self.earlier.push(self.current.take());
        self.current = Some(cursor);
    }

    pub fn previous(&mut self) {
        if let Some(cursor) = self.earlier.pop() {
            self.current = cursor;
        }
    }

    pub fn newest(&mut self) {
        self.earlier.clear();
        self.current = None;
    }
}

/// Rows as the API gives them are newest first. The story of one change reads better from
/// its beginning, but only when this page holds the whole story: reversing one page of many
/// would mix a late part of the story with paging that runs the other way.
pub fn display_order(mut logs: Vec<AuditLog>, story: bool, whole: bool) -> (Vec<AuditLog>, bool) {
    let oldest_first = story && whole;
    if oldest_first {
        logs.reverse();
    }
    (logs, oldest_first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use coordinator_api::AuditLogId;
    use coordinator_api::audit::{ActorType, AuditResult};

    fn row(id: i64) -> AuditLog {
        AuditLog {
            id: AuditLogId(id),
            timestamp: Utc::now(),
            actor: "admin".into(),
            actor_type: ActorType::User,
            action: "user_created".into(),
            target: None,
            result: AuditResult::Success,
            details: serde_json::json!({}),
            request_id: None,
            client_address: None,
            correlation_id: Some("abc".into()),
        }
    }

    #[test]
    fn cursors_stack_forward_and_back() {
        let mut paging = Paging::default();
        assert_eq!((paging.cursor(""), paging.number("")), (None, 1));
        paging.next("?actor=a", "c2".into());
        paging.next("?actor=a", "c3".into());
        assert_eq!(paging.cursor("?actor=a").as_deref(), Some("c3"));
        assert_eq!(paging.number("?actor=a"), 3);
        paging.previous();
        assert_eq!(paging.cursor("?actor=a").as_deref(), Some("c2"));
        paging.previous();
        assert_eq!(
            (paging.cursor("?actor=a"), paging.number("?actor=a")),
            (None, 1)
        );
        paging.previous();
        assert_eq!(paging.number("?actor=a"), 1);
    }

    #[test]
    fn another_filter_starts_on_the_newest_page() {
        let mut paging = Paging::default();
        paging.next("?actor=a", "c2".into());
        assert_eq!(paging.cursor("?actor=b"), None);
        assert_eq!(paging.number("?actor=b"), 1);
        paging.next("?actor=b", "d2".into());
        assert_eq!(paging.number("?actor=b"), 2);
        paging.previous();
        assert_eq!(paging.cursor("?actor=b"), None);
        paging.next("?actor=b", "d2".into());
        paging.newest();
        assert_eq!(paging.number("?actor=b"), 1);
    }

    #[test]
    fn a_whole_story_reads_oldest_first() {
        let ids = |logs: &[AuditLog]| logs.iter().map(|l| l.id.0).collect::<Vec<_>>();
        let (logs, oldest_first) = display_order(vec![row(3), row(2), row(1)], true, true);
        assert_eq!((ids(&logs), oldest_first), (vec![1, 2, 3], true));
        let (logs, oldest_first) = display_order(vec![row(3), row(2)], true, false);
        assert_eq!((ids(&logs), oldest_first), (vec![3, 2], false));
        let (logs, oldest_first) = display_order(vec![row(3), row(2)], false, true);
        assert_eq!((ids(&logs), oldest_first), (vec![3, 2], false));
    }
}
