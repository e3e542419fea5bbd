//! Pieces every page uses: loading, error and empty states, times, badges, progress bars,
//! the machine a piece of work is about, the decision form, confirmations, pagers, links to a
//! change's story, downloads, charts and the guard that shows a page only to the roles that
//! may read it.

mod bad_address;
mod chart;
mod confirm;
mod correlation;
mod decision;
mod download;
mod machine;
mod pager;
mod permitted;
mod states;

pub use bad_address::BadAddress;
pub use chart::{ChartPoint, LineChart};
pub use confirm::Confirmation;
pub use correlation::CorrelationLink;
pub use decision::DecisionForm;
pub use download::{DownloadError, save_download};
pub use machine::{MachineBanner, MachineSelect, MachineTag};
pub use pager::{PageTurn, Pager, page_count};
pub use permitted::Permitted;
pub use states::{Badge, Empty, ErrorNotice, Loading, MaybeTime, ProgressBar, Time};
