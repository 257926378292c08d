//! Claude Code's hook payload (wire types, `wire.rs`) reduced to the pipeline's event: a pure
//! function, tested by a table of payloads.

use super::wire::Payload;
use crate::pipeline::{HookEvent, ToolDone, Work};

/// The event a payload asks for; `Ok(None)` for events the mirror has nothing to do with, an
/// error (for the log) when the input is not a hook payload at all.
pub fn reduce(input: &[u8]) -> Result<Option<HookEvent>, String> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err("empty payload on stdin".into());
    }
    let payload: Payload = serde_json::from_slice(input)
        .map_err(|err| format!("stdin is not a Claude Code hook payload: {err}"))?;
    let work = match payload.hook_event_name.as_str() {
        "UserPromptSubmit" => Work::Prompt {
            prompt_id: payload.prompt_id,
            text: payload.prompt,
        },
        name @ ("PostToolUse" | "PostToolUseFailure") => Work::ToolDone(Box::new(ToolDone {
            failed: name == "PostToolUseFailure",
            agent: payload.agent_id,
            id: payload.tool_use_id,
            name: payload.tool_name,
            input: payload.tool_input.unwrap_or_default(),
            response: payload.tool_response,
            error: payload.error,
        })),
        "Stop" => Work::Stop {
            last_text: payload.last_assistant_message,
        },
        "StopFailure" | "SessionEnd" | "SubagentStop" | "PostToolBatch" | "PreCompact"
        | "PostCompact" => Work::CatchUp,
        _ => return Ok(None),
    };
    Ok(Some(HookEvent {
        name: payload.hook_event_name,
        session_id: payload.session_id,
        cwd: payload.cwd.filter(|c| c.is_absolute()),
        transcript: payload.transcript_path.filter(|p| p.is_absolute()),
        work,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::path::PathBuf;

    fn event(name: &str, work: Work) -> Option<HookEvent> {
        Some(HookEvent {
            name: name.into(),
            session_id: "s1".into(),
            cwd: Some(PathBuf::from("/p")),
            transcript: Some(PathBuf::from("/p/t.jsonl")),
            work,
        })
    }

    fn payload(name: &str, extra: Value) -> Vec<u8> {
        let mut value = json!({
            "session_id": "s1", "hook_event_name": name,
            "cwd": "/p", "transcript_path": "/p/t.jsonl",
        });
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        value.to_string().into_bytes()
    }

    #[test]
    fn each_payload_reduces_to_its_event() {
        let tool = |failed: bool, agent: Option<&str>| ToolDone {
            failed,
            agent: agent.map(str::to_owned),
            id: Some("toolu_1".into()),
            name: Some("Bash".into()),
            input: json!({ "command": "ls" }),
            response: (!failed).then(|| json!({ "stdout": "a" })),
            error: failed.then(|| json!("Exit code 1")),
        };
        let call = json!({ "tool_use_id": "toolu_1", "tool_name": "Bash", "tool_input": { "command": "ls" } });
        let with = |extra: Value| {
            let mut merged = call.clone();
            merged
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            merged
        };
        // A payload, and what it reduces to (or a part of the error it gives).
        type Case = (Vec<u8>, Result<Option<HookEvent>, &'static str>);
        let table: Vec<Case> =
            vec![
            (
                payload(
                    "UserPromptSubmit",
                    json!({ "prompt": "hi", "prompt_id": "p1" }),
                ),
                Ok(event(
                    "UserPromptSubmit",
                    Work::Prompt {
                        prompt_id: Some("p1".into()),
                        text: Some("hi".into()),
                    },
                )),
            ),
            (
                payload("UserPromptSubmit", json!({})),
                Ok(event(
                    "UserPromptSubmit",
                    Work::Prompt {
                        prompt_id: None,
                        text: None,
                    },
                )),
            ),
            (
                payload(
                    "PostToolUse",
                    with(json!({ "tool_response": { "stdout": "a" } })),
                ),
                Ok(event("PostToolUse", Work::ToolDone(Box::new(tool(false, None))))),
            ),
            (
                payload(
                    "PostToolUseFailure",
                    with(json!({ "error": "Exit code 1" })),
                ),
                Ok(event(
                    "PostToolUseFailure",
                    Work::ToolDone(Box::new(tool(true, None))),
                )),
            ),
            (
                payload(
                    "PostToolUse",
                    with(json!({ "tool_response": { "stdout": "a" }, "agent_id": "a7" })),
                ),
                Ok(event(
                    "PostToolUse",
                    Work::ToolDone(Box::new(tool(false, Some("a7")))),
                )),
            ),
            (
                payload("Stop", json!({ "last_assistant_message": "done" })),
                Ok(event(
                    "Stop",
                    Work::Stop {
                        last_text: Some("done".into()),
                    },
                )),
            ),
            (
                payload("SessionEnd", json!({})),
                Ok(event("SessionEnd", Work::CatchUp)),
            ),
            (
                payload("StopFailure", json!({ "error": "rate_limit" })),
                Ok(event("StopFailure", Work::CatchUp)),
            ),
            (
                payload("SubagentStop", json!({})),
                Ok(event("SubagentStop", Work::CatchUp)),
            ),
            (payload("PreToolUse", with(json!({}))), Ok(None)),
            (payload("Notification", json!({})), Ok(None)),
            (
                br#"{"session_id":"s1","hook_event_name":"Stop","cwd":"p","transcript_path":"t"}"#
                    .to_vec(),
                Ok(Some(HookEvent {
                    name: "Stop".into(),
                    session_id: "s1".into(),
                    cwd: None,
                    transcript: None,
                    work: Work::Stop { last_text: None },
                })),
            ),
            (b"  \n".to_vec(), Err("empty payload")),
            (b"not json".to_vec(), Err("not a Claude Code hook payload")),
            (
                br#"{"hook_event_name":"Stop"}"#.to_vec(),
                Err("not a Claude Code hook payload"),
            ),
        ];
        for (input, expected) in table {
            let got = reduce(&input);
            let shown = String::from_utf8_lossy(&input).into_owned();
            match expected {
                Ok(event) => assert_eq!(got, Ok(event), "{shown}"),
                Err(part) => assert!(
                    got.as_ref().is_err_and(|e| e.contains(part)),
                    "{shown}: {got:?}"
                ),
            }
        }
    }
}
