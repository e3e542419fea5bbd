use leptos::prelude::*;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;

/// Polyline points for `values` scaled into the chart, newest on the right; `max` is the top
/// of the scale (100 for percentages), or the largest value when `None`.
pub fn polyline(values: &[f64], max: Option<f64>) -> String {
    if values.is_empty() {
        return String::new();
    }
    let top = max
        .unwrap_or_else(|| values.iter().copied().fold(0.0, f64::max))
        .max(f64::EPSILON);
    let step = if values.len() > 1 {
        WIDTH / (values.len() - 1) as f64
    } else {
        0.0
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = HEIGHT - (v.clamp(0.0, top) / top) * HEIGHT;
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line chart of one series. The newest value is written out beside the title, so the
/// chart is never the only way to read the number.
#[component]
pub fn LineChart(
    #[prop(into)] title: String,
    #[prop(into)] values: Signal<Vec<f64>>,
    #[prop(optional)] max: Option<f64>,
    /// Formats the newest value.
    format: fn(f64) -> String,
) -> impl IntoView {
    let latest = move || {
        values.with(|v| {
            v.last()
                .map(|v| format(*v))
                .unwrap_or_else(|| "–".to_owned())
        })
    };
    let points = move || values.with(|v| polyline(v, max));
    let label = title.clone();
    view! {
        <figure class="chart">
            <figcaption><span>{title}</span><strong>{latest}</strong></figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=label>
                <polyline points=points fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke"/>
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::polyline;

    #[test]
    fn points_fill_the_width_and_scale_to_the_top() {
        assert_eq!(polyline(&[], Some(100.0)), "");
        assert_eq!(
            polyline(&[0.0, 50.0, 100.0], Some(100.0)),
            "0.0,160.0 300.0,80.0 600.0,0.0"
        );
        assert_eq!(polyline(&[5.0, 10.0], None), "0.0,80.0 600.0,0.0");
        assert_eq!(polyline(&[150.0], Some(100.0)), "0.0,0.0");
    }
}
