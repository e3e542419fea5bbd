use super::document::{self, Document};
use super::*;

fn entry(command: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> ServerEntry {
    ServerEntry {
        command: command.map(str::to_owned),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn parse(text: &str) -> McpFile {
    McpFile::parse(text, Format::McpServers).unwrap()
}

fn parse_vscode(text: &str) -> McpFile {
    McpFile::parse(text, Format::Vscode).unwrap()
}

// A Claude Desktop file with three servers, assembled from its parts so that expected texts
// can be assembled the same way.
const HEAD: &str = "{\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"mcpServers\": {\n";
const FS: &str = r#"    "filesystem": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-filesystem",
        "/Users/me/Desktop"
      ]
    }"#;
const GH: &str = r#"    "github": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],
      "env": {
        "GITHUB_TOKEN": "abc"
      },
      "disabled": false
    }"#;
const MEM: &str = r#"    "memory": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-memory"]
    }"#;
const TAIL: &str = "\n  },\n  \"theme\": \"dark\"\n}\n";

fn claude(entries: &[&str]) -> String {
    format!("{HEAD}{}{TAIL}", entries.join(",\n"))
}

fn claude3() -> String {
    claude(&[FS, GH, MEM])
}

const VSCODE: &str = r#"{
  "inputs": [
    {
      "type": "promptString",
      "id": "token",
      "description": "API token",
      "password": true
    }
  ],
  "servers": {
    "fetch": {
      "type": "stdio",
      "command": "uvx",
      "args": ["mcp-server-fetch"]
    },
    "remote": {
      "type": "http",
      "url": "https://example.com/mcp"
    }
  }
}
"#;

const COMPACT: &str = r#"{"mcpServers":{"a":{"command":"x"}}}"#;

/// The byte range of server `name`'s member (key to end of value) in `text`.
fn entry_span(text: &str, key: &str, name: &str) -> (usize, usize) {
    let doc = Document::parse(text).unwrap();
    let servers = doc.object_at(&[key]).unwrap();
    let member = document::member(&servers, name).unwrap().to_string();
    let start = text.find(&member).unwrap();
    (start, start + member.len())
}

/// Asserts that `new` differs from `old` only within server `name`'s member.
fn assert_only_entry_changed(old: &str, new: &str, key: &str, name: &str) {
    let (start, end) = entry_span(old, key, name);
    assert!(new.starts_with(&old[..start]), "prefix changed:\n{new}");
    assert!(new.ends_with(&old[end..]), "suffix changed:\n{new}");
}

/// Leading runs of two spaces become `unit`, to restyle a fixture.
fn reindent(text: &str, unit: &str) -> String {
    text.split('\n')
        .map(|line| {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            format!("{}{}", unit.repeat(spaces / 2), &line[spaces..])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn parsing_keeps_the_text_and_lists_servers_in_file_order() {
    let file = parse(&claude3());
    assert_eq!(file.text(), claude3());
    let names: Vec<String> = file.servers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["filesystem", "github", "memory"]);
    assert_eq!(
        file.get("github"),
        Some(entry(
            Some("docker"),
            &["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],
            &[("GITHUB_TOKEN", "abc")],
        ))
    );
    assert_eq!(file.get("nope"), None);

    let vscode = parse_vscode(VSCODE);
    assert_eq!(vscode.text(), VSCODE);
    assert_eq!(
        vscode.servers(),
        vec![
            (
                "fetch".to_owned(),
                entry(Some("uvx"), &["mcp-server-fetch"], &[])
            ),
            ("remote".to_owned(), entry(None, &[], &[])),
        ]
    );
}

#[test]
fn round_trips_are_exact() {
    let texts = [
        claude3(),
        VSCODE.to_owned(),
        COMPACT.to_owned(),
        "{}".to_owned(),
        " \n{ \"other\" : [1, 2.5e-3, true, null, {\"x\": []}] }\n\n".to_owned(),
        claude3().replace('\n', "\r\n"),
        format!("\u{feff}{}", claude3()),
    ];
    for text in texts {
        for format in [Format::McpServers, Format::Vscode] {
            let file = McpFile::parse(&text, format).unwrap();
            assert_eq!(file.text(), text);
            assert_eq!(McpFile::parse(file.text(), format).unwrap(), file);
        }
    }
}

#[test]
fn a_missing_servers_key_means_no_servers() {
    let file = parse("{\n  \"theme\": \"dark\"\n}\n");
    assert!(file.servers().is_empty());
    assert!(parse_vscode(&claude3()).servers().is_empty());
}

#[test]
fn empty_files() {
    let file = McpFile::empty(Format::McpServers);
    assert_eq!(file.text(), "{\n  \"mcpServers\": {}\n}\n");
    assert_eq!(file, parse(file.text()));
    let file = McpFile::empty(Format::Vscode);
    assert_eq!(file.text(), "{\n  \"servers\": {}\n}\n");
    assert_eq!(file, parse_vscode(file.text()));
    assert!(file.servers().is_empty());
}

#[test]
fn replacing_the_middle_entry_touches_only_its_bytes() {
    let old = claude3();
    let new_entry = entry(
        Some("docker"),
        &[
            "run",
            "-i",
            "--rm",
            "-e",
            "GITHUB_TOKEN",
            "ghcr.io/github/github-mcp-server",
        ],
        &[("GITHUB_TOKEN", "xyz"), ("LOG", "debug")],
    );
    let edited = parse(&old).with_server("github", &new_entry);
    assert_only_entry_changed(&old, edited.text(), "mcpServers", "github");
    let gh = r#"    "github": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {
        "GITHUB_TOKEN": "xyz",
        "LOG": "debug"
      },
      "disabled": false
    }"#;
    assert_eq!(edited.text(), claude(&[FS, gh, MEM]));
    assert_eq!(edited.get("github"), Some(new_entry));
    assert_eq!(edited.get("filesystem"), parse(&old).get("filesystem"));
}

#[test]
fn replacing_first_and_last_entries_touches_only_their_bytes() {
    let old = claude3();
    for name in ["filesystem", "memory"] {
        let new_entry = entry(
            Some("node"),
            &["server.js", "--port", "8080"],
            &[("A", "1")],
        );
        let edited = parse(&old).with_server(name, &new_entry);
        assert_only_entry_changed(&old, edited.text(), "mcpServers", name);
        assert_eq!(edited.get(name), Some(new_entry));
        assert_eq!(edited.servers().len(), 3);
    }
    // Multi-line lists stay multi-line, one-line lists stay on one line.
    let edited = parse(&old).with_server("filesystem", &entry(Some("npx"), &["-y", "fs"], &[]));
    let fs = "    \"filesystem\": {\n      \"command\": \"npx\",\n      \"args\": [\n        \"-y\",\n        \"fs\"\n      ]\n    }";
    assert_eq!(edited.text(), claude(&[fs, GH, MEM]));
    let edited = parse(&old).with_server("memory", &entry(Some("npx"), &["-y", "mem"], &[]));
    let mem =
        "    \"memory\": {\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"mem\"]\n    }";
    assert_eq!(edited.text(), claude(&[FS, GH, mem]));
}

#[test]
fn replacing_keeps_unknown_keys_and_vscode_type() {
    let text = r#"{
  "servers": {
    "fetch": {
      "type": "stdio",
      "cwd": "/tmp",
      "command": "uvx",
      "args": ["mcp-server-fetch"],
      "envFile": "${workspaceFolder}/.env",
      "disabled": true
    }
  }
}"#;
    let edited = parse_vscode(text).with_server(
        "fetch",
        &entry(Some("uv"), &["run", "fetch"], &[("K", "V")]),
    );
    let expected = r#"{
  "servers": {
    "fetch": {
      "type": "stdio",
      "cwd": "/tmp",
      "command": "uv",
      "args": ["run", "fetch"],
      "envFile": "${workspaceFolder}/.env",
      "disabled": true,
      "env": {
        "K": "V"
      }
    }
  }
}"#;
    assert_eq!(edited.text(), expected);
}

#[test]
fn replacing_changes_only_the_members_that_differ() {
    let old = claude3();
    // Only the value of one env variable differs: one line changes.
    let edited = parse(&old).with_server(
        "github",
        &entry(
            Some("docker"),
            &["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],
            &[("GITHUB_TOKEN", "new")],
        ),
    );
    assert_eq!(edited.text(), old.replace("\"abc\"", "\"new\""));
    // Same entry: same file, byte for byte.
    let same = parse(&old).with_server("github", &parse(&old).get("github").unwrap());
    assert_eq!(same.text(), old);
}

#[test]
fn env_is_merged_keeping_the_variables_not_mentioned() {
    let text = r#"{"mcpServers": {"a": {"command": "x", "env": {"Z": "1", "B": "2", "M": "3"}}}}"#;
    // Given variables are set in place or appended; `B`, not mentioned, keeps its value.
    let edited = parse(text).with_server(
        "a",
        &entry(Some("x"), &[], &[("Z", "1"), ("M", "30"), ("C", "4")]),
    );
    assert_eq!(
        edited.text(),
        r#"{"mcpServers": {"a": {"command": "x", "env": {"Z": "1", "B": "2", "M": "30", "C": "4"}}}}"#
    );
    // No env at all (a version pin): the env stays byte for byte, only args change.
    let secret = r#"{"mcpServers": {"a": {"command": "npx", "args": ["pkg"], "env": {"TOKEN": "ghp_x", "LOG": "debug"}}}}"#;
    let pinned = parse(secret).with_server("a", &entry(Some("npx"), &["pkg@1.0.0"], &[]));
    assert_eq!(pinned.text(), secret.replace("\"pkg\"", "\"pkg@1.0.0\""));
    assert_eq!(pinned.get("a").unwrap().env["TOKEN"], "ghp_x");
    // A new server gets exactly the env given.
    let added = parse(secret).with_server("b", &entry(Some("y"), &[], &[("K", "V")]));
    assert_eq!(added.get("b"), Some(entry(Some("y"), &[], &[("K", "V")])));
}

#[test]
fn command_none_removes_the_key() {
    let text = r#"{"mcpServers": {"a": {"command": "x", "url": "https://h/mcp"}}}"#;
    let edited = parse(text).with_server("a", &entry(None, &[], &[]));
    assert_eq!(
        edited.text(),
        r#"{"mcpServers": {"a": {"url": "https://h/mcp"}}}"#
    );
    let text = r#"{"mcpServers": {"a": {"url": "https://h/mcp", "command": "x"}}}"#;
    let edited = parse(text).with_server("a", &entry(None, &[], &[]));
    assert_eq!(
        edited.text(),
        r#"{"mcpServers": {"a": {"url": "https://h/mcp"}}}"#
    );
}

#[test]
fn empty_args_are_not_added_but_empty_existing_keys_and_env_stays() {
    let cases = [
        (
            r#"{"mcpServers": {"a": {"command": "x"}}}"#,
            r#"{"mcpServers": {"a": {"command": "y"}}}"#,
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "args": ["1"], "env": {"K": "V"}}}}"#,
            r#"{"mcpServers": {"a": {"command": "y", "args": [], "env": {"K": "V"}}}}"#,
        ),
        (
            r#"{"mcpServers": {"a": {"args": [], "command": "x"}}}"#,
            r#"{"mcpServers": {"a": {"args": [], "command": "y"}}}"#,
        ),
    ];
    for (before, after) in cases {
        assert_eq!(
            parse(before)
                .with_server("a", &entry(Some("y"), &[], &[]))
                .text(),
            after
        );
    }
}

#[test]
fn filling_an_empty_list_follows_the_layout_of_its_siblings() {
    let text = "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\",\n      \"args\": []\n    }\n  }\n}\n";
    let edited = parse(text).with_server("a", &entry(Some("x"), &["1", "2"], &[]));
    let expected = "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\",\n      \"args\": [\n        \"1\",\n        \"2\"\n      ]\n    }\n  }\n}\n";
    assert_eq!(edited.text(), expected);
}

#[test]
fn appending_to_an_empty_servers_object() {
    let e = entry(Some("npx"), &["-y", "pkg"], &[("K", "V")]);
    let expected = r#"{
  "mcpServers": {
    "a": {
      "command": "npx",
      "args": [
        "-y",
        "pkg"
      ],
      "env": {
        "K": "V"
      }
    }
  }
}
"#;
    for servers in ["{}", "{ }", "{\n  }", "{\n\n}"] {
        let text = format!("{{\n  \"mcpServers\": {servers}\n}}\n");
        let edited = parse(&text).with_server("a", &e);
        assert_eq!(edited.text(), expected, "from {servers:?}");
        assert_eq!(edited.get("a"), Some(e.clone()));
    }
}

#[test]
fn appending_to_a_compact_file_stays_compact() {
    let edited = parse(COMPACT).with_server("b", &entry(Some("y"), &["1"], &[("K", "V")]));
    assert_eq!(
        edited.text(),
        r#"{"mcpServers":{"a":{"command":"x"},"b":{"command":"y","args":["1"],"env":{"K":"V"}}}}"#
    );
    let edited =
        parse(r#"{"mcpServers": {}}"#).with_server("b", &entry(Some("y"), &["1", "2"], &[]));
    assert_eq!(
        edited.text(),
        r#"{"mcpServers": {"b": {"command": "y", "args": ["1", "2"]}}}"#
    );
}

#[test]
fn appending_after_existing_entries() {
    let old = claude3();
    let e = entry(Some("uvx"), &["mcp-server-git"], &[]);
    let edited = parse(&old).with_server("git", &e);
    // The file's lists: the first one is written over several lines.
    let git = "    \"git\": {\n      \"command\": \"uvx\",\n      \"args\": [\n        \"mcp-server-git\"\n      ]\n    }";
    assert_eq!(edited.text(), claude(&[FS, GH, MEM, git]));

    let edited = parse_vscode(VSCODE).with_server("git", &e);
    let expected = VSCODE.replace(
        "      \"url\": \"https://example.com/mcp\"\n    }\n",
        "      \"url\": \"https://example.com/mcp\"\n    },\n    \"git\": {\n      \"type\": \"stdio\",\n      \"command\": \"uvx\",\n      \"args\": [\"mcp-server-git\"]\n    }\n",
    );
    assert_eq!(edited.text(), expected);
    // `inputs` and everything before the servers is untouched.
    let servers_at = VSCODE.find("\"servers\"").unwrap();
    assert_eq!(edited.text()[..servers_at], VSCODE[..servers_at]);
}

#[test]
fn a_missing_servers_key_is_added_last() {
    let e = entry(Some("x"), &[], &[]);
    let edited = parse("{\n  \"theme\": \"dark\"\n}\n").with_server("a", &e);
    assert_eq!(
        edited.text(),
        "{\n  \"theme\": \"dark\",\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\"\n    }\n  }\n}\n"
    );
    let edited = parse("{}").with_server("a", &e);
    assert_eq!(
        edited.text(),
        "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\"\n    }\n  }\n}"
    );
    let edited = parse(r#"{"theme":"dark"}"#).with_server("a", &e);
    assert_eq!(
        edited.text(),
        r#"{"theme":"dark","mcpServers":{"a":{"command":"x"}}}"#
    );
    let inputs = "{\n  \"inputs\": []\n}\n";
    let edited = parse_vscode(inputs).with_server("a", &e);
    assert_eq!(
        edited.text(),
        "{\n  \"inputs\": [],\n  \"servers\": {\n    \"a\": {\n      \"type\": \"stdio\",\n      \"command\": \"x\"\n    }\n  }\n}\n"
    );
}

#[test]
fn removing_first_middle_last_and_only_entries() {
    let old = claude3();
    let file = parse(&old);
    assert_eq!(file.without_server("filesystem").text(), claude(&[GH, MEM]));
    assert_eq!(file.without_server("github").text(), claude(&[FS, MEM]));
    assert_eq!(file.without_server("memory").text(), claude(&[FS, GH]));
    let one = file.without_server("filesystem").without_server("memory");
    assert_eq!(one.text(), claude(&[GH]));
    assert_eq!(
        one.without_server("github").text(),
        "{\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"mcpServers\": {},\n  \"theme\": \"dark\"\n}\n"
    );
    assert_eq!(
        parse(COMPACT).without_server("a").text(),
        r#"{"mcpServers":{}}"#
    );

    let cases = [
        (
            r#"{"mcpServers": {"a": 1, "b": 2, "c": 3}}"#,
            "a",
            r#"{"mcpServers": {"b": 2, "c": 3}}"#,
        ),
        (
            r#"{"mcpServers": {"a": 1, "b": 2, "c": 3}}"#,
            "b",
            r#"{"mcpServers": {"a": 1, "c": 3}}"#,
        ),
        (
            r#"{"mcpServers": {"a": 1, "b": 2, "c": 3}}"#,
            "c",
            r#"{"mcpServers": {"a": 1, "b": 2}}"#,
        ),
        (
            r#"{"mcpServers": { "a" : 1 }}"#,
            "a",
            r#"{"mcpServers": {}}"#,
        ),
    ];
    for (text, name, expected) in cases {
        let text = text.replace(char::is_numeric, "{}");
        let expected = expected.replace(char::is_numeric, "{}");
        assert_eq!(
            parse(&text).without_server(name).text(),
            expected,
            "removing {name}"
        );
    }
}

#[test]
fn removing_an_absent_server_changes_nothing() {
    let file = parse(&claude3());
    assert_eq!(file.without_server("nope"), file);
    let file = parse("{\"theme\": 1}");
    assert_eq!(file.without_server("nope"), file);
}

#[test]
fn crlf_line_endings_are_kept() {
    let lf = parse(&claude3());
    let crlf = parse(&claude3().replace('\n', "\r\n"));
    let new_entry = entry(Some("node"), &["a", "b"], &[("K", "V"), ("L", "W")]);
    let pairs = [
        (
            lf.with_server("github", &new_entry),
            crlf.with_server("github", &new_entry),
        ),
        (
            lf.with_server("new", &new_entry),
            crlf.with_server("new", &new_entry),
        ),
        (lf.without_server("memory"), crlf.without_server("memory")),
        (
            lf.without_server("filesystem")
                .without_server("github")
                .without_server("memory"),
            crlf.without_server("filesystem")
                .without_server("github")
                .without_server("memory"),
        ),
    ];
    for (lf, crlf) in pairs {
        assert_eq!(crlf.text(), lf.text().replace('\n', "\r\n"));
        assert!(!crlf.text().replace("\r\n", "").contains('\n'));
    }
    let empty =
        parse("{\r\n  \"mcpServers\": {}\r\n}\r\n").with_server("a", &entry(Some("x"), &[], &[]));
    assert_eq!(
        empty.text(),
        "{\r\n  \"mcpServers\": {\r\n    \"a\": {\r\n      \"command\": \"x\"\r\n    }\r\n  }\r\n}\r\n"
    );
}

#[test]
fn the_indentation_unit_is_learnt_from_the_file() {
    let new_entry = entry(Some("node"), &["a", "b"], &[("K", "V")]);
    let two = parse(&claude3());
    for unit in ["\t", "    ", " "] {
        let other = parse(&reindent(&claude3(), unit));
        assert_eq!(
            other.with_server("new", &new_entry).text(),
            reindent(two.with_server("new", &new_entry).text(), unit)
        );
        assert_eq!(
            other.with_server("github", &new_entry).text(),
            reindent(two.with_server("github", &new_entry).text(), unit)
        );
        assert_eq!(
            other.without_server("github").text(),
            reindent(two.without_server("github").text(), unit)
        );
    }
    let tabs = "{\n\t\"mcpServers\": {}\n}\n";
    assert_eq!(
        parse(tabs)
            .with_server("a", &entry(Some("x"), &[], &[]))
            .text(),
        "{\n\t\"mcpServers\": {\n\t\t\"a\": {\n\t\t\t\"command\": \"x\"\n\t\t}\n\t}\n}\n"
    );
}

#[test]
fn a_missing_trailing_newline_stays_missing() {
    let text = claude3().trim_end().to_owned();
    let file = parse(&text);
    for edited in [
        file.with_server("x", &entry(Some("x"), &[], &[])),
        file.with_server("github", &entry(Some("x"), &[], &[])),
        file.without_server("memory"),
    ] {
        assert!(edited.text().ends_with("\"theme\": \"dark\"\n}"));
    }
}

#[test]
fn other_top_level_keys_and_inputs_are_untouched() {
    let file = parse_vscode(VSCODE);
    let edited = file
        .with_server(
            "fetch",
            &entry(Some("uvx"), &["mcp-server-fetch", "--x"], &[]),
        )
        .with_server("new", &entry(Some("n"), &[], &[]))
        .without_server("remote");
    let servers_at = VSCODE.find("\"servers\"").unwrap();
    assert_eq!(edited.text()[..servers_at], VSCODE[..servers_at]);
    assert!(edited.text().ends_with("\n  }\n}\n"));
    assert_eq!(
        edited
            .servers()
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["fetch", "new"]
    );
}

#[test]
fn malformed_files_are_reported_with_useful_messages() {
    let cases: &[(&str, Format, &str)] = &[
        ("not json", Format::McpServers, "not valid JSON: "),
        ("", Format::McpServers, "not valid JSON: "),
        ("\u{feff}", Format::McpServers, "not valid JSON: "),
        // JSONC, but none of the JSON5 extensions the clients refuse.
        ("{'mcpServers': {}}", Format::McpServers, "not valid JSON: "),
        ("{mcpServers: {}}", Format::McpServers, "not valid JSON: "),
        ("{\"a\": 0x1F}", Format::McpServers, "not valid JSON: "),
        (
            "{\"a\": 1 \"b\": 2}",
            Format::McpServers,
            "not valid JSON: ",
        ),
        (
            "{\"a\": 1 /* unterminated",
            Format::McpServers,
            "not valid JSON: ",
        ),
        ("{\"a\": 1} {}", Format::McpServers, "not valid JSON: "),
        (
            "{\"a\": \"unterminated}",
            Format::McpServers,
            "not valid JSON: ",
        ),
        (
            "[1, 2]",
            Format::McpServers,
            "the top level is not an object",
        ),
        ("\"text\"", Format::Vscode, "the top level is not an object"),
        (
            "{\"mcpServers\": []}",
            Format::McpServers,
            "`mcpServers` is not an object",
        ),
        (
            "{\"servers\": 3}",
            Format::Vscode,
            "`servers` is not an object",
        ),
        (
            "{\"mcpServers\": {\"x\": 1}}",
            Format::McpServers,
            "server `x` is not an object",
        ),
        (
            "{\"mcpServers\": {\"x\": {\"command\": 1}}}",
            Format::McpServers,
            "server `x`: `command` is not a string",
        ),
        (
            "{\"mcpServers\": {\"x\": {\"command\": null}}}",
            Format::McpServers,
            "server `x`: `command` is not a string",
        ),
        (
            "{\"mcpServers\": {\"x\": {\"args\": \"-y pkg\"}}}",
            Format::McpServers,
            "server `x`: `args` is not a list of strings",
        ),
        (
            "{\"servers\": {\"x\": {\"args\": [\"a\", 1]}}}",
            Format::Vscode,
            "server `x`: `args` is not a list of strings",
        ),
        (
            "{\"mcpServers\": {\"x\": {\"env\": []}}}",
            Format::McpServers,
            "server `x`: `env` is not an object",
        ),
        (
            "{\"mcpServers\": {\"x\": {\"env\": {\"A\": \"1\", \"B\": 2}}}}",
            Format::McpServers,
            "server `x`: `env.B` is not a string",
        ),
    ];
    for (text, format, message) in cases {
        let err = McpFile::parse(text, *format).unwrap_err();
        assert!(
            err.to_string().starts_with(message),
            "{text:?}: got {err:?} ({err}), want {message:?}"
        );
    }
    assert_eq!(
        McpFile::parse("{\"mcpServers\": []}", Format::McpServers),
        Err(Malformed::ServersNotObject { key: "mcpServers" })
    );
}

#[test]
fn broken_text_never_panics() {
    let texts = [
        claude3(),
        VSCODE.to_owned(),
        COMPACT.to_owned(),
        "{\"a\\\"b\": \"\\u00e9\\\\\"}".to_owned(),
    ];
    for text in texts {
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let prefix = &text[..end];
            let _ = McpFile::parse(prefix, Format::McpServers);
            let _ = Document::parse(prefix);
        }
    }
    let deep = "[".repeat(100_000);
    assert!(McpFile::parse(&deep, Format::McpServers).is_err());
    let deep = format!("{{\"mcpServers\": {}", "{\"a\": ".repeat(100_000));
    assert!(McpFile::parse(&deep, Format::McpServers).is_err());
}

#[test]
fn escapes_in_names_and_values() {
    let text = r#"{"mcpServers": {"q\"uote\\d \u00e9": {"command": "C:\\Program Files\\x.exe", "args": ["say \"hi\"", "caf\u00e9", "tab\t"], "env": {"P\u00e9": "a\nb"}}}}"#;
    let file = parse(text);
    assert_eq!(file.text(), text);
    let name = "q\"uote\\d é";
    assert_eq!(
        file.get(name),
        Some(entry(
            Some("C:\\Program Files\\x.exe"),
            &["say \"hi\"", "café", "tab\t"],
            &[("Pé", "a\nb")],
        ))
    );
    // The key keeps its original spelling; new strings are escaped like serde_json does.
    let edited = file.with_server(
        name,
        &entry(Some("D:\\y \"z\""), &["\u{1}"], &[("Pé", "a\nb")]),
    );
    assert_eq!(
        edited.text(),
        r#"{"mcpServers": {"q\"uote\\d \u00e9": {"command": "D:\\y \"z\"", "args": ["\u0001"], "env": {"P\u00e9": "a\nb"}}}}"#
    );
    let new_name = "new \"é\" \\ \u{7}";
    let added = file.with_server(new_name, &entry(Some("x"), &[], &[]));
    assert!(
        added
            .text()
            .contains(r#""new \"é\" \\ \u0007": {"command": "x"}"#)
    );
    assert_eq!(added.get(new_name), Some(entry(Some("x"), &[], &[])));
    assert_eq!(added.without_server(new_name).text(), text);
    assert_eq!(file.without_server(name).text(), r#"{"mcpServers": {}}"#);
}

#[test]
fn quoting_matches_serde_json() {
    for s in [
        "",
        "plain",
        "q\"b\\s/",
        "\u{0}\u{1f}\u{7f}",
        "\n\r\t\u{8}\u{c}",
        "é€😀",
        "\u{2028}",
    ] {
        assert_eq!(edit::quote(s), serde_json::to_string(s).unwrap());
    }
}

#[test]
fn names_with_scopes_dots_and_spaces() {
    let names = ["@scope/x", "a.b", "with space", "mcpServers", ""];
    let mut file = parse(&claude3());
    for (i, name) in names.iter().enumerate() {
        file = file.with_server(name, &entry(Some(&i.to_string()), &[], &[]));
    }
    for (i, name) in names.iter().enumerate() {
        assert_eq!(file.get(name), Some(entry(Some(&i.to_string()), &[], &[])));
    }
    for name in names {
        file = file.without_server(name);
    }
    assert_eq!(file.text(), claude3());
}

#[test]
fn duplicate_names_count_once_with_the_last_occurrence() {
    let text =
        r#"{"mcpServers": {"a": {"command": "1"}, "b": {"command": "2"}, "a": {"command": "3"}}}"#;
    let file = parse(text);
    assert_eq!(
        file.servers(),
        vec![
            ("b".to_owned(), entry(Some("2"), &[], &[])),
            ("a".to_owned(), entry(Some("3"), &[], &[])),
        ]
    );
    assert_eq!(
        file.with_server("a", &entry(Some("4"), &[], &[])).text(),
        text.replace("\"3\"", "\"4\"")
    );
    assert_eq!(
        file.without_server("a").text(),
        r#"{"mcpServers": {"b": {"command": "2"}}}"#
    );
}

#[test]
fn a_byte_order_mark_is_kept() {
    let text = "\u{feff}{\n  \"mcpServers\": {}\n}\n";
    let edited = parse(text).with_server("a", &entry(Some("x"), &[], &[]));
    assert!(
        edited
            .text()
            .starts_with("\u{feff}{\n  \"mcpServers\": {\n    \"a\"")
    );
    assert_eq!(edited.without_server("a").text(), text);
}

#[test]
fn adding_then_removing_a_new_server_restores_the_file() {
    let files: Vec<(String, Format)> = vec![
        (claude3(), Format::McpServers),
        (claude3().replace('\n', "\r\n"), Format::McpServers),
        (claude3().trim_end().to_owned(), Format::McpServers),
        (reindent(&claude3(), "\t"), Format::McpServers),
        (claude(&[GH]), Format::McpServers),
        (VSCODE.to_owned(), Format::Vscode),
        (
            McpFile::empty(Format::McpServers).text().to_owned(),
            Format::McpServers,
        ),
        (
            McpFile::empty(Format::Vscode).text().to_owned(),
            Format::Vscode,
        ),
        (COMPACT.to_owned(), Format::McpServers),
        (r#"{"mcpServers":{}}"#.to_owned(), Format::McpServers),
        (
            r#"{ "x": 1, "mcpServers": { "a": { "command": "x" } } }"#.to_owned(),
            Format::McpServers,
        ),
        (
            "\u{feff}{\"servers\": {}, \"inputs\": []}".to_owned(),
            Format::Vscode,
        ),
    ];
    let entries = [
        entry(
            Some("npx"),
            &["-y", "@scope/pkg"],
            &[("TOKEN", "t"), ("A", "b")],
        ),
        entry(Some("x"), &[], &[]),
        entry(None, &[], &[]),
        entry(None, &["only", "args"], &[("K", "")]),
    ];
    for (text, format) in &files {
        let file = McpFile::parse(text, *format).unwrap();
        for name in ["new-one", "@scope/x", "a.b", "q\"x"] {
            for e in &entries {
                let added = file.edited_with(name, e).unwrap();
                assert_eq!(added.get(name).as_ref(), Some(e));
                let mut expected = file.servers();
                expected.push((name.to_owned(), e.clone()));
                assert_eq!(added.servers(), expected);
                let removed = added.edited_without(name).unwrap();
                assert_eq!(
                    removed.text(),
                    text,
                    "adding then removing {name} in\n{text}"
                );
            }
        }
    }
}

#[test]
fn precise_edits_always_check_out() {
    // The public methods fall back to rewriting the file should a precise edit fail its own
    // check; here the precise path must succeed everywhere.
    let files = [
        (claude3(), Format::McpServers),
        (VSCODE.to_owned(), Format::Vscode),
        (COMPACT.to_owned(), Format::McpServers),
        ("{}".to_owned(), Format::Vscode),
        (r#"{"mcpServers": {"a": {"command": "1", "command": "2", "env": {"K": "1", "K": "2"}}}}"#.to_owned(), Format::McpServers),
    ];
    let entries = [
        entry(
            Some("npx"),
            &["-y", "@scope/pkg"],
            &[("TOKEN", "t"), ("GITHUB_TOKEN", "b")],
        ),
        entry(Some("docker"), &[], &[]),
        entry(None, &[], &[("K", "3")]),
        entry(None, &["z"], &[]),
    ];
    for (text, format) in &files {
        let mut file = McpFile::parse(text, *format).unwrap();
        let names: Vec<String> = file
            .servers()
            .into_iter()
            .map(|(n, _)| n)
            .chain(["fresh".to_owned()])
            .collect();
        for e in &entries {
            for name in &names {
                file = file.edited_with(name, e).unwrap();
                assert_eq!(file.get(name).as_ref(), Some(e));
                // Idempotent: a second identical edit changes nothing.
                assert_eq!(file.with_server(name, e), file);
            }
        }
        for name in &names {
            file = file.edited_without(name).unwrap();
        }
        assert!(file.servers().is_empty());
    }
}

#[test]
fn the_fallback_rewrite_is_right_in_content() {
    let file = parse(&claude3());
    let e = entry(Some("y"), &[], &[]);
    let rewritten = file.rewritten("github", Some(&e));
    assert_eq!(rewritten.get("github"), Some(e.clone()));
    assert_eq!(rewritten.servers().len(), 3);
    assert!(rewritten.text().contains("\"disabled\": false"));
    assert!(rewritten.text().contains("\"theme\": \"dark\""));
    assert_eq!(rewritten.get("github").unwrap().args, Vec::<String>::new());
    let rewritten = file.rewritten("new", Some(&e));
    assert_eq!(
        rewritten.servers().last(),
        Some(&("new".to_owned(), e.clone()))
    );
    let rewritten = file.rewritten("github", None);
    assert_eq!(rewritten.get("github"), None);
    assert_eq!(rewritten.servers().len(), 2);
    let vscode = parse_vscode("{}").rewritten("a", Some(&e));
    assert_eq!(vscode.servers(), vec![("a".to_owned(), e)]);
    assert!(vscode.text().contains("\"type\": \"stdio\""));
}

#[test]
fn unified_diff_labels_and_marks_lines() {
    let old = claude3();
    let new = parse(&old).with_server("memory", &entry(Some("npx"), &["-y", "mem"], &[]));
    let diff = unified_diff(
        "/home/me/.config/Claude/claude_desktop_config.json",
        &old,
        new.text(),
    );
    assert!(diff.starts_with(
        "--- /home/me/.config/Claude/claude_desktop_config.json\n+++ /home/me/.config/Claude/claude_desktop_config.json\n@@ "
    ));
    assert!(
        diff.contains("\n-      \"args\": [\"-y\", \"@modelcontextprotocol/server-memory\"]\n")
    );
    assert!(diff.contains("\n+      \"args\": [\"-y\", \"mem\"]\n"));
    assert_eq!(
        diff.lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .count(),
        1
    );
    assert_eq!(unified_diff("x.json", &old, &old), "");
    assert_eq!(unified_diff("x.json", "", ""), "");

    let created = unified_diff("x.json", "", McpFile::empty(Format::Vscode).text());
    assert!(created.contains("+{\n+  \"servers\": {}\n+}\n"));
    let no_newline = unified_diff("x.json", "{}", "{\"a\": 1}");
    assert!(no_newline.contains("-{}"));
    assert!(no_newline.contains("+{\"a\": 1}"));
}

// A VS Code `.vscode/mcp.json` as people write them: tabs, line and block comments, trailing
// commas, a blank line between servers.
const JSONC: &str = "{\n\t// Servers for this workspace.\n\t\"inputs\": [\n\t\t{ \"type\": \"promptString\", \"id\": \"api-key\", \"password\": true }, // asked once\n\t],\n\t\"servers\": {\n\t\t/* Fetches web pages. */\n\t\t\"fetch\": {\n\t\t\t\"type\": \"stdio\",\n\t\t\t\"command\": \"uvx\", // pinned below\n\t\t\t\"args\": [\"mcp-server-fetch\",],\n\t\t},\n\n\t\t// GitHub, with the token from the prompt above.\n\t\t\"github\": {\n\t\t\t\"command\": \"docker\",\n\t\t\t\"args\": [\n\t\t\t\t\"run\", /* interactive */ \"-i\",\n\t\t\t\t\"ghcr.io/github/github-mcp-server\",\n\t\t\t],\n\t\t\t\"env\": {\n\t\t\t\t\"GITHUB_TOKEN\": \"${input:api-key}\", // never a literal\n\t\t\t},\n\t\t},\n\t\t// Add servers above this line.\n\t},\n}\n";

/// Every comment of `text`, in file order.
fn comments(text: &str) -> Vec<String> {
    let doc = Document::parse(text).unwrap();
    doc.nodes()
        .iter()
        .filter(|node| node.is_comment())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn jsonc_with_comments_trailing_commas_and_tabs_is_read() {
    let file = parse_vscode(JSONC);
    assert_eq!(file.text(), JSONC);
    assert_eq!(
        file.servers(),
        vec![
            (
                "fetch".to_owned(),
                entry(Some("uvx"), &["mcp-server-fetch"], &[])
            ),
            (
                "github".to_owned(),
                entry(
                    Some("docker"),
                    &["run", "-i", "ghcr.io/github/github-mcp-server"],
                    &[("GITHUB_TOKEN", "${input:api-key}")],
                )
            ),
        ]
    );
    assert_eq!(comments(JSONC).len(), 8);
    assert_eq!(file.not_mcp_config(), None);
}

#[test]
fn every_comment_survives_adding_changing_and_removing() {
    let original = parse_vscode(JSONC);
    let before = comments(JSONC);

    let added = original.with_server("git", &entry(Some("uvx"), &["mcp-server-git"], &[]));
    assert_eq!(comments(added.text()), before);
    // The new entry follows the file: tabs, and the trailing commas it uses everywhere.
    assert!(
        added.text().contains(
            "\t\t},\n\t\t\"git\": {\n\t\t\t\"type\": \"stdio\",\n\t\t\t\"command\": \"uvx\",\n\t\t\t\"args\": [\"mcp-server-git\"],\n\t\t},\n\t\t// Add servers above this line.\n"
        ),
        "{}",
        added.text()
    );

    let changed = added.with_server(
        "github",
        &entry(
            Some("docker"),
            &["run", "-i", "--rm", "ghcr.io/github/github-mcp-server:v1"],
            &[("LOG", "debug")],
        ),
    );
    assert_eq!(comments(changed.text()), before);
    assert!(changed.text().contains(
        "\"run\", /* interactive */ \"-i\",\n\t\t\t\t\"--rm\",\n\t\t\t\t\"ghcr.io/github/github-mcp-server:v1\",\n\t\t\t],"
    ));
    assert_eq!(
        changed.get("github").unwrap().env["GITHUB_TOKEN"],
        "${input:api-key}"
    );

    let removed = changed.without_server("fetch");
    // The comment inside the removed entry goes with it; every other one stays.
    let mut expected = before.clone();
    expected.retain(|c| c != "// pinned below");
    assert_eq!(comments(removed.text()), expected);
    assert_eq!(
        removed
            .servers()
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["github", "git"]
    );

    // Each result reads back as what it says.
    for file in [&added, &changed, &removed] {
        assert_eq!(&parse_vscode(file.text()), file);
    }
    // Undoing each edit gives back the original bytes.
    assert_eq!(added.without_server("git").text(), JSONC);
    let restored = removed
        .with_server("fetch", &original.get("fetch").unwrap())
        .without_server("git");
    assert!(restored.text().contains("/* Fetches web pages. */"));
}

#[test]
fn only_the_edited_entry_changes_in_a_jsonc_file() {
    let edited = parse_vscode(JSONC).with_server(
        "fetch",
        &entry(Some("uvx"), &["mcp-server-fetch==2025.1.0"], &[]),
    );
    assert_only_entry_changed(JSONC, edited.text(), "servers", "fetch");
    assert_eq!(
        edited.text(),
        JSONC.replace("\"mcp-server-fetch\",]", "\"mcp-server-fetch==2025.1.0\",]")
    );
}

#[test]
fn a_file_that_is_not_an_mcp_configuration_says_so() {
    let settings = parse("{\"editor.fontSize\": 14}");
    assert!(settings.servers().is_empty());
    let why = settings.not_mcp_config().unwrap();
    assert_eq!(why.expected, "mcpServers");
    assert_eq!(why.other_format_key, None);
    assert!(
        why.to_string().contains("has no `mcpServers` object"),
        "{why}"
    );

    let wrong_format = parse(VSCODE);
    let why = wrong_format.not_mcp_config().unwrap();
    assert_eq!(why.other_format_key, Some("servers"));
    assert!(why.to_string().contains("`servers`"), "{why}");
    assert_eq!(
        parse_vscode(&claude3()).not_mcp_config().unwrap().expected,
        "servers"
    );

    // A client that has configured nothing yet is an MCP configuration.
    for text in ["{}", "{\n}\n", "{\"mcpServers\": {}}", "// nothing yet\n{}"] {
        assert_eq!(parse(text).not_mcp_config(), None, "{text}");
    }
    assert_eq!(parse(&claude3()).not_mcp_config(), None);
}

#[test]
fn a_shrinking_list_keeps_its_closing_bracket_on_a_line_of_its_own() {
    let edited = parse_vscode(JSONC).with_server("github", &entry(Some("docker"), &["run"], &[]));
    assert!(
        edited
            .text()
            .contains("\"args\": [\n\t\t\t\t\"run\",\n\t\t\t],\n"),
        "{}",
        edited.text()
    );
    assert_eq!(
        parse_vscode(edited.text()).get("github").unwrap().args,
        ["run"]
    );
}
