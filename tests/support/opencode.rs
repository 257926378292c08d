//! OpenCode helpers (opencode.md): pointing `opencode` at the chat mock, writing a session into
//! its SQLite database by hand, `opencode run --session <id> …`.

use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::chat::{ChatMock, MODEL};
use super::clients::Pinned;
use super::env::TestEnv;
use super::flatten::Item;
use super::proc::Output;

pub const OPENCODE: Pinned = Pinned {
    package: "opencode-ai",
    version: "1.18.33",
    bin: "opencode",
};

/// The provider id of the mock in `opencode.json`; sessions record `mock/mock-model`.
pub const PROVIDER: &str = "mock";

/// `~/.config/opencode/opencode.json` with the mock as an `@ai-sdk/openai-compatible` provider
/// and default model, and the env vars that keep OpenCode offline (opencode.md §7).
pub fn use_mock(env: &mut TestEnv, mock: &ChatMock) {
    let model = format!("{PROVIDER}/{MODEL}");
    let config = json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "model": model,
        "small_model": model,
        "provider": {PROVIDER: {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Mock",
            "options": {"baseURL": mock.base_url(), "apiKey": "fake"},
            "models": {MODEL: {"name": "Mock Model", "tool_call": true}},
        }},
    });
    let path = env.home.join(".config/opencode/opencode.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    env.set_var("OPENCODE_DISABLE_MODELS_FETCH", "1");
    env.set_var("OPENCODE_DISABLE_AUTOUPDATE", "1");
}

/// `$XDG_DATA_HOME/opencode/opencode.db`.
pub fn db_path(env: &TestEnv) -> PathBuf {
    env.home.join(".local/share/opencode/opencode.db")
}

/// `opencode session list` in the project: the project's root sessions.
pub fn session_list(env: &TestEnv) -> Output {
    let mut cmd = env.command(env.clients.bin(OPENCODE));
    cmd.args(["session", "list"]);
    env.run(&mut cmd)
}

/// Lets OpenCode create its database and run its migrations (`opencode session list` in the
/// project, which also inserts the project row).
pub fn init_db(env: &TestEnv) -> Output {
    let out = session_list(env);
    assert!(
        out.success() && db_path(env).is_file(),
        "opencode did not create {}: {}",
        db_path(env).display(),
        out.describe()
    );
    out
}

/// `<prefix>_<12 hex><14 base62>`: the hex digits are the low 48 bits of `ms * 4096 + counter`,
/// inverted for sessions so newer ones sort first (opencode.md §4).
struct Ids(u64);

impl Ids {
    fn next(&mut self, prefix: &str, ms: i64) -> String {
        const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        self.0 += 1;
        let mut v = (ms as u64 * 4096 + self.0) & 0xffff_ffff_ffff;
        if prefix == "ses" {
            v = !v & 0xffff_ffff_ffff;
        }
        let mut r = uuid::Uuid::new_v4().as_u128();
        let tail: String = (0..14)
            .map(|_| {
                let c = B62[(r % 62) as usize] as char;
                r /= 62;
                c
            })
            .collect();
        format!("{prefix}_{v:012x}{tail}")
    }
}

/// An assistant message being built: one model step (`step-start`, texts and tool parts,
/// `step-finish`).
struct Step {
    id: String,
    time: i64,
    /// (part id, time, data)
    parts: Vec<(String, i64, Value)>,
}

/// The root commit that names the project (opencode.md §2).
fn project_id(env: &TestEnv) -> String {
    let mut git = env.command("git");
    git.args(["rev-list", "--max-parents=0", "HEAD"]);
    let out = env.run(&mut git);
    out.assert_success();
    let mut roots: Vec<&str> = out.stdout.lines().collect();
    roots.sort();
    roots.first().expect("no root commit").to_string()
}

/// Inserts a session holding `items` into the database `init_db` created (opencode.md §3): the
/// project row if absent, the session, per prompt a user message with a text part, per model
/// step an assistant message (`finish` "tool-calls" when it called tools, else "stop") with
/// `step-start`, text and completed `tool` parts (call and output in one part), `step-finish`.
/// A step ends where outputs are followed by more text, calls or a prompt. Times are in the
/// recent past, increasing. Returns the session id and the rows written (`{table, id, …,
/// data}`), in insertion order.
pub fn write_session(env: &TestEnv, items: &[Item]) -> (String, Vec<Value>) {
    let mut conn = Connection::open(db_path(env)).expect("open opencode.db");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = now - 60_000 - 1000 * items.len() as i64;
    let mut ids = Ids(0);
    let worktree = env.project.to_str().unwrap();
    let project = project_id(env);
    let session = ids.next("ses", t0);
    let model = json!({"providerID": PROVIDER, "modelID": MODEL});
    let tokens = json!({"total": 0, "input": 0, "output": 0, "reasoning": 0, "cache": {"write": 0, "read": 0}});

    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT OR IGNORE INTO project (id, worktree, vcs, time_created, time_updated, sandboxes)
         VALUES (?1, ?2, 'git', ?3, ?3, '[]')",
        params![project, worktree, t0],
    )
    .unwrap();
    let session_model = json!({"id": MODEL, "providerID": PROVIDER, "variant": "default"});
    let end = t0 + 1000 * items.len() as i64;
    tx.execute(
        "INSERT INTO session (id, project_id, slug, directory, path, title, version, agent, model,
                              time_created, time_updated)
         VALUES (?1, ?2, 'harness-otter', ?3, '', 'Written by the e2e harness', ?4, 'build', ?5, ?6, ?7)",
        params![session, project, worktree, OPENCODE.version, session_model.to_string(), t0, end],
    )
    .unwrap();
    let mut rows = vec![
        json!({"table": "session", "id": session, "project_id": project, "model": session_model}),
    ];

    let insert_message = |rows: &mut Vec<Value>, id: &str, t: i64, data: Value| {
        tx.execute(
            "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?3, ?4)",
            params![id, session, t, data.to_string()],
        )
        .unwrap();
        rows.push(json!({"table": "message", "id": id, "time_created": t, "data": data}));
    };
    let insert_part = |rows: &mut Vec<Value>, id: &str, msg: &str, t: i64, data: Value| {
        tx.execute(
            "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![id, msg, session, t, data.to_string()],
        )
        .unwrap();
        rows.push(
            json!({"table": "part", "id": id, "message_id": msg, "time_created": t, "data": data}),
        );
    };
    // Writes a finished step: message, then its parts in order.
    let flush = |rows: &mut Vec<Value>, step: Step, parent: &str, ids: &mut Ids, t: i64| {
        let tools = step.parts.iter().any(|(_, _, p)| p["type"] == "tool");
        let finish = if tools { "tool-calls" } else { "stop" };
        insert_message(
            rows,
            &step.id,
            step.time,
            json!({"parentID": parent, "role": "assistant", "mode": "build", "agent": "build",
                "path": {"cwd": worktree, "root": worktree}, "cost": 0, "tokens": tokens,
                "modelID": MODEL, "providerID": PROVIDER,
                "time": {"created": step.time, "completed": t}, "finish": finish}),
        );
        for (id, pt, data) in step.parts {
            insert_part(rows, &id, &step.id, pt, data);
        }
        let id = ids.next("prt", t);
        insert_part(
            rows,
            &id,
            &step.id,
            t,
            json!({"type": "step-finish", "reason": finish, "tokens": tokens, "cost": 0}),
        );
    };

    let mut user: Option<String> = None;
    let mut step: Option<Step> = None;
    let mut step_has_output = false;
    for (i, it) in items.iter().enumerate() {
        let t = t0 + 1000 * (i as i64 + 1);
        if matches!(it, Item::User(_))
            || (step_has_output && matches!(it, Item::Assistant(_) | Item::Call { .. }))
        {
            if let Some(s) = step.take() {
                flush(&mut rows, s, user.as_deref().unwrap(), &mut ids, t);
            }
            step_has_output = false;
        }
        match it {
            Item::User(text) => {
                let id = ids.next("msg", t);
                insert_message(
                    &mut rows,
                    &id,
                    t,
                    json!({"role": "user", "time": {"created": t}, "agent": "build", "model": model}),
                );
                let part = ids.next("prt", t);
                insert_part(
                    &mut rows,
                    &part,
                    &id,
                    t,
                    json!({"type": "text", "text": text}),
                );
                user = Some(id);
            }
            Item::Assistant(_) | Item::Call { .. } => {
                let s = step.get_or_insert_with(|| {
                    let id = ids.next("msg", t);
                    let start = ids.next("prt", t);
                    Step {
                        id,
                        time: t,
                        parts: vec![(start, t, json!({"type": "step-start"}))],
                    }
                });
                let data = match it {
                    Item::Assistant(text) => {
                        json!({"type": "text", "text": text, "time": {"start": t, "end": t}})
                    }
                    Item::Call { id, name, args } => json!({
                        "type": "tool", "tool": name, "callID": id,
                        "state": {"status": "running", "input": args, "time": {"start": t}},
                    }),
                    _ => unreachable!(),
                };
                s.parts.push((ids.next("prt", t), t, data));
            }
            Item::Output { id, parts } => {
                let part = step
                    .as_mut()
                    .and_then(|s| {
                        s.parts
                            .iter_mut()
                            .find(|(_, _, p)| p["callID"] == id.as_str())
                    })
                    .unwrap_or_else(|| panic!("output {id} has no call in the same step"));
                let data = &mut part.2;
                let title = data["state"]["input"]["command"]
                    .as_str()
                    .or(data["tool"].as_str())
                    .unwrap_or("")
                    .to_string();
                let metadata = if data["tool"] == "bash" {
                    json!({"exit": 0, "truncated": false})
                } else {
                    json!({"truncated": false})
                };
                let state = &mut data["state"];
                state["status"] = json!("completed");
                state["output"] = json!(parts.join("\n"));
                state["metadata"] = metadata;
                state["title"] = json!(title);
                state["time"]["end"] = json!(t);
                step_has_output = true;
            }
            Item::Other(s) => panic!("cannot write {s} to an OpenCode session"),
        }
    }
    if let Some(s) = step.take() {
        flush(&mut rows, s, user.as_deref().unwrap(), &mut ids, end);
    }
    tx.commit().unwrap();
    (session, rows)
}

/// `opencode run --session <id> <prompt words>`, cwd = the project (sessions are scoped by the
/// git project). The prompt goes as separate words: `opencode run` joins its message
/// arguments and wraps any argument containing a space in double quotes.
pub fn resume(env: &TestEnv, id: &str, prompt: &str) -> Output {
    let mut cmd = env.command(env.clients.bin(OPENCODE));
    cmd.args(["run", "--session", id])
        .args(prompt.split_whitespace());
    env.run(&mut cmd)
}
