//! GitHub Copilot CLI sessions into records (`../shared/specs/copilot-cli.md`):
//! `$COPILOT_HOME/session-state/<uuid>/events.jsonl`, an event log opened by `session.start`,
//! with `workspace.yaml` beside it (cwd and title). A call is the assistant message's tool
//! request, its result the `tool.execution_complete` event. Reasoning is dropped.

use crate::agents::native::{self, Conversation, NativeSession, Reader};
use crate::model::{Item, Part, Record};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const READER: Reader = Reader {
    agent: "copilot",
    list,
    read,
    at_path: Some(at_path),
    // Copilot appends whole events; a half-written last one is skipped.
    busy: None,
};

/// A session bigger than this is refused rather than read into memory.
const MAX_SESSION: u64 = 1 << 30;
const SHELL: &str = "bash";

fn list() -> Result<Vec<NativeSession>, String> {
    let Some(home) = crate::paths::copilot_home() else {
        return Ok(Vec::new());
    };
    Ok(list_in(&home, &native::mirrored("copilot")))
}

fn list_in(home: &Path, mirrored: &HashSet<String>) -> Vec<NativeSession> {
    let mut sessions = Vec::new();
    for entry in std::fs::read_dir(home.join("session-state"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let events = entry.path().join("events.jsonl");
        if entry.file_type().is_ok_and(|t| t.is_dir()) && events.is_file() {
            if let Ok(mut session) = at_path(&events) {
                session.ours = mirrored.contains(&session.id);
                sessions.push(session);
            }
        }
    }
    sessions
}

/// The session a session folder, or its `events.jsonl`, holds.
fn at_path(path: &Path) -> Result<NativeSession, String> {
    let events = if path.is_dir() {
        path.join("events.jsonl")
    } else {
        path.to_owned()
    };
    let start = native::Edges::read(&events)?.first();
    let data = &start["data"];
    let Some(id) = data["sessionId"]
        .as_str()
        .filter(|_| start["type"] == "session.start")
    else {
        return Err(not_a_session(&events));
    };
    let workspace = events
        .parent()
        .and_then(|dir| crate::read::read_text(&dir.join("workspace.yaml"), 1 << 20).ok())
        .map(|text| yaml_scalars(&text))
        .unwrap_or_default();
    let field = |key: &str| workspace.get(key).filter(|v| !v.is_empty()).cloned();
    // A name the user gave wins over the summary Copilot generates.
    let title = match workspace.get("user_named").map(String::as_str) {
        Some("true") => field("name").or_else(|| field("summary")),
        _ => field("summary").or_else(|| field("name")),
    };
    Ok(NativeSession {
        agent: "copilot",
        id: id.to_owned(),
        path: events.clone(),
        cwd: field("cwd")
            .or_else(|| data["context"]["cwd"].as_str().map(str::to_owned))
            .map(PathBuf::from),
        title,
        started_at: data["startTime"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| field("created_at")),
        updated_at: native::modified(&events),
        ours: false,
    })
}

fn not_a_session(path: &Path) -> String {
    format!(
        "{} is not a Copilot CLI session (its first event is not session.start); is it truncated?",
        path.display()
    )
}

/// The top-level scalars of a YAML mapping such as `workspace.yaml`: plain, quoted, and
/// block (`|`, `>`) values; nested values are skipped.
fn yaml_scalars(text: &str) -> HashMap<String, String> {
    let mut scalars = HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        let value = value.trim();
        let value = if value.starts_with(['|', '>']) {
            let mut block = Vec::new();
            while let Some(next) =
                lines.next_if(|l| l.starts_with([' ', '\t']) || l.trim().is_empty())
            {
                block.push(next.trim());
            }
            let joiner = if value.starts_with('|') { "\n" } else { " " };
            block.join(joiner).trim_end().to_owned()
        } else if value.starts_with('"') {
            serde_json::from_str::<String>(value)
                .unwrap_or_else(|_| value.trim_matches('"').to_owned())
        } else if let Some(quoted) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            quoted.replace("''", "'")
        } else {
            value.to_owned()
        };
        scalars.insert(key.trim().to_owned(), value);
    }
    scalars
}

fn read(session: &NativeSession) -> Result<Conversation, String> {
    let text = native::read_file(&session.path, MAX_SESSION)?;
    let mut conversation = Conversation::new(session.clone());
    let events = native::json_lines(&text, &mut conversation);
    if events.first().is_none_or(|e| e["type"] != "session.start") {
        return Err(not_a_session(&session.path));
    }
    let mut seen = HashSet::new();
    let lineage = format!("copilot:{}", session.id);
    for (ordinal, event) in events.iter().enumerate() {
        // Copilot gives every event an id; one without gets a hash of its place and content.
        let id = event["id"].as_str().map_or_else(
            || native::content_rid(&lineage, ordinal as u64, &event.to_string()),
            str::to_owned,
        );
        self::event(event, &id, &mut seen, &mut conversation);
    }
    if conversation.session.title.is_none() {
        conversation.session.title = conversation.first_prompt();
    }
    Ok(conversation)
}

/// One event's records; `seen` keeps each call once (its tool request, and its execution
/// start for a call without one).
fn event(event: &Value, id: &str, seen: &mut HashSet<String>, out: &mut Conversation) {
    let data = &event["data"];
    let timestamp = event["timestamp"].as_str().map(str::to_owned);
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
    let call = |call_id: &str, name: &Value, arguments: &Value| {
        let (name, input) = native::tool_call(name.as_str().unwrap_or("unknown"), SHELL, arguments);
        (
            format!("{call_id}:call"),
            Item::ToolCall {
                id: call_id.to_owned(),
                name,
                input,
            },
        )
    };
    match event["type"].as_str().unwrap_or_default() {
        "user.message" => {
            let content = data["content"].as_str().unwrap_or_default();
            for _ in data["attachments"].as_array().into_iter().flatten() {
                out.drop_one("attachments (files and images the prompt referenced)");
            }
            if data["transformedContent"]
                .as_str()
                .is_some_and(|t| t != content)
            {
                out.drop_one("context Copilot injected into prompts");
            }
            if !content.is_empty() {
                let parts = vec![Part::Text(content.to_owned())];
                push(out, id.to_owned(), Item::Prompt { parts });
            }
        }
        "assistant.message" => {
            if data["reasoningText"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
            {
                out.drop_one("reasoning");
            }
            let text = data["content"].as_str().unwrap_or_default();
            if !text.is_empty() {
                push(
                    out,
                    id.to_owned(),
                    Item::Text {
                        text: text.to_owned(),
                    },
                );
            }
            for request in data["toolRequests"].as_array().into_iter().flatten() {
                let call_id = request["toolCallId"].as_str().unwrap_or(id);
                let (rid, item) = call(call_id, &request["name"], &request["arguments"]);
                push(out, rid, item);
            }
        }
        "tool.execution_start" => {
            let call_id = data["toolCallId"].as_str().unwrap_or(id);
            let (rid, item) = call(call_id, &data["toolName"], &data["arguments"]);
            push(out, rid, item);
        }
        "tool.execution_complete" => {
            let call_id = data["toolCallId"].as_str().unwrap_or(id).to_owned();
            let failed = data["success"] == false
                || data["shellExecution"]["exitCode"]
                    .as_i64()
                    .is_some_and(|code| code != 0);
            // A failed call's text reaches the model from `error`.
            let text = match (failed, data["error"]["message"].as_str()) {
                (true, Some(message)) => message.to_owned(),
                _ => match &data["result"]["content"] {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                },
            };
            let item = Item::ToolResult {
                id: call_id.clone(),
                parts: vec![Part::Text(text)],
                is_error: failed,
            };
            push(out, format!("{call_id}:result"), item);
        }
        "assistant.reasoning" => out.drop_one("reasoning"),
        "system.message" => out.drop_one("system prompts"),
        // Session, turn and usage bookkeeping, progress of a call whose result follows.
        kind if kind.starts_with("session.")
            || kind.starts_with("hook.")
            || matches!(
                kind,
                "assistant.turn_start"
                    | "assistant.turn_end"
                    | "assistant.usage"
                    | "tool.execution_partial_result"
                    | "tool.execution_progress"
            ) => {}
        kind => out.drop_one(&format!("other events ({kind})")),
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
        let home = tempfile::tempdir().unwrap();
        let encoder = crate::agents::copilot::write::Copilot {
            home: home.path().to_owned(),
            style: ToolStyle::Structured,
            max_output_bytes: 1 << 20,
        };
        let cwd = Path::new("/home/u/project");
        let records = testing::conversation();
        let (opening, mut cursor) = testing::write_jsonl(&encoder, cwd, &records);
        let facts = testing::facts(cwd);
        let entry = crate::store::index::Entry {
            id: &opening.id,
            path: &opening.path,
            cwd,
            title: facts.title,
            created_at: facts.now,
            now: facts.now,
        };
        assert!(crate::store::index::refresh(opening.index.as_ref().unwrap(), &entry).unwrap());

        let listed = list_in(home.path(), &HashSet::from([opening.id.clone()]));
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert!(session.ours);
        assert_eq!(session.cwd.as_deref(), Some(cwd));
        assert_eq!(session.title.as_deref(), Some(facts.title));
        testing::round_trip(read, session, &items(&records), |more| {
            testing::append_jsonl(&encoder, &opening.path, &mut cursor, more)
        });
    }

    #[test]
    fn native_events_reasoning_and_calls_without_requests() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.jsonl");
        let lines = [
            json!({"type": "session.start", "id": "e0", "data": {"sessionId": "s1", "startTime": "2026-01-01T00:00:00.000Z", "context": {"cwd": "/p"}}}),
            json!({"type": "user.message", "id": "e1", "data": {"content": "fix", "transformedContent": "<reminder>date</reminder>\nfix", "attachments": [{"type": "file", "path": "/p/a.png"}]}}),
            json!({"type": "assistant.turn_start", "id": "e2", "data": {}}),
            json!({"type": "assistant.reasoning", "id": "e3", "data": {"content": "hmm"}}),
            json!({"type": "tool.execution_start", "id": "e4", "data": {"toolCallId": "t1", "toolName": "bash", "arguments": {"command": "make"}}}),
            json!({"type": "tool.execution_complete", "id": "e5", "data": {"toolCallId": "t1", "success": false, "result": {"content": "partial"}, "error": {"message": "exit 2"}}}),
            json!({"type": "abort", "id": "e6", "data": {}}),
            json!({"type": "assistant.message", "data": {"content": "no id"}}),
        ];
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        std::fs::write(&events, text.join("\n") + "\n{\"type\":\"assis").unwrap();
        std::fs::write(
            dir.path().join("workspace.yaml"),
            "id: s1\ncwd: '/p'\nsummary: |\n  Fix the\n  build\nuser_named: false\n",
        )
        .unwrap();
        let session = at_path(dir.path()).unwrap();
        assert_eq!(session.title.as_deref(), Some("Fix the\nbuild"));
        assert_eq!(session.cwd.as_deref(), Some(Path::new("/p")));
        let conversation = read(&session).unwrap();
        assert_eq!(
            items(&conversation.records),
            vec![
                Item::Prompt {
                    parts: vec![Part::Text("fix".into())]
                },
                Item::ToolCall {
                    id: "t1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "make"})
                },
                Item::ToolResult {
                    id: "t1".into(),
                    parts: vec![Part::Text("exit 2".into())],
                    is_error: true
                },
                Item::Text {
                    text: "no id".into()
                },
            ]
        );
        let rids = testing::rids(&conversation);
        assert_eq!(rids[..3], ["e1", "t1:call", "t1:result"]);
        assert_eq!(
            rids[3],
            native::content_rid("copilot:s1", 7, &lines[7].to_string())
        );
        assert_eq!(
            testing::dropped(&conversation),
            [
                ("attachments (files and images the prompt referenced)", 1),
                ("context Copilot injected into prompts", 1),
                ("other events (abort)", 1),
                ("reasoning", 1),
            ]
        );
    }

    /// A session the real Copilot CLI 1.0.102 wrote: one prompt, one shell call.
    #[test]
    fn a_native_session_reads_as_the_conversation_the_model_saw() {
        let home = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native/copilot");
        let listed = list_in(&home, &HashSet::new());
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert_eq!(session.id, "003c2dca-87ce-4d84-aab7-eca5dbecc927");
        assert_eq!(
            session.cwd.as_deref(),
            Some(Path::new("/home/user/project"))
        );
        assert_eq!(
            session.title.as_deref(),
            Some("List the files of the project.")
        );
        assert!(!session.ours);
        let conversation = read(session).unwrap();
        assert_eq!(
            testing::shape(&conversation.records),
            [
                "prompt List the files of the project.",
                "text Listing the files.",
                r#"call Bash "ls -1""#,
                "result error=false",
                "text The project has README.md, notes.txt and src.",
            ]
        );
        assert_eq!(
            testing::dropped(&conversation),
            [
                ("context Copilot injected into prompts", 1),
                ("system prompts", 1)
            ]
        );
    }

    #[test]
    fn an_event_log_without_its_start_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.jsonl");
        std::fs::write(
            &events,
            "{\"type\":\"user.message\",\"data\":{\"content\":\"x\"}}\n",
        )
        .unwrap();
        let err = at_path(&events).unwrap_err();
        assert!(
            err.contains("not a Copilot CLI session") && err.contains("truncated"),
            "{err}"
        );
    }
}
