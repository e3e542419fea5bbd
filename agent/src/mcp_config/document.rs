//! A configuration file as jsonc-parser's concrete syntax tree: every comment, blank line and
//! space of the file is a node in it, so printing the tree gives back the file, and an edit
//! made to one node leaves all the others as they were.

use super::Malformed;
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstContainerNode, CstNode, CstObject, CstObjectProp, CstRootNode};
use serde_json::Value;

/// Windows editors start files with one; it is not JSON, so it is set aside while parsing and
/// put back in front when the file is written.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// What VS Code and Cursor accept in their JSON files: comments and trailing commas. The
/// JSON5 extensions the parser also knows (single quotes, unquoted keys, hex numbers...) are
/// refused, because the clients that read these files refuse them too.
fn jsonc() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// A parsed file. Its nodes point back at the root only weakly, so the root lives here for as
/// long as any of them is in use.
pub(super) struct Document {
    byte_order_mark: bool,
    root: CstRootNode,
}

impl Document {
    pub fn parse(text: &str) -> Result<Document, Malformed> {
        let (byte_order_mark, body) = match text.strip_prefix(BYTE_ORDER_MARK) {
            Some(body) => (true, body),
            None => (false, text),
        };
        let root = CstRootNode::parse(body, &jsonc())
            .map_err(|e| Malformed::InvalidJson(e.to_string()))?;
        Ok(Document {
            byte_order_mark,
            root,
        })
    }

    /// The file as it now reads, byte order mark included.
    pub fn text(&self) -> String {
        let mark = if self.byte_order_mark {
            BYTE_ORDER_MARK.to_string()
        } else {
            String::new()
        };
        format!("{mark}{}", self.root)
    }

    /// The top-level object.
    pub fn top(&self) -> Result<CstObject, Malformed> {
        match self.root.value() {
            None => Err(Malformed::InvalidJson("the file holds no value".to_owned())),
            Some(value) => value.as_object().ok_or(Malformed::TopLevelNotObject),
        }
    }

    /// Every node of the file, parents before children, in file order.
    pub fn nodes(&self) -> Vec<CstNode> {
        descendants(&CstNode::Container(CstContainerNode::Root(
            self.root.clone(),
        )))
    }

    /// The object reached from the top level by following `path`.
    pub fn object_at(&self, path: &[&str]) -> Result<CstObject, Malformed> {
        let mut object = self.top()?;
        for key in path {
            object = member(&object, key)
                .and_then(|prop| prop.object_value())
                .ok_or_else(|| Malformed::InvalidJson(format!("`{key}` is not an object")))?;
        }
        Ok(object)
    }
}

/// `node` and every node inside it, parents before children, in file order.
pub(super) fn descendants(node: &CstNode) -> Vec<CstNode> {
    let mut out = Vec::new();
    let mut stack = vec![node.clone()];
    while let Some(node) = stack.pop() {
        if let CstNode::Container(container) = &node {
            stack.extend(container.children().into_iter().rev());
        }
        out.push(node);
    }
    out
}

/// The member of `object` named `key`. Of duplicated keys the last counts, as it does for
/// serde_json and for the clients.
pub(super) fn member(object: &CstObject, key: &str) -> Option<CstObjectProp> {
    object
        .properties()
        .into_iter()
        .rev()
        .find(|prop| prop.decoded_name().as_deref() == Some(key))
}

/// The members of `object` as (name, value), in file order, duplicates included.
pub(super) fn members(object: &CstObject) -> Result<Vec<(String, Value)>, Malformed> {
    object
        .properties()
        .into_iter()
        .map(|prop| {
            let name = prop
                .decoded_name()
                .ok_or_else(|| Malformed::InvalidJson("a key cannot be read".to_owned()))?;
            let value = value_of(&prop)
                .ok_or_else(|| Malformed::InvalidJson(format!("`{name}` has no value")))?;
            Ok((name, value))
        })
        .collect()
}

/// The value of a member, decoded.
pub(super) fn value_of(prop: &CstObjectProp) -> Option<Value> {
    prop.value()?.to_serde_value()
}
