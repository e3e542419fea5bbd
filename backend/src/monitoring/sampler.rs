//! Samples the machine at `METRICS_INTERVAL` and forgets samples older than
//! `METRICS_RETENTION_DAYS`.

use super::entity as sample;
use crate::state::AppState;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use std::time::{Duration, Instant};
use sysinfo::{Disks, Networks, System};

/// Takes samples; the first CPU reading needs a previous one to compare with.
pub struct Sampler {
    system: System,
    disks: Disks,
    networks: Networks,
    last: Instant,
}

impl Sampler {
    /// Fails where the platform offers no system information.
    pub fn new() -> Result<Self, sysinfo::Error> {
        let mut system = System::new()?;
        system.refresh_cpu_usage();
        Ok(Self {
            system,
            disks: Disks::new_with_refreshed_list()?,
            networks: Networks::new_with_refreshed_list()?,
            last: Instant::now(),
        })
    }

    pub fn sample(&mut self) -> sample::ActiveModel {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let elapsed = self.last.elapsed().as_secs_f64().max(0.001);
        self.last = Instant::now();
        let (disk_total, disk_free) = self.disks.iter().fold((0u64, 0u64), |(t, f), d| {
            (t + d.total_space(), f + d.available_space())
        });
        let (incoming, outgoing) = self.networks.iter().fold((0u64, 0u64), |(i, o), (_, n)| {
            (i + n.received(), o + n.transmitted())
        });
        sample::ActiveModel {
            timestamp: Set(Utc::now()),
            cpu_usage: Set(f64::from(self.system.global_cpu_usage())),
            cpu_cores: Set(self.system.cpus().len() as i32),
            memory_total: Set(self.system.total_memory() as i64),
            memory_used: Set(self.system.used_memory() as i64),
            disk_total: Set(disk_total as i64),
            disk_used: Set(disk_total.saturating_sub(disk_free) as i64),
            network_incoming: Set(incoming as f64 / elapsed),
            network_outgoing: Set(outgoing as f64 / elapsed),
            ..Default::default()
        }
    }
}

/// Records one sample now and publishes it on this process's `metrics` channel. Samples
/// are measurements, not actions: they are not audited.
pub async fn record_sample(
    state: &AppState,
    sampler: &mut Sampler,
) -> Result<sample::Model, sea_orm::DbErr> {
    let row = sampler.sample().insert(&state.db).await?;
    state
        .events
        .publish_sample(row.timestamp, super::service::to_wire(&row));
    Ok(row)
}

pub async fn prune(state: &AppState) -> Result<u64, sea_orm::DbErr> {
    let cutoff =
        Utc::now() - chrono::Duration::days(i64::from(state.config.metrics_retention_days));
    Ok(sample::Entity::delete_many()
        .filter(sample::Column::Timestamp.lt(cutoff))
        .exec(&state.db)
        .await?
        .rows_affected)
}

pub fn spawn(state: AppState) {
    state.background.clone().spawn(async move {
        let mut sampler = match Sampler::new() {
            Ok(sampler) => sampler,
            Err(err) => {
                tracing::warn!(error = %err, "no system information here; metrics are not sampled");
                return;
            }
        };
        let mut tick = tokio::time::interval(state.config.metrics_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune = Instant::now() - Duration::from_secs(3600);
        loop {
            tick.tick().await;
            if let Err(err) = record_sample(&state, &mut sampler).await {
                tracing::warn!(error = %err, "recording a metrics sample failed");
            }
            if last_prune.elapsed() >= Duration::from_secs(3600) {
                last_prune = Instant::now();
                match prune(&state).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(pruned = n, "forgot old metrics samples"),
                    Err(err) => tracing::warn!(error = %err, "pruning metrics samples failed"),
                }
            }
        }
    });
}
