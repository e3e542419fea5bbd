//! Orchestration that spans areas: what a claimed task means, what an expired lease does,
//! and the housekeeping that keeps the loop moving. Calls run one way: the workflow calls the
//! areas (assessments, executions, remediations), which call the work queue and the audit
//! log; the queue never calls back into the areas.

pub mod decisions;
pub mod queue;
pub mod rules;
pub mod runs;
