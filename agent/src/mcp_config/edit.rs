//! Edits made on the syntax tree, one member at a time, so that whatever is not edited keeps
//! its bytes, comments included.
//!
//! jsonc-parser lays new nodes out in its own way: every object over several lines, lists of
//! strings on one line, `": "` after keys. That is right for most files; what differs from
//! the file's own habits is brought in line afterwards, on the new nodes only: a file written
//! on one line stays on one line, lists follow the file's first list, keys follow its colon
//! spacing, and strings are escaped as serde_json escapes them.

use super::Malformed;
use super::document::{Document, descendants, member, value_of};
use jsonc_parser::cst::{
    CstArray, CstContainerNode, CstInputValue, CstLeafNode, CstNode, CstObject, CstObjectProp,
};

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

    fn to_input(&self) -> CstInputValue {
        match self {
            NewValue::Str(s) => CstInputValue::String(s.clone()),
            NewValue::List(items) => {
                CstInputValue::Array(items.iter().map(NewValue::to_input).collect())
            }
            NewValue::Object(members) => CstInputValue::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_input()))
                    .collect(),
            ),
        }
    }
}

/// Any JSON value as parser input, for the rewrite that keeps an entry's unknown keys.
pub(super) fn input_of(value: &serde_json::Value) -> CstInputValue {
    use serde_json::Value;
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input_of).collect()),
        Value::Object(members) => CstInputValue::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), input_of(v)))
                .collect(),
        ),
    }
}

/// The habits of one file that jsonc-parser does not learn by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Style {
    /// What follows the colon of a key: `" "` or nothing.
    colon_space: String,
    /// What follows a comma on one line: the same as after a colon.
    comma_space: String,
    /// Whether lists of strings are written on one line, as the file's first such list is.
    inline_lists: bool,
    /// Whether an empty object that receives its first member should open up over several
    /// lines: yes unless the whole file is written on one line.
    multiline: bool,
}

impl Style {
    pub fn detect(doc: &Document) -> Style {
        let nodes = doc.nodes();
        let colon_space = nodes
            .iter()
            .find_map(|node| node.as_object_prop())
            .and_then(|prop| colon_spacing(&prop))
            .unwrap_or_else(|| " ".to_owned());
        let inline_lists = nodes
            .iter()
            .filter_map(CstNode::as_array)
            .find(|list| {
                let items = list.elements();
                !items.is_empty() && items.iter().all(|item| item.as_string_lit().is_some())
            })
            .is_some_and(|list| !has_newline(&list.into()));
        let top_is_empty = doc.top().is_ok_and(|top| top.properties().is_empty());
        let multiline = top_is_empty || doc.text().trim_end().contains('\n');
        Style {
            comma_space: colon_space.clone(),
            colon_space,
            inline_lists,
            multiline,
        }
    }
}

/// The spaces between a key's colon and its value, when they are only spaces.
fn colon_spacing(prop: &CstObjectProp) -> Option<String> {
    let children = prop.children();
    let colon = children.iter().position(|c| c.token_char() == Some(':'))?;
    let mut spacing = String::new();
    for child in children.iter().skip(colon + 1) {
        match child {
            CstNode::Leaf(CstLeafNode::Whitespace(space)) => spacing.push_str(&space.value()),
            _ if child.is_trivia() => return None,
            _ => return Some(spacing),
        }
    }
    None
}

fn has_newline(container: &CstContainerNode) -> bool {
    container.children().iter().any(CstNode::is_newline)
}

/// A JSON string literal for `s`. `Value`'s `Display` is serde_json's own escaping and, unlike
/// `serde_json::to_string`, cannot fail.
pub(super) fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn broken(what: &str) -> Malformed {
    Malformed::InvalidJson(format!("cannot edit: {what}"))
}

/// How to lay a new value out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// All on one line.
    Compact,
    /// Members on lines of their own; lists of strings too, unless `inline_lists`.
    Lines { inline_lists: bool },
}

/// The spaces and line breaks right before `node`, in file order.
fn space_before(node: &CstNode) -> String {
    let mut run: Vec<String> = node
        .previous_siblings()
        .take_while(|n| n.is_whitespace() || n.is_newline())
        .map(|n| n.to_string())
        .collect();
    run.reverse();
    run.concat()
}

/// Makes the spaces right before `node` read `space` (which holds no line break): line breaks
/// there go, and one run of spaces is kept to hold `space`. With no spaces there to reuse, a
/// non-empty `space` cannot be written and is left out.
fn set_space_before(node: &CstNode, space: &str) {
    let run: Vec<CstNode> = node
        .previous_siblings()
        .take_while(|n| n.is_whitespace() || n.is_newline())
        .collect();
    let mut kept = false;
    for gap in run {
        match gap {
            CstNode::Leaf(CstLeafNode::Whitespace(spaces)) if !kept && !space.is_empty() => {
                spaces.set_value(space.to_owned());
                kept = true;
            }
            other => other.remove(),
        }
    }
}

/// The closing brace or bracket of a container.
fn closing(container: &CstContainerNode) -> Option<CstNode> {
    container.children().last().cloned()
}

/// Brings a node just made by jsonc-parser in line with the file: escaping, colon spacing,
/// and the layout of its objects and lists.
fn restyle(node: &CstNode, layout: Layout, style: &Style) {
    let nodes = descendants(node);
    for node in &nodes {
        match node {
            CstNode::Leaf(CstLeafNode::StringLit(string)) => {
                if let Ok(decoded) = string.decoded_value() {
                    string.set_raw_value(quote(&decoded));
                }
            }
            CstNode::Container(CstContainerNode::ObjectProp(prop)) => {
                if let Some(value) = prop.value() {
                    set_space_before(&value, &style.colon_space);
                }
            }
            _ => {}
        }
    }
    match layout {
        Layout::Compact => {
            for node in &nodes {
                if let CstNode::Container(
                    container @ (CstContainerNode::Object(_) | CstContainerNode::Array(_)),
                ) = node
                {
                    flatten(container, &style.comma_space);
                }
            }
        }
        Layout::Lines { inline_lists: true } => {}
        Layout::Lines {
            inline_lists: false,
        } => {
            for list in nodes.iter().filter_map(CstNode::as_array) {
                if !list.elements().is_empty() {
                    list.ensure_multiline();
                }
            }
        }
    }
}

/// Puts a container just made by jsonc-parser on one line: no space inside its brackets, and
/// `comma_space` after each comma.
fn flatten(container: &CstContainerNode, comma_space: &str) {
    for child in container.children() {
        if child.is_newline() {
            child.remove();
        } else if child.is_whitespace() {
            let after_comma = child.previous_sibling().is_some_and(|n| n.is_comma());
            match (&child, after_comma && !comma_space.is_empty()) {
                (CstNode::Leaf(CstLeafNode::Whitespace(spaces)), true) => {
                    spaces.set_value(comma_space.to_owned());
                }
                _ => child.remove(),
            }
        }
    }
}

/// Whether the object at `path` has `key`.
pub(super) fn has_member(doc: &Document, path: &[&str], key: &str) -> Result<bool, Malformed> {
    Ok(member(&doc.object_at(path)?, key).is_some())
}

/// The keys of the object at `path`, in file order.
pub(super) fn keys_at(doc: &Document, path: &[&str]) -> Result<Vec<String>, Malformed> {
    Ok(doc
        .object_at(path)?
        .properties()
        .iter()
        .filter_map(CstObjectProp::decoded_name)
        .collect())
}

/// Makes the object at `path` hold `key: value`, or not hold `key` at all when `value` is
/// `None` (every duplicate goes, or an earlier one would take effect). An existing member that
/// already holds an equal value is left byte for byte; otherwise only its value is changed,
/// and a missing member is appended.
pub(super) fn set_member(
    doc: &Document,
    path: &[&str],
    key: &str,
    value: Option<&NewValue>,
    style: &Style,
) -> Result<(), Malformed> {
    let object = doc.object_at(path)?;
    let Some(value) = value else {
        while let Some(prop) = member(&object, key) {
            remove_member(&object, prop);
        }
        return Ok(());
    };
    match member(&object, key) {
        Some(prop) if value_of(&prop).as_ref() == Some(&value.to_json_value()) => Ok(()),
        Some(prop) => replace_value(&prop, value, style),
        None => {
            append_member(&object, key, value, style);
            Ok(())
        }
    }
}

/// Removes `prop` from `object` with exactly one of the commas around it; the only member
/// leaves `{}`. On one line, the member that becomes first takes over the spacing after `{`.
fn remove_member(object: &CstObject, prop: CstObjectProp) {
    let container: CstContainerNode = object.clone().into();
    let first = object
        .properties()
        .first()
        .is_some_and(|p| p.child_index() == prop.child_index());
    let lead = (first && !has_newline(&container)).then(|| space_before(&prop.clone().into()));
    remove_item(&container, prop.into());
    if let (Some(lead), Some(next)) = (lead, object.properties().first()) {
        set_space_before(&next.clone().into(), &lead);
    }
}

/// Removes a member or list item the way jsonc-parser does (with its comma, and with what
/// shares its line: the spaces and comments before it and a comment after its comma), and
/// keeps the closing bracket on a line of its own when it had one: jsonc-parser takes the
/// line break after an item that does not start its line, which would pull the bracket up.
fn remove_item(container: &CstContainerNode, item: CstNode) {
    let close = closing(container);
    let close_space = close.as_ref().map(space_before).unwrap_or_default();
    item.remove();
    let Some(close) = close else { return };
    let now = space_before(&close);
    let emptied = container.children().len() <= 2;
    if close_space.contains('\n') && !now.contains('\n') && !emptied {
        // A newline written into a run of spaces prints the same; the file is parsed afresh
        // before anything reads it again.
        let spaces = close
            .previous_siblings()
            .take_while(CstNode::is_whitespace)
            .find_map(|n| n.as_whitespace());
        if let Some(spaces) = spaces {
            spaces.set_value(close_space);
        }
    }
}

/// Adds `key: value` as the last member of `object`. jsonc-parser opens the object up over
/// several lines to do so; an object written on one line (or an empty one in a file written
/// on one line) is closed up again, with the spacing it had.
fn append_member(object: &CstObject, key: &str, value: &NewValue, style: &Style) {
    let container: CstContainerNode = object.clone().into();
    let before = object.properties();
    // An empty object is opened up afresh, indented as its key is, however its blank inside
    // happened to be laid out (`{ }`, or a brace left on a line of its own).
    let inside = container.children();
    let blank = |n: &CstNode| n.is_whitespace() || n.is_newline();
    if before.is_empty() && inside.iter().skip(1).rev().skip(1).all(blank) {
        for gap in inside.into_iter().filter(blank) {
            gap.remove();
        }
    }
    let one_line = !has_newline(&container) && (!before.is_empty() || !style.multiline);
    let mut leads: Vec<String> = before
        .iter()
        .map(|prop| space_before(&prop.clone().into()))
        .collect();
    let new_lead = match leads.as_slice() {
        [] => String::new(),
        // What follows `{` says nothing about what follows a comma.
        [_] => style.comma_space.clone(),
        [.., last] => last.clone(),
    };
    leads.push(new_lead);
    let tail = closing(&container)
        .map(|close| space_before(&close))
        .unwrap_or_default();

    let prop = object.append(key, value.to_input());
    let layout = if one_line {
        Layout::Compact
    } else {
        Layout::Lines {
            inline_lists: style.inline_lists,
        }
    };
    restyle(&prop.into(), layout, style);
    if one_line {
        for (prop, lead) in object.properties().into_iter().zip(&leads) {
            set_space_before(&prop.into(), lead);
        }
        if let Some(close) = closing(&container) {
            set_space_before(&close, &tail);
        }
    }
}

/// Puts `value` in place of `prop`'s value. A string is rewritten in place; a list of strings
/// is edited item by item, so it keeps its layout (one line or several) and whatever comments
/// it holds; an empty list that fills up follows the file's lists when its key has a line of
/// its own.
fn replace_value(prop: &CstObjectProp, value: &NewValue, style: &Style) -> Result<(), Malformed> {
    let current = prop
        .value()
        .ok_or_else(|| broken("a member has no value"))?;
    match (current, value) {
        (CstNode::Leaf(CstLeafNode::StringLit(string)), NewValue::Str(new)) => {
            string.set_raw_value(quote(new));
            Ok(())
        }
        (CstNode::Container(CstContainerNode::Array(list)), NewValue::List(items))
            if items.iter().all(|item| matches!(item, NewValue::Str(_))) =>
        {
            let own_line = space_before(&prop.clone().into()).contains('\n');
            replace_items(&list, items, own_line && !style.inline_lists, style)
        }
        _ => {
            prop.set_value(value.to_input());
            let own_line = space_before(&prop.clone().into()).contains('\n');
            let layout = if own_line {
                Layout::Lines {
                    inline_lists: style.inline_lists,
                }
            } else {
                Layout::Compact
            };
            if let Some(new) = prop.value() {
                restyle(&new, layout, style);
            }
            Ok(())
        }
    }
}

fn replace_items(
    list: &CstArray,
    items: &[NewValue],
    open_up: bool,
    style: &Style,
) -> Result<(), Malformed> {
    let was_empty = list.elements().is_empty();
    let existing = list.elements();
    for (node, item) in existing.iter().zip(items) {
        if node.to_serde_value().as_ref() == Some(&item.to_json_value()) {
            continue;
        }
        let (Some(string), NewValue::Str(new)) = (node.as_string_lit(), item) else {
            return Err(broken("a list item is not a string"));
        };
        string.set_raw_value(quote(new));
    }
    let container: CstContainerNode = list.clone().into();
    for node in existing.into_iter().skip(items.len()).rev() {
        remove_item(&container, node);
    }
    let one_line = !has_newline(&list.clone().into());
    for item in items.iter().skip(list.elements().len()) {
        let added = list.append(item.to_input());
        restyle(&added, Layout::Compact, style);
        if one_line {
            set_space_before(&added, &style.comma_space);
        }
    }
    if was_empty && open_up && !items.is_empty() {
        list.ensure_multiline();
    }
    Ok(())
}
