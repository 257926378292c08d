//! GitHub Copilot CLI helpers (copilot-cli.md): BYOK offline mode against the chat mock, writing
//! `session-state/<uuid>/` by hand, `copilot --resume=<id> -p … --allow-all`.

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::chat::{ChatMock, MODEL};
use super::clients::Pinned;
use super::env::TestEnv;
use super::flatten::Item;
use super::proc::Output;

pub const COPILOT: Pinned = Pinned {
    package: "@github/copilot",
    version: "1.0.102",
    bin: "copilot",
};

/// BYOK offline mode (copilot-cli.md §7): no GitHub login, no network but the mock.
pub fn use_mock(env: &mut TestEnv, mock: &ChatMock) {
    let copilot_home = env.home.join(".copilot");
    env.set_var("COPILOT_HOME", copilot_home.to_str().unwrap());
    env.set_var("COPILOT_OFFLINE", "true");
    env.set_var("COPILOT_PROVIDER_BASE_URL", mock.base_url());
    env.set_var("COPILOT_PROVIDER_API_KEY", "fake");
    env.set_var("COPILOT_MODEL", MODEL);
    env.set_var("COPILOT_AUTO_UPDATE", "false");
}

/// `$COPILOT_HOME/session-state/<id>`.
pub fn session_dir(env: &TestEnv, id: &str) -> PathBuf {
    env.home.join(".copilot/session-state").join(id)
}

/// Writes `session-state/<id>/events.jsonl` + `workspace.yaml` for the project (copilot-cli.md
/// §2–3): `session.start`, then per prompt a `user.message`; per text an `assistant.message`
/// whose `toolRequests` hold the calls that follow it, each call also getting a
/// `tool.execution_start`; per output a `tool.execution_complete`. One `parentId` chain.
/// Returns the events written.
pub fn write_session(env: &TestEnv, id: &str, items: &[Item]) -> Vec<Value> {
    let cwd = env.project.to_str().unwrap();
    let mut events: Vec<(&str, Value)> = vec![(
        "session.start",
        json!({"sessionId": id, "version": 1, "producer": "copilot-agent",
            "copilotVersion": COPILOT.version, "startTime": "2026-01-15T10:00:00.000Z",
            "contextTier": null, "context": {"cwd": cwd}, "alreadyInUse": false}),
    )];
    let mut prompts = 0usize;
    let mut open_assistant: Option<usize> = None;
    for it in items {
        // One turn per prompt, numbered from 0.
        let turn_id = prompts.saturating_sub(1).to_string();
        match it {
            Item::User(t) => {
                prompts += 1;
                open_assistant = None;
                events.push(("user.message", json!({"content": t})));
            }
            Item::Assistant(t) => {
                open_assistant = Some(events.len());
                events.push((
                    "assistant.message",
                    json!({"messageId": uuid::Uuid::new_v4().to_string(), "content": t, "turnId": turn_id}),
                ));
            }
            Item::Call { id, name, args } => {
                let at = *open_assistant.get_or_insert_with(|| {
                    events.push((
                        "assistant.message",
                        json!({"messageId": uuid::Uuid::new_v4().to_string(), "content": "", "turnId": turn_id}),
                    ));
                    events.len() - 1
                });
                let msg = &mut events[at].1;
                if msg.get("toolRequests").is_none() {
                    msg["toolRequests"] = json!([]);
                }
                msg["toolRequests"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": name, "toolCallId": id, "arguments": args}));
                events.push((
                    "tool.execution_start",
                    json!({"toolCallId": id, "toolName": name, "arguments": args, "turnId": turn_id}),
                ));
            }
            Item::Output { id, parts } => {
                open_assistant = None;
                events.push((
                    "tool.execution_complete",
                    json!({"toolCallId": id, "success": true, "turnId": turn_id,
                        "result": {"content": parts.join("\n")}}),
                ));
            }
            Item::Other(s) => panic!("cannot write {s} to a Copilot session"),
        }
    }
    let mut parent = Value::Null;
    let lines: Vec<Value> = events
        .into_iter()
        .enumerate()
        .map(|(i, (kind, data))| {
            let event_id = uuid::Uuid::new_v4().to_string();
            let line = json!({
                "type": kind, "data": data, "id": event_id,
                "timestamp": format!("2026-01-15T10:00:{:02}.000Z", i % 60),
                "parentId": parent,
            });
            parent = json!(event_id);
            line
        })
        .collect();
    let dir = session_dir(env, id);
    fs::create_dir_all(&dir).unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(dir.join("events.jsonl"), text).unwrap();
    let workspace = format!(
        "id: {id}\ncwd: {cwd}\nclient_name: github/cli\nname: Written by the e2e harness\nuser_named: true\nsummary_count: 0\nfork_count: 0\ncreated_at: 2026-01-15T10:00:00.000Z\nupdated_at: 2026-01-15T10:00:{:02}.000Z\n",
        (lines.len() - 1) % 60
    );
    fs::write(dir.join("workspace.yaml"), workspace).unwrap();
    lines
}

/// `copilot --resume=<id> -p <prompt> --allow-all`, cwd = the project.
pub fn resume(env: &TestEnv, id: &str, prompt: &str) -> Output {
    let mut cmd = env.command(env.clients.bin(COPILOT));
    cmd.arg(format!("--resume={id}"))
        .args(["-p", prompt, "--allow-all"]);
    env.run(&mut cmd)
}
