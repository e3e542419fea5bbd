//! How numbers and dates read on screen. Dates are shown in the reader's local time zone.

use chrono::{DateTime, Local, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
}
