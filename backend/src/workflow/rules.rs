//! The decision rules that span areas: who may decide or release what.

use crate::assessments::entity as assessment;
use crate::error::{ApiError, ApiResult};
use crate::remediations::entity as proposal;
use coordinator_api::UserId;
use coordinator_api::assessments::AssessmentStatus;
use coordinator_api::audit::ActorType;
use sea_orm::{ConnectionTrait, EntityTrait};

/// Nobody decides — or releases — a remediation they proposed or whose assessment they
/// requested; and nothing is decided or released on an assessment whose results were rejected.
pub async fn check_not_own(
    conn: &impl ConnectionTrait,
    proposal: &proposal::Model,
    person: UserId,
    verb: &str,
) -> ApiResult<()> {
    if proposal.proposed_by_type == ActorType::User && proposal.proposed_by_user_id == Some(person)
    {
        return Err(ApiError::forbidden(format!(
            "you proposed this remediation; someone else must {verb} it"
        )));
    }
    let subject = assessment::Entity::find_by_id(proposal.assessment_id)
        .one(conn)
        .await?;
    if let Some(subject) = subject {
        if subject.requested_by_type == ActorType::User
            && subject.requested_by_user_id == Some(person)
        {
            return Err(ApiError::forbidden(format!(
                "you requested the assessment behind this remediation; someone else must {verb} it"
            )));
        }
        if subject.status == AssessmentStatus::Rejected {
            return Err(ApiError::conflict(format!(
                "the results of assessment {} were rejected; nothing is decided or released on them",
                subject.id
            )));
        }
    }
    Ok(())
}
