//! Pieces the assessment and remediation pages share: filters carried in the address, paging,
//! links to the audit story, and times that may not have happened yet.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::params::ParamsMap;

use crate::components::Time;

/// Rows per page of a list.
pub const PAGE_SIZE: u64 = 25;

/// The query string of the address, as the filters read it: the router's map on a page,
/// a plain list in tests (the router's map needs a browser to be built).
pub trait Query {
    fn value(&self, key: &str) -> Option<&str>;
}

impl Query for ParamsMap {
    fn value(&self, key: &str) -> Option<&str> {
        self.get_str(key)
    }
}

/// The last value of a key wins, as in the router's map.
impl<K: AsRef<str>, V: AsRef<str>> Query for [(K, V)] {
    fn value(&self, key: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Query for [(K, V); N] {
    fn value(&self, key: &str) -> Option<&str> {
        self.as_slice().value(key)
    }
}

/// A text filter from the address: trimmed, empty when absent.
pub fn query_text(query: &(impl Query + ?Sized), key: &str) -> String {
    query
        .value(key)
        .map(|value| value.trim().to_owned())
        .unwrap_or_default()
}

/// The first row of the page from the address; anything unreadable is the first page.
pub fn query_offset(query: &(impl Query + ?Sized)) -> u64 {
    query
        .value("offset")
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// The value of a filter for a request: an empty text means "any".
pub fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `path` with the non-empty `pairs` as its query string, so the address only names the
/// filters in use (and an unfiltered first page is the bare path).
pub fn href_with(path: &str, pairs: &[(&str, String)]) -> String {
    let used: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    match serde_urlencoded::to_string(&used) {
        Ok(encoded) if !encoded.is_empty() => format!("{path}?{encoded}"),
        _ => path.to_owned(),
    }
}

/// The offset as a query value; the first page needs none.
pub fn offset_param(offset: u64) -> String {
    if offset == 0 {
        String::new()
    } else {
        offset.to_string()
    }
}

/// The audit page, filtered to one correlation id: the whole story of one change.
pub fn audit_href(correlation_id: &str) -> String {
    href_with("/audit", &[("correlationId", correlation_id.to_owned())])
}

/// Where a page of a list sits in the whole: what it shows and where its neighbours start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: u64,
    pub shown: u64,
    pub total: u64,
}

impl Paging {
    /// `26–50 of 120`.
    pub fn label(&self) -> String {
        if self.shown == 0 {
            format!("None of {} shown here", self.total)
        } else {
            format!(
                "{}–{} of {}",
                self.offset + 1,
                self.offset + self.shown,
                self.total
            )
        }
    }

    /// The start of the newer page (lists are newest first), if this is not the first. From
    /// past the end (a stale link, a list that shrank) it leads to the last page there is.
    pub fn newer(&self) -> Option<u64> {
        let last_start = self.total.saturating_sub(1) / PAGE_SIZE * PAGE_SIZE;
        (self.offset > 0).then(|| self.offset.saturating_sub(PAGE_SIZE).min(last_start))
    }

    /// The start of the older page, if there are more rows after this one.
    pub fn older(&self) -> Option<u64> {
        let next = self.offset + PAGE_SIZE;
        (next < self.total).then_some(next)
    }

    /// `Page 2 of 5`, when there is more than one.
    pub fn page_of(&self) -> Option<String> {
        let pages = self.total.div_ceil(PAGE_SIZE);
        (pages > 1).then(|| format!("Page {} of {pages}", self.offset / PAGE_SIZE + 1))
    }
}

/// Links to the newer and older pages, and where this one sits (plain links, which the
/// router still handles: its `A` would mark them as the current page). `href` makes the address
/// of the page starting at an offset, so each page can be linked and opened in a new tab.
#[component]
pub fn Pager(paging: Paging, href: impl Fn(u64) -> String) -> impl IntoView {
    let newer = paging.newer().map(&href);
    let older = paging.older().map(&href);
    view! {
        <nav class="pager" aria-label="Pages" data-test="pager">
            {match newer {
                Some(link) => view! { <a href=link rel="prev">"← Newer"</a> }.into_any(),
                None => view! { <span class="muted" aria-disabled="true">"← Newer"</span> }.into_any(),
            }}
            <span data-test="page-range">{paging.label()}</span>
            {paging.page_of().map(|text| view! { <span class="muted">{text}</span> })}
            {match older {
                Some(link) => view! { <a href=link rel="next">"Older →"</a> }.into_any(),
                None => view! { <span class="muted" aria-disabled="true">"Older →"</span> }.into_any(),
            }}
        </nav>
    }
}

/// A moment that may not have come yet; `missing` says why there is none.
#[component]
pub fn MaybeTime(at: Option<DateTime<Utc>>, missing: &'static str) -> impl IntoView {
    match at {
        Some(at) => view! { <Time at/> }.into_any(),
        None => view! { <span class="muted">{missing}</span> }.into_any(),
    }
}

/// The correlation id, linked to its story in the audit log.
#[component]
pub fn CorrelationLink(correlation_id: String) -> impl IntoView {
    let href = audit_href(&correlation_id);
    view! {
        <A href=href attr:title="Every audited step of this change" attr:data-test="correlation-link">
            <code>{correlation_id}</code>
        </A>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_offsets_forgivingly() {
        let q = [("server", "  postgres "), ("offset", "50")];
        assert_eq!(query_text(&q, "server"), "postgres");
        assert_eq!(query_text(&q, "type"), "");
        assert_eq!(query_offset(&q), 50);
        assert_eq!(query_offset(&[("offset", "-3")]), 0);
        assert_eq!(query_offset(&[("offset", "many")]), 0);
        assert_eq!(query_offset(&[("offset", "25"), ("offset", "75")]), 75);
        assert_eq!(non_empty("  "), None);
        assert_eq!(non_empty(" x "), Some("x".to_owned()));
    }

    #[test]
    fn addresses_name_only_the_filters_in_use() {
        assert_eq!(
            href_with("/assessments", &[("status", String::new())]),
            "/assessments"
        );
        assert_eq!(
            href_with(
                "/assessments",
                &[
                    ("status", "completed".to_owned()),
                    ("type", "a b&c".to_owned())
                ]
            ),
            "/assessments?status=completed&type=a+b%26c"
        );
        assert_eq!(offset_param(0), "");
        assert_eq!(offset_param(25), "25");
        assert_eq!(audit_href("corr-1"), "/audit?correlationId=corr-1");
    }

    #[test]
    fn pages_know_their_neighbours() {
        let first = Paging {
            offset: 0,
            shown: 25,
            total: 60,
        };
        assert_eq!(first.label(), "1–25 of 60");
        assert_eq!(first.newer(), None);
        assert_eq!(first.older(), Some(25));
        assert_eq!(first.page_of().as_deref(), Some("Page 1 of 3"));

        let last = Paging {
            offset: 50,
            shown: 10,
            total: 60,
        };
        assert_eq!(last.label(), "51–60 of 60");
        assert_eq!(last.newer(), Some(25));
        assert_eq!(last.older(), None);
        assert_eq!(last.page_of().as_deref(), Some("Page 3 of 3"));

        let only = Paging {
            offset: 0,
            shown: 3,
            total: 3,
        };
        assert_eq!(only.page_of(), None);
        assert_eq!(only.older(), None);

        // A stale link past the end still leads back.
        let beyond = Paging {
            offset: 100,
            shown: 0,
            total: 3,
        };
        assert_eq!(beyond.label(), "None of 3 shown here");
        assert_eq!(beyond.newer(), Some(0));
    }
}
