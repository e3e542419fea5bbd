//! Paging by offset, for the assessment and remediation lists: each page has an address
//! (`?offset=25`), so it can be linked and opened in a new tab. (The audit log pages by
//! cursor instead; see `audit::paging`.)

use crate::address::{Query, query_choice};
use crate::components::{Empty, PageTurn, Pager, page_count};
use leptos::prelude::*;

/// Rows per page of a list.
pub const PAGE_SIZE: u64 = 25;

/// The first row of the page from the address; anything unreadable is the first page.
pub fn query_offset(query: &(impl Query + ?Sized)) -> u64 {
    query_choice(query, "offset").unwrap_or(0)
}

/// The offset as a query value; the first page needs none.
pub fn offset_param(offset: u64) -> String {
    if offset == 0 {
        String::new()
    } else {
        offset.to_string()
    }
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
        let last_start = (self.pages() - 1) * PAGE_SIZE;
        (self.offset > 0).then(|| self.offset.saturating_sub(PAGE_SIZE).min(last_start))
    }

    /// The start of the older page, if there are more rows after this one.
    pub fn older(&self) -> Option<u64> {
        let next = self.offset + PAGE_SIZE;
        (next < self.total).then_some(next)
    }

    /// `Page 2 of 5`, when there is more than one.
    pub fn page_of(&self) -> Option<String> {
        let pages = self.pages();
        (pages > 1).then(|| format!("Page {} of {pages}", self.offset / PAGE_SIZE + 1))
    }

    fn pages(&self) -> u64 {
        page_count(self.total, PAGE_SIZE)
    }
}

/// The pager of an offset-paged list; `href` makes the address of the page starting at an
/// offset.
#[component]
pub fn OffsetPager(paging: Paging, href: impl Fn(u64) -> String) -> impl IntoView {
    let newer = PageTurn::link("← Newer", paging.newer().map(&href));
    let older = PageTurn::link("Older →", paging.older().map(&href));
    view! {
        <Pager label="Pages" data_test="pager" newer older>
            <span data-test="page-range">{paging.label()}</span>
            {paging.page_of().map(|text| view! { <span class="muted">{text}</span> })}
        </Pager>
    }
}

/// What an empty offset-paged list says: nothing at all yet, nothing under these filters, or
/// a page past the end (a stale link).
#[derive(Debug, Clone, Copy)]
pub struct EmptyTexts {
    pub nothing_yet: &'static str,
    pub no_match: &'static str,
}

/// A page of an offset-paged list: its rows (`children`) and pager, or the empty state that
/// fits.
#[component]
pub fn OffsetListing(
    paging: Paging,
    filtered: bool,
    empty: EmptyTexts,
    href: impl Fn(u64) -> String + 'static,
    children: Children,
) -> impl IntoView {
    if paging.total == 0 {
        let text = if filtered {
            empty.no_match
        } else {
            empty.nothing_yet
        };
        return view! { <Empty text/> }.into_any();
    }
    if paging.shown == 0 {
        return view! {
            <Empty text="This page is past the end of the list."/>
            <OffsetPager paging href/>
        }
        .into_any();
    }
    view! {
        {children()}
        <OffsetPager paging href/>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_offsets_forgivingly() {
        let q = [("server", "  postgres "), ("offset", "50")];
        assert_eq!(query_offset(&q), 50);
        assert_eq!(query_offset(&[("offset", "-3")]), 0);
        assert_eq!(query_offset(&[("offset", "many")]), 0);
        assert_eq!(query_offset(&[("offset", "25"), ("offset", "75")]), 75);
        assert_eq!(offset_param(0), "");
        assert_eq!(offset_param(25), "25");
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
