//! Qwen Code helpers (qwen-code.md): pointing `qwen` at the chat mock, writing a session file by
//! hand, `qwen --resume <uuid> -p …`.

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::chat::{ChatMock, MODEL};
use super::clients::Pinned;
use super::env::TestEnv;
use super::flatten::Item;
use super::proc::Output;

/// Releases ≥ 0.16 need Node ≥ 22; 0.15.10 is the one the spec verified.
pub const QWEN: Pinned = Pinned {
    package: "@qwen-code/qwen-code",
    version: "0.15.10",
    bin: "qwen",
};

/// Env vars for the mock (qwen-code.md §6) and `~/.qwen/settings.json` turning off usage
/// statistics (network) and the managed auto-memory side call Qwen makes after every turn.
pub fn use_mock(env: &mut TestEnv, mock: &ChatMock) {
    env.set_var("OPENAI_API_KEY", "fake");
    env.set_var("OPENAI_BASE_URL", mock.base_url());
    env.set_var("OPENAI_MODEL", MODEL);
    let settings = json!({
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "memory": {"enableManagedAutoMemory": false},
    });
    let path = env.home.join(".qwen/settings.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, serde_json::to_string_pretty(&settings).unwrap()).unwrap();
}

/// `~/.qwen/projects/<project dir with every [^a-zA-Z0-9] → '-'>/chats`.
pub fn chats_dir(env: &TestEnv) -> PathBuf {
    env.home
        .join(".qwen/projects")
        .join(env.project_dashed())
        .join("chats")
}

/// Writes `chats/<id>.jsonl` for the project (cwd = `env.project`) holding `items` (qwen-code.md
/// §2): a user record per prompt; an assistant record per text, with the calls that follow it
/// as `functionCall` parts; consecutive outputs as one `tool_result` record of
/// `functionResponse` parts. One `parentUuid` chain. Returns the lines written.
pub fn write_session(env: &TestEnv, id: &str, items: &[Item]) -> Vec<Value> {
    let cwd = env.project.to_str().unwrap();
    let mut records: Vec<(&str, Value)> = Vec::new();
    let mut names = std::collections::BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &items[p]);
        match it {
            Item::User(t) => {
                records.push(("user", json!({"role": "user", "parts": [{"text": t}]})))
            }
            Item::Assistant(t) => records.push((
                "assistant",
                json!({"role": "model", "parts": [{"text": t}]}),
            )),
            Item::Call { id, name, args } => {
                names.insert(id.clone(), name.clone());
                let part = json!({"functionCall": {"id": id, "name": name, "args": args}});
                match (prev, records.last_mut()) {
                    (Some(Item::Assistant(_) | Item::Call { .. }), Some((_, msg))) => {
                        msg["parts"].as_array_mut().unwrap().push(part)
                    }
                    _ => records.push(("assistant", json!({"role": "model", "parts": [part]}))),
                }
            }
            Item::Output { id, parts } => {
                let name = names.get(id).cloned().unwrap_or_default();
                let part = json!({"functionResponse": {"id": id, "name": name, "response": {"output": parts.join("\n")}}});
                match (prev, records.last_mut()) {
                    (Some(Item::Output { .. }), Some((_, msg))) => {
                        msg["parts"].as_array_mut().unwrap().push(part)
                    }
                    _ => records.push(("tool_result", json!({"role": "user", "parts": [part]}))),
                }
            }
            Item::Other(s) => panic!("cannot write {s} to a Qwen session"),
        }
    }
    let mut parent = Value::Null;
    let lines: Vec<Value> = records
        .into_iter()
        .enumerate()
        .map(|(i, (kind, message))| {
            let uuid = uuid::Uuid::new_v4().to_string();
            let mut line = json!({
                "uuid": uuid, "parentUuid": parent, "sessionId": id,
                "timestamp": format!("2026-01-15T10:00:{:02}.000Z", i % 60),
                "type": kind, "cwd": cwd, "version": QWEN.version, "message": message,
            });
            if kind == "assistant" {
                line["model"] = json!(MODEL);
            }
            parent = json!(uuid);
            line
        })
        .collect();
    let dir = chats_dir(env);
    fs::create_dir_all(&dir).unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(dir.join(format!("{id}.jsonl")), text).unwrap();
    lines
}

/// `qwen --auth-type openai --resume <id> -p <prompt>`, cwd = the project (Qwen only resumes
/// a session whose recorded cwd is the exact current cwd).
pub fn resume(env: &TestEnv, id: &str, prompt: &str) -> Output {
    let mut cmd = env.command(env.clients.bin(QWEN));
    cmd.args(["--auth-type", "openai", "--resume", id, "-p", prompt]);
    env.run(&mut cmd)
}
