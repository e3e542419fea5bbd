//! Roles, server kinds and the one permission table.
//!
//! This table is the single source of truth: the backend enforces it on every route,
//! `GET /auth/permissions` reports it, the OpenAPI document's security scopes name it and the
//! authorization-matrix test checks the running service against it. The dashboard reads it to
//! hide what a role may not do.

use crate::wire_enum;

wire_enum! {
    /// What a person may do, from most to least powerful.
    pub enum Role {
        /// Everything, including users, servers and enrollment keys.
        Admin = "admin",
        /// Decides assessments and remediations; can also do what a user does.
        Approver = "approver",
        /// Requests assessments, proposes remediations and views results.
        User = "user",
        /// Reads the audit log, metrics, alerts and the server registry; changes nothing.
        /// Assessment results and remediations are for users and above.
        Viewer = "viewer",
    }
}

wire_enum! {
    /// The two kinds of MCP server that register with the coordinator.
    pub enum ServerKind {
        /// Applies approved remediations (installs, removes, updates MCP servers).
        Installer = "installer",
        /// Runs assessments and proposes remediations.
        Compliance = "compliance",
    }
}

/// Declares `Permission` and, for each of its variants, a marker type of the same name in
/// `marker`, so a route states what it needs in its signature from the same list.
macro_rules! permission_table {
    ( $( $(#[$vdoc:meta])* $variant:ident = $text:literal ),+ $(,)? ) => {
        wire_enum! {
            /// One thing a caller may be allowed to do.
            pub enum Permission { $( $(#[$vdoc])* $variant = $text ),+ }
        }

        /// One type per permission, for extractors such as the backend's `Authorized<P>`.
        pub mod marker {
            /// A permission named at the type level.
            pub trait Required {
                const PERMISSION: super::Permission;
            }
            $(
                $(#[$vdoc])*
                pub struct $variant;
                impl Required for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )+
        }
    };
}

permission_table! {
        /// Read the server registry.
        ViewServers = "view_servers",
        /// Create enrollment keys, register and delete servers.
        ManageServers = "manage_servers",
        /// Create, list and change users.
        ManageUsers = "manage_users",
        /// Read, export and verify the audit log.
        ViewAudit = "view_audit",
        /// Read system metrics.
        ViewMetrics = "view_metrics",
        /// Read assessments and their results.
        ViewAssessments = "view_assessments",
        /// Request a compliance assessment.
        RequestAssessment = "request_assessment",
        /// Approve or reject the results of an assessment.
        ReviewAssessment = "review_assessment",
        /// Read remediation proposals and executions.
        ViewRemediations = "view_remediations",
        /// Propose a remediation.
        ProposeRemediation = "propose_remediation",
        /// Approve or reject a remediation proposal.
        ApproveRemediation = "approve_remediation",
        /// Release an approved remediation to the installers.
        ExecuteRemediation = "execute_remediation",
        /// Obtain a single-use approval token.
        IssueApprovalToken = "issue_approval_token",
        /// Create and delete alert rules.
        ManageAlerts = "manage_alerts",
        /// Report the caller's own health (servers only).
        ReportHealth = "report_health",
        /// Claim work from the queue and report on it (servers only).
        ClaimWork = "claim_work",
}

use Permission::*;

const VIEWER: &[Permission] = &[ViewServers, ViewAudit, ViewMetrics];

const USER: &[Permission] = &[
    ViewServers,
    ViewAudit,
    ViewMetrics,
    ViewAssessments,
    ViewRemediations,
    RequestAssessment,
    ProposeRemediation,
];

const APPROVER: &[Permission] = &[
    ViewServers,
    ViewAudit,
    ViewMetrics,
    ViewAssessments,
    ViewRemediations,
    RequestAssessment,
    ProposeRemediation,
    ReviewAssessment,
    ApproveRemediation,
    ExecuteRemediation,
    IssueApprovalToken,
];

const ADMIN: &[Permission] = &[
    ViewServers,
    ManageServers,
    ManageUsers,
    ViewAudit,
    ViewMetrics,
    ViewAssessments,
    RequestAssessment,
    ReviewAssessment,
    ViewRemediations,
    ProposeRemediation,
    ApproveRemediation,
    ExecuteRemediation,
    IssueApprovalToken,
    ManageAlerts,
];

const COMPLIANCE_SERVER: &[Permission] = &[
    ReportHealth,
    ClaimWork,
    RequestAssessment,
    ProposeRemediation,
];

/// An installer asks for the assessment of what it is about to change, as the specification
/// has it do; deciding and releasing stay with people.
const INSTALLER_SERVER: &[Permission] = &[ReportHealth, ClaimWork, RequestAssessment];

impl Role {
    /// Everything a person with this role may do.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Admin => ADMIN,
            Role::Approver => APPROVER,
            Role::User => USER,
            Role::Viewer => VIEWER,
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl ServerKind {
    /// Everything a registered server of this kind may do with its API key.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            ServerKind::Compliance => COMPLIANCE_SERVER,
            ServerKind::Installer => INSTALLER_SERVER,
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_every_permission_a_person_can_hold() {
        for role in Role::ALL {
            for permission in role.permissions() {
                assert!(Role::Admin.can(*permission), "admin lacks {permission}");
            }
        }
    }

    #[test]
    fn roles_are_ordered_by_power() {
        for pair in Role::ALL.windows(2) {
            for permission in pair[1].permissions() {
                assert!(
                    pair[0].can(*permission),
                    "{} lacks {permission} of {}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }

    #[test]
    fn only_servers_report_health_or_claim_work() {
        for role in Role::ALL {
            assert!(!role.can(ReportHealth) && !role.can(ClaimWork));
        }
    }

    #[test]
    fn names_round_trip() {
        for permission in Permission::ALL {
            assert_eq!(permission.as_str().parse::<Permission>(), Ok(*permission));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
