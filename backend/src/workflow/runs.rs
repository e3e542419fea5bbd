//! Runs ending: a real run that succeeded is followed by a re-assessment of what it changed.

use crate::assessments::service as assessments;
use crate::audit::Origin;
use crate::auth::principal::ServerCaller;
use crate::error::ApiResult;
use crate::executions::service::{self as executions, FollowUp};
use crate::state::AppState;
use coordinator_api::ExecutionId;
use coordinator_api::executions::{CompleteRequest, Execution};

/// The installer reports the end of a run; after a real run that succeeded, the same unit
/// queues the re-assessment of the MCP servers its actions touched, requested by `workflow`.
pub async fn complete(
    state: &AppState,
    caller: &ServerCaller,
    origin: &Origin,
    id: ExecutionId,
    request: CompleteRequest,
) -> ApiResult<Execution> {
    let requester = Origin::system("workflow");
    executions::complete(
        state,
        caller,
        origin,
        id,
        request,
        async |uow, asked: FollowUp| {
            assessments::request_follow_up(
                uow,
                state,
                &requester,
                asked.assessment,
                asked.execution,
                asked.targets,
            )
            .await
        },
    )
    .await
}
