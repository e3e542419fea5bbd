//! How numbers and dates read on screen, and how a date typed in a `datetime-local` field
//! becomes an instant. Dates are shown and typed in the reader's local time zone.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Timelike, Utc};
use coordinator_api::executions::ExecutionCounts;
use std::fmt::Display;

/// `2026-11-21 10:04:07` in the reader's time zone.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The same instant for a tooltip: unambiguous, in UTC.
pub fn utc_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How long ago, in the largest unit that fits: `just now`, `4 min`, `3 h`, `2 d`.
pub fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds().max(0);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min", seconds / 60),
        3600..86_400 => format!("{} h", seconds / 3600),
        _ => format!("{} d", seconds / 86_400),
    }
}

/// Seconds as `2d 3h`, `3h 4m`, `4m 5s` or `5s`.
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Bytes per second in the largest unit that keeps the number readable.
pub fn rate(bytes_per_second: f64) -> String {
    let units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let mut value = bytes_per_second.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

pub fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

/// A snake_case wire value as words: `non_compliant` → `non compliant`.
pub fn words(value: &str) -> String {
    value.replace('_', " ")
}

/// A `datetime-local` value for `at` in `zone`; seconds only when there are some, so the
/// usual whole minutes read plainly.
pub fn to_local_input<Tz: TimeZone>(at: DateTime<Utc>, zone: &Tz) -> String
where
    Tz::Offset: Display,
{
    let local = at.with_timezone(zone);
    let pattern = if local.second() == 0 {
        "%Y-%m-%dT%H:%M"
    } else {
        "%Y-%m-%dT%H:%M:%S"
    };
    local.format(pattern).to_string()
}

/// The instant a `datetime-local` value (`2026-11-21T10:04`, seconds optional) names in
/// `zone`; `None` for an empty field.
pub fn from_local_input<Tz: TimeZone>(
    value: &str,
    zone: &Tz,
) -> Result<Option<DateTime<Utc>>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|pattern| NaiveDateTime::parse_from_str(value, pattern).ok())
        .ok_or_else(|| format!("`{value}` is not a date and time."))?;
    // A time repeated when clocks go back is taken at its first occurrence; a time skipped
    // when they go forward does not exist and is refused.
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|at| Some(at.with_timezone(&Utc)))
        .ok_or_else(|| format!("{value} does not exist in your time zone (a clock change)."))
}

/// The end of a range typed as a local time: a time given to the minute covers that whole
/// minute, so "to 10:30" includes what happened at 10:30:40.
pub fn until_local_input<Tz: TimeZone>(
    value: &str,
    zone: &Tz,
) -> Result<Option<DateTime<Utc>>, String> {
    let at = from_local_input(value, zone)?;
    let to_the_minute = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M").is_ok();
    Ok(at.map(|at| {
        if to_the_minute {
            at + chrono::Duration::milliseconds(59_999)
        } else {
            at
        }
    }))
}

/// How many of the approvals a change needs it has: `1 of 2`.
pub fn approvals(received: u32, required: u32) -> String {
    format!("{received} of {required}")
}

/// How a run's actions ended, each outcome apart, and only those that occurred:
/// `2 of 2 finished: 2 skipped`, never "0 succeeded" for a dry run that changed nothing.
pub fn action_counts(counts: &ExecutionCounts) -> String {
    let finished = format!("{} of {} finished", counts.completed, counts.total);
    let outcomes: Vec<String> = [
        (counts.successful, "succeeded"),
        (counts.failed, "failed"),
        (counts.rolled_back, "rolled back"),
        (counts.skipped, "skipped"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, words)| format!("{n} {words}"))
    .collect();
    if outcomes.is_empty() {
        finished
    } else {
        format!("{finished}: {}", outcomes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_end_given_to_the_minute_covers_the_minute() {
        let utc = Utc;
        let end = until_local_input("2026-11-21T10:30", &utc)
            .unwrap()
            .unwrap();
        assert_eq!(end.to_rfc3339(), "2026-11-21T10:30:59.999+00:00");
        let exact = until_local_input("2026-11-21T10:30:15", &utc)
            .unwrap()
            .unwrap();
        assert_eq!(exact.to_rfc3339(), "2026-11-21T10:30:15+00:00");
        assert_eq!(until_local_input(" ", &utc).unwrap(), None);
    }

    #[test]
    fn ages_and_durations_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now - chrono::Duration::minutes(4), now), "4 min");
        assert_eq!(age(now - chrono::Duration::hours(3), now), "3 h");
        assert_eq!(age(now - chrono::Duration::days(2), now), "2 d");
        assert_eq!(age(now + chrono::Duration::minutes(1), now), "just now");
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(245), "4m 5s");
        assert_eq!(duration(3 * 3600 + 240), "3h 4m");
        assert_eq!(duration(2 * 86_400 + 3 * 3600), "2d 3h");
    }

    #[test]
    fn rates_pick_a_readable_unit() {
        assert_eq!(rate(512.0), "512.0 B/s");
        assert_eq!(rate(2048.0), "2.0 KiB/s");
        assert_eq!(rate(5.5 * 1024.0 * 1024.0), "5.5 MiB/s");
        assert_eq!(
            utc_time(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
            "2026-01-02T03:04:05Z"
        );
        assert_eq!(words("non_compliant"), "non compliant");
    }

    #[test]
    fn local_inputs_round_trip_through_utc() {
        let berlin = chrono::FixedOffset::east_opt(3600).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        assert_eq!(to_local_input(at, &berlin), "2026-11-21T10:00");
        assert_eq!(from_local_input("2026-11-21T10:00", &berlin), Ok(Some(at)));
        let with_seconds = Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 45).unwrap();
        assert_eq!(to_local_input(with_seconds, &berlin), "2026-11-21T10:30:45");
        assert_eq!(
            from_local_input(" 2026-11-21T10:30:45 ", &berlin),
            Ok(Some(with_seconds))
        );
        let new_york = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(
            from_local_input("2026-03-01T22:15", &new_york),
            Ok(Some(Utc.with_ymd_and_hms(2026, 3, 2, 3, 15, 0).unwrap()))
        );
    }

    #[test]
    fn empty_and_unreadable_inputs() {
        assert_eq!(from_local_input("", &Utc), Ok(None));
        assert_eq!(from_local_input("  ", &Utc), Ok(None));
        assert_eq!(
            from_local_input("soon", &Utc),
            Err("`soon` is not a date and time.".to_owned())
        );
        assert!(from_local_input("2026-02-30T10:00", &Utc).is_err());
    }

    #[test]
    fn action_counts_keep_every_outcome_apart() {
        let counts = |completed, successful, failed, skipped, rolled_back| ExecutionCounts {
            completed,
            total: 4,
            successful,
            failed,
            skipped,
            rolled_back,
        };
        assert_eq!(action_counts(&counts(0, 0, 0, 0, 0)), "0 of 4 finished");
        assert_eq!(
            action_counts(&counts(4, 0, 0, 4, 0)),
            "4 of 4 finished: 4 skipped"
        );
        assert_eq!(
            action_counts(&counts(4, 0, 1, 1, 2)),
            "4 of 4 finished: 1 failed, 2 rolled back, 1 skipped"
        );
        assert_eq!(
            action_counts(&counts(2, 2, 0, 0, 0)),
            "2 of 4 finished: 2 succeeded"
        );
    }

    #[test]
    fn approvals_read_as_a_count() {
        assert_eq!(approvals(1, 2), "1 of 2");
        assert_eq!(approvals(0, 3), "0 of 3");
    }
}
