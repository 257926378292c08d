//! Gemini CLI helpers: pointing it at the mock (gemini-cli.md §7), running `--resume` and
//! `--list-sessions`, and writing a session by hand the way a third party must (§1, §2, §5).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::clients::GEMINI;
use super::env::TestEnv;
use super::flatten::Item;
use super::gemini_api::GeminiMock;
use super::proc::Output;

/// Points `gemini` at the mock: API key + base URL (auth type "gateway"), the store under the
/// test HOME, settings that keep it offline and quiet.
pub fn use_gemini(env: &mut TestEnv, mock: &GeminiMock) {
    let home = env.home.to_str().unwrap().to_string();
    env.set_var("GEMINI_API_KEY", "fake")
        .set_var("GOOGLE_GEMINI_BASE_URL", mock.base_url())
        .set_var("GEMINI_CLI_HOME", &home);
    let settings = json!({
        "privacy": {"usageStatisticsEnabled": false},
        "general": {"disableAutoUpdate": true, "disableUpdateNag": true},
        "security": {"auth": {"selectedType": "gemini-api-key"}},
    });
    write(
        &gemini_dir(env).join("settings.json"),
        &serde_json::to_string_pretty(&settings).unwrap(),
    );
}

/// `gemini --skip-trust <args>` from the project dir (`--skip-trust`: no folder-trust prompt).
pub fn command(env: &TestEnv) -> Command {
    let mut c = env.command(env.clients.bin(GEMINI));
    c.arg("--skip-trust");
    c
}

/// `gemini --resume <session_id> -p "<prompt>"`: headless, one turn, with the env's timeout.
pub fn resume(env: &TestEnv, session_id: &str, prompt: &str) -> Output {
    let mut c = command(env);
    c.args(["--resume", session_id, "-p", prompt]);
    env.run(&mut c)
}

/// `gemini --list-sessions` (sessions of the project dir).
pub fn list_sessions(env: &TestEnv) -> Output {
    let mut c = command(env);
    c.arg("--list-sessions");
    env.run(&mut c)
}

// ---------------------------------------------------------------------------------------------
// The store

/// `$GEMINI_CLI_HOME/.gemini` (= `~/.gemini` here).
pub fn gemini_dir(env: &TestEnv) -> PathBuf {
    env.home.join(".gemini")
}

/// Basename, lower-cased, `[^a-z0-9]` runs → `-` (§1; no collision suffix needed in a fresh
/// test HOME).
pub fn project_slug(project: &Path) -> String {
    let base = project
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase();
    let mut slug = String::new();
    for c in base.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    slug
}

/// sha256 hex of the absolute project path: the metadata's `projectHash`.
pub fn project_hash(project: &Path) -> String {
    let digest = Sha256::digest(project.to_str().unwrap().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Claims the project's slug: `projects.json` entry + `tmp/<slug>/.project_root` +
/// `history/<slug>/.project_root`. Returns the slug.
pub fn register_project(env: &TestEnv) -> String {
    let dir = gemini_dir(env);
    let project = env.project.to_str().unwrap();
    let registry = dir.join("projects.json");
    let mut reg: Value = fs::read_to_string(&registry)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| json!({"projects": {}}));
    let slug = match reg["projects"][project].as_str() {
        Some(s) => s.to_string(),
        None => project_slug(&env.project),
    };
    reg["projects"][project] = json!(slug);
    write(&registry, &serde_json::to_string_pretty(&reg).unwrap());
    for sub in ["tmp", "history"] {
        write(&dir.join(sub).join(&slug).join(".project_root"), project);
    }
    slug
}

/// `tmp/<slug>/chats` (registers the project).
pub fn chats_dir(env: &TestEnv) -> PathBuf {
    gemini_dir(env)
        .join("tmp")
        .join(register_project(env))
        .join("chats")
}

/// The session files in the project's chats dir, sorted.
pub fn session_files(env: &TestEnv) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(chats_dir(env))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Timestamps `minutes_ago` before now, ISO with milliseconds. Sessions must be recent:
/// Gemini deletes files whose `lastUpdated` is older than 30 days (§6).
pub fn iso_minutes_ago(minutes_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A hand-written session: metadata line, then records in file order.
pub struct SessionFile {
    pub id: String,
    pub start: String,
    pub records: Vec<Value>,
}

impl SessionFile {
    /// `id` must be a UUID (a numeric id would be read as a list index). Starts 10 minutes ago.
    pub fn new(id: &str) -> SessionFile {
        SessionFile {
            id: id.to_string(),
            start: iso_minutes_ago(10),
            records: Vec::new(),
        }
    }

    pub fn push(&mut self, record: Value) -> &mut Self {
        self.records.push(record);
        self
    }

    /// `session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl` from `start`.
    pub fn file_name(&self) -> String {
        let minute = self.start[..16].replace(':', "-");
        format!("session-{minute}-{}.jsonl", &self.id[..8])
    }

    pub fn metadata(&self, env: &TestEnv) -> Value {
        json!({
            "sessionId": self.id,
            "projectHash": project_hash(&env.project),
            "startTime": self.start,
            "lastUpdated": iso_minutes_ago(1),
            "kind": "main",
        })
    }

    /// Registers the project and writes the file; returns its path.
    pub fn write(&self, env: &TestEnv) -> PathBuf {
        let path = chats_dir(env).join(self.file_name());
        let lines: Vec<String> = std::iter::once(self.metadata(env))
            .chain(self.records.iter().cloned())
            .map(|v| v.to_string())
            .collect();
        write(&path, &(lines.join("\n") + "\n"));
        path
    }
}

/// `{id, timestamp, type:"user", content:[{text}]}`
pub fn user_record(id: &str, text: &str) -> Value {
    json!({"id": id, "timestamp": iso_minutes_ago(9), "type": "user", "content": [{"text": text}]})
}

/// `{id, timestamp, type:"gemini", content, toolCalls?, model}`; `text` None → `content: []`.
pub fn gemini_record(id: &str, text: Option<&str>, tool_calls: Vec<Value>) -> Value {
    let content: Vec<Value> = text.map(|t| json!({"text": t})).into_iter().collect();
    let mut r = json!({"id": id, "timestamp": iso_minutes_ago(8), "type": "gemini", "content": content, "model": "claude-mirror"});
    if !tool_calls.is_empty() {
        r["toolCalls"] = Value::Array(tool_calls);
    }
    r
}

/// A `toolCalls[]` entry; `output` Some → `result:[functionResponse{response:{output}}]`,
/// status success.
pub fn tool_call(id: &str, name: &str, args: Value, output: Option<&str>) -> Value {
    let mut c = json!({"id": id, "name": name, "args": args, "status": "success", "timestamp": iso_minutes_ago(8)});
    if let Some(o) = output {
        c["result"] =
            json!([{"functionResponse": {"id": id, "name": name, "response": {"output": o}}}]);
        c["resultDisplay"] = json!(o);
    }
    c
}

pub fn set_summary(summary: &str) -> Value {
    json!({"$set": {"summary": summary}})
}

pub fn set_last_updated(ts: &str) -> Value {
    json!({"$set": {"lastUpdated": ts}})
}

/// Records for flattened `items`: each user text a `user` message; each assistant text a
/// `gemini` message that also takes the calls right after it (calls with no text before them
/// get a `gemini` message with empty content; a call after an output starts a new one);
/// outputs go into their call's `result`.
/// Message ids are `m<index>`.
pub fn records_from_items(items: &[Item]) -> Vec<Value> {
    let output_of = |call_id: &str| {
        items.iter().find_map(|i| match i {
            Item::Output { id, parts } if id == call_id => Some(parts.join("\n")),
            _ => None,
        })
    };
    let mut records: Vec<Value> = Vec::new();
    // Index into `records` of the gemini message still taking calls.
    let mut open: Option<usize> = None;
    for (n, it) in items.iter().enumerate() {
        let id = format!("m{n}");
        match it {
            Item::User(t) => {
                records.push(user_record(&id, t));
                open = None;
            }
            Item::Assistant(t) => {
                records.push(gemini_record(&id, Some(t), vec![]));
                open = Some(records.len() - 1);
            }
            Item::Call {
                id: cid,
                name,
                args,
            } => {
                let call = tool_call(cid, name, args.clone(), output_of(cid).as_deref());
                let idx = *open.get_or_insert_with(|| {
                    records.push(gemini_record(&id, None, vec![]));
                    records.len() - 1
                });
                let calls = records[idx]
                    .as_object_mut()
                    .unwrap()
                    .entry("toolCalls")
                    .or_insert_with(|| json!([]));
                calls.as_array_mut().unwrap().push(call);
            }
            // A call after an output is a new turn.
            Item::Output { .. } => open = None,
            Item::Other(s) => panic!("cannot write {s} to a Gemini session"),
        }
    }
    records
}

/// Appends whole lines to a session file.
pub fn append_records(path: &Path, records: &[Value]) {
    use std::io::Write;
    let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
    for r in records {
        writeln!(f, "{r}").unwrap();
    }
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_items_groups_calls_into_model_messages() {
        let items = vec![
            Item::User("p".into()),
            Item::Call {
                id: "a".into(),
                name: "run_shell_command".into(),
                args: json!({"command": "ls"}),
            },
            Item::Output {
                id: "a".into(),
                parts: vec!["x".into(), "y".into()],
            },
            Item::Call {
                id: "b".into(),
                name: "read_file".into(),
                args: json!({"file_path": "f"}),
            },
            Item::Output {
                id: "b".into(),
                parts: vec!["z".into()],
            },
            Item::Assistant("done".into()),
        ];
        let shape: Vec<(String, String, Vec<String>)> = records_from_items(&items)
            .iter()
            .map(|r| {
                let calls = r["toolCalls"].as_array().cloned().unwrap_or_default();
                (
                    r["type"].as_str().unwrap().to_string(),
                    r["content"].to_string(),
                    calls
                        .iter()
                        .map(|c| {
                            format!(
                                "{}={}",
                                c["id"].as_str().unwrap(),
                                c["result"][0]["functionResponse"]["response"]["output"]
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            shape,
            vec![
                (s("user"), s(r#"[{"text":"p"}]"#), vec![]),
                (s("gemini"), s("[]"), vec![s(r#"a="x\ny""#)]),
                (s("gemini"), s("[]"), vec![s(r#"b="z""#)]),
                (s("gemini"), s(r#"[{"text":"done"}]"#), vec![]),
            ]
        );
    }
}
