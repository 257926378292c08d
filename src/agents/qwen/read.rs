//! Qwen Code sessions into records (`../shared/specs/qwen-code.md`):
//! `$QWEN_HOME/projects/<cwd folder>/chats/<uuid>.jsonl`, one record per line on a
//! `uuid`/`parentUuid` chain with Gemini API content (read by `gemini::content`). The
//! conversation is the chain that ends at the last record, the one Qwen resumes. Thoughts
//! and system records are dropped.

use crate::agents::gemini::read::{self as gemini, SHELL};
use crate::agents::native::{self, Conversation, NativeSession, Reader};
use crate::model::{Item, Record};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const READER: Reader = Reader {
    agent: "qwen",
    list,
    read,
    at_path: Some(at_path),
    // Qwen keeps no lock: it appends whole lines, and a half-written last one is skipped.
    busy: None,
};

/// A session bigger than this is refused rather than read into memory.
const MAX_SESSION: u64 = 1 << 30;

fn list() -> Result<Vec<NativeSession>, String> {
    let Some(home) = crate::paths::qwen_home() else {
        return Ok(Vec::new());
    };
    Ok(list_in(&home, &native::mirrored("qwen")))
}

fn list_in(home: &Path, mirrored: &HashSet<String>) -> Vec<NativeSession> {
    let mut sessions = Vec::new();
    for project in std::fs::read_dir(home.join("projects"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for entry in std::fs::read_dir(project.path().join("chats"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && is_session_name(&path) {
                if let Ok(mut session) = at_path(&path) {
                    session.ours = mirrored.contains(&session.id);
                    sessions.push(session);
                }
            }
        }
    }
    sessions
}

/// Qwen resumes only files named `<session id>.jsonl`.
fn is_session_name(path: &Path) -> bool {
    let Some(stem) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".jsonl"))
    else {
        return false;
    };
    (32..=36).contains(&stem.len()) && stem.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

fn at_path(path: &Path) -> Result<NativeSession, String> {
    let edges = native::Edges::read(path)?;
    let first = edges.first();
    let id = first["sessionId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| not_a_session(path))?;
    Ok(NativeSession {
        agent: "qwen",
        id: id.to_owned(),
        path: path.to_owned(),
        cwd: first["cwd"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(PathBuf::from),
        title: edges.last("\"custom_title\"", custom_title),
        started_at: first["timestamp"].as_str().map(str::to_owned),
        updated_at: native::modified(path),
        ours: false,
    })
}

fn not_a_session(path: &Path) -> String {
    format!(
        "{} is not a Qwen Code session (its first line has no sessionId); is it truncated?",
        path.display()
    )
}

/// A title set with `/rename` (or generated), kept as a system record.
fn custom_title(record: &Value) -> Option<String> {
    (record["subtype"] == "custom_title")
        .then(|| {
            record["systemPayload"]["customTitle"]
                .as_str()
                .map(str::to_owned)
        })
        .flatten()
}

fn read(session: &NativeSession) -> Result<Conversation, String> {
    let text = native::read_file(&session.path, MAX_SESSION)?;
    let mut conversation = Conversation::new(session.clone());
    let lines = native::json_lines(&text, &mut conversation);
    if lines
        .first()
        .is_none_or(|l| l["sessionId"].as_str().is_none())
    {
        return Err(not_a_session(&session.path));
    }
    let chain = resumed_chain(&lines);
    for _ in chain.len()..lines.len() {
        conversation.drop_one("records off the chain Qwen resumes (rewound branches)");
    }
    let mut title = None;
    for record in chain {
        if let Some(custom) = custom_title(record) {
            title = Some(custom);
            continue;
        }
        self::record(record, &mut conversation);
    }
    conversation.session.title = title
        .or(conversation.session.title.take())
        .or_else(|| conversation.first_prompt());
    Ok(conversation)
}

/// The records from the first to the last one on the `parentUuid` chain that ends at the
/// last record.
fn resumed_chain(lines: &[Value]) -> Vec<&Value> {
    let by_uuid: HashMap<&str, &Value> = lines
        .iter()
        .filter_map(|l| Some((l["uuid"].as_str()?, l)))
        .collect();
    let mut chain = Vec::new();
    let mut visited = HashSet::new();
    let mut next = lines.iter().rev().find(|l| l["uuid"].is_string());
    while let Some(record) = next {
        // A cycle would be a corrupt file; stop rather than loop.
        if !visited.insert(record["uuid"].as_str().unwrap_or_default()) {
            break;
        }
        chain.push(record);
        next = record["parentUuid"]
            .as_str()
            .and_then(|p| by_uuid.get(p).copied());
    }
    chain.reverse();
    chain
}

fn record(record: &Value, out: &mut Conversation) {
    let uuid = record["uuid"].as_str().unwrap_or_default();
    let timestamp = record["timestamp"].as_str().map(str::to_owned);
    let agent = (record["isSidechain"] == true)
        .then(|| record["agentId"].as_str().unwrap_or("subagent").to_owned());
    let push = |out: &mut Conversation, rid: String, item: Item| {
        out.records.push(Record {
            timestamp: timestamp.clone(),
            agent: agent.clone(),
            rid: Some(rid),
            item,
        });
    };
    let kind = record["type"].as_str().unwrap_or_default();
    if kind == "system" {
        match record["subtype"].as_str().unwrap_or("other") {
            // Qwen's own bookkeeping (telemetry, file attribution), never conversation.
            "ui_telemetry" | "attribution_snapshot" => {}
            subtype => out.drop_one(&format!("system records ({subtype})")),
        }
        return;
    }
    let body = gemini::content(&record["message"]["parts"]);
    for _ in 0..body.thoughts {
        out.drop_one("thoughts");
    }
    for _ in 0..body.other {
        out.drop_one("other content parts (file references, code)");
    }
    match kind {
        "user" if !body.parts.is_empty() => {
            push(out, uuid.to_owned(), Item::Prompt { parts: body.parts })
        }
        "assistant" => {
            let text = crate::model::joined_text(&body.parts);
            if !text.is_empty() {
                push(out, uuid.to_owned(), Item::Text { text });
            }
            for (n, call) in body.calls.into_iter().enumerate() {
                let id = if call.id.is_empty() {
                    format!("{uuid}:{n}")
                } else {
                    call.id
                };
                let (name, input) = native::tool_call(&call.name, SHELL, &call.args);
                push(
                    out,
                    format!("{id}:call"),
                    Item::ToolCall { id, name, input },
                );
            }
        }
        _ => {}
    }
    let status = &record["toolCallResult"];
    for response in body.responses {
        let id = match response.id.as_str() {
            "" => status["callId"].as_str().unwrap_or(uuid).to_owned(),
            id => id.to_owned(),
        };
        let is_error = response.is_error
            || status["status"] == "error"
            || !status["error"].is_null()
            || gemini::failed_shell(&response.name, &response.parts);
        push(
            out,
            format!("{id}:result"),
            Item::ToolResult {
                id,
                parts: response.parts,
                is_error,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::testing::{self, items};
    use crate::encode::ToolStyle;
    use crate::model::Part;
    use serde_json::json;

    #[test]
    fn what_our_encoder_writes_reads_back_the_same() {
        let home = tempfile::tempdir().unwrap();
        let encoder = crate::agents::qwen::write::Qwen {
            home: home.path().to_owned(),
            style: ToolStyle::Structured,
            max_output_bytes: 1 << 20,
        };
        let cwd = Path::new("/home/u/project");
        let records = testing::with_image(testing::conversation());
        let (opening, mut cursor) = testing::write_jsonl(&encoder, cwd, &records);
        let listed = list_in(home.path(), &HashSet::from([opening.id.clone()]));
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert!(session.ours);
        assert_eq!(session.cwd.as_deref(), Some(cwd));
        assert_eq!(
            read(session).unwrap().session.title.as_deref(),
            Some("List the files")
        );
        let expected = items(&records);
        testing::round_trip(read, session, &expected, |more| {
            testing::append_jsonl(&encoder, &opening.path, &mut cursor, more)
        });
    }

    #[test]
    fn the_resumed_chain_errors_thoughts_system_records_and_titles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("11111111-2222-4333-8444-555555555555.jsonl");
        let line = |uuid: &str, parent: Option<&str>, kind: &str, extra: Value| {
            let mut record = json!({"uuid": uuid, "parentUuid": parent, "sessionId": "s1", "cwd": "/p", "type": kind, "timestamp": "2026-01-01T00:00:00.000Z"});
            record
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            record.to_string()
        };
        let lines = [
            line(
                "a",
                None,
                "user",
                json!({"message": {"role": "user", "parts": [{"text": "first try"}]}}),
            ),
            line(
                "b",
                None,
                "user",
                json!({"message": {"role": "user", "parts": [{"text": "run it"}]}}),
            ),
            line(
                "c",
                Some("b"),
                "assistant",
                json!({"message": {"role": "model", "parts": [
                {"text": "plan", "thought": true}, {"functionCall": {"id": "f1", "name": "run_shell_command", "args": {"command": "make"}}}]}}),
            ),
            line(
                "d",
                Some("c"),
                "tool_result",
                json!({"message": {"role": "user", "parts": [
                {"functionResponse": {"id": "f1", "name": "run_shell_command", "response": {"output": "Output: boom\nExit Code: 2"}}}]},
                "toolCallResult": {"callId": "f1", "status": "success"}}),
            ),
            line(
                "e",
                Some("d"),
                "system",
                json!({"subtype": "custom_title", "systemPayload": {"customTitle": "Build"}}),
            ),
            line(
                "f",
                Some("e"),
                "system",
                json!({"subtype": "slash_command", "systemPayload": {}}),
            ),
        ];
        std::fs::write(&path, lines.join("\n") + "\n{\"uuid\":\"g\",").unwrap();
        let session = at_path(&path).unwrap();
        assert_eq!(session.title.as_deref(), Some("Build"));
        let conversation = read(&session).unwrap();
        assert_eq!(
            items(&conversation.records),
            vec![
                Item::Prompt {
                    parts: vec![Part::Text("run it".into())]
                },
                Item::ToolCall {
                    id: "f1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "make"})
                },
                Item::ToolResult {
                    id: "f1".into(),
                    parts: vec![Part::Text("Output: boom\nExit Code: 2".into())],
                    is_error: true
                },
            ]
        );
        assert_eq!(testing::rids(&conversation), ["b", "f1:call", "f1:result"]);
        assert_eq!(
            testing::dropped(&conversation),
            [
                ("records off the chain Qwen resumes (rewound branches)", 1),
                ("system records (slash_command)", 1),
                ("thoughts", 1),
            ]
        );
        assert_eq!(conversation.session.title.as_deref(), Some("Build"));
    }

    /// A session the real Qwen Code 0.15.10 wrote: one prompt, one shell call.
    #[test]
    fn a_native_session_reads_as_the_conversation_the_model_saw() {
        let home = tempfile::tempdir().unwrap();
        let chats = home.path().join("projects/-home-user-project/chats");
        std::fs::create_dir_all(&chats).unwrap();
        let name = "4d14a468-5b5b-474f-887e-6f0c3411307a.jsonl";
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native/qwen");
        std::fs::copy(fixture.join(name), chats.join(name)).unwrap();
        let listed = list_in(home.path(), &HashSet::new());
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert_eq!(session.id, "4d14a468-5b5b-474f-887e-6f0c3411307a");
        assert_eq!(
            session.cwd.as_deref(),
            Some(Path::new("/home/user/project"))
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
        assert!(
            conversation.dropped.is_empty(),
            "{:?}",
            conversation.dropped
        );
        assert_eq!(
            conversation.session.title.as_deref(),
            Some("List the files of the project.")
        );
    }

    #[test]
    fn a_file_that_is_not_a_session_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("11111111-2222-4333-8444-555555555555.jsonl");
        std::fs::write(&path, "{\"uuid\":\"a\",\"ty").unwrap();
        assert!(at_path(&path).unwrap_err().contains("is it truncated?"));
        let session = NativeSession {
            agent: "qwen",
            id: "x".into(),
            path,
            cwd: None,
            title: None,
            started_at: None,
            updated_at: None,
            ours: false,
        };
        assert!(
            read(&session)
                .unwrap_err()
                .contains("not a Qwen Code session")
        );
        assert!(!is_session_name(Path::new("notes.jsonl")));
    }
}
