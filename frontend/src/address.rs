//! Filters carried in the page's address: building an href with query parameters, and
//! reading them back forgivingly. No DOM code, so it is tested natively.
//!
//! Everything a page puts in its address goes through [`href_with`] (or [`search`]), and
//! everything it reads back goes through [`Query`], so percent-encoding is done in one place
//! ([`percent_encode`]), which the API client's path segments use too.

use leptos_router::params::ParamsMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::str::FromStr;

/// The query string of the address, as the filters read it: the router's map on a page,
/// a plain list in tests (the router's map needs a browser to be built).
pub trait Query {
    fn value(&self, key: &str) -> Option<&str>;
}

impl Query for ParamsMap {
    fn value(&self, key: &str) -> Option<&str> {
        self.get_str(key)
    }
}

/// The last value of a key wins, as in the router's map.
impl<K: AsRef<str>, V: AsRef<str>> Query for [(K, V)] {
    fn value(&self, key: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Query for [(K, V); N] {
    fn value(&self, key: &str) -> Option<&str> {
        self.as_slice().value(key)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Query for Vec<(K, V)> {
    fn value(&self, key: &str) -> Option<&str> {
        self.as_slice().value(key)
    }
}

/// A text typed by the reader, as a filter: trimmed, and `None` when nothing is left (an
/// empty text means "any").
pub fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The value of an optional `<select>` (or any typed value) as a wire enum or number: the
/// empty option, and anything that does not parse, is `None`.
pub fn choice<T: FromStr>(value: &str) -> Option<T> {
    value.trim().parse().ok()
}

/// A text filter from the address: trimmed, `None` when absent or empty.
pub fn query_text(query: &(impl Query + ?Sized), key: &str) -> Option<String> {
    query.value(key).and_then(non_empty)
}

/// A typed value from the address. A value that does not parse (a hand-edited address) is
/// left out rather than refused, so the page still opens.
pub fn query_choice<T: FromStr>(query: &(impl Query + ?Sized), key: &str) -> Option<T> {
    query.value(key).and_then(choice)
}

/// `?key=value&…` for the non-empty `pairs`, or nothing at all when every value is empty, so
/// the address only names the filters in use.
pub fn search(pairs: &[(&str, String)]) -> String {
    let used: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{}={}", form_encode(key), form_encode(value)))
        .collect();
    if used.is_empty() {
        String::new()
    } else {
        format!("?{}", used.join("&"))
    }
}

/// `path` with the non-empty `pairs` as its query string (an unfiltered first page is the
/// bare path).
pub fn href_with(path: &str, pairs: &[(&str, String)]) -> String {
    format!("{path}{}", search(pairs))
}

/// The pairs of an href's query string, decoded; what the router's map holds for it.
/// Undecodable bytes read as U+FFFD rather than failing, as everywhere else in the address.
pub fn query_pairs(href: &str) -> Vec<(String, String)> {
    let Some((_, query)) = href.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(key), form_decode(value))
        })
        .collect()
}

/// What RFC 3986 leaves unescaped anywhere in a URL: `A–Z a–z 0–9 - . _ ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 3986 percent-encoding: unreserved characters are kept, every other byte of the UTF-8
/// text is `%XX`. Safe in a path segment and in a query value.
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// Query values as forms send them: a space is `+`, which reads better in a shared link.
fn form_encode(value: &str) -> String {
    percent_encode(value).replace("%20", "+")
}

/// A `+` is a space; a `%` not followed by two hex digits is kept as it is, as browsers do.
fn form_decode(value: &str) -> String {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator_api::ServerKind;
    use coordinator_api::alerts::AlertStatus;
    use coordinator_api::servers::ServerStatus;

    #[test]
    fn reads_text_and_choices_forgivingly() {
        let q = [("server", "  postgres "), ("offset", "50"), ("blank", " ")];
        assert_eq!(query_text(&q, "server").as_deref(), Some("postgres"));
        assert_eq!(query_text(&q, "type"), None);
        assert_eq!(query_text(&q, "blank"), None);
        assert_eq!(query_choice::<u64>(&q, "offset"), Some(50));
        assert_eq!(query_choice::<u64>(&[("offset", "-3")], "offset"), None);
        assert_eq!(
            query_choice::<u64>(&[("offset", "25"), ("offset", "75")], "offset"),
            Some(75)
        );
        assert_eq!(non_empty("  "), None);
        assert_eq!(non_empty(" x "), Some("x".to_owned()));
    }

    #[test]
    fn select_values_read_as_wire_enums() {
        assert_eq!(choice::<ServerKind>(""), None);
        assert_eq!(
            choice::<ServerKind>("installer"),
            Some(ServerKind::Installer)
        );
        assert_eq!(choice::<AlertStatus>("firing"), Some(AlertStatus::Firing));
        assert_eq!(choice::<AlertStatus>("sleeping"), None);
        assert_eq!(
            choice::<ServerStatus>("unreachable"),
            Some(ServerStatus::Unreachable)
        );
    }

    #[test]
    fn addresses_name_only_the_filters_in_use() {
        assert_eq!(
            href_with("/assessments", &[("status", String::new())]),
            "/assessments"
        );
        assert_eq!(search(&[]), "");
        assert_eq!(
            href_with(
                "/assessments",
                &[
                    ("status", "completed".to_owned()),
                    ("type", "a b&c".to_owned())
                ]
            ),
            "/assessments?status=completed&type=a+b%26c"
        );
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let pairs = [
            ("target", "user:3 ünïcode".to_owned()),
            ("odd", "a+b=c&d%e/f?g#h".to_owned()),
            ("empty", String::new()),
        ];
        let href = href_with("/audit", &pairs);
        let read = query_pairs(&href);
        assert_eq!(read.value("target"), Some("user:3 ünïcode"));
        assert_eq!(read.value("odd"), Some("a+b=c&d%e/f?g#h"));
        assert_eq!(read.value("empty"), None);
        assert_eq!(query_pairs("/audit"), Vec::new());
        assert_eq!(
            query_pairs("/x?a=%zz&b"),
            vec![
                ("a".to_owned(), "%zz".to_owned()),
                ("b".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(""), "");
    }
}
