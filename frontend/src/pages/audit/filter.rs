//! The audit filter in its three shapes: the form the reader fills in, the page's address
//! (so a shared link or a reload opens the same view), and the API's query.
//!
//! The address uses the API's own parameter names, so `/audit?correlationId=abc` means what
//! `/api/v1/audit/logs?correlationId=abc` means.

use crate::address::{Query, href_with, non_empty, query_choice, query_text, search};
use crate::format::{from_local_input, to_local_input, until_local_input};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use coordinator_api::audit::{AuditQuery, AuditResult};
use std::fmt::Display;

/// Page sizes offered; the API's default comes first.
pub const PAGE_SIZES: [u64; 3] = [50, 100, 200];
pub const DEFAULT_PAGE_SIZE: u64 = PAGE_SIZES[0];

/// The applied filter, as the address holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub result: Option<AuditResult>,
    pub correlation_id: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub page_size: u64,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            actor: None,
            action: None,
            target: None,
            result: None,
            correlation_id: None,
            start: None,
            end: None,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

fn instant(value: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value?.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl AuditFilter {
    /// Every row of one change, whatever else was filtered before.
    pub fn story(correlation_id: &str) -> Self {
        Self {
            correlation_id: Some(correlation_id.to_owned()),
            ..Self::default()
        }
    }

    /// Reads the page's query parameters. A value that does not parse (a hand-edited
    /// address) is left out rather than refused, so the page still opens.
    pub fn from_query(query: &(impl Query + ?Sized)) -> Self {
        Self {
            actor: query_text(query, "actor"),
            action: query_text(query, "action"),
            target: query_text(query, "target"),
            result: query_choice(query, "result"),
            correlation_id: query_text(query, "correlationId"),
            start: instant(query.value("startDate")),
            end: instant(query.value("endDate")),
            page_size: query_choice(query, "limit")
                .filter(|size| PAGE_SIZES.contains(size))
                .unwrap_or(DEFAULT_PAGE_SIZE),
        }
    }

    /// The filter's query parameters, an empty value for each one not in use.
    fn pairs(&self) -> [(&'static str, String); 8] {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        [
            ("actor", text(&self.actor)),
            ("action", text(&self.action)),
            ("target", text(&self.target)),
            (
                "result",
                self.result.map(|r| r.to_string()).unwrap_or_default(),
            ),
            ("correlationId", text(&self.correlation_id)),
            ("startDate", self.start.map(rfc3339).unwrap_or_default()),
            ("endDate", self.end.map(rfc3339).unwrap_or_default()),
            (
                "limit",
                if self.page_size == DEFAULT_PAGE_SIZE {
                    String::new()
                } else {
                    self.page_size.to_string()
                },
            ),
        ]
    }

    /// `?actor=…&…`, or nothing when no filter is set and the page size is the default.
    pub fn to_search(&self) -> String {
        search(&self.pairs())
    }

    /// No criterion set, whatever the page size.
    pub fn is_unfiltered(&self) -> bool {
        *self
            == Self {
                page_size: self.page_size,
                ..Self::default()
            }
    }

    pub fn href(&self) -> String {
        href_with("/audit", &self.pairs())
    }

    /// The API's query for the page after `cursor` (the newest page without one).
    pub fn to_query(&self, cursor: Option<String>) -> AuditQuery {
        AuditQuery {
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            result: self.result,
            correlation_id: self.correlation_id.clone(),
            start_date: self.start,
            end_date: self.end,
            limit: Some(self.page_size),
            offset: None,
            cursor,
            format: None,
        }
    }

    /// The cheapest question that still answers how many rows match: one row and the total.
    pub fn count_query(&self) -> AuditQuery {
        AuditQuery {
            limit: Some(1),
            ..self.to_query(None)
        }
    }
}

/// A text field of the filter form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Actor,
    Action,
    Target,
    Result,
    Correlation,
    Start,
    End,
}

/// The filter form as typed: free text, and the times as `datetime-local` values in the
/// reader's time zone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterForm {
    pub actor: String,
    pub action: String,
    pub target: String,
    /// Empty for any result.
    pub result: String,
    pub correlation: String,
    pub start: String,
    pub end: String,
}

impl FilterForm {
    pub fn get(&self, field: Field) -> &str {
        match field {
            Field::Actor => &self.actor,
            Field::Action => &self.action,
            Field::Target => &self.target,
            Field::Result => &self.result,
            Field::Correlation => &self.correlation,
            Field::Start => &self.start,
            Field::End => &self.end,
        }
    }

    pub fn set(&mut self, field: Field, value: String) {
        let slot = match field {
            Field::Actor => &mut self.actor,
            Field::Action => &mut self.action,
            Field::Target => &mut self.target,
            Field::Result => &mut self.result,
            Field::Correlation => &mut self.correlation,
            Field::Start => &mut self.start,
            Field::End => &mut self.end,
        };
        *slot = value;
    }

    pub fn from_filter<Tz: TimeZone>(filter: &AuditFilter, zone: &Tz) -> Self
    where
        Tz::Offset: Display,
    {
        Self {
            actor: filter.actor.clone().unwrap_or_default(),
            action: filter.action.clone().unwrap_or_default(),
            target: filter.target.clone().unwrap_or_default(),
            result: filter.result.map(|r| r.to_string()).unwrap_or_default(),
            correlation: filter.correlation_id.clone().unwrap_or_default(),
            start: filter
                .start
                .map(|at| to_local_input(at, zone))
                .unwrap_or_default(),
            end: filter
                .end
                .map(|at| to_local_input(at, zone))
                .unwrap_or_default(),
        }
    }

    /// The filter to apply, or what is wrong with the form in words for the reader.
    pub fn to_filter<Tz: TimeZone>(
        &self,
        zone: &Tz,
        page_size: u64,
    ) -> Result<AuditFilter, String> {
        let result = match self.result.trim() {
            "" => None,
            other => Some(other.parse::<AuditResult>().map_err(|_| {
                format!("`{other}` is not a result: use success, denied or failure.")
            })?),
        };
        let start =
            from_local_input(&self.start, zone).map_err(|problem| format!("Start: {problem}"))?;
        let end =
            until_local_input(&self.end, zone).map_err(|problem| format!("End: {problem}"))?;
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err("The start is after the end.".to_owned());
        }
        Ok(AuditFilter {
            actor: non_empty(&self.actor),
            action: non_empty(&self.action),
            target: non_empty(&self.target),
            result,
            correlation_id: non_empty(&self.correlation),
            start,
            end,
            page_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::query_pairs;
    use chrono::FixedOffset;

    fn from(pairs: &[(&str, &str)]) -> AuditFilter {
        AuditFilter::from_query(pairs)
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_address_round_trips_with_the_api_names() {
        let filter = AuditFilter {
            actor: Some("admin".into()),
            action: Some("user_created".into()),
            target: Some("user:3".into()),
            result: Some(AuditResult::Denied),
            correlation_id: Some("change-2026-0042".into()),
            start: Some(at("2026-11-21T08:00:00Z")),
            end: Some(at("2026-11-21T09:30:15Z")),
            page_size: 100,
        };
        let search = filter.to_search();
        assert_eq!(
            search,
            "?actor=admin&action=user_created&target=user%3A3&result=denied\
             &correlationId=change-2026-0042&startDate=2026-11-21T08%3A00%3A00Z\
             &endDate=2026-11-21T09%3A30%3A15Z&limit=100"
        );
        assert_eq!(AuditFilter::from_query(&query_pairs(&search)), filter);
    }

    #[test]
    fn an_empty_filter_has_a_bare_address_and_a_story_link_only_the_change() {
        assert_eq!(AuditFilter::default().to_search(), "");
        assert_eq!(AuditFilter::default().href(), "/audit");
        assert_eq!(
            AuditFilter::story("corr-ab 12").href(),
            "/audit?correlationId=corr-ab+12"
        );
        assert_eq!(from(&[("correlationId", "abc")]), AuditFilter::story("abc"));
        assert!(from(&[("limit", "200")]).is_unfiltered());
        assert!(!AuditFilter::story("abc").is_unfiltered());
    }

    #[test]
    fn unreadable_parameters_are_left_out() {
        let filter = from(&[
            ("actor", "  "),
            ("result", "maybe"),
            ("startDate", "yesterday"),
            ("limit", "75"),
            ("unknown", "x"),
        ]);
        assert_eq!(filter, AuditFilter::default());
        assert_eq!(from(&[("limit", "200")]).page_size, 200);
        assert_eq!(
            from(&[("startDate", "2026-11-21T10:00:00+02:00")]).start,
            Some(at("2026-11-21T08:00:00Z"))
        );
    }

    #[test]
    fn the_query_carries_the_filter_and_the_cursor() {
        let filter = AuditFilter {
            result: Some(AuditResult::Failure),
            correlation_id: Some("abc".into()),
            page_size: 200,
            ..AuditFilter::default()
        };
        let query = filter.to_query(Some("next".into()));
        assert_eq!(query.result, Some(AuditResult::Failure));
        assert_eq!(query.correlation_id.as_deref(), Some("abc"));
        assert_eq!(query.limit, Some(200));
        assert_eq!(query.cursor.as_deref(), Some("next"));
        assert_eq!(query.offset, None);
        let count = filter.count_query();
        assert_eq!((count.limit, count.cursor), (Some(1), None));
        assert_eq!(count.correlation_id.as_deref(), Some("abc"));
    }

    #[test]
    fn form_times_are_local_and_sent_as_utc() {
        let berlin = FixedOffset::east_opt(3600).unwrap();
        let form = FilterForm {
            actor: " admin ".into(),
            result: "success".into(),
            start: "2026-11-21T10:00".into(),
            end: "2026-11-21T10:30:45".into(),
            ..FilterForm::default()
        };
        let filter = form.to_filter(&berlin, 100).unwrap();
        assert_eq!(filter.actor.as_deref(), Some("admin"));
        assert_eq!(filter.action, None);
        assert_eq!(filter.result, Some(AuditResult::Success));
        assert_eq!(filter.start, Some(at("2026-11-21T09:00:00Z")));
        assert_eq!(filter.end, Some(at("2026-11-21T09:30:45Z")));
        assert_eq!(filter.page_size, 100);
        let back = FilterForm::from_filter(&filter, &berlin);
        assert_eq!(back.start, "2026-11-21T10:00");
        assert_eq!(back.end, "2026-11-21T10:30:45");
        assert_eq!(back.actor, "admin");
        assert_eq!(back.get(Field::Result), "success");
    }

    #[test]
    fn wrong_forms_say_what_is_wrong() {
        let utc = Utc;
        let reversed = FilterForm {
            start: "2026-11-21T10:00".into(),
            end: "2026-11-21T09:00".into(),
            ..FilterForm::default()
        };
        assert_eq!(
            reversed.to_filter(&utc, 50).unwrap_err(),
            "The start is after the end."
        );
        let mut garbled = FilterForm::default();
        garbled.set(Field::Start, "soon".into());
        assert!(
            garbled
                .to_filter(&utc, 50)
                .unwrap_err()
                .starts_with("Start:")
        );
        assert_eq!(from_local_input("", &utc), Ok(None));
        let empty = FilterForm::default().to_filter(&utc, 50).unwrap();
        assert_eq!(empty, AuditFilter::default());
    }
}
