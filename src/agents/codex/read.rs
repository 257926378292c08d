//! Codex CLI rollouts into records (`../shared/specs/codex.md`): plain and paginated files,
//! compacted histories, shell, `apply_patch`, custom and MCP calls. Reasoning is dropped (its
//! encrypted content is bound to the account that produced it).

use crate::agents::native::{self, Conversation, NativeSession, Reader};
use crate::model::{Image, Item, Part, Record};
use crate::read::{read_regular, read_text};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const READER: Reader = Reader {
    agent: "codex",
    list,
    read,
    at_path: Some(at_path),
    busy: Some(busy),
};

/// Codex holds `thread-writer-locks/<id>.lock` while a process has the thread open.
fn busy(session: &NativeSession) -> Option<String> {
    let lock = crate::paths::codex_home()?
        .join("thread-writer-locks")
        .join(format!("{}.lock", session.id));
    crate::store::lock::is_held_by_other(&lock).then(|| {
        format!(
            "codex has session {} open (its writer lock is held); finish or close it there, then run this again",
            session.id
        )
    })
}

/// A rollout bigger than this is refused rather than read into memory.
const MAX_ROLLOUT: u64 = 1 << 30;
/// The first line (`session_meta`) carries base instructions in native files: a few KB.
const MAX_META: u64 = 1 << 20;

fn list() -> Result<Vec<NativeSession>, String> {
    let Some(home) = crate::paths::codex_home() else {
        return Ok(Vec::new());
    };
    let titles = thread_names(&home);
    let mut sessions = Vec::new();
    let mut dirs = vec![home.join("sessions")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() && is_rollout_name(&path) {
                if let Ok(mut session) = at_path(&path) {
                    if let Some(name) = titles.get(&session.id) {
                        session.title = Some(name.clone());
                    }
                    sessions.push(session);
                }
            }
        }
    }
    Ok(sessions)
}

fn is_rollout_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(".jsonl"))
}

/// Names given with `/rename` or by us: `session_index.jsonl`, newest entry per id.
fn thread_names(home: &Path) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let Ok(text) = read_text(&home.join("session_index.jsonl"), 64 << 20) else {
        return names;
    };
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let (Some(id), Some(name)) = (entry["id"].as_str(), entry["thread_name"].as_str()) {
            names.insert(id.to_owned(), name.to_owned());
        }
    }
    names
}

fn at_path(path: &Path) -> Result<NativeSession, String> {
    let first = crate::read::first_line(path, MAX_META)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .unwrap_or_default();
    let meta: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    if meta["type"] != "session_meta" {
        return Err(format!(
            "{} is not a Codex rollout (its first line is not session_meta)",
            path.display()
        ));
    }
    let payload = &meta["payload"];
    let id = payload["id"]
        .as_str()
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .ok_or_else(|| format!("{} has no session id in its session_meta", path.display()))?;
    Ok(NativeSession {
        agent: "codex",
        id: id.to_owned(),
        path: path.to_owned(),
        cwd: payload["cwd"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(PathBuf::from),
        title: None,
        started_at: payload["timestamp"]
            .as_str()
            .or(meta["timestamp"].as_str())
            .map(str::to_owned),
        updated_at: native::modified(path),
        ours: payload["originator"] == "session_sync",
    })
}

fn read(session: &NativeSession) -> Result<Conversation, String> {
    let bytes = read_regular(&session.path, MAX_ROLLOUT)
        .map_err(|e| format!("cannot read {}: {e}", session.path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(Value::is_object)
        .collect();
    if lines.first().is_none_or(|l| l["type"] != "session_meta") {
        return Err(format!(
            "{} is not a Codex rollout (its first line is not session_meta); is it truncated?",
            session.path.display()
        ));
    }
    let mut conversation = Conversation::new(session.clone());
    let mut reader = Rollout::new(format!("codex:{}", session.id), &lines);
    for line in &lines {
        reader.line(line, &mut conversation);
    }
    if conversation.session.title.is_none() {
        conversation.session.title = conversation.first_prompt();
    }
    Ok(conversation)
}

/// Walks a rollout's lines, keeping what reached the model.
struct Rollout {
    lineage: String,
    /// What the user typed (`event_msg` `user_message`): a user message equal to one of these
    /// is a prompt; any other user message is context Codex injected.
    typed: HashSet<String>,
    ordinal: u64,
}

impl Rollout {
    fn new(lineage: String, lines: &[Value]) -> Self {
        let typed = lines
            .iter()
            .filter(|l| l["type"] == "event_msg" && l["payload"]["type"] == "user_message")
            .filter_map(|l| l["payload"]["message"].as_str())
            .map(|m| m.trim().to_owned())
            .collect();
        Rollout {
            lineage,
            typed,
            ordinal: 0,
        }
    }

    fn line(&mut self, line: &Value, out: &mut Conversation) {
        let timestamp = line["timestamp"].as_str();
        let payload = &line["payload"];
        match line["type"].as_str() {
            Some("response_item") => self.item(payload, timestamp, out),
            Some("compacted") => {
                // After compaction Codex sends `replacement_history` instead of what came
                // before. What came before is in this file already and stays in the records;
                // a rollout that starts compacted (a fork) only has the replacement.
                match payload["replacement_history"].as_array() {
                    Some(items) if out.records.is_empty() => {
                        for item in items {
                            self.item(item, timestamp, out);
                        }
                    }
                    _ => out.drop_one("compaction summaries (the full history is kept)"),
                }
            }
            _ => {}
        }
    }

    fn item(&mut self, item: &Value, timestamp: Option<&str>, out: &mut Conversation) {
        let mut push = |this: &mut Self, item_value: Item| {
            let canonical = item.to_string();
            let rid = native::content_rid(&this.lineage, this.ordinal, &canonical);
            this.ordinal += 1;
            out.records.push(Record {
                timestamp: timestamp.map(str::to_owned),
                agent: None,
                rid: Some(rid),
                item: item_value,
            });
        };
        match item["type"].as_str() {
            Some("message") => match item["role"].as_str() {
                Some("user") => {
                    let parts = content_parts(&item["content"]);
                    let text = crate::model::joined_text(&parts);
                    if self.typed.contains(text.trim()) || self.typed.is_empty() && !injected(&text)
                    {
                        push(self, Item::Prompt { parts });
                    } else {
                        out.drop_one("context messages Codex injected");
                    }
                }
                Some("assistant") => {
                    let text = crate::model::joined_text(&content_parts(&item["content"]));
                    if !text.is_empty() {
                        push(self, Item::Text { text });
                    }
                }
                _ => out.drop_one("developer and system messages"),
            },
            Some("function_call") => {
                let name = item["name"].as_str().unwrap_or("unknown");
                let arguments = match &item["arguments"] {
                    Value::String(text) => {
                        serde_json::from_str(text).unwrap_or_else(|_| json!({ "input": text }))
                    }
                    other => other.clone(),
                };
                let (name, input) = tool_call(name, arguments);
                push(
                    self,
                    Item::ToolCall {
                        id: call_id(item),
                        name,
                        input,
                    },
                );
            }
            Some("custom_tool_call") => {
                let name = item["name"].as_str().unwrap_or("unknown").to_owned();
                let input = match &item["input"] {
                    Value::String(text) => json!({ "input": text }),
                    other => other.clone(),
                };
                push(
                    self,
                    Item::ToolCall {
                        id: call_id(item),
                        name,
                        input,
                    },
                );
            }
            Some("local_shell_call") => {
                let command = shell_command(&item["action"]["command"]);
                push(
                    self,
                    Item::ToolCall {
                        id: call_id(item),
                        name: "Bash".into(),
                        input: json!({ "command": command }),
                    },
                );
            }
            Some("web_search_call") => {
                push(
                    self,
                    Item::ToolCall {
                        id: item["id"].as_str().unwrap_or("web_search").to_owned(),
                        name: "web_search".into(),
                        input: item["action"].clone(),
                    },
                );
            }
            Some("function_call_output" | "custom_tool_call_output") => {
                let (parts, is_error) = output(&item["output"]);
                push(
                    self,
                    Item::ToolResult {
                        id: call_id(item),
                        parts,
                        is_error,
                    },
                );
            }
            Some("reasoning") => out.drop_one("reasoning blocks"),
            _ => out.drop_one("other items"),
        }
    }
}

fn call_id(item: &Value) -> String {
    item["call_id"]
        .as_str()
        .or(item["id"].as_str())
        .unwrap_or("call")
        .to_owned()
}

/// Text Codex puts in a user message that the user did not type.
fn injected(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with('<') || text.starts_with("# AGENTS.md")
}

/// Codex's shell tools become Claude Code's `Bash`, the normalized shell call every target
/// maps to its own; other calls keep their name and arguments.
fn tool_call(name: &str, arguments: Value) -> (String, Value) {
    let command = match name {
        "exec_command" => arguments.get("cmd").map(shell_command),
        "shell" | "container.exec" | "shell_command" => arguments.get("command").map(shell_command),
        _ => None,
    };
    match command {
        Some(command) => {
            let mut input = serde_json::Map::new();
            input.insert("command".into(), Value::String(command));
            for key in ["workdir", "timeout_ms", "justification"] {
                if let Some(value) = arguments.get(key) {
                    input.insert(key.into(), value.clone());
                }
            }
            ("Bash".into(), Value::Object(input))
        }
        None => (name.to_owned(), arguments),
    }
}

/// A command given as a string, or as argv (`["bash", "-lc", "script"]` is the script).
fn shell_command(command: &Value) -> String {
    match command {
        Value::String(text) => text.clone(),
        Value::Array(argv) => {
            let words: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
            match words.as_slice() {
                [shell, flag, script]
                    if shell.ends_with("sh") && (*flag == "-lc" || *flag == "-c") =>
                {
                    (*script).to_owned()
                }
                _ => words
                    .iter()
                    .map(|w| shell_quote(w))
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        other => other.to_string(),
    }
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn content_parts(content: &Value) -> Vec<Part> {
    match content {
        Value::String(text) => vec![Part::Text(text.clone())],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| match part["type"].as_str() {
                Some("input_text" | "output_text" | "text") => {
                    Some(Part::Text(part["text"].as_str()?.to_owned()))
                }
                Some("input_image") => image(part["image_url"].as_str()?),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A `data:` URL as an image part; a remote URL is kept as its text.
fn image(url: &str) -> Option<Part> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Some(Part::Text(url.to_owned()));
    };
    let (media_type, data) = rest.split_once(";base64,")?;
    Some(Part::Image(Image {
        media_type: media_type.to_owned(),
        data: data.to_owned(),
    }))
}

/// A call's output. Codex writes shell results as text ending in an exit code line, or (older
/// versions, custom tools) as JSON `{"output", "metadata": {"exit_code"}}`.
fn output(output: &Value) -> (Vec<Part>, bool) {
    match output {
        Value::String(text) => {
            if let Ok(Value::Object(structured)) = serde_json::from_str::<Value>(text) {
                if let Some(inner) = structured.get("output").and_then(Value::as_str) {
                    let code = structured
                        .get("metadata")
                        .and_then(|m| m.get("exit_code"))
                        .and_then(Value::as_i64);
                    return (
                        vec![Part::Text(inner.to_owned())],
                        code.is_some_and(|c| c != 0),
                    );
                }
            }
            (
                vec![Part::Text(text.clone())],
                exit_code(text).is_some_and(|c| c != 0),
            )
        }
        Value::Array(_) => (content_parts(output), false),
        Value::Object(object) => {
            let content = object.get("content").unwrap_or(output);
            let parts = match content {
                Value::String(text) => vec![Part::Text(text.clone())],
                other => content_parts(other),
            };
            let failed = object.get("success").and_then(Value::as_bool) == Some(false);
            (parts, failed)
        }
        Value::Null => (Vec::new(), false),
        other => (vec![Part::Text(other.to_string())], false),
    }
}

/// Codex outputs carry no error flag, only the exit code in their text: `Process exited with
/// code N` (exec_command) or `Exit code: N` (shell) near the top, or `Exit code N` first (a
/// Claude Code Bash error, in a mirror of a Claude session).
fn exit_code(text: &str) -> Option<i64> {
    let first = text.lines().next().unwrap_or("");
    if let Some(code) = first.strip_prefix("Exit code ") {
        return code.trim().parse().ok();
    }
    text.lines().take(4).find_map(|line| {
        let line = line.trim();
        line.strip_prefix("Process exited with code ")
            .or_else(|| line.strip_prefix("Exit code: "))
            .and_then(|n| n.trim().parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_calls_become_bash() {
        let (name, input) = tool_call("exec_command", json!({ "cmd": "ls -la", "workdir": "/p" }));
        assert_eq!(name, "Bash");
        assert_eq!(input, json!({ "command": "ls -la", "workdir": "/p" }));
        let (_, input) = tool_call("shell", json!({ "command": ["bash", "-lc", "echo 'a b'"] }));
        assert_eq!(input["command"], "echo 'a b'");
        let (_, input) = tool_call("shell", json!({ "command": ["ls", "my dir"] }));
        assert_eq!(input["command"], "ls 'my dir'");
        let (name, input) = tool_call("mcp__fs__read", json!({ "path": "a" }));
        assert_eq!(
            (name.as_str(), input),
            ("mcp__fs__read", json!({ "path": "a" }))
        );
    }

    #[test]
    fn failed_commands_are_errors() {
        assert!(output(&json!("Exit code: 1\nWall time: 0.1 seconds\nOutput:\nno")).1);
        assert!(output(&json!("Process exited with code 2\nOutput:\n")).1);
        assert!(!output(&json!("Process exited with code 0\nOutput:\nok")).1);
        assert!(output(&json!("Exit code 2\nls: cannot access")).1);
        let (parts, failed) = output(&json!(
            r#"{"output":"boom","metadata":{"exit_code":1,"duration_seconds":0.1}}"#
        ));
        assert_eq!((parts, failed), (vec![Part::Text("boom".into())], true));
    }
}
