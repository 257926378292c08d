//! Codex helpers: writing a legacy rollout by hand (codex.md §1), running `codex exec resume`.

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::env::TestEnv;
use super::flatten::Item;
use super::proc::Output;

/// Writes `$CODEX_HOME/sessions/2025/01/15/rollout-2025-01-15T10-00-00-<id>.jsonl` holding
/// `items` as legacy response items (outputs with several parts become `input_text` arrays).
pub fn write_legacy_rollout(env: &TestEnv, id: &str, items: &[Item]) -> PathBuf {
    let ts = "2025-01-15T10:00:00.000Z";
    let line = |kind: &str, payload: Value| {
        json!({"timestamp": ts, "type": kind, "payload": payload}).to_string()
    };
    let mut lines = vec![line(
        "session_meta",
        json!({"id": id, "timestamp": ts, "cwd": env.project, "originator": "session_sync_e2e", "cli_version": "0.0.0", "source": "cli"}),
    )];
    for it in items {
        match it {
            Item::User(t) => {
                lines.push(line("event_msg", json!({"type": "user_message", "message": t, "images": []})));
                lines.push(line("response_item", json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": t}]})));
            }
            Item::Assistant(t) => {
                lines.push(line("response_item", json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": t}]})));
                lines.push(line("event_msg", json!({"type": "agent_message", "message": t})));
            }
            Item::Call { id, name, args } => lines.push(line(
                "response_item",
                json!({"type": "function_call", "name": name, "arguments": args.to_string(), "call_id": id}),
            )),
            Item::Output { id, parts } => {
                let output = if parts.len() == 1 {
                    json!(parts[0])
                } else {
                    Value::Array(parts.iter().map(|p| json!({"type": "input_text", "text": p})).collect())
                };
                lines.push(line("response_item", json!({"type": "function_call_output", "call_id": id, "output": output})));
            }
            Item::Other(s) => panic!("cannot write {s} to a rollout"),
        }
    }
    let path = env
        .codex_home
        .join("sessions/2025/01/15")
        .join(format!("rollout-2025-01-15T10-00-00-{id}.jsonl"));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `codex exec resume <id> "<prompt>" --skip-git-repo-check`, cwd = the project.
pub fn exec_resume(env: &TestEnv, id: &str, prompt: &str) -> Output {
    let mut cmd = env.codex();
    cmd.args(["exec", "resume", id, prompt, "--skip-git-repo-check"]);
    env.run(&mut cmd)
}

/// The rows of Codex's `threads` index, one line each, newest first as `--last` sees them
/// (for failure messages).
pub fn threads(env: &TestEnv) -> String {
    let db = rusqlite::Connection::open(env.codex_home.join("state_5.sqlite")).unwrap();
    let mut rows = db
        .prepare(
            "SELECT id, source, cwd, updated_at, updated_at_ms, recency_at_ms FROM threads
             ORDER BY updated_at_ms DESC",
        )
        .unwrap();
    rows.query_map([], |r| {
        Ok(format!(
            "{} source={} cwd={} updated_at={} updated_at_ms={} recency_at_ms={}",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?.unwrap_or_default(),
            r.get::<_, Option<i64>>(5)?.unwrap_or_default(),
        ))
    })
    .unwrap()
    .map(|row| row.unwrap() + "\n")
    .collect()
}
