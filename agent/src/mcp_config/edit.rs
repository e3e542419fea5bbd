//! Splicing edits into a JSON text: each primitive replaces one contiguous byte range, so
//! everything outside the member being changed (and the comma it needs) stays as it was.
//! New bytes imitate the file's own layout: its line ending, indentation unit, colon spacing
//! and whether lists are written on one line.

use super::Malformed;
use super::scan::{Kind, Member, Node, scan};

/// A value to write: only what server entries need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NewValue {
    Str(String),
    List(Vec<NewValue>),
    Object(Vec<(String, NewValue)>),
}

impl NewValue {
    pub(super) fn to_json_value(&self) -> serde_json::Value {
        match self {
            NewValue::Str(s) => serde_json::Value::String(s.clone()),
            NewValue::List(items) => items.iter().map(NewValue::to_json_value).collect(),
            NewValue::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_value()))
                    .collect(),
            ),
        }
    }

    fn is_scalar(&self) -> bool {
        matches!(self, NewValue::Str(_))
    }
}

/// The conventions of one file, learnt from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Style {
    newline: &'static str,
    unit: String,
    colon: String,
    separator: String,
    inline_lists: bool,
    /// Whether an empty object that receives its first member should open up over several
    /// lines: yes unless the file shows it is written on one line.
    multiline: bool,
}

impl Style {
    /// Learns the style of `text`, whose spans are `root`. The indentation unit comes from the
    /// servers object when it has members laid out on lines of their own, otherwise from the
    /// first such object anywhere; two spaces when nothing shows it.
    pub fn detect(text: &str, root: &Node, servers_key: &str) -> Style {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let nodes = root.walk();
        let servers = root.find(&[servers_key]);
        let unit = servers
            .into_iter()
            .chain(nodes.iter().copied())
            .find_map(|node| indent_unit(text, node))
            .unwrap_or_else(|| "  ".to_owned());
        let colon = nodes
            .iter()
            .flat_map(|node| node.members().first())
            .map(|member| slice(text, member.key_end, member.value.start))
            .next()
            .filter(|colon| !colon.contains('\n'))
            .unwrap_or(": ")
            .to_owned();
        let separator = if colon.ends_with(' ') { ", " } else { "," }.to_owned();
        let inline_lists = nodes
            .iter()
            .find(|node| match &node.kind {
                Kind::Array(items) => {
                    !items.is_empty() && items.iter().all(|item| item.kind == Kind::Scalar)
                }
                _ => false,
            })
            .is_some_and(|list| !slice(text, list.start, list.end).contains('\n'));
        let multiline = root.members().is_empty() || text.trim_end().contains('\n');
        Style {
            newline,
            unit,
            colon,
            separator,
            inline_lists,
            multiline,
        }
    }
}

/// How much deeper than the line holding `{` the members of `node` are indented, when they
/// sit on lines of their own.
fn indent_unit(text: &str, node: &Node) -> Option<String> {
    let first = node.members().first()?;
    let lead = slice(text, first.lead_start, first.key_start);
    let member_indent = &lead[lead.rfind('\n')? + 1..];
    let outer = line_indent(text, node.start);
    member_indent
        .strip_prefix(outer)
        .filter(|unit| !unit.is_empty())
        .map(str::to_owned)
}

/// `text[start..end]`, or empty if the range is not one (spans from the scanner always are).
fn slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// The spaces and tabs that begin the line holding byte `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let before = text.get(..pos).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = slice(text, line_start, text.len());
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    slice(line, 0, width)
}

/// A JSON string literal for `s`. `Value`'s `Display` is serde_json's own escaping and, unlike
/// `serde_json::to_string`, cannot fail.
pub(super) fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// How to lay a new value out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// All on one line.
    Compact,
    /// Members and items on lines of their own, except lists of strings when `inline_lists`.
    Lines { inline_lists: bool },
}

/// `value` as JSON text, to be placed where the current line is indented by `indent`.
fn render(value: &NewValue, indent: &str, layout: Layout, style: &Style) -> String {
    match value {
        NewValue::Str(s) => quote(s),
        NewValue::List(items) if items.is_empty() => "[]".to_owned(),
        NewValue::Object(members) if members.is_empty() => "{}".to_owned(),
        NewValue::List(items) => {
            let one_line = match layout {
                Layout::Compact => true,
                Layout::Lines { inline_lists } => {
                    inline_lists && items.iter().all(NewValue::is_scalar)
                }
            };
            let inner = format!("{indent}{}", style.unit);
            let rendered: Vec<String> = items
                .iter()
                .map(|item| render(item, &inner, layout, style))
                .collect();
            if one_line {
                format!("[{}]", rendered.join(&style.separator))
            } else {
                let nl = style.newline;
                let joined = rendered.join(&format!(",{nl}{inner}"));
                format!("[{nl}{inner}{joined}{nl}{indent}]")
            }
        }
        NewValue::Object(members) => {
            let inner = format!("{indent}{}", style.unit);
            let rendered: Vec<String> = members
                .iter()
                .map(|(key, value)| {
                    let value = render(value, &inner, layout, style);
                    format!("{}{}{value}", quote(key), style.colon)
                })
                .collect();
            match layout {
                Layout::Compact => format!("{{{}}}", rendered.join(&style.separator)),
                Layout::Lines { .. } => {
                    let nl = style.newline;
                    let joined = rendered.join(&format!(",{nl}{inner}"));
                    format!("{{{nl}{inner}{joined}{nl}{indent}}}")
                }
            }
        }
    }
}

fn splice(text: &str, start: usize, end: usize, insert: &str) -> String {
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(slice(text, 0, start));
    out.push_str(insert);
    out.push_str(slice(text, end, text.len()));
    out
}

fn broken(what: &str) -> Malformed {
    Malformed::InvalidJson(format!("cannot edit: {what}"))
}

/// Removes member `index` of `object` with exactly one of the commas around it. The only
/// member takes the whole inside of the braces with it, leaving `{}`.
fn remove_member(text: &str, object: &Node, index: usize) -> Result<String, Malformed> {
    let members = object.members();
    let member = members.get(index).ok_or_else(|| broken("no such member"))?;
    if members.len() == 1 {
        return Ok(splice(text, object.start + 1, object.end - 1, ""));
    }
    match index.checked_sub(1).and_then(|before| members.get(before)) {
        // From the end of the previous value: the comma and this member's layout go.
        Some(previous) => Ok(splice(text, previous.value.end, member.value.end, "")),
        // The first member: up to the next key, so the next member inherits this one's layout.
        None => {
            let next = members.get(1).ok_or_else(|| broken("no next member"))?;
            Ok(splice(text, member.key_start, next.key_start, ""))
        }
    }
}

/// Adds `key: value` as the last member of `object`, laid out like the member before it (or,
/// in an empty object, one indentation unit deeper than the line holding `{`).
fn append_member(text: &str, object: &Node, key: &str, value: &NewValue, style: &Style) -> String {
    let lines = Layout::Lines {
        inline_lists: style.inline_lists,
    };
    match object.members().last() {
        Some(last) => {
            let mut lead = slice(text, last.lead_start, last.key_start);
            // On one line, what follows `{` says nothing about what follows a comma.
            if object.members().len() == 1 && !lead.contains('\n') {
                lead = style.separator.trim_start_matches(',');
            }
            let colon = slice(text, last.key_end, last.value.start);
            let (layout, indent) = match lead.rfind('\n') {
                Some(i) => (lines, &lead[i + 1..]),
                None => (Layout::Compact, line_indent(text, last.key_start)),
            };
            let value = render(value, indent, layout, style);
            let addition = format!(",{lead}{}{colon}{value}", quote(key));
            splice(text, last.value.end, last.value.end, &addition)
        }
        None => {
            let key = quote(key);
            let colon = &style.colon;
            let inside = if style.multiline {
                let outer = line_indent(text, object.start);
                let indent = format!("{outer}{}", style.unit);
                let value = render(value, &indent, lines, style);
                let nl = style.newline;
                format!("{nl}{indent}{key}{colon}{value}{nl}{outer}")
            } else {
                let value = render(value, "", Layout::Compact, style);
                format!("{key}{colon}{value}")
            };
            splice(text, object.start + 1, object.end - 1, &inside)
        }
    }
}

/// Puts `value` in place of member `index`'s value. Lists and objects keep the layout of the
/// value they replace (one line or several); an empty one follows its siblings.
fn replace_value(
    text: &str,
    object: &Node,
    index: usize,
    value: &NewValue,
    style: &Style,
) -> Result<String, Malformed> {
    let member: &Member = object
        .members()
        .get(index)
        .ok_or_else(|| broken("no such member"))?;
    let old = &member.value;
    let old_text = slice(text, old.start, old.end);
    let old_is_empty = match &old.kind {
        Kind::Object(members) => members.is_empty(),
        Kind::Array(items) => items.is_empty(),
        Kind::Scalar => true,
    };
    let on_own_line = slice(text, member.lead_start, member.key_start).contains('\n');
    let layout = if !old_is_empty {
        if old_text.contains('\n') {
            Layout::Lines {
                inline_lists: false,
            }
        } else {
            Layout::Compact
        }
    } else if on_own_line {
        Layout::Lines {
            inline_lists: style.inline_lists,
        }
    } else {
        Layout::Compact
    };
    let indent = line_indent(text, member.key_start);
    let rendered = render(value, indent, layout, style);
    Ok(splice(text, old.start, old.end, &rendered))
}

/// The object at `path` in `text`, freshly scanned.
fn object_at(text: &str, path: &[&str]) -> Result<Node, Malformed> {
    scan(text)?
        .find(path)
        .filter(|node| node.is_object())
        .cloned()
        .ok_or_else(|| broken("the object to edit is missing"))
}

/// The keys of the object at `path`, in file order.
pub(super) fn keys_at(text: &str, path: &[&str]) -> Result<Vec<String>, Malformed> {
    Ok(object_at(text, path)?
        .members()
        .iter()
        .map(|member| member.key.clone())
        .collect())
}

/// Whether the object at `path` has `key`.
pub(super) fn has_member(text: &str, path: &[&str], key: &str) -> Result<bool, Malformed> {
    Ok(object_at(text, path)?.member(key).is_some())
}

/// Makes the object at `path` hold `key: value`, or not hold `key` at all when `value` is
/// `None` (every duplicate goes, or an earlier one would take effect). An existing member that
/// already holds an equal value is left byte for byte; otherwise only its value is replaced,
/// and a missing member is appended.
pub(super) fn set_member(
    text: &str,
    path: &[&str],
    key: &str,
    value: Option<&NewValue>,
    style: &Style,
) -> Result<String, Malformed> {
    let mut text = text.to_owned();
    let Some(value) = value else {
        loop {
            let object = object_at(&text, path)?;
            match object.member(key) {
                Some((index, _)) => text = remove_member(&text, &object, index)?,
                None => return Ok(text),
            }
        }
    };
    let object = object_at(&text, path)?;
    match object.member(key) {
        Some((index, member)) => {
            let current: serde_json::Value =
                serde_json::from_str(slice(&text, member.value.start, member.value.end))
                    .map_err(|e| broken(&e.to_string()))?;
            if current == value.to_json_value() {
                Ok(text)
            } else {
                replace_value(&text, &object, index, value, style)
            }
        }
        None => Ok(append_member(&text, &object, key, value, style)),
    }
}
