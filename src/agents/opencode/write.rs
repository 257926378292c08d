//! OpenCode sessions (verified with OpenCode 1.18.33): rows in its SQLite database. Each line
//! this encoder gives is one row upsert that the store applies in a transaction:
//! `{"table", "row"}` inserts the row unless one with its id is there (OpenCode's project,
//! or ours from a write retried); `"update": true` changes columns of an existing row.

use crate::encode::turns::{Exchange, Turn, turns};
use crate::encode::{Encoder, Kind, Lines, Opening, SessionFacts, ToolStyle, tool_call};
use crate::json;
use crate::model::{Record, joined_text};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub struct Opencode {
    pub db: PathBuf,
    /// `provider/model` to record; else the user's configured default model.
    pub model: Option<String>,
    pub style: ToolStyle,
    pub max_output_bytes: usize,
}

/// The OpenCode version whose format we write.
const VERSION: &str = "1.18.33";

impl Encoder for Opencode {
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        if !self.db.exists() {
            // Its schema is OpenCode's to create (and migrate).
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "OpenCode's database {} does not exist yet; run `opencode` once",
                    self.db.display()
                ),
            ));
        }
        let ms = facts.now.timestamp_millis();
        let session = opencode_id("ses", ms, true);
        let (project, worktree, vcs) = project_of(facts.cwd);
        let path = facts
            .cwd
            .strip_prefix(&worktree)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let model = self.model.clone().or_else(|| configured_model(facts.cwd));
        let model = model
            .as_deref()
            .and_then(|m| m.split_once('/'))
            .map(|(provider, model)| json!({ "providerID": provider, "modelID": model }));
        let short: String = facts.claude_session_id.chars().take(8).collect();
        let mut session_row = json!({
            "id": session,
            "project_id": project,
            "slug": format!("claude-{short}"),
            "directory": facts.cwd.to_string_lossy(),
            "path": path,
            "title": facts.title,
            "version": VERSION,
            "agent": "build",
            "time_created": ms,
            "time_updated": ms,
        });
        if let Some(model) = &model {
            session_row["model"] = json!({
                "id": model["modelID"], "providerID": model["providerID"], "variant": "default",
            });
        }
        let project_row = json!({
            "id": project,
            "worktree": worktree.to_string_lossy(),
            "vcs": vcs,
            "time_created": ms,
            "time_updated": ms,
            "sandboxes": "[]",
        });
        let cursor = json!({
            "session": session,
            "cwd": facts.cwd.to_string_lossy(),
            "root": worktree.to_string_lossy(),
            "model": model,
            "user": null,
            "ms": ms,
        });
        Ok(Opening::new(session, self.db.clone(), Kind::OpencodeDb)
            .header(vec![
                json::line(&json!({ "table": "project", "row": project_row })),
                json::line(&json!({ "table": "session", "row": session_row })),
            ])
            .cursor(cursor))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        if turns.is_empty() {
            return count;
        }
        let mut rows = Rows::load(cursor, lines);
        for timed in turns {
            let at = timed
                .timestamp
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
            match timed.turn {
                Turn::User(parts) => {
                    let model = &rows.model;
                    let data = json::object(|o| {
                        o.str("role", "user")
                            .object("time", |t| {
                                t.int("created", at);
                            })
                            .str("agent", "build");
                        if !model.is_null() {
                            o.value("model", model);
                        }
                    });
                    let message = rows.message(at, &data);
                    rows.part(&message, at, |o| {
                        o.str("type", "text").str("text", &joined_text(&parts));
                    });
                    rows.user = Value::String(message);
                }
                Turn::Assistant(text) => {
                    let message = rows.assistant(at, "stop");
                    rows.part(&message, at, step_start);
                    rows.part(&message, at, |o| {
                        o.str("type", "text")
                            .str("text", &text)
                            .object("time", |t| {
                                t.int("start", at).int("end", at);
                            });
                    });
                    rows.part(&message, at, step_finish("stop"));
                }
                Turn::Calls(exchanges) => {
                    let message = rows.assistant(at, "tool-calls");
                    rows.part(&message, at, step_start);
                    for exchange in &exchanges {
                        rows.part(&message, at, |o| tool_part(o, exchange, at));
                    }
                    rows.part(&message, at, step_finish("tool-calls"));
                }
            }
        }
        // `opencode --continue` picks the session updated last.
        let (session, ms) = (&rows.session, rows.ms);
        rows.lines.object(|o| {
            o.str("table", "session")
                .bool("update", true)
                .object("row", |row| {
                    row.value("id", session).int("time_updated", ms);
                });
        });
        rows.save(cursor);
        count
    }
}

/// Builds rows with ids and times that keep increasing through the conversation (OpenCode
/// orders messages by `(time_created, id)`). Holds the cursor's fields while it encodes, and
/// writes each row's JSON text directly: a catch-up writes tens of thousands.
struct Rows<'a> {
    session: Value,
    cwd: Value,
    root: Value,
    model: Value,
    /// The message of the last prompt, the parent of the answers after it.
    user: Value,
    /// The last time given, in milliseconds.
    ms: i64,
    lines: &'a mut Lines,
}

impl<'a> Rows<'a> {
    fn load(cursor: &Value, lines: &'a mut Lines) -> Self {
        Rows {
            session: cursor["session"].clone(),
            cwd: cursor["cwd"].clone(),
            root: cursor["root"].clone(),
            model: cursor["model"].clone(),
            user: cursor["user"].clone(),
            ms: cursor["ms"].as_i64().unwrap_or(0),
            lines,
        }
    }

    fn save(self, cursor: &mut Value) {
        cursor["user"] = self.user;
        cursor["ms"] = self.ms.into();
    }

    fn tick(&mut self, at: i64) -> i64 {
        self.ms = at.max(self.ms + 1);
        self.ms
    }

    /// A message row with `data` (JSON text); returns its id.
    fn message(&mut self, at: i64, data: &str) -> String {
        let ms = self.tick(at);
        let id = opencode_id("msg", ms, false);
        self.push_row("message", ms, &id, None, |out| out.push_str(data));
        id
    }

    fn assistant(&mut self, at: i64, finish: &str) -> String {
        let data = json::object(|o| {
            o.value("parentID", &self.user)
                .str("role", "assistant")
                .str("mode", "build")
                .str("agent", "build")
                .object("path", |p| {
                    p.value("cwd", &self.cwd).value("root", &self.root);
                })
                .int("cost", 0)
                .raw("tokens", r#"{"total":0,"input":0,"output":0,"reasoning":0,"cache":{"write":0,"read":0}}"#)
                .object("time", |t| {
                    t.int("created", at).int("completed", at);
                })
                .str("finish", finish);
            if !self.model.is_null() {
                o.value("modelID", &self.model["modelID"])
                    .value("providerID", &self.model["providerID"]);
            }
        });
        self.message(at, &data)
    }

    /// A part row of `message` with the data `data` writes.
    fn part(&mut self, message: &str, at: i64, data: impl FnOnce(&mut json::Object)) {
        let ms = self.tick(at);
        let id = opencode_id("prt", ms, false);
        self.push_row("part", ms, &id, Some(message), |out| {
            json::write_object(out, data)
        });
    }

    /// A row upsert whose `data` column `data` writes, straight into the line.
    fn push_row(
        &mut self,
        table: &str,
        ms: i64,
        id: &str,
        message: Option<&str>,
        data: impl FnOnce(&mut String),
    ) {
        let session = &self.session;
        self.lines.object(|op| {
            op.str("table", table).object("row", |row| {
                row.str("id", id);
                if let Some(message) = message {
                    row.str("message_id", message);
                }
                row.value("session_id", session)
                    .int("time_created", ms)
                    .int("time_updated", ms)
                    .text("data", data);
            });
        });
    }
}

fn step_start(o: &mut json::Object) {
    o.str("type", "step-start");
}

fn step_finish(reason: &str) -> impl FnOnce(&mut json::Object) + '_ {
    move |o| {
        o.str("type", "step-finish")
            .str("reason", reason)
            .raw(
                "tokens",
                r#"{"input":0,"output":0,"reasoning":0,"cache":{"write":0,"read":0}}"#,
            )
            .int("cost", 0);
    }
}

fn tool_part(o: &mut json::Object, exchange: &Exchange, at: i64) {
    let (tool, input) = tool_call(&exchange.name, &exchange.input, "bash");
    let output = exchange.output_text();
    let title = input["command"]
        .as_str()
        .or(input["description"].as_str())
        .unwrap_or(&tool);
    o.str("type", "tool")
        .str("tool", &tool)
        .str("callID", &exchange.id)
        .object("state", |state| {
            if exchange.is_error {
                state
                    .str("status", "error")
                    .value("input", &input)
                    .str("error", &output);
            } else {
                state
                    .str("status", "completed")
                    .value("input", &input)
                    .str("output", &output)
                    .raw("metadata", "{}")
                    .str("title", title);
            }
            state.object("time", |t| {
                t.int("start", at).int("end", at);
            });
        });
}

/// `<prefix>_<12 hex><14 base62>`: the hex is the low 48 bits of `ms * 4096`, inverted for
/// sessions so newer ones sort first, as OpenCode makes them.
fn opencode_id(prefix: &str, ms: i64, descending: bool) -> String {
    let value = (ms as u64).wrapping_mul(4096);
    let value = if descending { !value } else { value } & 0xffff_ffff_ffff;
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random = uuid::Uuid::new_v4().as_u128();
    let suffix: String = (0..14)
        .map(|i| BASE62[((random >> (i * 6)) % 62) as usize] as char)
        .collect();
    format!("{prefix}_{value:012x}{suffix}")
}

/// OpenCode's project for `cwd`: the repository's first root commit (cached by OpenCode in
/// `<git dir>/opencode`), or `global` outside git.
fn project_of(cwd: &Path) -> (String, PathBuf, Value) {
    let global = || ("global".to_owned(), PathBuf::from("/"), Value::Null);
    let Some(worktree) = cwd.ancestors().find(|dir| dir.join(".git").exists()) else {
        return global();
    };
    let cached = crate::read::read_text(&worktree.join(".git").join("opencode"), 64 << 10);
    let id = match cached {
        Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => {
            let output = std::process::Command::new("git")
                .args(["rev-list", "--max-parents=0", "HEAD"])
                .current_dir(cwd)
                .stderr(std::process::Stdio::null())
                .output();
            let mut roots: Vec<String> = output
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            roots.sort();
            match roots.into_iter().next() {
                Some(root) => root,
                None => return global(),
            }
        }
    };
    (id, worktree.to_owned(), "git".into())
}

/// `model` from OpenCode's project or global configuration (`provider/model`).
fn configured_model(cwd: &Path) -> Option<String> {
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| crate::paths::home_dir().map(|h| h.join(".config")))?;
    let mut candidates: Vec<PathBuf> = cwd
        .ancestors()
        .map(|dir| dir.join("opencode.json"))
        .collect();
    candidates.push(config_home.join("opencode").join("opencode.json"));
    candidates.push(config_home.join("opencode").join("config.json"));
    candidates.into_iter().find_map(|path| {
        let text = crate::read::read_text(&path, 16 << 20).ok()?;
        let config: Value = serde_json::from_str(&text).ok()?;
        config["model"].as_str().map(str::to_owned)
    })
}
