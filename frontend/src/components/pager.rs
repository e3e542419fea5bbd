//! The pager under a list: a way to the newer page, where this page sits, a way to the older
//! page. Lists page in two ways (by offset, or by the audit log's cursor), but read the same.

use leptos::prelude::*;

/// Pages needed for `total` rows of `page_size`; at least one, which may be empty.
pub fn page_count(total: u64, page_size: u64) -> u64 {
    total.div_ceil(page_size.max(1)).max(1)
}

/// How one side of the pager turns the page.
enum Turn {
    /// The address of that page (so it can be opened in a new tab), or none at the end. A
    /// plain link, which the router still handles: its `A` would mark it as the current page.
    Link(Option<String>),
    /// A button, for pages that have no address of their own.
    Button {
        enabled: Signal<bool>,
        on_turn: Callback<()>,
    },
}

/// One side of the pager: its words, its `data-test` and how it turns the page.
pub struct PageTurn {
    text: &'static str,
    data_test: Option<&'static str>,
    turn: Turn,
}

impl PageTurn {
    pub fn link(text: &'static str, href: Option<String>) -> Self {
        Self {
            text,
            data_test: None,
            turn: Turn::Link(href),
        }
    }

    pub fn button(
        text: &'static str,
        enabled: impl Into<Signal<bool>>,
        on_turn: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self {
            text,
            data_test: None,
            turn: Turn::Button {
                enabled: enabled.into(),
                on_turn: Callback::new(move |()| on_turn()),
            },
        }
    }

    pub fn data_test(self, data_test: &'static str) -> Self {
        Self {
            data_test: Some(data_test),
            ..self
        }
    }

    fn view(self, rel: &'static str) -> AnyView {
        let PageTurn {
            text,
            data_test,
            turn,
        } = self;
        match turn {
            Turn::Link(Some(href)) => {
                view! { <a href=href rel=rel data-test=data_test>{text}</a> }.into_any()
            }
            Turn::Link(None) => view! {
                <span class="muted" aria-disabled="true" data-test=data_test>{text}</span>
            }
            .into_any(),
            Turn::Button { enabled, on_turn } => view! {
                <button type="button" data-test=data_test
                    disabled=move || !enabled.get()
                    on:click=move |_| on_turn.run(())>{text}</button>
            }
            .into_any(),
        }
    }
}

/// `children` say where this page sits, between the two turns; `after` holds further
/// controls of the list (the page size), after them.
#[component]
pub fn Pager(
    /// What the pages are of, for screen readers.
    #[prop(into)]
    label: String,
    #[prop(optional)] data_test: Option<&'static str>,
    newer: PageTurn,
    older: PageTurn,
    children: Children,
    #[prop(optional, into)] after: Option<ViewFn>,
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label=label data-test=data_test>
            {newer.view("prev")}
            {children()}
            {older.view("next")}
            {after.map(|after| after.run())}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::page_count;

    #[test]
    fn page_counts_round_up() {
        assert_eq!(page_count(0, 50), 1);
        assert_eq!(page_count(50, 50), 1);
        assert_eq!(page_count(51, 50), 2);
        assert_eq!(page_count(1000, 200), 5);
        assert_eq!(page_count(60, 25), 3);
        assert_eq!(page_count(3, 0), 3);
    }
}
