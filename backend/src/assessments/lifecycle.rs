//! An assessment's life as pure transitions, readable and testable without a database:
//! `pending` → `running` → `completed` → `approved` or `rejected`, with a lost lease sending a
//! running assessment back to `pending`, or to `failed` once its attempts are spent.

use coordinator_api::approvals::Decision;
use coordinator_api::assessments::AssessmentStatus;

/// What happens to an assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A compliance server claimed it.
    Claimed { server: &'a str },
    /// The compliance server holding it reported its results.
    ResultsIn,
    /// An approver reviewed the results.
    Reviewed(Decision),
    /// The compliance server's lease ran out, after `attempts` of `max_attempts`.
    LeaseLost { attempts: i32, max_attempts: i32 },
}

/// Where the event leaves the assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub status: AssessmentStatus,
    pub detail: Option<String>,
}

/// The transition `event` makes from `current`, or why it cannot happen now.
pub fn next(current: AssessmentStatus, event: &Event<'_>) -> Result<Next, String> {
    use AssessmentStatus::*;
    let to = |status, detail: Option<String>| Ok(Next { status, detail });
    match (current, event) {
        (Pending, Event::Claimed { server }) => to(Running, Some(format!("assessing on {server}"))),
        (Running, Event::ResultsIn) => to(
            Completed,
            Some("results in; waiting for an approver's review".to_owned()),
        ),
        (Completed, Event::Reviewed(Decision::Approved)) => to(Approved, None),
        (Completed, Event::Reviewed(Decision::Rejected)) => to(Rejected, None),
        // A lease is only held on a running assessment; whatever the row says, the work is
        // taken back, so a queue item can never be stuck behind an unexpected status.
        (
            _,
            Event::LeaseLost {
                attempts,
                max_attempts,
            },
        ) if attempts >= max_attempts => to(
            Failed,
            Some(format!(
                "no compliance server finished it in {attempts} attempts"
            )),
        ),
        (_, Event::LeaseLost { .. }) => to(
            Pending,
            Some("queued again after a compliance server's lease ran out".to_owned()),
        ),
        (_, Event::Reviewed(_)) => Err(format!(
            "is {current}; only completed assessments are reviewed"
        )),
        _ => Err(format!("is {current}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssessmentStatus::*;

    fn status(current: AssessmentStatus, event: Event<'_>) -> Result<AssessmentStatus, String> {
        next(current, &event).map(|n| n.status)
    }

    #[test]
    fn an_assessment_goes_around_once() {
        assert_eq!(status(Pending, Event::Claimed { server: "c" }), Ok(Running));
        assert_eq!(status(Running, Event::ResultsIn), Ok(Completed));
        assert_eq!(
            status(Completed, Event::Reviewed(Decision::Approved)),
            Ok(Approved)
        );
        assert_eq!(
            status(Completed, Event::Reviewed(Decision::Rejected)),
            Ok(Rejected)
        );
    }

    #[test]
    fn a_lost_lease_requeues_until_the_attempts_are_spent() {
        let lost = |attempts| Event::LeaseLost {
            attempts,
            max_attempts: 3,
        };
        assert_eq!(status(Running, lost(1)), Ok(Pending));
        assert_eq!(status(Running, lost(3)), Ok(Failed));
    }

    #[test]
    fn nothing_is_reviewed_or_reported_out_of_turn() {
        for current in [Pending, Running, Approved, Rejected, Failed] {
            let refused = status(current, Event::Reviewed(Decision::Approved)).unwrap_err();
            assert!(refused.contains("only completed"), "{refused}");
        }
        for current in [Pending, Completed, Approved, Rejected, Failed] {
            assert!(status(current, Event::ResultsIn).is_err());
        }
        assert!(status(Running, Event::Claimed { server: "c" }).is_err());
    }
}
