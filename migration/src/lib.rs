//! Database migrations. Each file is one step, named `mYYYYMMDD_HHMMSS_what`; steps are never
//! edited once released, only followed by new ones.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_identity;
mod m20261121_000002_servers;
mod m20261121_000003_audit_log;
mod m20261121_000004_workflow;
mod m20261121_000005_monitoring;
mod m20261121_000006_alerts;
mod m20261121_000007_audit_retention;
mod m20261121_000008_login_failures;
mod m20261204_000009_machines;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_identity::Migration),
            Box::new(m20261121_000002_servers::Migration),
            Box::new(m20261121_000003_audit_log::Migration),
            Box::new(m20261121_000004_workflow::Migration),
            Box::new(m20261121_000005_monitoring::Migration),
            Box::new(m20261121_000006_alerts::Migration),
            Box::new(m20261121_000007_audit_retention::Migration),
            Box::new(m20261121_000008_login_failures::Migration),
            Box::new(m20261204_000009_machines::Migration),
        ]
    }
}
