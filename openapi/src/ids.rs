//! Typed identifiers. A `UserId` can never be passed where an `AuditLogId` is expected.
//!
//! The coordinator writes every id as a JSON number. Wherever it reads one (path segments,
//! query parameters, JSON bodies) it also takes a string of digits and the prefixed form its
//! specification uses in examples, such as `assessment-7` or `exec-7`: clients that copy
//! those examples work, and a prefix of the wrong kind is refused with a message that says
//! which forms are accepted.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// Why a value read from a request is not an id of the kind expected. Its message names the
/// forms that are accepted, so a client learns what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    what: &'static str,
    prefix: &'static str,
    problem: String,
    /// A further accepted form, for references that are more than an id.
    or: Option<&'static str>,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, prefix) = (self.what, self.prefix);
        write!(
            f,
            "{what}: {}; expected a number or `{prefix}-<n>`",
            self.problem
        )?;
        if let Some(or) = self.or {
            write!(f, " or {or}")?;
        }
        write!(f, " (such as 7, \"7\" or \"{prefix}-7\")")
    }
}

impl std::error::Error for InvalidId {}

/// Long input is cut in messages: it is echoed to say what was wrong, not to be stored.
fn shown(raw: &str) -> String {
    const MAX: usize = 32;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("`{}…`", &raw[..cut]),
        None => format!("`{raw}`"),
    }
}

/// The number in `7` or `<prefix>-7`. Ids are never negative.
fn parse_id(raw: &str, what: &'static str, prefix: &'static str) -> Result<i64, InvalidId> {
    let invalid = |problem: String| InvalidId {
        what,
        prefix,
        problem,
        or: None,
    };
    let digits = raw
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let problem = match raw.strip_prefix('-') {
            Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{} is negative", shown(raw))
            }
            _ => format!("{} is not one", shown(raw)),
        };
        return Err(invalid(problem));
    }
    digits
        .parse()
        .map_err(|_| invalid(format!("{} is too large", shown(raw))))
}

fn id_from_i64(value: i64, what: &'static str, prefix: &'static str) -> Result<i64, InvalidId> {
    if value < 0 {
        return Err(InvalidId {
            what,
            prefix,
            problem: format!("{value} is negative"),
            or: None,
        });
    }
    Ok(value)
}

fn id_from_u64(value: u64, what: &'static str, prefix: &'static str) -> Result<i64, InvalidId> {
    i64::try_from(value).map_err(|_| InvalidId {
        what,
        prefix,
        problem: format!("{value} is too large"),
        or: None,
    })
}

/// Reads an id from a JSON number, a string of digits or `<prefix>-<n>`. Path segments and
/// query values always arrive as strings, JSON bodies as either.
struct IdVisitor {
    what: &'static str,
    prefix: &'static str,
}

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {}: a number or `{}-<n>`", self.what, self.prefix)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i64, E> {
        id_from_i64(value, self.what, self.prefix).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i64, E> {
        id_from_u64(value, self.what, self.prefix).map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<i64, E> {
        parse_id(value, self.what, self.prefix).map_err(E::custom)
    }
}

/// How ids are documented: written as integers, read in every accepted form.
fn id_schema(description: &str, prefix: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!("^({prefix}-)?[0-9]+$"))),
        )
        .description(Some(format!(
            "{description} The coordinator writes it as an integer; it reads an integer, a \
             string of digits (`\"7\"`) or `{prefix}-7`."
        )))
        .examples([serde_json::json!(7)])
        .into()
}

macro_rules! integer_id {
    ($doc:literal, $name:ident, $what:literal, $prefix:literal) => {
        #[doc = $doc]
        ///
        /// Written as a JSON number; read from a number, a string of digits or
        #[doc = concat!("`", $prefix, "-<n>`.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[cfg_attr(feature = "server", derive(sea_orm::DeriveValueType))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// What the id names, as error messages say it.
            pub const WHAT: &'static str = $what;
            /// The prefix of the spelled-out form `<prefix>-<n>`.
            pub const PREFIX: &'static str = $prefix;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_id(s, $what, $prefix).map(Self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer
                    .deserialize_any(IdVisitor {
                        what: $what,
                        prefix: $prefix,
                    })
                    .map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                id_schema($doc, $prefix)
            }
        }

        impl ToSchema for $name {}
    };
}

integer_id!(
    "A person who signs in to the coordinator.",
    UserId,
    "user id",
    "user"
);
integer_id!(
    "One row of the audit log; also the order in which rows were written.",
    AuditLogId,
    "audit log id",
    "audit"
);
integer_id!(
    "A server enrollment key (the key itself is never stored, only its hash).",
    EnrollmentKeyId,
    "enrollment key id",
    "enrollment-key"
);
integer_id!(
    "A compliance assessment.",
    AssessmentId,
    "assessment id",
    "assessment"
);
integer_id!(
    "A remediation proposal.",
    ProposalId,
    "proposal id",
    "remediation"
);
integer_id!(
    "One approver's decision on a proposal.",
    ApprovalId,
    "approval id",
    "approval"
);
integer_id!(
    "One run (or dry run) of an approved proposal.",
    ExecutionId,
    "execution id",
    "exec"
);
integer_id!(
    "An item of the work queue, claimed by a server under a lease.",
    TaskId,
    "task id",
    "task"
);

/// An assessment as a client names it: the coordinator's id, or the client's own `requestId`.
///
/// A number or a string of digits is always the coordinator's id. Any other string is first
/// looked up as a `requestId`, and otherwise read as `assessment-<n>`; the backend resolves
/// it, since only the database knows which request ids exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum AssessmentRef {
    Id(AssessmentId),
    Text(String),
}

impl AssessmentRef {
    /// Longer than any `requestId` or `assessment-<n>` can be.
    const MAX_LEN: usize = 160;

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let invalid = |problem: String| InvalidId {
            what: AssessmentId::WHAT,
            prefix: AssessmentId::PREFIX,
            problem,
            or: Some("the requestId it was requested under"),
        };
        if raw.is_empty() {
            return Err(invalid("an empty string names nothing".to_owned()));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(invalid(format!("{} is too long", shown(raw))));
        }
        if raw.bytes().all(|b| b.is_ascii_digit()) {
            return raw.parse().map(Self::Id);
        }
        Ok(Self::Text(raw.to_owned()))
    }

    /// The coordinator's id this names when it is not a `requestId`: the number itself, or
    /// the `n` of `assessment-<n>`.
    pub fn as_id(&self) -> Option<AssessmentId> {
        match self {
            Self::Id(id) => Some(*id),
            Self::Text(text) => text.parse().ok(),
        }
    }

    /// The string to look up as a `requestId`; a number never is one.
    pub fn as_request_id(&self) -> Option<&str> {
        match self {
            Self::Id(_) => None,
            Self::Text(text) => Some(text),
        }
    }
}

impl From<AssessmentId> for AssessmentRef {
    fn from(id: AssessmentId) -> Self {
        Self::Id(id)
    }
}

impl fmt::Display for AssessmentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Text(text) => f.write_str(text),
        }
    }
}

impl std::str::FromStr for AssessmentRef {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for AssessmentRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl serde::de::Visitor<'_> for RefVisitor {
            type Value = AssessmentRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an assessment: a number, `assessment-<n>` or a requestId")
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<AssessmentRef, E> {
                id_from_i64(value, AssessmentId::WHAT, AssessmentId::PREFIX)
                    .map(|id| AssessmentRef::Id(AssessmentId(id)))
                    .map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<AssessmentRef, E> {
                id_from_u64(value, AssessmentId::WHAT, AssessmentId::PREFIX)
                    .map(|id| AssessmentRef::Id(AssessmentId(id)))
                    .map_err(E::custom)
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<AssessmentRef, E> {
                AssessmentRef::parse(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

impl utoipa::PartialSchema for AssessmentRef {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(Self::MAX_LEN)),
            )
            .description(Some(
                "An assessment: the coordinator's id (an integer or a string of digits), or \
                 the `requestId` it was requested under, or `assessment-<n>`. A string is \
                 looked up as a `requestId` first.",
            ))
            .examples([serde_json::json!("assessment-123")])
            .into()
    }
}

impl ToSchema for AssessmentRef {}

/// The name a server registers under (`installerId` or `serverId` in the registration).
///
/// Chosen by the server, so it is validated: 1 to 64 characters of lowercase letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[cfg_attr(feature = "server", derive(sea_orm::DeriveValueType))]
#[serde(transparent)]
#[schema(value_type = String, example = "compliance-server")]
pub struct ServerId(String);

impl ServerId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid_start = raw
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let valid_chars = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
        if raw.len() > Self::MAX_LEN || !valid_start || !valid_chars {
            return Err(format!(
                "server id must be 1 to {} characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit",
                Self::MAX_LEN
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ServerId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Server ids are chosen by the servers, never generated by the database.
#[cfg(feature = "server")]
impl sea_orm::TryFromU64 for ServerId {
    fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
        Err(sea_orm::DbErr::ConvertFromU64("ServerId"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_ids_are_validated() {
        assert!(ServerId::parse("compliance-server").is_ok());
        assert!(ServerId::parse("installer.v2_a").is_ok());
        assert!(ServerId::parse("").is_err());
        assert!(ServerId::parse("-leading").is_err());
        assert!(ServerId::parse("Upper").is_err());
        assert!(ServerId::parse("has space").is_err());
        assert!(ServerId::parse(&"a".repeat(65)).is_err());
        let json: Result<ServerId, _> = serde_json::from_str("\"../etc\"");
        assert!(json.is_err());
    }

    fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn ids_are_read_in_every_accepted_form() {
        assert_eq!(from_json::<ProposalId>("7"), Ok(ProposalId(7)));
        assert_eq!(from_json::<ProposalId>("\"7\""), Ok(ProposalId(7)));
        assert_eq!(
            from_json::<ProposalId>("\"remediation-7\""),
            Ok(ProposalId(7))
        );
        assert_eq!(
            from_json::<AssessmentId>("\"assessment-123\""),
            Ok(AssessmentId(123))
        );
        assert_eq!(
            from_json::<ExecutionId>("\"exec-123\""),
            Ok(ExecutionId(123))
        );
        assert_eq!(from_json::<ApprovalId>("\"approval-1\""), Ok(ApprovalId(1)));
        assert_eq!(
            from_json::<AuditLogId>("\"audit-123\""),
            Ok(AuditLogId(123))
        );
        assert_eq!(from_json::<TaskId>("\"task-0\""), Ok(TaskId(0)));
        assert_eq!(from_json::<UserId>("\"user-2\""), Ok(UserId(2)));
        assert_eq!(
            from_json::<EnrollmentKeyId>("\"enrollment-key-3\""),
            Ok(EnrollmentKeyId(3))
        );
        assert_eq!("exec-9".parse::<ExecutionId>(), Ok(ExecutionId(9)));
        assert_eq!("9".parse::<ExecutionId>(), Ok(ExecutionId(9)));
        assert_eq!(
            from_json::<Option<ProposalId>>("null"),
            Ok(None::<ProposalId>)
        );
    }

    #[test]
    fn ids_are_still_written_as_numbers() {
        assert_eq!(serde_json::to_string(&ExecutionId(123)).unwrap(), "123");
        let round: ExecutionId =
            from_json(&serde_json::to_string(&ExecutionId(5)).unwrap()).unwrap();
        assert_eq!(round, ExecutionId(5));
    }

    #[test]
    fn a_wrong_prefix_says_which_forms_are_accepted() {
        let err = from_json::<ProposalId>("\"exec-7\"").unwrap_err();
        assert!(
            err.starts_with("proposal id: `exec-7` is not one;"),
            "{err}"
        );
        assert!(err.contains("a number or `remediation-<n>`"), "{err}");
        let err = "assessment-7"
            .parse::<ExecutionId>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`exec-<n>`"), "{err}");
        for bad in [
            "",
            "exec-",
            "exec-x",
            "remediation7",
            "7a",
            " 7",
            "remediation--7",
            "+7",
        ] {
            assert!(bad.parse::<ProposalId>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn negative_and_overflowing_ids_are_refused() {
        let err = from_json::<ProposalId>("-3").unwrap_err();
        assert!(err.contains("-3 is negative"), "{err}");
        let err = "-3".parse::<ProposalId>().unwrap_err().to_string();
        assert!(err.contains("`-3` is negative"), "{err}");
        assert!("remediation--3".parse::<ProposalId>().is_err());
        let err = from_json::<ProposalId>("9223372036854775808").unwrap_err();
        assert!(err.contains("is too large"), "{err}");
        let err = "remediation-99999999999999999999"
            .parse::<ProposalId>()
            .unwrap_err();
        assert!(err.to_string().contains("is too large"), "{err}");
        assert_eq!(
            "9223372036854775807".parse::<ProposalId>(),
            Ok(ProposalId(i64::MAX))
        );
    }

    #[test]
    fn other_json_types_are_refused_with_the_accepted_forms() {
        for bad in ["true", "7.5", "[7]", "{}"] {
            let err = from_json::<TaskId>(bad).unwrap_err();
            assert!(
                err.contains("a task id: a number or `task-<n>`"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn long_input_is_cut_in_messages() {
        let long = "x".repeat(500);
        let err = long.parse::<TaskId>().unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn assessment_refs_keep_numbers_and_strings_apart() {
        assert_eq!(
            from_json::<AssessmentRef>("7"),
            Ok(AssessmentRef::Id(AssessmentId(7)))
        );
        assert_eq!(
            from_json::<AssessmentRef>("\"7\""),
            Ok(AssessmentRef::Id(AssessmentId(7)))
        );
        let text = from_json::<AssessmentRef>("\"assessment-123\"").unwrap();
        assert_eq!(text, AssessmentRef::Text("assessment-123".to_owned()));
        assert_eq!(text.as_request_id(), Some("assessment-123"));
        assert_eq!(text.as_id(), Some(AssessmentId(123)));
        let named = AssessmentRef::parse("nightly-run").unwrap();
        assert_eq!(named.as_id(), None);
        assert_eq!(AssessmentRef::Id(AssessmentId(4)).as_request_id(), None);
        assert!(from_json::<AssessmentRef>("\"\"").is_err());
        assert!(from_json::<AssessmentRef>("-1").is_err());
        assert!(from_json::<AssessmentRef>("\"99999999999999999999\"").is_err());
        let err = from_json::<AssessmentRef>(&format!("\"{}\"", "a".repeat(200))).unwrap_err();
        assert!(err.contains("requestId"), "{err}");
        assert_eq!(
            serde_json::to_string(&AssessmentRef::from(AssessmentId(3))).unwrap(),
            "3"
        );
    }
}
