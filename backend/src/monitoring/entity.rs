//! `system_metrics`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "system_metrics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub timestamp: DateTimeUtc,
    pub cpu_usage: f64,
    pub cpu_cores: i32,
    pub memory_total: i64,
    pub memory_used: i64,
    pub disk_total: i64,
    pub disk_used: i64,
    pub network_incoming: f64,
    pub network_outgoing: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
