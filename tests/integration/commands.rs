//! The user commands, driven through the built binary in a temporary HOME.

use crate::support::files::{BIN, jsonl};
use crate::support::home::{Env, codex_line, stderr, stdout, write_rollout};
use crate::support::recording::{Lag, Recording, replay};
use serde_json::{Value, json};

fn settings(env: &Env) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(env.project.join(".claude/settings.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn init_registers_every_event_with_the_absolute_binary() {
    let env = Env::new();
    let out = env.run(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Next:"));
    let settings = settings(&env);
    let binary = std::fs::canonicalize(BIN).unwrap();
    let command = format!("'{}' hook", binary.display());
    for event in [
        "UserPromptSubmit",
        "PostToolUse",
        "PostToolUseFailure",
        "Stop",
        "StopFailure",
        "SessionEnd",
    ] {
        let groups = settings["hooks"][event]
            .as_array()
            .unwrap_or_else(|| panic!("{event} missing"));
        assert_eq!(
            groups[0]["hooks"][0]["command"],
            command.as_str(),
            "{event}"
        );
    }
    assert_eq!(settings["hooks"]["PostToolUse"][0]["matcher"], "*");
    assert_eq!(settings["hooks"]["PostToolUseFailure"][0]["matcher"], "*");
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(env.project.join(".session-sync/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        config["targets"]["codex"]["enabled"], true,
        "CODEX_HOME exists, so codex is detected"
    );
}

#[test]
fn the_registered_command_runs_from_sh_with_an_empty_path() {
    let env = Env::new();
    env.init();
    let command = settings(&env)["hooks"]["Stop"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("echo '{{}}' | {command}; echo rc=$?"))
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("HOME", &env.home)
        .env("SESSION_SYNC_DATA_DIR", &env.data)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "rc=0\n");
}

#[test]
fn init_twice_changes_nothing_and_keeps_other_settings() {
    let env = Env::new();
    let path = env.project.join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}]}
    });
    let original_text = serde_json::to_string_pretty(&original).unwrap();
    std::fs::write(&path, &original_text).unwrap();

    env.init();
    let once = std::fs::read(&path).unwrap();
    let backup = env.project.join(".claude/settings.json.session-sync.bak");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original_text);
    let merged = settings(&env);
    assert_eq!(merged["model"], "opus");
    assert_eq!(merged["permissions"], original["permissions"]);
    assert_eq!(
        merged["hooks"]["PostToolUse"][0],
        original["hooks"]["PostToolUse"][0]
    );

    let again = env.run(&["init"]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("already registered"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        once,
        "second init changed settings.json"
    );
}

#[test]
fn malformed_settings_are_reported_and_left_untouched() {
    let env = Env::new();
    let path = env.project.join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{ \"hooks\": [ oops").unwrap();
    let out = env.run(&["init"]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("session-sync: ")
            && message.contains("not valid JSON")
            && message.contains("nothing was changed")
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{ \"hooks\": [ oops"
    );
    assert!(!env.project.join(".session-sync").exists());
}

#[test]
fn init_global_respects_claude_config_dir() {
    let env = Env::new();
    let claude_dir = env.root.path().join("claude-config");
    let out = env
        .command(&["init", "--global"])
        .env("CLAUDE_CONFIG_DIR", &claude_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(claude_dir.join("settings.json").exists());
    assert!(!env.home.join(".claude/settings.json").exists());
    assert!(env.data.join("config.json").exists());
    assert!(!env.project.join(".claude").exists());
    // Any directory is now covered by the global configuration.
    let status = env.status_json();
    assert_eq!(status["targets"], json!(["codex"]));
}

#[test]
fn codex_is_disabled_when_not_installed() {
    let env = Env::new();
    std::fs::remove_dir_all(&env.codex_home).unwrap();
    let out = env.run(&["init"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("codex: not found"));
    let status = env.status_json();
    assert_eq!(status["targets"], json!([]));
}

#[test]
fn commands_outside_a_set_up_project_say_what_to_do() {
    let env = Env::new();
    for args in [&["status"][..], &["pause"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("run `session-sync init`"),
            "{}",
            stderr(&out)
        );
    }
    let usage = env.run(&["status", "--bogus"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn status_and_list_show_how_to_continue() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("multi_turn_resume");
    replay(&env, &recording, Lag::None);
    let id = env.rollout()[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let status = stdout(&env.run(&["status"]));
    assert!(status.contains(&format!("codex resume {id}")), "{status}");
    assert!(status.contains("What is in the README?"));
    assert!(status.contains(&format!("claude --resume {}", recording.session_id())));

    let list: Value = serde_json::from_slice(&env.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(
        list["sessions"][0]["mirrors"][0]["resume"],
        format!("codex resume {id}").as_str()
    );
    assert_eq!(
        list["sessions"][0]["first_prompt"],
        "What is in the README?"
    );
    assert!(stdout(&env.run(&["list"])).contains(&id));
}

#[test]
fn pause_keeps_the_users_config_edits() {
    let env = Env::new();
    env.init();
    let path = env.project.join(".session-sync/config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["my_note"] = json!("keep me");
    std::fs::write(&path, config.to_string()).unwrap();
    assert!(env.run(&["pause"]).status.success());
    let paused: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["my_note"], "keep me");
    assert_eq!(env.status_json()["paused"], true);
    assert!(env.run(&["resume"]).status.success());
    assert_eq!(env.status_json()["paused"], false);
}

#[test]
fn amp_is_pointed_at_its_own_importer_never_written() {
    let env = Env::new();
    std::fs::create_dir_all(env.home.join(".local/share/amp")).unwrap();
    let out = env.run(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("amp threads import claude <session-id>"));
    let status = env.run(&["status"]);
    assert!(stdout(&status).contains("amp threads import claude"));
    assert!(!settings(&env).to_string().contains("amp"));
    let entries: Vec<_> = std::fs::read_dir(env.home.join(".local/share/amp"))
        .unwrap()
        .collect();
    assert!(entries.is_empty(), "wrote into Amp's data: {entries:?}");
}

const CODEX_ID: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";

/// A Codex rollout in `env`'s CODEX_HOME, as Codex writes one: injected context, a prompt,
/// reasoning, text, a shell call and its output.
fn codex_rollout(env: &Env) -> std::path::PathBuf {
    let lines = [
        codex_line(
            "session_meta",
            json!({ "id": CODEX_ID, "timestamp": "2025-01-15T10:00:00.000Z", "cwd": env.project, "originator": "codex_cli_rs", "cli_version": "0.169.0", "source": "cli" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "<environment_context>x</environment_context>" }] }),
        ),
        codex_line(
            "event_msg",
            json!({ "type": "user_message", "message": "list the files", "images": [] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "list the files" }] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "reasoning", "summary": [], "encrypted_content": "opaque" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}", "call_id": "call_1" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "function_call_output", "call_id": "call_1", "output": "Process exited with code 0\nOutput:\na.txt" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "One file." }] }),
        ),
    ];
    write_rollout(env, CODEX_ID, &lines)
}

fn claude_sessions(env: &Env) -> Vec<std::path::PathBuf> {
    let projects = env.home.join(".claude/projects");
    let mut found: Vec<_> = std::fs::read_dir(&projects)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).unwrap().flatten())
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[test]
fn sessions_lists_native_sessions_with_the_ids_mirror_takes() {
    let env = Env::new();
    codex_rollout(&env);
    let out = env.run(&["sessions", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let session = &listed["sessions"][0];
    assert_eq!(session["agent"], "codex");
    assert_eq!(session["id"], CODEX_ID);
    assert_eq!(session["title"], "list the files");
    assert_eq!(session["messages"], 2);
    assert_eq!(session["mirrored_to"], json!([]));

    let out = env.run(&["mirror", "--from", "codex", CODEX_ID]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&env.run(&["sessions"]));
    assert!(
        text.contains(CODEX_ID) && text.contains("mirrored to claude "),
        "{text}"
    );
    let elsewhere = Env::new();
    let text = stdout(&elsewhere.run(&["sessions", "--agent", "claude"]));
    assert!(text.starts_with("No agent session for "), "{text}");
}

#[test]
fn a_codex_session_goes_to_claude_and_later_turns_are_appended_once() {
    let env = Env::new();
    let rollout = codex_rollout(&env);
    let out = env.run(&["mirror", "--from", "codex", "--last"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("claude --resume "), "{printed}");
    assert!(printed.contains("1 reasoning blocks"), "{printed}");
    let [claude] = claude_sessions(&env).try_into().unwrap();
    let lines = jsonl(&claude);
    assert_eq!(lines[0]["message"]["content"], "list the files");
    assert!(lines[0]["parentUuid"].is_null());
    let tool_use = &lines[1]["message"]["content"][0];
    assert_eq!(tool_use["name"], "Bash");
    assert_eq!(tool_use["input"], json!({ "command": "ls" }));
    assert_eq!(
        lines[2]["message"]["content"][0]["tool_use_id"],
        tool_use["id"]
    );
    assert_eq!(lines.last().unwrap()["type"], "custom-title");

    // Nothing new: nothing written.
    let before = std::fs::read(&claude).unwrap();
    let again = stdout(&env.run(&["mirror", "--from", "codex", CODEX_ID]));
    assert!(again.contains("up to date"), "{again}");
    assert_eq!(std::fs::read(&claude).unwrap(), before);

    // The user goes on in Codex: only the new turn is appended, to the same session.
    let more = [
        json!({ "timestamp": "2025-01-15T10:05:00.000Z", "type": "event_msg", "payload": { "type": "user_message", "message": "thanks", "images": [] } }),
        json!({ "timestamp": "2025-01-15T10:05:00.000Z", "type": "response_item", "payload": { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "thanks" }] } }),
        json!({ "timestamp": "2025-01-15T10:05:01.000Z", "type": "response_item", "payload": { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "You are welcome." }] } }),
    ];
    let mut text = std::fs::read_to_string(&rollout).unwrap();
    for line in more {
        text.push_str(&format!("{line}\n"));
    }
    std::fs::write(&rollout, text).unwrap();
    let out = stdout(&env.run(&["mirror", "--from", "codex", CODEX_ID]));
    assert!(out.contains("2 records added"), "{out}");
    let after = std::fs::read(&claude).unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    let lines = jsonl(&claude);
    let prompts: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "user" && l["message"]["content"].is_string())
        .map(|l| &l["message"]["content"])
        .collect();
    assert_eq!(prompts, [&json!("list the files"), &json!("thanks")]);

    // The user continued the Claude session: the next hand-off forks a new one.
    let mut continued = std::fs::read_to_string(&claude).unwrap();
    continued.push_str(
        "{\"type\":\"user\",\"uuid\":\"u\",\"message\":{\"role\":\"user\",\"content\":\"mine\"}}\n",
    );
    std::fs::write(&claude, &continued).unwrap();
    let mut text = std::fs::read_to_string(&rollout).unwrap();
    text.push_str(&format!(
        "{}\n",
        json!({ "timestamp": "2025-01-15T10:06:00.000Z", "type": "response_item", "payload": { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "Anything else?" }] } })
    ));
    std::fs::write(&rollout, text).unwrap();
    let out = env.run(&["mirror", "--from", "codex", CODEX_ID]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), continued);
    assert_eq!(claude_sessions(&env).len(), 2);
}

#[test]
fn a_source_its_agent_rewrote_gets_new_mirrors_then_goes_on_from_them() {
    let env = Env::new();
    let rollout = codex_rollout(&env);
    let hand_off = || stdout(&env.run(&["mirror", "--from", "codex", CODEX_ID]));
    assert!(hand_off().contains("claude --resume "));
    // Codex rewrote the session: its first prompt is another one now.
    let text = std::fs::read_to_string(&rollout).unwrap();
    std::fs::write(&rollout, text.replace("list the files", "list every file")).unwrap();
    let out = hand_off();
    assert!(out.contains("no longer starts as it did"), "{out}");
    assert_eq!(claude_sessions(&env).len(), 2);
    // The new mirrors' chain is the rewritten session's: nothing more to hand over.
    let again = hand_off();
    assert!(
        again.contains("up to date") && !again.contains("no longer"),
        "{again}"
    );
    assert_eq!(claude_sessions(&env).len(), 2);
}

/// A Codex session of `calls` calls with 4 KiB outputs (the call's number first), with a
/// prompt every hundred calls; its record count.
fn long_codex_rollout(env: &Env, calls: usize) -> usize {
    let mut lines = vec![codex_line(
        "session_meta",
        json!({ "id": CODEX_ID, "timestamp": "2025-01-15T10:00:00.000Z", "cwd": env.project, "originator": "codex_cli_rs", "cli_version": "0.169.0", "source": "cli" }),
    )];
    for n in 0..calls {
        if n % 100 == 0 {
            let prompt = format!("part {n}: go on");
            lines.push(codex_line(
                "event_msg",
                json!({ "type": "user_message", "message": prompt, "images": [] }),
            ));
            lines.push(codex_line(
                "response_item",
                json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": prompt }] }),
            ));
        }
        lines.push(codex_line(
            "response_item",
            json!({ "type": "function_call", "name": "exec_command", "arguments": format!("{{\"cmd\":\"echo {n}\"}}"), "call_id": format!("call_{n}") }),
        ));
        lines.push(codex_line(
            "response_item",
            json!({ "type": "function_call_output", "call_id": format!("call_{n}"), "output": format!("{n}\n{}", "x".repeat(4096)) }),
        ));
    }
    write_rollout(env, CODEX_ID, &lines);
    2 * calls + calls.div_ceil(100)
}

#[test]
fn a_long_session_is_handed_over_in_steps_completely_and_in_order() {
    let env = Env::new();
    let db = env.install_opencode_db();
    // About 6 MB of text: three steps.
    let calls = 1500;
    let records = long_codex_rollout(&env, calls);
    let hand_off = || {
        env.run(&[
            "mirror",
            "--from",
            "codex",
            CODEX_ID,
            "--to",
            "claude,opencode",
        ])
    };
    let out = hand_off();
    assert!(out.status.success(), "{}", stderr(&out));
    let added = format!("{records} records added");
    assert_eq!(stdout(&out).matches(&added).count(), 2, "{}", stdout(&out));

    // Every call's output, in order, in both agents.
    let projects = env.home.join(".claude/projects");
    let [claude] = crate::support::files::files_under(&projects)
        .try_into()
        .unwrap();
    let text = std::fs::read_to_string(&claude).unwrap();
    let results: Vec<String> = session_sync::agents::claude::read_lines(&text, None)
        .into_iter()
        .filter_map(|entry| match entry.record.item {
            session_sync::model::Item::ToolResult { parts, .. } => Some(format!("{parts:?}")),
            _ => None,
        })
        .collect();
    let connection = rusqlite::Connection::open(&db).unwrap();
    let outputs: Vec<String> = connection
        .prepare("SELECT data FROM part WHERE data LIKE '%\"type\":\"tool\"%' ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|data| serde_json::from_str::<Value>(&data.unwrap()).unwrap())
        .map(|part| part["state"]["output"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!((results.len(), outputs.len()), (calls, calls));
    for (n, (result, output)) in results.iter().zip(&outputs).enumerate() {
        assert!(
            result.starts_with(&format!("[Text(\"{n}\\n")),
            "call {n}: {result:.20}"
        );
        assert!(
            output.starts_with(&format!("{n}\n")),
            "call {n}: {output:.20}"
        );
    }

    // The database write done beside the last step is recorded complete.
    let state = env
        .data
        .join(format!("sessions/codex-{CODEX_ID}/state.jsonl"));
    let saved = std::fs::read_to_string(&state).unwrap();
    let last: Value = serde_json::from_str(saved.lines().last().unwrap()).unwrap();
    assert_eq!(last["source"]["records"], records);
    for (target, mirror) in last["mirrors"].as_object().unwrap() {
        assert!(mirror.get("pending").is_none(), "{target}: {mirror}");
    }
    let again = stdout(&hand_off());
    assert!(again.contains("up to date"), "{again}");
}

#[test]
fn a_long_hand_off_writes_each_mirror_byte_once() {
    let env = Env::new();
    long_codex_rollout(&env, 1500);
    let written = env.written_by(&[
        "mirror",
        "--from",
        "codex",
        CODEX_ID,
        "--to",
        "claude,gemini",
    ]);
    // The mirrors, and the records journal that later mirrors open from; not the lines
    // once more in the state saved ahead of them.
    let files: Vec<_> = crate::support::files::files_under(&env.home.join(".claude/projects"))
        .into_iter()
        .chain(crate::support::files::files_under(
            &env.home.join(".gemini/tmp"),
        ))
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let mirrors: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    let journal = env
        .data
        .join(format!("sessions/codex-{CODEX_ID}/records.jsonl"));
    let needed = mirrors + journal.metadata().unwrap().len();
    assert!(
        written < needed + needed / 10,
        "{written} bytes written for {needed} bytes of mirrors and journal"
    );
}

#[test]
fn bad_hand_off_input_is_one_line_and_writes_nothing() {
    let env = Env::new();
    let nothing_written = |env: &Env| {
        assert!(claude_sessions(env).is_empty());
        assert!(!env.data.join("sessions").exists());
    };
    let out = env.run(&["mirror", "--from", "nosuchagent"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let out = env.run(&["mirror", "--from", "codex", CODEX_ID]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no codex session"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);

    let out = env.run(&["mirror", "--from", "codex", "--to", "codex"]);
    assert_ne!(out.status.code(), Some(0));

    let corrupt = env.project.join("rollout-corrupt.jsonl");
    std::fs::write(&corrupt, "\u{0}\u{1}garbage\n{\"type\":").unwrap();
    let out = env.run(&["mirror", "--from", "codex", corrupt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a Codex rollout"),
        "{}",
        stderr(&out)
    );
    nothing_written(&env);

    // Codex has the session open: its writer lock is held.
    let rollout = codex_rollout(&env);
    let locks = env.codex_home.join("thread-writer-locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = std::fs::File::create(locks.join(format!("{CODEX_ID}.lock"))).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    let out = env.run(&["mirror", "--from", "codex", CODEX_ID]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("open"), "{}", stderr(&out));
    nothing_written(&env);
    fs2::FileExt::unlock(&lock).unwrap();

    // A half-written last line (Codex killed mid-write) is left for later.
    let mut text = std::fs::read_to_string(&rollout).unwrap();
    text.push_str("{\"timestamp\":\"2025-01-15T10:09:00.000Z\",\"type\":\"response_item\",\"payload\":{\"type\":\"mess");
    std::fs::write(&rollout, text).unwrap();
    let out = env.run(&["mirror", "--from", "codex", CODEX_ID]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("4 records added"), "{}", stdout(&out));
}

/// Every file under `dir` with its content and modification time.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            let path = entry.path();
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            (path.clone(), std::fs::read(&path).unwrap(), modified)
        })
        .collect();
    files.sort();
    files
}

/// With `link` a symbolic link to `target`, every command of `commands` must fail with one
/// line naming it; the link goes afterwards.
fn refused(env: &Env, link: &std::path::Path, target: &std::path::Path, commands: &[&[&str]]) {
    std::os::unix::fs::symlink(target, link).unwrap();
    for args in commands {
        let out = env.run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("{}: a symbolic link", link.display())),
            "{args:?}: {err}"
        );
    }
    std::fs::remove_file(link).unwrap();
}

#[test]
fn symlinked_project_folders_are_refused_never_followed() {
    let env = Env::new();
    let elsewhere = env.home.join(".config/app");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(
        elsewhere.join("config.json"),
        r#"{"paused":false,"mine":1}"#,
    )
    .unwrap();
    std::fs::write(elsewhere.join("settings.json"), r#"{"theme":"dark"}"#).unwrap();
    let before = snapshot(&elsewhere);

    let ours = env.project.join(".session-sync");
    let every_command: &[&[&str]] = &[
        &["init"],
        &["init", "--local"],
        &["pause"],
        &["resume"],
        &["status"],
        &["doctor"],
        &["uninstall"],
        &["uninstall", "--local"],
    ];
    refused(&env, &ours, &elsewhere, every_command);

    env.init();
    let claude = env.project.join(".claude");
    std::fs::remove_dir_all(&claude).unwrap();
    let writers: &[&[&str]] = &[
        &["init"],
        &["init", "--local"],
        &["pause"],
        &["uninstall"],
        &["uninstall", "--local"],
    ];
    refused(&env, &claude, &elsewhere, writers);

    // A settings file of the project that is a link to one of the user's files.
    std::fs::create_dir(&claude).unwrap();
    let settings = claude.join("settings.json");
    refused(
        &env,
        &settings,
        &elsewhere.join("settings.json"),
        &[&["init"], &["uninstall"]],
    );
    assert_eq!(snapshot(&elsewhere), before);
}

#[test]
fn a_linked_claude_folder_above_the_project_is_not_the_projects() {
    // Dotfile managers link ~/.claude: the user's own, above the project, never refused.
    let env = Env::new();
    let dotfiles = env.home.join("dotfiles/claude");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::os::unix::fs::symlink(&dotfiles, env.home.join(".claude")).unwrap();
    // With no project configuration, uninstall looks for one up to the root.
    for args in [&["uninstall"][..], &["init"], &["pause"], &["uninstall"]] {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
}
