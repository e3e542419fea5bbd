//! The machine's figures over the chosen range, moving with the live samples.

use super::series::{Figure, Range, Series};
use crate::api::{Api, ApiError, Transport};
use crate::app::Ctx;
use crate::components::{Empty, ErrorNotice, LineChart, Loading};
use crate::format;
use chrono::Utc;
use coordinator_api::events::Channel;
use coordinator_api::monitoring::{MetricsHistoryQuery, MetricsSample};
use leptos::prelude::*;

/// The API's largest page of samples.
const HISTORY_PAGE: u64 = 5000;
/// Pages asked for at most: a day at a sample every 15 seconds from a few replicas.
const HISTORY_PAGES: usize = 8;

/// Every stored sample of `range`, oldest first. The API answers at most one page from the
/// start of the range, so a day (5760 samples at the default interval, more with several
/// replicas) takes more than one request.
async fn history<T: Transport>(api: &Api<T>, range: Range) -> Result<Vec<MetricsSample>, ApiError> {
    let mut since = Utc::now() - chrono::Duration::seconds(range.seconds());
    let mut samples = Vec::new();
    for _ in 0..HISTORY_PAGES {
        let query = MetricsHistoryQuery {
            since: Some(since),
            until: None,
            limit: Some(HISTORY_PAGE),
        };
        let page = api.metrics_history(&query).await?.samples;
        let full = page.len() as u64 == HISTORY_PAGE;
        // The next page starts at the last sample, inclusive; `Series` drops the repeat.
        if let Some(last) = page.last() {
            since = last.timestamp;
        }
        samples.extend(page);
        if !full {
            break;
        }
    }
    Ok(samples)
}

#[component]
pub fn HistoryCharts() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let range = RwSignal::new(Range::default());
    let series = RwSignal::new(Series::new(Range::default()));
    let stored = LocalResource::new(move || {
        // Samples are not events: none arrive on `metrics` while offline. The channel's
        // revision moves only when the connection comes back, and then the stored history
        // fills the gap.
        ctx.live.revision(Channel::Metrics);
        let range = range.get();
        let api = ctx.api();
        async move { (range, history(&api, range).await) }
    });
    // The stored samples replace the series; live samples are added to whatever is shown,
    // including the one that may have arrived while the history was on its way.
    Effect::new(move |_| {
        stored.with(|answer| {
            if let Some((range, Ok(samples))) = answer {
                let mut fresh = Series::from_samples(*range, samples);
                if let Some((at, system)) = live.sample.get_untracked() {
                    fresh.push(at, &system);
                }
                series.set(fresh);
            }
        });
    });
    Effect::new(move |_| {
        if let Some((at, system)) = live.sample.get() {
            series.update(|s| s.push(at, &system));
        }
    });
    let points = move |figure: Figure| Signal::derive(move || series.with(|s| s.points(figure)));
    let empty_text = move || {
        format!(
            "No machine sample was taken in {}.",
            series.with(|s| s.range().words())
        )
    };
    view! {
        <div class="range" role="group" aria-label="Time range of the charts">
            {Range::ALL.iter().map(|choice| {
                let choice = *choice;
                view! {
                    <button type="button" data-test=choice.test_id()
                        aria-pressed=move || (range.get() == choice).to_string()
                        on:click=move |_| range.set(choice)>{choice.label()}</button>
                }
            }).collect_view()}
        </div>
        <Transition fallback=Loading>
            {move || stored.with(|answer| answer.as_ref().and_then(|(_, result)| result.as_ref().err().cloned()))
                .map(|error| view! { <ErrorNotice error/> })}
            <Show when=move || !series.with(Series::is_empty) fallback=move || view! { <Empty text=empty_text()/> }>
                <div class="charts" data-test="charts">
                    <LineChart title="CPU" points=points(Figure::Cpu) max=100.0 format=format::percent/>
                    <LineChart title="Memory" points=points(Figure::Memory) max=100.0 format=format::percent/>
                    <LineChart title="Disk" points=points(Figure::Disk) max=100.0 format=format::percent/>
                    <LineChart title="Network in + out" points=points(Figure::Network) format=format::rate/>
                </div>
            </Show>
        </Transition>
    }
}
