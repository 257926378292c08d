//! Gemini CLI sessions into records (`../shared/specs/gemini-cli.md`):
//! `<root>/tmp/<slug>/chats/session-*.jsonl`, a metadata line then messages keyed by id (a
//! later line with the same id replaces the earlier one in place), `$set` metadata and full
//! `messages` checkpoints, `$rewindTo` truncations; legacy `session-*.json` files hold the
//! whole conversation as one object. Thoughts are dropped.
//!
//! The Gemini API content parts Gemini CLI and Qwen Code share are read here for both.

use crate::agents::native::{self, Conversation, NativeSession, Reader};
use crate::model::{Image, Item, Part, Record};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const READER: Reader = Reader {
    agent: "gemini",
    list,
    read,
    at_path: Some(at_path),
    // Gemini keeps no lock: it appends whole lines, and a half-written last one is skipped.
    busy: None,
};

/// A session bigger than this is refused rather than read into memory.
const MAX_SESSION: u64 = 1 << 30;
/// The shell tool of Gemini CLI and of Qwen Code.
pub const SHELL: &str = "run_shell_command";

fn list() -> Result<Vec<NativeSession>, String> {
    let Some(root) = crate::paths::gemini_root() else {
        return Ok(Vec::new());
    };
    Ok(list_in(&root, &native::mirrored("gemini")))
}

fn list_in(root: &Path, mirrored: &HashSet<String>) -> Vec<NativeSession> {
    // Gemini lists one file per session id: the one updated last.
    let mut newest: HashMap<String, NativeSession> = HashMap::new();
    for project in std::fs::read_dir(root.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let chats = project.path().join("chats");
        for entry in std::fs::read_dir(chats).into_iter().flatten().flatten() {
            let path = entry.path();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if !is_file || !is_session_name(&path) {
                continue;
            }
            let Ok(mut session) = at_path(&path) else {
                continue;
            };
            session.ours = mirrored.contains(&session.id);
            match newest.get(&session.id) {
                Some(seen) if seen.updated_at >= session.updated_at => {}
                _ => {
                    newest.insert(session.id.clone(), session);
                }
            }
        }
    }
    newest.into_values().collect()
}

fn is_session_name(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.starts_with("session-") && (n.ends_with(".jsonl") || n.ends_with(".json"))
    })
}

fn at_path(path: &Path) -> Result<NativeSession, String> {
    let (meta, summary) = if is_legacy(path) {
        let whole: Value = serde_json::from_str(&native::read_file(path, MAX_SESSION)?)
            .map_err(|_| not_a_session(path))?;
        let summary = whole["summary"].as_str().map(str::to_owned);
        (whole, summary)
    } else {
        let edges = native::Edges::read(path)?;
        let summary = edges.last("\"$set\"", |l| {
            l["$set"]["summary"].as_str().map(str::to_owned)
        });
        (edges.first(), summary)
    };
    let id = meta["sessionId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| not_a_session(path))?;
    if meta["kind"] == "subagent" {
        return Err(format!("{} is a subagent's session", path.display()));
    }
    Ok(NativeSession {
        agent: "gemini",
        id: id.to_owned(),
        path: path.to_owned(),
        cwd: project_dir(path),
        title: summary,
        started_at: meta["startTime"].as_str().map(str::to_owned),
        updated_at: native::modified(path),
        ours: false,
    })
}

fn is_legacy(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

fn not_a_session(path: &Path) -> String {
    format!(
        "{} is not a Gemini CLI session (no sessionId in its metadata); is it truncated?",
        path.display()
    )
}

/// The project a chats folder belongs to: its `.project_root` marker, else the registry
/// entry naming its slug.
fn project_dir(path: &Path) -> Option<PathBuf> {
    let project = path.parent()?.parent()?;
    let marker = crate::read::read_text(&project.join(".project_root"), 64 << 10);
    if let Ok(marker) = marker.as_deref().map(str::trim_end).map(str::to_owned) {
        if !marker.is_empty() {
            return Some(PathBuf::from(marker));
        }
    }
    let slug = project.file_name()?.to_str()?;
    let registry =
        crate::read::read_regular(&project.parent()?.parent()?.join("projects.json"), 16 << 20)
            .ok()?;
    let registry: Value = serde_json::from_slice(&registry).ok()?;
    registry["projects"]
        .as_object()?
        .iter()
        .find(|(_, v)| v.as_str() == Some(slug))
        .map(|(k, _)| PathBuf::from(k))
}

fn read(session: &NativeSession) -> Result<Conversation, String> {
    let text = native::read_file(&session.path, MAX_SESSION)?;
    let mut conversation = Conversation::new(session.clone());
    let (meta, messages, summary) = if is_legacy(&session.path) {
        let whole: Value = serde_json::from_str(&text).map_err(|_| not_a_session(&session.path))?;
        let messages = whole["messages"].as_array().cloned().unwrap_or_default();
        let summary = whole["summary"].as_str().map(str::to_owned);
        (whole, messages, summary)
    } else {
        let lines = native::json_lines(&text, &mut conversation);
        let meta = lines.first().cloned().unwrap_or(Value::Null);
        let (messages, summary) = replay(&lines);
        (meta, messages, summary)
    };
    if meta["sessionId"].as_str().is_none_or(str::is_empty) {
        return Err(not_a_session(&session.path));
    }
    let mut seen = HashSet::new();
    for message in &messages {
        self::message(message, &mut seen, &mut conversation);
    }
    conversation.session.title = summary
        .or(conversation.session.title.take())
        .or_else(|| conversation.first_prompt());
    Ok(conversation)
}

/// The conversation Gemini loads from a JSONL log, and its last title.
fn replay(lines: &[Value]) -> (Vec<Value>, Option<String>) {
    let mut messages: Vec<Value> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut summary = None;
    for line in lines {
        if let Some(to) = line["$rewindTo"].as_str() {
            // From that message on; everything when Gemini does not know it.
            let keep = index.get(to).copied().unwrap_or(0);
            messages.truncate(keep);
            index.retain(|_, at| *at < keep);
        } else if let Some(id) = line["id"].as_str() {
            match index.get(id) {
                Some(&at) => messages[at] = line.clone(),
                None => {
                    index.insert(id.to_owned(), messages.len());
                    messages.push(line.clone());
                }
            }
        } else if let Some(set) = line["$set"].as_object() {
            if let Some(text) = set.get("summary").and_then(Value::as_str) {
                summary = Some(text.to_owned());
            }
            // A checkpoint replaces the conversation; later lines go on from it.
            if let Some(list) = set
                .get("messages")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
            {
                messages = list.clone();
                index = messages
                    .iter()
                    .enumerate()
                    .filter_map(|(at, m)| Some((m["id"].as_str()?.to_owned(), at)))
                    .collect();
            }
        }
    }
    (messages, summary)
}

/// One message's records. A call and its result can be in the file twice (the call's record
/// with its result, and the `functionResponse` Gemini sends back as a user message; after a
/// resume, the checkpoint's API form): `seen` keeps each call and result once.
fn message(message: &Value, seen: &mut HashSet<String>, out: &mut Conversation) {
    let id = message["id"].as_str().unwrap_or_default();
    let timestamp = message["timestamp"].as_str().map(str::to_owned);
    let mut push = |out: &mut Conversation, rid: String, item: Item| {
        if seen.insert(rid.clone()) {
            out.records.push(Record {
                timestamp: timestamp.clone(),
                agent: None,
                rid: Some(rid),
                item,
            });
        }
    };
    let body = content(&message["content"]);
    for _ in 0..body.thoughts + message["thoughts"].as_array().map_or(0, Vec::len) as u64 {
        out.drop_one("thoughts");
    }
    for _ in 0..body.other {
        out.drop_one("other content parts (file references, code)");
    }
    match message["type"].as_str() {
        Some("user") => {
            for response in body.responses {
                let is_error = response.is_error || failed_shell(&response.name, &response.parts);
                push(
                    out,
                    format!("{}:result", response.id),
                    Item::ToolResult {
                        id: response.id,
                        parts: response.parts,
                        is_error,
                    },
                );
            }
            let text = crate::model::joined_text(&body.parts);
            let trimmed = text.trim_start();
            if trimmed.starts_with("<session_context>") || trimmed.starts_with("<hook_context>") {
                out.drop_one("context messages Gemini injected");
            } else if trimmed.starts_with('/') || trimmed.starts_with('?') {
                // Gemini never sends these to the model.
                out.drop_one("slash commands");
            } else if !body.parts.is_empty() {
                push(out, id.to_owned(), Item::Prompt { parts: body.parts });
            }
        }
        Some("gemini") => {
            let text = crate::model::joined_text(&body.parts);
            if !text.is_empty() {
                push(out, id.to_owned(), Item::Text { text });
            }
            let recorded = message["toolCalls"].as_array().cloned().unwrap_or_default();
            let mut calls: Vec<Call> = recorded
                .iter()
                .map(|call| Call {
                    id: call["id"].as_str().unwrap_or(id).to_owned(),
                    name: call["name"].as_str().unwrap_or("unknown").to_owned(),
                    args: call["args"].clone(),
                })
                .collect();
            // Calls in the content itself (the API form), not recorded with a result.
            calls.extend(
                body.calls
                    .into_iter()
                    .filter(|c| !recorded.iter().any(|r| r["id"] == c.id.as_str())),
            );
            for call in calls {
                let (name, input) = native::tool_call(&call.name, SHELL, &call.args);
                let item = Item::ToolCall {
                    id: call.id.clone(),
                    name,
                    input,
                };
                push(out, format!("{}:call", call.id), item);
            }
            for call in &recorded {
                let Some((parts, is_error)) = call_result(call) else {
                    continue;
                };
                let call_id = call["id"].as_str().unwrap_or(id).to_owned();
                let item = Item::ToolResult {
                    id: call_id.clone(),
                    parts,
                    is_error,
                };
                push(out, format!("{call_id}:result"), item);
            }
        }
        Some("info" | "error" | "warning") => {
            out.drop_one("info, error and warning messages (shown, never sent)")
        }
        _ => out.drop_one("messages of other types"),
    }
}

/// What a recorded call gave back: its result parts, or (cancelled or failed without a
/// result) what Gemini showed; `None` while it has not finished.
fn call_result(call: &Value) -> Option<(Vec<Part>, bool)> {
    let status = call["status"].as_str().unwrap_or_default();
    if call["result"].is_null() {
        if !matches!(status, "error" | "cancelled") {
            return None;
        }
        let shown = call["resultDisplay"].as_str().unwrap_or(status);
        return Some((vec![Part::Text(shown.to_owned())], true));
    }
    let result = content(&call["result"]);
    let mut parts = Vec::new();
    let mut is_error = status != "success";
    for response in result.responses {
        parts.extend(response.parts);
        is_error |= response.is_error;
    }
    parts.extend(result.parts);
    let is_error = is_error || failed_shell(call["name"].as_str().unwrap_or_default(), &parts);
    Some((parts, is_error))
}

/// Gemini CLI (and Qwen Code, its fork) records a shell command that exited non-zero as a
/// success; its output says `Exit Code: N`.
pub fn failed_shell(name: &str, parts: &[Part]) -> bool {
    name == SHELL
        && parts.iter().filter_map(Part::text).any(|text| {
            text.lines().any(|line| {
                line.trim()
                    .strip_prefix("Exit Code: ")
                    .and_then(|code| code.trim().parse::<i64>().ok())
                    .is_some_and(|code| code != 0)
            })
        })
}

/// Gemini API content (`Part[]`, one part, or a string) sorted by what it carries.
#[derive(Debug, Default, PartialEq)]
pub struct Content {
    /// Text and inline images, in order.
    pub parts: Vec<Part>,
    /// Parts marked `thought`, for the reader to count.
    pub thoughts: u64,
    pub calls: Vec<Call>,
    pub responses: Vec<Response>,
    /// Parts of other kinds (file references, executable code), for the reader to count.
    pub other: u64,
}

#[derive(Debug, PartialEq)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub args: Value,
}

#[derive(Debug, PartialEq)]
pub struct Response {
    pub id: String,
    pub name: String,
    /// Its output, then any text or images that follow it in the same content.
    pub parts: Vec<Part>,
    pub is_error: bool,
}

pub fn content(value: &Value) -> Content {
    let mut content = Content::default();
    let parts: Vec<&Value> = match value {
        Value::Array(parts) => parts.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    for part in parts {
        let own = if let Some(text) = part.as_str().or(part["text"].as_str()) {
            if part["thought"] == true {
                content.thoughts += 1;
                continue;
            }
            Part::Text(text.to_owned())
        } else if let Some(data) = part.get("inlineData") {
            Part::Image(Image {
                media_type: data["mimeType"]
                    .as_str()
                    .unwrap_or("application/octet-stream")
                    .to_owned(),
                data: data["data"].as_str().unwrap_or_default().to_owned(),
            })
        } else if let Some(call) = part.get("functionCall") {
            content.calls.push(Call {
                id: call["id"].as_str().unwrap_or_default().to_owned(),
                name: call["name"].as_str().unwrap_or("unknown").to_owned(),
                args: call["args"].clone(),
            });
            continue;
        } else if let Some(response) = part.get("functionResponse") {
            let (text, is_error) = response_text(&response["response"]);
            content.responses.push(Response {
                id: response["id"].as_str().unwrap_or_default().to_owned(),
                name: response["name"].as_str().unwrap_or("unknown").to_owned(),
                parts: vec![Part::Text(text)],
                is_error,
            });
            continue;
        } else {
            content.other += 1;
            continue;
        };
        match content.responses.last_mut() {
            Some(response) => response.parts.push(own),
            None => content.parts.push(own),
        }
    }
    content
}

/// A function response's `{"output"}` or `{"error"}`; any other shape as its JSON.
fn response_text(response: &Value) -> (String, bool) {
    if let Some(error) = response.get("error").filter(|e| !e.is_null()) {
        let text = error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_owned);
        return (text, true);
    }
    match response.get("output") {
        Some(Value::String(text)) => (text.clone(), false),
        Some(other) => (other.to_string(), false),
        None => (response.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::testing::{self, items};
    use crate::encode::ToolStyle;
    use serde_json::json;

    #[test]
    fn what_our_encoder_writes_reads_back_the_same() {
        let root = tempfile::tempdir().unwrap();
        let encoder = crate::agents::gemini::write::Gemini {
            root: root.path().to_owned(),
            style: ToolStyle::Structured,
            max_output_bytes: 1 << 20,
        };
        let cwd = Path::new("/home/u/My Project");
        let records = testing::with_image(testing::conversation());
        let (opening, mut cursor) = testing::write_jsonl(&encoder, cwd, &records);
        let session = at_path(&opening.path).unwrap();
        assert_eq!(session.cwd.as_deref(), Some(cwd));
        assert_eq!(session.title.as_deref(), Some("List the files"));
        testing::round_trip(read, &session, &testing::items(&records), |more| {
            testing::append_jsonl(&encoder, &opening.path, &mut cursor, more)
        });
        let listed = list_in(root.path(), &HashSet::from([session.id.clone()]));
        assert_eq!(listed.len(), 1);
        assert!(listed[0].ours);
    }

    #[test]
    fn replaced_messages_rewinds_checkpoints_and_thoughts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session-2026-01-01T00-00-abcdef12.jsonl");
        let lines = [
            json!({"sessionId": "abcdef12-0000", "projectHash": "h", "kind": "main"}),
            json!({"id": "u1", "type": "user", "content": [{"text": "hi"}]}),
            json!({"id": "g1", "type": "gemini", "content": "draft", "thoughts": [{"subject": "s"}]}),
            json!({"id": "g1", "type": "gemini", "content": [{"text": "thinking", "thought": true}, {"text": "final"}]}),
            json!({"id": "u2", "type": "user", "content": "<session_context>cwd</session_context>"}),
            json!({"id": "u3", "type": "user", "content": "/stats"}),
            json!({"id": "i1", "type": "info", "content": "Imported"}),
            json!({"id": "u4", "type": "user", "content": "dropped by the rewind"}),
            json!({"$rewindTo": "u4"}),
            json!({"id": "g2", "type": "gemini", "content": [], "toolCalls": [
                {"id": "t1", "name": "run_shell_command", "args": {"command": "false"}, "status": "error",
                 "result": [{"functionResponse": {"id": "t1", "name": "run_shell_command", "response": {"error": "exit 1"}}}]},
                {"id": "t2", "name": "glob", "args": {"pattern": "*"}, "status": "executing"}]}),
        ];
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        std::fs::write(&path, text.join("\n") + "\n{\"id\":\"half").unwrap();
        let conversation = read(&at_path(&path).unwrap()).unwrap();
        assert_eq!(
            items(&conversation.records),
            vec![
                Item::Prompt {
                    parts: vec![Part::Text("hi".into())]
                },
                Item::Text {
                    text: "final".into()
                },
                Item::ToolCall {
                    id: "t1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "false"})
                },
                Item::ToolCall {
                    id: "t2".into(),
                    name: "glob".into(),
                    input: json!({"pattern": "*"})
                },
                Item::ToolResult {
                    id: "t1".into(),
                    parts: vec![Part::Text("exit 1".into())],
                    is_error: true
                },
            ]
        );
        assert_eq!(
            testing::rids(&conversation),
            ["u1", "g1", "t1:call", "t2:call", "t1:result"]
        );
        assert_eq!(
            testing::dropped(&conversation),
            [
                ("context messages Gemini injected", 1),
                ("info, error and warning messages (shown, never sent)", 1),
                ("slash commands", 1),
                ("thoughts", 1),
            ]
        );
        assert_eq!(conversation.session.title.as_deref(), Some("hi"));

        // A checkpoint replaces everything before it.
        let mut text = text;
        text.push(json!({"$set": {"messages": [{"id": "u9", "type": "user", "content": "only"}], "summary": "Named"}}).to_string());
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
        let conversation = read(&at_path(&path).unwrap()).unwrap();
        assert_eq!(
            items(&conversation.records),
            vec![Item::Prompt {
                parts: vec![Part::Text("only".into())]
            }]
        );
        assert_eq!(conversation.session.title.as_deref(), Some("Named"));
    }

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native/gemini")
    }

    /// A session the real Gemini CLI 0.61.0 wrote: two prompts, the second after a resume
    /// that appended a checkpoint of the history in API form.
    #[test]
    fn a_native_session_reads_as_the_conversation_the_model_saw() {
        let listed = list_in(&fixture(), &HashSet::new());
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert_eq!(session.id, "2133388c-aa13-4eec-b385-3e8a79d26b0e");
        assert_eq!(
            session.cwd.as_deref(),
            Some(Path::new("/home/user/project"))
        );
        assert!(!session.ours);
        let conversation = read(session).unwrap();
        assert_eq!(testing::shape(&conversation.records), testing::RECORDED);
        let Item::ToolResult { parts, .. } = &conversation.records[3].item else {
            panic!()
        };
        assert!(crate::model::joined_text(parts).contains("README.md\nnotes.txt\nsrc"));
        assert_eq!(
            conversation.dropped.get("context messages Gemini injected"),
            Some(&1)
        );
        assert_eq!(
            conversation.session.title.as_deref(),
            Some("List the files, then look for a docs folder.")
        );

        // Before the resume appended to it, the file read as the same first records.
        let text = std::fs::read_to_string(&session.path).unwrap();
        let second_meta = text.match_indices("\n{\"sessionId\"").next().unwrap().0;
        let dir = tempfile::tempdir().unwrap();
        let before = dir.path().join("session-before.jsonl");
        std::fs::write(&before, &text[..=second_meta]).unwrap();
        let earlier = read(&at_path(&before).unwrap()).unwrap();
        assert_eq!(earlier.records.len(), 7);
        let key = |r: &Record| (r.rid.clone(), r.item.clone());
        assert_eq!(
            earlier.records.iter().map(key).collect::<Vec<_>>(),
            conversation.records[..7]
                .iter()
                .map(key)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_file_without_metadata_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session-x.jsonl");
        std::fs::write(
            &path,
            "{\"id\":\"u1\",\"type\":\"user\",\"content\":\"hi\"}\n",
        )
        .unwrap();
        let err = at_path(&path).unwrap_err();
        assert!(err.contains("not a Gemini CLI session"), "{err}");
        let session = NativeSession {
            agent: "gemini",
            id: "x".into(),
            path: path.clone(),
            cwd: None,
            title: None,
            started_at: None,
            updated_at: None,
            ours: false,
        };
        assert!(read(&session).unwrap_err().contains("is it truncated?"));
    }

    #[test]
    fn legacy_json_sessions_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session-2025-01-01T00-00-abcdef12.json");
        let whole = json!({"sessionId": "s1", "projectHash": "h", "summary": "Old", "messages": [
            {"id": "u1", "type": "user", "content": [{"text": "hello"}]},
            {"id": "g1", "type": "gemini", "content": "world"}]});
        std::fs::write(&path, serde_json::to_string_pretty(&whole).unwrap()).unwrap();
        let session = at_path(&path).unwrap();
        assert_eq!(session.title.as_deref(), Some("Old"));
        assert_eq!(read(&session).unwrap().records.len(), 2);
    }

    #[test]
    fn content_parts_sort_into_text_calls_and_responses() {
        let parsed = content(&json!([
            {"text": "a"},
            {"functionCall": {"id": "f", "name": "n", "args": {"x": 1}}},
            {"functionResponse": {"id": "f", "name": "n", "response": {"output": "out"}}},
            {"inlineData": {"mimeType": "image/png", "data": "AA"}},
            {"fileData": {"fileUri": "gs://x"}},
        ]));
        assert_eq!(parsed.parts, vec![Part::Text("a".into())]);
        assert_eq!(
            parsed.calls,
            vec![Call {
                id: "f".into(),
                name: "n".into(),
                args: json!({"x": 1})
            }]
        );
        assert_eq!(parsed.responses[0].parts.len(), 2);
        assert_eq!(parsed.other, 1);
    }
}
