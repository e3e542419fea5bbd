//! The audit log for auditors: filter it, follow one change from start to end, page through
//! it at any depth, export it and verify its chain.

mod filter;
mod paging;
mod table;
mod tools;

pub(crate) use filter::AuditFilter;

use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{Empty, ErrorNotice, Loading, PageTurn, Pager, page_count};
use chrono::Local;
use coordinator_api::audit::AuditAction;
use coordinator_api::audit::{AuditLog, AuditLogPage, AuditResult};
use coordinator_api::events::Channel;
use filter::{Field, FilterForm, PAGE_SIZES};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use paging::{Paging, display_order};
use table::AuditTable;
use tools::{ExportButtons, VerifyChain};

/// One answer of the log, with what it was asked for, so everything shown beside the rows
/// describes these rows even while the next answer is on its way.
#[derive(Clone)]
struct Loaded {
    filter: AuditFilter,
    newest_page: bool,
    /// The live revision of the audit channel when the page was asked for.
    revision: u64,
    result: Result<AuditLogPage, ApiError>,
}

/// What the results area shows; it changes far less often than the rows themselves.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Rows,
    NoRows,
    Failed(ApiError),
}

/// The figures of the pager.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    total: u64,
    page_size: u64,
    next_cursor: Option<String>,
    oldest_first: bool,
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let params = use_query_map();
    let filter = Memo::new(move |_| params.with(AuditFilter::from_query));
    let search = Memo::new(move |_| filter.with(AuditFilter::to_search));
    let paging = RwSignal::new(Paging::default());
    let cursor = Memo::new(move |_| search.with(|s| paging.with(|p| p.cursor(s))));
    let page = LocalResource::new(move || {
        let filter = filter.get();
        let cursor = cursor.get();
        let newest_page = cursor.is_none();
        // The newest page follows the log as it grows; a deeper page stays put so the rows
        // being read do not move, and offers the new ones instead (see `NewerNotice`).
        let revision = if newest_page {
            live.revision(Channel::Audit)
        } else {
            untrack(|| live.revision(Channel::Audit))
        };
        let api = ctx.api();
        async move {
            let result = api.audit_logs(&filter.to_query(cursor)).await;
            Loaded {
                filter,
                newest_page,
                revision,
                result,
            }
        }
    });
    let story = move || filter.with(|f| f.correlation_id.clone());

    view! {
        <h1>"Audit log"</h1>
        <section class="card audit-section" aria-labelledby="filter-heading">
            <h2 id="filter-heading">"Filter"</h2>
            <FilterBar filter paging/>
        </section>
        <section class="card audit-section" aria-labelledby="results-heading">
            {move || match story() {
                Some(id) => view! {
                    <h2 id="results-heading" data-test="story-heading">"The story of change "<code>{id}</code></h2>
                }.into_any(),
                None => view! { <h2 id="results-heading">"Entries"</h2> }.into_any(),
            }}
            <div class="toolbar">
                <ExportButtons filter/>
                <VerifyChain/>
            </div>
            <NewerNotice page paging/>
            <Transition fallback=Loading>
                <Results page paging search filter/>
            </Transition>
        </section>
    }
}

/// The form the reader edits; the address changes only when it is applied, so typing does
/// not send a request per keystroke.
#[component]
fn FilterBar(filter: Memo<AuditFilter>, paging: RwSignal<Paging>) -> impl IntoView {
    let navigate = use_navigate();
    let form = RwSignal::new(filter.with_untracked(|f| FilterForm::from_filter(f, &Local)));
    let problem = RwSignal::new(None::<String>);
    // Following a link (a correlation id, the browser's back button) changes the filter
    // without this form: show what is applied.
    Effect::new(move |_| {
        let applied = filter.with(|f| FilterForm::from_filter(f, &Local));
        form.set(applied);
        problem.set(None);
    });
    let apply = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let page_size = filter.with_untracked(|f| f.page_size);
            match form.with_untracked(|f| f.to_filter(&Local, page_size)) {
                Ok(applied) => {
                    problem.set(None);
                    paging.update(Paging::newest);
                    navigate(&applied.href(), Default::default());
                }
                Err(message) => problem.set(Some(message)),
            }
        }
    };
    let clear = move |_| {
        let cleared = AuditFilter {
            page_size: filter.with_untracked(|f| f.page_size),
            ..AuditFilter::default()
        };
        form.set(FilterForm::default());
        problem.set(None);
        paging.update(Paging::newest);
        navigate(&cleared.href(), Default::default());
    };
    view! {
        <form class="filters audit-filters" on:submit=apply data-test="audit-filters">
            <TextFilter form field=Field::Actor id="filter-actor" label="Actor"/>
            <TextFilter form field=Field::Action id="filter-action" label="Action"
                suggestions=AuditAction::ALL.iter().map(|a| a.as_str()).collect()/>
            <TextFilter form field=Field::Target id="filter-target" label="Target"/>
            <label for="filter-result">"Result"
                <select id="filter-result"
                    on:change=move |ev| form.update(|f| f.set(Field::Result, event_target_value(&ev)))>
                    <option value="" selected=move || form.with(|f| f.result.is_empty())>"Any"</option>
                    {AuditResult::ALL.iter().map(|result| {
                        let value = result.as_str();
                        view! {
                            <option value=value selected=move || form.with(|f| f.result == value)>{value}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <TextFilter form field=Field::Correlation id="filter-correlation" label="Correlation id"/>
            <TextFilter form field=Field::Start id="filter-start" label="From (local time)" kind="datetime-local"/>
            <TextFilter form field=Field::End id="filter-end" label="To (local time)" kind="datetime-local"/>
            <div class="buttons">
                <button type="submit" data-test="apply-filters">"Apply"</button>
                <button type="button" data-test="clear-filters" on:click=clear>"Clear"</button>
            </div>
        </form>
        {move || problem.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
    }
}

#[component]
fn TextFilter(
    form: RwSignal<FilterForm>,
    field: Field,
    id: &'static str,
    label: &'static str,
    /// The input's type: `text` or `datetime-local`.
    #[prop(default = "text")]
    kind: &'static str,
    /// Values the browser offers as the reader types, such as every audit action.
    #[prop(optional)]
    suggestions: Vec<&'static str>,
) -> impl IntoView {
    // Seconds are allowed in times, so a time with seconds from a shared link stays valid.
    let step = (kind == "datetime-local").then_some("1");
    let list = (!suggestions.is_empty()).then(|| format!("{id}-suggestions"));
    let options = suggestions
        .into_iter()
        .map(|value| view! { <option value=value></option> })
        .collect_view();
    view! {
        <label for=id>{label}
            <input id=id type=kind step=step autocomplete="off" spellcheck="false"
                list=list.clone()
                prop:value=move || form.with(|f| f.get(field).to_owned())
                on:input=move |ev| form.update(|f| f.set(field, event_target_value(&ev)))/>
            <datalist id=list>{options}</datalist>
        </label>
    }
}

/// Rendered inside the `Transition`: the memos below read the page there, so the first
/// load shows the fallback, and later loads keep the rows on screen until the next ones
/// arrive. The table is only rebuilt when what is shown changes kind (rows, none, error).
#[component]
fn Results(
    page: LocalResource<Loaded>,
    paging: RwSignal<Paging>,
    search: Memo<String>,
    filter: Memo<AuditFilter>,
) -> impl IntoView {
    let shown = Memo::new(move |_| {
        page.with(|loaded| {
            loaded.as_ref().map(|loaded| match &loaded.result {
                Err(error) => Shown::Failed(error.clone()),
                Ok(page) if page.logs.is_empty() => Shown::NoRows,
                Ok(_) => Shown::Rows,
            })
        })
    });
    let ordered = Memo::new(move |_| {
        page.with(|loaded| {
            let Some(Loaded {
                filter,
                newest_page,
                result: Ok(page),
                ..
            }) = loaded
            else {
                return (Vec::new(), false);
            };
            let whole = *newest_page && page.next_cursor.is_none();
            display_order(page.logs.clone(), filter.correlation_id.is_some(), whole)
        })
    });
    let logs: Memo<Vec<AuditLog>> = Memo::new(move |_| ordered.with(|(logs, _)| logs.clone()));
    let summary = Memo::new(move |_| {
        page.with(|loaded| {
            let loaded = loaded.as_ref()?;
            let page = loaded.result.as_ref().ok()?;
            Some(Summary {
                total: page.total,
                page_size: loaded.filter.page_size,
                next_cursor: page.next_cursor.clone(),
                oldest_first: ordered.with(|(_, oldest_first)| *oldest_first),
            })
        })
    });
    let empty_text = move || {
        if filter.with(AuditFilter::is_unfiltered) {
            "The audit log is empty."
        } else {
            "No entry matches this filter."
        }
    };
    view! {
        {move || shown.get().map(|shown| match shown {
            Shown::Failed(error) => view! { <ErrorNotice error/> }.into_any(),
            Shown::NoRows => view! { <Empty text=empty_text()/> }.into_any(),
            Shown::Rows => view! { <AuditTable logs/> }.into_any(),
        })}
        <AuditPager summary paging search filter/>
    }
}

#[component]
fn AuditPager(
    summary: Memo<Option<Summary>>,
    paging: RwSignal<Paging>,
    search: Memo<String>,
    filter: Memo<AuditFilter>,
) -> impl IntoView {
    let navigate = use_navigate();
    let number = move || search.with(|s| paging.with(|p| p.number(s)));
    let next_cursor = move || summary.with(|s| s.as_ref().and_then(|s| s.next_cursor.clone()));
    let position = move || {
        summary.with(|s| {
            s.as_ref().map(|s| {
                let order = if s.oldest_first {
                    "oldest first"
                } else {
                    "newest first"
                };
                format!(
                    "{} matching {} · page {} of {} · {order}",
                    s.total,
                    if s.total == 1 { "entry" } else { "entries" },
                    number(),
                    page_count(s.total, s.page_size),
                )
            })
        })
    };
    let resize = move |ev| {
        let Ok(page_size) = event_target_value(&ev).parse::<u64>() else {
            return;
        };
        let resized = AuditFilter {
            page_size,
            ..filter.get_untracked()
        };
        navigate(&resized.href(), Default::default());
    };
    let newer = PageTurn::button(
        "Previous page",
        Signal::derive(move || number() > 1),
        move || paging.update(Paging::previous),
    )
    .data_test("previous-page");
    let older = PageTurn::button(
        "Next page",
        Signal::derive(move || next_cursor().is_some()),
        move || {
            if let Some(cursor) = next_cursor() {
                search.with_untracked(|s| paging.update(|p| p.next(s, cursor)));
            }
        },
    )
    .data_test("next-page");
    let page_size = move || {
        view! {
            <label class="page-size" for="page-size">"Rows per page"
                <select id="page-size" on:change=resize.clone()>
                    {PAGE_SIZES.iter().map(|size| {
                        let size = *size;
                        view! {
                            <option value=size.to_string() selected=move || filter.with(|f| f.page_size == size)>{size.to_string()}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <Pager label="Pages of the audit log" newer older after=page_size>
            <span class="muted" role="status" data-test="audit-total">{position}</span>
        </Pager>
    }
}

/// On a deeper page, how many entries matching the filter arrived since it was loaded. The
/// count is asked for only after a live event, and only with a one-row page.
#[component]
fn NewerNotice(page: LocalResource<Loaded>, paging: RwSignal<Paging>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let newer = LocalResource::new(move || {
        let now = live.revision(Channel::Audit);
        let shown = page.with(|loaded| {
            let loaded = loaded.as_ref()?;
            let total = loaded.result.as_ref().ok()?.total;
            (!loaded.newest_page && loaded.revision != now).then(|| (loaded.filter.clone(), total))
        });
        let api = ctx.api();
        async move {
            let (filter, shown_total) = shown?;
            // A failed count is not worth an error beside rows that are fine: the notice
            // just waits for the next event.
            let latest = api.audit_logs(&filter.count_query()).await.ok()?;
            Some(latest.total.saturating_sub(shown_total)).filter(|n| *n > 0)
        }
    });
    view! {
        {move || newer.get().flatten().map(|count| view! {
            <p class="notice newer" role="status" data-test="newer-events">
                {if count == 1 { "1 new event".to_owned() } else { format!("{count} new events") }}
                " — "
                <button type="button" class="inline-link" on:click=move |_| paging.update(Paging::newest)>
                    "go to newest"
                </button>
            </p>
        })}
    }
}
