use leptos::prelude::*;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;

/// One point of a chart: where it lies in the time span shown (0 = the left edge, 1 = now),
/// its value, and whether samples are missing just before it (the line breaks there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    pub x: f64,
    pub y: f64,
    pub after_gap: bool,
}

/// An SVG path through `points` scaled into the chart; `max` is the top of the scale (100
/// for percentages), or the largest value when `None`. A gap starts a new stroke, so time
/// without samples shows as a break, not as a line.
pub fn path(points: &[ChartPoint], max: Option<f64>) -> String {
    let top = max
        .unwrap_or_else(|| points.iter().map(|p| p.y).fold(0.0, f64::max))
        .max(f64::EPSILON);
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let command = if i == 0 || p.after_gap { 'M' } else { 'L' };
            let x = p.x.clamp(0.0, 1.0) * WIDTH;
            let y = HEIGHT - (p.y.clamp(0.0, top) / top) * HEIGHT;
            format!("{command}{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line chart of one series. The newest value is written out beside the title, so the
/// chart is never the only way to read the number.
#[component]
pub fn LineChart(
    #[prop(into)] title: String,
    #[prop(into)] points: Signal<Vec<ChartPoint>>,
    #[prop(optional)] max: Option<f64>,
    /// Formats the newest value.
    format: fn(f64) -> String,
) -> impl IntoView {
    let latest = move || {
        points.with(|p| {
            p.last()
                .map(|p| format(p.y))
                .unwrap_or_else(|| "–".to_owned())
        })
    };
    let stroke = move || points.with(|p| path(p, max));
    let label = title.clone();
    view! {
        <figure class="chart">
            <figcaption><span>{title}</span><strong>{latest}</strong></figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=label>
                <path d=stroke fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke"/>
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::{ChartPoint, path};

    fn point(x: f64, y: f64, after_gap: bool) -> ChartPoint {
        ChartPoint { x, y, after_gap }
    }

    #[test]
    fn points_sit_at_their_time_and_gaps_break_the_line() {
        assert_eq!(path(&[], Some(100.0)), "");
        assert_eq!(
            path(
                &[
                    point(0.0, 0.0, false),
                    point(0.5, 50.0, false),
                    point(1.0, 100.0, true)
                ],
                Some(100.0)
            ),
            "M0.0,160.0 L300.0,80.0 M600.0,0.0"
        );
        assert_eq!(
            path(&[point(0.25, 5.0, false), point(1.0, 10.0, false)], None),
            "M150.0,80.0 L600.0,0.0"
        );
        assert_eq!(path(&[point(1.5, 150.0, false)], Some(100.0)), "M600.0,0.0");
    }
}
