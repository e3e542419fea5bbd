//! Where things are in a JSON text: a scanner that records the byte span of every value and
//! of every object member, so that an edit can splice new bytes in and leave the rest alone.
//!
//! The scanner is deliberately lenient about what it accepts (numbers and literals are runs of
//! alphanumerics): callers validate the text with serde_json first, and only need positions
//! from this module. It still reports an error, rather than panicking, on text it cannot
//! follow.

use super::Malformed;

/// One JSON value and the bytes it occupies (`start..end`, `end` exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// Members in file order, duplicates included.
    Object(Vec<Member>),
    Array(Vec<Node>),
    /// A string, number, `true`, `false` or `null`.
    Scalar,
}

/// One `"key": value` pair of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    /// The key, unescaped.
    pub key: String,
    /// Just after the `{` or the `,` that precedes this member: `lead_start..key_start` is
    /// the whitespace that lays the member out, which new siblings copy.
    pub lead_start: usize,
    /// The opening quote of the key.
    pub key_start: usize,
    /// Just after the closing quote of the key: `key_end..value.start` is the colon with its
    /// surrounding whitespace.
    pub key_end: usize,
    pub value: Node,
}

impl Node {
    pub fn is_object(&self) -> bool {
        matches!(self.kind, Kind::Object(_))
    }

    /// The members of an object; none for anything else.
    pub fn members(&self) -> &[Member] {
        match &self.kind {
            Kind::Object(members) => members,
            _ => &[],
        }
    }

    /// The member that holds `key`, with its index. Like serde_json, the last of duplicated
    /// keys is the one that counts.
    pub fn member(&self, key: &str) -> Option<(usize, &Member)> {
        self.members()
            .iter()
            .enumerate()
            .rev()
            .find(|(_, member)| member.key == key)
    }

    /// The value reached by following `path` through nested objects.
    pub fn find(&self, path: &[&str]) -> Option<&Node> {
        match path.split_first() {
            None => Some(self),
            Some((key, rest)) => self.member(key)?.1.value.find(rest),
        }
    }

    /// This node and every node inside it, parents before children.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(node);
            match &node.kind {
                Kind::Object(members) => stack.extend(members.iter().rev().map(|m| &m.value)),
                Kind::Array(items) => stack.extend(items.iter().rev()),
                Kind::Scalar => {}
            }
        }
        out
    }
}

/// How many bytes a leading UTF-8 byte order mark takes (Windows editors write one); it is
/// not JSON, so parsing skips it, but editing keeps it.
pub(super) fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    }
}

/// The spans of the single value that `text` holds (after an optional byte order mark).
pub(super) fn scan(text: &str) -> Result<Node, Malformed> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: bom_len(text),
    };
    scanner.skip_ws();
    let root = scanner.value()?;
    scanner.skip_ws();
    if scanner.pos != scanner.bytes.len() {
        return Err(scanner.fail("unexpected text after the value"));
    }
    Ok(root)
}

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn fail(&self, what: &str) -> Malformed {
        Malformed::InvalidJson(format!("{what} at byte {}", self.pos))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8, what: &str) -> Result<(), Malformed> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.fail(what))
        }
    }

    fn value(&mut self) -> Result<Node, Malformed> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                self.string()?;
                Ok(Node {
                    start,
                    end: self.pos,
                    kind: Kind::Scalar,
                })
            }
            Some(b) if b == b'-' || b.is_ascii_alphanumeric() => {
                while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                {
                    self.pos += 1;
                }
                Ok(Node {
                    start,
                    end: self.pos,
                    kind: Kind::Scalar,
                })
            }
            _ => Err(self.fail("expected a value")),
        }
    }

    /// Skips a string, from its opening quote to just past its closing one. Multi-byte UTF-8
    /// sequences never contain `"` or `\`, so walking bytes is safe.
    fn string(&mut self) -> Result<(), Malformed> {
        self.eat(b'"', "expected a string")?;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.pos += 2,
                Some(_) => self.pos += 1,
                None => return Err(self.fail("unterminated string")),
            }
        }
    }

    fn object(&mut self) -> Result<Node, Malformed> {
        let start = self.pos;
        self.eat(b'{', "expected an object")?;
        let mut members = Vec::new();
        let mut lead_start = self.pos;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node {
                start,
                end: self.pos,
                kind: Kind::Object(members),
            });
        }
        loop {
            self.skip_ws();
            let key_start = self.pos;
            self.string()?;
            let key_end = self.pos;
            let raw_key = self.text.get(key_start..key_end).unwrap_or_default();
            let key: String = serde_json::from_str(raw_key)
                .map_err(|e| Malformed::InvalidJson(format!("bad key at byte {key_start}: {e}")))?;
            self.skip_ws();
            self.eat(b':', "expected `:`")?;
            self.skip_ws();
            let value = self.value()?;
            members.push(Member {
                key,
                lead_start,
                key_start,
                key_end,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    lead_start = self.pos;
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node {
                        start,
                        end: self.pos,
                        kind: Kind::Object(members),
                    });
                }
                _ => return Err(self.fail("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<Node, Malformed> {
        let start = self.pos;
        self.eat(b'[', "expected an array")?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node {
                start,
                end: self.pos,
                kind: Kind::Array(items),
            });
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node {
                        start,
                        end: self.pos,
                        kind: Kind::Array(items),
                    });
                }
                _ => return Err(self.fail("expected `,` or `]`")),
            }
        }
    }
}
