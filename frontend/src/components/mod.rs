//! Pieces every page uses: loading, error and empty states, times, badges, progress bars,
//! the decision form, downloads and charts.

mod chart;
mod decision;
mod download;
mod states;

pub use chart::LineChart;
pub use decision::DecisionForm;
pub use download::save_download;
pub use states::{Badge, Empty, ErrorNotice, Loading, ProgressBar, Time};
