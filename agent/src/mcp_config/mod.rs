//! MCP client configuration files: reading them, and editing one server entry at a time
//! while every other byte of the file stays as it was.
//!
//! The files are JSON with comments and trailing commas (JSONC), as VS Code and Cursor
//! write them; jsonc-parser's concrete syntax tree holds every byte of them, comments and
//! layout included.
//!
//! Two shapes exist in the wild: `{"mcpServers": {name: entry}}` (Claude Desktop's
//! `claude_desktop_config.json`, Claude Code's and Cursor's `.mcp.json`) and
//! `{"servers": {name: entry}}` (VS Code's `.vscode/mcp.json`).

mod document;
mod edit;
#[cfg(test)]
mod tests;

use document::Document;
use edit::{NewValue, Style};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Which shape a file has, named after the key that holds the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `{"mcpServers": {...}}`: Claude Desktop, Claude Code, Cursor.
    McpServers,
    /// `{"servers": {...}}`: VS Code.
    Vscode,
}

impl Format {
    pub fn servers_key(self) -> &'static str {
        match self {
            Format::McpServers => "mcpServers",
            Format::Vscode => "servers",
        }
    }

    /// The servers key of the other format, which a file given the wrong format has.
    fn other_servers_key(self) -> &'static str {
        match self {
            Format::McpServers => Format::Vscode.servers_key(),
            Format::Vscode => Format::McpServers.servers_key(),
        }
    }
}

/// One MCP server as a client configuration describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerEntry {
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Why a file cannot be read as an MCP client configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the top level is not an object")]
    TopLevelNotObject,
    #[error("`{key}` is not an object")]
    ServersNotObject { key: &'static str },
    #[error("server `{name}` is not an object")]
    EntryNotObject { name: String },
    #[error("server `{name}`: `command` is not a string")]
    CommandNotString { name: String },
    #[error("server `{name}`: `args` is not a list of strings")]
    ArgsNotStrings { name: String },
    #[error("server `{name}`: `env` is not an object")]
    EnvNotObject { name: String },
    #[error("server `{name}`: `env.{var}` is not a string")]
    EnvValueNotString { name: String, var: String },
}

/// A readable file whose top level is not an MCP client configuration: it has no servers
/// key for its format, yet is not the empty object of a client that has configured nothing.
/// Most likely the agent was pointed at the wrong file (an editor's settings, say) or told
/// the wrong format for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotMcpConfig {
    /// The servers key the file's format calls for.
    pub expected: &'static str,
    /// The other format's servers key, when that is what the file has instead.
    pub other_format_key: Option<&'static str>,
}

impl std::fmt::Display for NotMcpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.other_format_key {
            Some(found) => write!(
                f,
                "it has `{found}` where its configured format expects `{}`; \
                 check the format given for it in agent.toml",
                self.expected
            ),
            None => write!(
                f,
                "its top level has no `{}` object; check the path given for it in agent.toml",
                self.expected
            ),
        }
    }
}

/// One configuration file: its exact text and what it says.
///
/// The text is JSON with comments and trailing commas allowed, as VS Code and Cursor write
/// it. Edits go through the file's syntax tree (see `edit`) and return a new `McpFile` whose
/// text differs from the old one only inside the server entry concerned (plus the comma, and
/// for a first entry the line breaks, it needs): every comment, blank line and indentation
/// elsewhere stays. Each edit re-reads its own result and checks the servers came out as
/// intended; were that check ever to fail, the whole entry is written out afresh instead, so
/// the content is right even if that entry's layout is lost.
///
/// A server name that appears more than once in the servers object counts once, with its
/// last occurrence (as serde_json reads it): that is the one listed, returned, and edited;
/// removing a name removes all of its occurrences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpFile {
    format: Format,
    text: String,
    servers: Vec<(String, ServerEntry)>,
    not_mcp_config: Option<NotMcpConfig>,
}

impl McpFile {
    /// Reads `text`. A top-level object without the servers key is a file with no servers
    /// (see [`McpFile::not_mcp_config`] for whether that is suspicious). A leading byte order
    /// mark is accepted and kept.
    pub fn parse(text: &str, format: Format) -> Result<McpFile, Malformed> {
        let doc = Document::parse(text)?;
        let top = doc.top()?;
        let key = format.servers_key();
        let servers = match document::member(&top, key) {
            None => Vec::new(),
            Some(prop) => {
                let object = prop
                    .object_value()
                    .ok_or(Malformed::ServersNotObject { key })?;
                let entries = document::members(&object)?;
                let mut seen = HashSet::new();
                let mut last_first: Vec<(String, Value)> = entries
                    .into_iter()
                    .rev()
                    .filter(|(name, _)| seen.insert(name.clone()))
                    .collect();
                last_first.reverse();
                last_first
                    .into_iter()
                    .map(|(name, value)| {
                        let entry = entry_of(&name, &value)?;
                        Ok((name, entry))
                    })
                    .collect::<Result<_, Malformed>>()?
            }
        };
        // `{}` is what a client writes before anything is configured (Claude Desktop starts
        // from it), so only a top level that holds something else, but not the servers
        // key, is a file of some other kind.
        let has_key = |key| document::member(&top, key).is_some();
        let not_mcp_config = (!has_key(key) && !top.properties().is_empty()).then(|| {
            let other = format.other_servers_key();
            NotMcpConfig {
                expected: key,
                other_format_key: has_key(other).then_some(other),
            }
        });
        Ok(McpFile {
            format,
            text: text.to_owned(),
            servers,
            not_mcp_config,
        })
    }

    /// A new file of this format with no servers.
    pub fn empty(format: Format) -> McpFile {
        McpFile {
            format,
            text: format!("{{\n  {}: {{}}\n}}\n", edit::quote(format.servers_key())),
            servers: Vec::new(),
            not_mcp_config: None,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The servers in file order.
    pub fn servers(&self) -> Vec<(String, ServerEntry)> {
        self.servers.clone()
    }

    /// Why the file, though readable, does not look like an MCP client configuration; `None`
    /// when it does, or is the empty object.
    pub fn not_mcp_config(&self) -> Option<&NotMcpConfig> {
        self.not_mcp_config.as_ref()
    }

    pub fn get(&self, name: &str) -> Option<ServerEntry> {
        self.servers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, entry)| entry.clone())
    }

    /// Inserts or replaces the server `name`.
    ///
    /// A new server is appended as the last member of the servers object, laid out like its
    /// siblings (or one indentation unit deeper than the line of the servers key when it has
    /// none); for VS Code it starts with `"type": "stdio"`. Without a servers key, one is
    /// added as the last top-level member.
    ///
    /// An existing server keeps its other keys (`type`, `disabled`, `cwd`...), its layout and
    /// its comments: `command` and `args` are each left alone when already right, otherwise
    /// their value is replaced, added at the end of the entry, or, for a `command` now absent,
    /// removed. An empty `args` is not added to an entry that lacks it, and empties (`[]`) one
    /// that has it rather than removing the key.
    ///
    /// `env` is merged, variable by variable: each variable given is set (replaced in place,
    /// or appended), and the variables the entry already has that `entry` does not mention are
    /// kept, values and order unchanged. So a change that carries no env (a version pin, whose
    /// proposal must not copy the machine's secrets to the coordinator) leaves the env as it
    /// is; no variable is ever removed this way.
    pub fn with_server(&self, name: &str, entry: &ServerEntry) -> McpFile {
        let wanted = match self.get(name) {
            Some(existing) => {
                let mut env = existing.env;
                env.extend(entry.env.iter().map(|(k, v)| (k.clone(), v.clone())));
                ServerEntry {
                    command: entry.command.clone(),
                    args: entry.args.clone(),
                    env,
                }
            }
            None => entry.clone(),
        };
        if self.get(name).as_ref() == Some(&wanted) {
            return self.clone();
        }
        self.edited_with(name, &wanted)
            .unwrap_or_else(|_| self.rewritten(name, Some(&wanted)))
    }

    /// Removes the server `name`, with exactly one separating comma; the only server leaves
    /// an empty `{}` behind. A name not present gives an identical copy.
    pub fn without_server(&self, name: &str) -> McpFile {
        if self.get(name).is_none() {
            return self.clone();
        }
        self.edited_without(name)
            .unwrap_or_else(|_| self.rewritten(name, None))
    }

    /// Sets `name` to exactly `entry` (env included: variables it lacks are removed); the
    /// merging of `with_server` happens before.
    fn edited_with(&self, name: &str, entry: &ServerEntry) -> Result<McpFile, Malformed> {
        let key = self.format.servers_key();
        let doc = Document::parse(&self.text)?;
        let style = Style::detect(&doc);
        if !edit::has_member(&doc, &[], key)? {
            let servers = NewValue::Object(vec![(name.to_owned(), self.new_entry(entry))]);
            edit::set_member(&doc, &[], key, Some(&servers), &style)?;
        } else if !edit::has_member(&doc, &[key], name)? {
            edit::set_member(&doc, &[key], name, Some(&self.new_entry(entry)), &style)?;
        } else {
            replace_entry(&doc, &[key, name], entry, &style)?;
        }
        self.checked(&doc.text(), name, Some(entry))
    }

    fn edited_without(&self, name: &str) -> Result<McpFile, Malformed> {
        let key = self.format.servers_key();
        let doc = Document::parse(&self.text)?;
        let style = Style::detect(&doc);
        edit::set_member(&doc, &[key], name, None, &style)?;
        self.checked(&doc.text(), name, None)
    }

    /// `text` read back, provided its servers are what setting `name` to `entry` (or
    /// removing it) must give.
    fn checked(
        &self,
        text: &str,
        name: &str,
        entry: Option<&ServerEntry>,
    ) -> Result<McpFile, Malformed> {
        let edited = McpFile::parse(text, self.format)?;
        if edited.servers != self.servers_after(name, entry) {
            return Err(Malformed::InvalidJson("the edit went astray".to_owned()));
        }
        Ok(edited)
    }

    /// What `servers()` must list once `name` is set to `entry` (or removed).
    fn servers_after(&self, name: &str, entry: Option<&ServerEntry>) -> Vec<(String, ServerEntry)> {
        let mut servers = self.servers.clone();
        let position = servers.iter().position(|(n, _)| n == name);
        match (position, entry) {
            (Some(i), Some(entry)) => {
                if let Some(slot) = servers.get_mut(i) {
                    slot.1 = entry.clone();
                }
            }
            (None, Some(entry)) => servers.push((name.to_owned(), entry.clone())),
            (Some(i), None) => {
                servers.remove(i);
            }
            (None, None) => {}
        }
        servers
    }

    /// A whole new entry: VS Code's `type` first, then only the keys that say something.
    fn new_entry(&self, entry: &ServerEntry) -> NewValue {
        let mut members = Vec::new();
        if self.format == Format::Vscode {
            members.push(("type".to_owned(), NewValue::Str("stdio".to_owned())));
        }
        if let Some(command) = &entry.command {
            members.push(("command".to_owned(), NewValue::Str(command.clone())));
        }
        if !entry.args.is_empty() {
            members.push(("args".to_owned(), args_value(&entry.args)));
        }
        if !entry.env.is_empty() {
            members.push(("env".to_owned(), env_value(&entry.env)));
        }
        NewValue::Object(members)
    }

    /// The last resort should a precise edit ever fail to check out: the entry concerned
    /// written out afresh (keeping its other keys), its duplicates removed. The rest of the
    /// file, comments included, is still untouched.
    fn rewritten(&self, name: &str, entry: Option<&ServerEntry>) -> McpFile {
        self.rewrite(name, entry).unwrap_or_else(|_| self.clone())
    }

    fn rewrite(&self, name: &str, entry: Option<&ServerEntry>) -> Result<McpFile, Malformed> {
        let key = self.format.servers_key();
        let doc = Document::parse(&self.text)?;
        let top = doc.top()?;
        let servers = top
            .object_value_or_create(key)
            .ok_or(Malformed::ServersNotObject { key })?;
        let old = document::member(&servers, name).and_then(|prop| document::value_of(&prop));
        while let Some(prop) = document::member(&servers, name) {
            prop.remove();
        }
        if let Some(entry) = entry {
            let mut fields = match old {
                Some(Value::Object(fields)) => fields,
                _ => match self.new_entry(entry).to_json_value() {
                    Value::Object(fields) => fields,
                    _ => serde_json::Map::new(),
                },
            };
            match &entry.command {
                Some(command) => {
                    fields.insert("command".to_owned(), Value::String(command.clone()));
                }
                None => {
                    fields.remove("command");
                }
            }
            if !entry.args.is_empty() || fields.contains_key("args") {
                fields.insert("args".to_owned(), args_value(&entry.args).to_json_value());
            }
            if !entry.env.is_empty() || fields.contains_key("env") {
                fields.insert("env".to_owned(), env_value(&entry.env).to_json_value());
            }
            servers.append(name, edit::input_of(&Value::Object(fields)));
        }
        McpFile::parse(&doc.text(), self.format)
    }
}

fn args_value(args: &[String]) -> NewValue {
    NewValue::List(args.iter().cloned().map(NewValue::Str).collect())
}

fn env_value(env: &BTreeMap<String, String>) -> NewValue {
    NewValue::Object(
        env.iter()
            .map(|(k, v)| (k.clone(), NewValue::Str(v.clone())))
            .collect(),
    )
}

/// Brings the existing entry at `path` in line with `entry`, member by member.
fn replace_entry(
    doc: &Document,
    path: &[&str],
    entry: &ServerEntry,
    style: &Style,
) -> Result<(), Malformed> {
    let command = entry.command.clone().map(NewValue::Str);
    edit::set_member(doc, path, "command", command.as_ref(), style)?;
    if !entry.args.is_empty() || edit::has_member(doc, path, "args")? {
        edit::set_member(doc, path, "args", Some(&args_value(&entry.args)), style)?;
    }
    if edit::has_member(doc, path, "env")? {
        let env_path: Vec<&str> = path.iter().copied().chain(["env"]).collect();
        for var in edit::keys_at(doc, &env_path)? {
            if !entry.env.contains_key(&var) {
                edit::set_member(doc, &env_path, &var, None, style)?;
            }
        }
        for (var, value) in &entry.env {
            let value = NewValue::Str(value.clone());
            edit::set_member(doc, &env_path, var, Some(&value), style)?;
        }
    } else if !entry.env.is_empty() {
        edit::set_member(doc, path, "env", Some(&env_value(&entry.env)), style)?;
    }
    Ok(())
}

/// Reads one server entry, checking the shape of the keys this crate relies on.
fn entry_of(name: &str, value: &Value) -> Result<ServerEntry, Malformed> {
    let owned = || name.to_owned();
    let Value::Object(fields) = value else {
        return Err(Malformed::EntryNotObject { name: owned() });
    };
    let command = match fields.get("command") {
        None => None,
        Some(Value::String(command)) => Some(command.clone()),
        Some(_) => return Err(Malformed::CommandNotString { name: owned() }),
    };
    let args = match fields.get("args") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Malformed::ArgsNotStrings { name: owned() })?,
        Some(_) => return Err(Malformed::ArgsNotStrings { name: owned() }),
    };
    let env = match fields.get("env") {
        None => BTreeMap::new(),
        Some(Value::Object(vars)) => vars
            .iter()
            .map(|(var, value)| match value {
                Value::String(value) => Ok((var.clone(), value.clone())),
                _ => Err(Malformed::EnvValueNotString {
                    name: owned(),
                    var: var.clone(),
                }),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(Malformed::EnvNotObject { name: owned() }),
    };
    Ok(ServerEntry { command, args, env })
}

/// A unified diff from `old` to `new`, both sides labelled `label`; empty when they are equal.
pub fn unified_diff(label: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(label, label)
        .to_string()
}
