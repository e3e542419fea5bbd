//! Logging: human-readable lines on stderr, and JSON lines in `LOG_FILE_PATH` when set. Every
//! line logged while handling a request carries its request id (from the request span).

use crate::config::Config;
use anyhow::Context;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Keeps the file writer flushing until dropped at exit.
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

pub fn init(config: &Config) -> anyhow::Result<LogGuard> {
    let filter =
        || EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let (file_layer, guard) = match &config.log_file_path {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            std::fs::create_dir_all(dir)
                .with_context(|| format!("LOG_FILE_PATH: cannot create `{}`", dir.display()))?;
            let name = path
                .file_name()
                .context("LOG_FILE_PATH: must name a file")?;
            let appender = tracing_appender::rolling::RollingFileAppender::builder()
                .rotation(tracing_appender::rolling::Rotation::NEVER)
                .filename_prefix(name.to_string_lossy())
                .build(dir)
                .with_context(|| format!("LOG_FILE_PATH: cannot open `{}`", path.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(writer)
                .with_filter(filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init()
        .context("logging was already initialised")?;
    Ok(LogGuard(guard))
}
