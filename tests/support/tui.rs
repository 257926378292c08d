//! A session as Claude Code's interactive TUI writes it, flush by flush, with its hook payloads.

use super::home::Env;
use super::said::Said;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// A session as the interactive TUI writes it (recorded with Claude Code 2.1.197, issue 11):
/// bookkeeping lines; then the first answer's text and Bash call and a file-history snapshot;
/// only then the prompt (the earliest timestamp, no parent) and its attachments, the last of
/// which the text's `parentUuid` names; the call's result and the final answer; `/exit`.
pub struct Tui {
    pub session: String,
    pub transcript: PathBuf,
    cwd: PathBuf,
    prompt_id: String,
}

impl Tui {
    pub const PROMPT: &str = "Run echo hi in the shell.";
    pub const CALL: &str = "toolu_tui_0001";
    pub const FINAL: &str = "It printed hi.";

    pub fn new(env: &Env) -> Self {
        let session = "7d3c5e1a-0b2f-4c6d-9e8f-1a2b3c4d5e6f".to_owned();
        let transcript = env.transcript_path(&session);
        std::fs::write(&transcript, "").unwrap();
        Tui {
            session,
            transcript,
            cwd: env.project.clone(),
            prompt_id: "5f0e2d4c-1b3a-4e6f-8a9b-0c1d2e3f4a5b".into(),
        }
    }

    fn line(&self, uuid: &str, parent: Option<&str>, at: &str, fields: Value) -> Value {
        let mut line = serde_json::json!({
            "parentUuid": parent, "isSidechain": false, "uuid": uuid,
            "timestamp": format!("2026-12-01T10:00:{at}Z"), "userType": "external",
            "entrypoint": "cli", "cwd": self.cwd, "sessionId": self.session,
            "version": "2.1.197", "gitBranch": "main",
        });
        if let (Value::Object(line), Value::Object(fields)) = (&mut line, fields) {
            line.extend(fields);
        }
        line
    }

    fn assistant(&self, uuid: &str, parent: &str, at: &str, block: Value) -> Value {
        let message = serde_json::json!({
            "id": "msg_tui_1", "type": "message", "role": "assistant",
            "model": "claude-opus-4-8", "content": [block], "stop_reason": "tool_use",
        });
        self.line(
            uuid,
            Some(parent),
            at,
            serde_json::json!({ "type": "assistant", "message": message }),
        )
    }

    fn user(&self, uuid: &str, parent: Option<&str>, at: &str, content: Value) -> Value {
        let message = serde_json::json!({ "role": "user", "content": content });
        self.line(
            uuid,
            parent,
            at,
            serde_json::json!({ "type": "user", "message": message, "promptId": self.prompt_id }),
        )
    }

    fn attachment(&self, uuid: &str, parent: &str) -> Value {
        let attachment = serde_json::json!({ "type": "skill_listing", "content": "" });
        self.line(
            uuid,
            Some(parent),
            "00.001",
            serde_json::json!({ "type": "attachment", "attachment": attachment }),
        )
    }

    /// The transcript's lines in four flushes: before the UserPromptSubmit hook, before the
    /// call's PostToolUse hook, before Stop, before SessionEnd.
    pub fn flushes(&self) -> [Vec<Value>; 4] {
        let s = &self.session;
        let bookkeeping = vec![
            serde_json::json!({ "type": "ai-title", "aiTitle": "Echo hi", "sessionId": s }),
            serde_json::json!({ "type": "last-prompt", "lastPrompt": Self::PROMPT, "sessionId": s }),
            serde_json::json!({ "type": "mode", "mode": "normal", "sessionId": s }),
            serde_json::json!({ "type": "permission-mode", "permissionMode": "default", "sessionId": s }),
        ];
        let call = serde_json::json!({
            "type": "tool_use", "id": Self::CALL, "name": "Bash",
            "input": { "command": "echo hi", "description": "Print hi" },
        });
        let mut prompt = self.user("u-prompt", None, "00.000", Self::PROMPT.into());
        prompt["origin"] = serde_json::json!({ "kind": "human" });
        let first = vec![
            self.assistant(
                "u-text",
                "u-att2",
                "02.000",
                serde_json::json!({ "type": "text", "text": "I'll run it." }),
            ),
            self.assistant("u-call", "u-text", "02.100", call),
            serde_json::json!({ "type": "file-history-snapshot", "messageId": "u-prompt", "snapshot": {} }),
            prompt,
            self.attachment("u-att1", "u-prompt"),
            self.attachment("u-att2", "u-att1"),
        ];
        let mut result = self.user(
            "u-result",
            Some("u-call"),
            "03.000",
            serde_json::json!([{
                "tool_use_id": Self::CALL, "type": "tool_result", "content": "hi", "is_error": false,
            }]),
        );
        result["toolUseResult"] = Self::response();
        let answer = self.assistant(
            "u-final",
            "u-result",
            "04.000",
            serde_json::json!({ "type": "text", "text": Self::FINAL }),
        );
        let exit = vec![
            self.user(
                "u-exit",
                Some("u-final"),
                "09.000",
                "<command-name>/exit</command-name>\n            <command-message>exit</command-message>\n            <command-args></command-args>".into(),
            ),
            self.user(
                "u-bye",
                Some("u-exit"),
                "09.001",
                "<local-command-stdout>Goodbye!</local-command-stdout>".into(),
            ),
        ];
        [bookkeeping, first, vec![result, answer], exit]
    }

    fn response() -> Value {
        serde_json::json!({
            "stdout": "hi", "stderr": "", "interrupted": false, "isImage": false,
            "noOutputExpected": false,
        })
    }

    pub fn append(&self, lines: &[Value]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.transcript)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    /// The hook payloads, in the order the flushes precede them.
    pub fn payloads(&self) -> [Vec<u8>; 4] {
        let payload = |event: &str, fields: Value| {
            let mut payload = serde_json::json!({
                "session_id": self.session, "transcript_path": self.transcript,
                "cwd": self.cwd, "prompt_id": self.prompt_id, "permission_mode": "default",
                "hook_event_name": event,
            });
            if let (Value::Object(payload), Value::Object(fields)) = (&mut payload, fields) {
                payload.extend(fields);
            }
            payload.to_string().into_bytes()
        };
        [
            payload(
                "UserPromptSubmit",
                serde_json::json!({ "prompt": Self::PROMPT }),
            ),
            payload(
                "PostToolUse",
                serde_json::json!({
                    "tool_name": "Bash", "tool_use_id": Self::CALL,
                    "tool_input": { "command": "echo hi", "description": "Print hi" },
                    "tool_response": Self::response(),
                }),
            ),
            payload(
                "Stop",
                serde_json::json!({ "stop_hook_active": false, "last_assistant_message": Self::FINAL }),
            ),
            payload(
                "SessionEnd",
                serde_json::json!({ "reason": "prompt_input_exit" }),
            ),
        ]
    }

    /// What the Codex mirror must say: the prompt first, the call and its output once.
    pub fn said() -> Vec<Said> {
        vec![
            Said::User(Self::PROMPT.into()),
            Said::Assistant("I'll run it.".into()),
            Said::Call {
                id: Self::CALL.into(),
                name: "exec_command".into(),
                arguments: serde_json::json!({ "cmd": "echo hi" }).to_string(),
            },
            Said::Output {
                id: Self::CALL.into(),
                output: "hi".into(),
            },
            Said::Assistant(Self::FINAL.into()),
        ]
    }
}
