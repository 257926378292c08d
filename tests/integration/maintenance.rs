//! `uninstall`, `clean` and `doctor`, driven through the built binary in a temporary HOME.

use crate::support::files::BIN;
use crate::support::home::{Env, assert_silent_success, stderr, stdout};
use crate::support::recording::{Lag, Recording, replay};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};

fn ok(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn settings_path(env: &Env) -> PathBuf {
    env.project.join(".claude/settings.json")
}

/// Replays a recorded session: its Codex mirror exists, its state says so.
fn mirrored(env: &Env, fixture: &str) -> PathBuf {
    let recording = Recording::load(fixture);
    replay(env, &recording, Lag::None);
    mirror_path(env, &recording.session_id())
}

fn state_file(env: &Env, session: &str) -> PathBuf {
    env.data.join("sessions").join(session).join("state.jsonl")
}

/// The session's state (the journal's last entry).
fn state(env: &Env, session: &str) -> Value {
    let text = std::fs::read_to_string(state_file(env, session)).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn mirror_path(env: &Env, session: &str) -> PathBuf {
    PathBuf::from(
        state(env, session)["mirrors"]["codex"]["path"]
            .as_str()
            .unwrap(),
    )
}

/// Appends an edited copy of the session's state to its journal, as a hook would save it.
fn edit_state(env: &Env, session: &str, edit: impl FnOnce(&mut Value)) {
    let mut value = state(env, session);
    edit(&mut value);
    append(&state_file(env, session), &format!("{value}\n"));
}

/// Makes the session look last synced `days` ago.
fn age(env: &Env, session: &str, days: i64) {
    let then = (chrono::Utc::now() - chrono::TimeDelta::days(days)).to_rfc3339();
    edit_state(env, session, |state| {
        state["last_sync"] = json!(then);
        for mirror in state["mirrors"].as_object_mut().unwrap().values_mut() {
            mirror["last_sync"] = json!(then);
        }
    });
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// What Codex appends when the user continues a session there.
const CODEX_TURN: &str = "{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"type\":\"event_msg\",\"payload\":{\"type\":\"user_message\",\"message\":\"go on\"}}\n";

// ---- uninstall ----

#[test]
fn uninstall_undoes_init_in_a_fresh_project_and_twice_is_harmless() {
    let env = Env::new();
    env.init();
    let out = ok(&env, &["uninstall"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with(&format!(
            "Removed the hook from {} (UserPromptSubmit, PostToolUse",
            settings_path(&env).display()
        )),
        "{out}"
    );
    assert!(lines[0].ends_with("init had created the file, so it is gone."));
    assert_eq!(
        lines[1..],
        [
            format!(
                "Removed {} (now empty).",
                env.project.join(".claude").display()
            ),
            format!(
                "Removed {}.",
                env.project.join(".session-sync/config.json").display()
            ),
            format!(
                "Removed {} (now empty).",
                env.project.join(".session-sync").display()
            ),
        ]
    );
    assert_eq!(std::fs::read_dir(&env.project).unwrap().count(), 0);

    let again = ok(&env, &["uninstall"]);
    assert!(again.starts_with("Nothing to remove: "), "{again}");
    assert_eq!(again.lines().count(), 1);
}

#[test]
fn uninstall_gives_back_the_users_settings_byte_for_byte() {
    let user = json!({
        "model": "opus",
        "hooks": {
            "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}],
            "Stop": [],
            "Notification": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
        },
        "permissions": {"allow": ["Bash(ls:*)"]}
    });
    for (indent, newline) in [("  ", "\n"), ("    ", ""), ("\t", "\n")] {
        let env = Env::new();
        let path = settings_path(&env);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let layout = |value: &Value| {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut serializer).unwrap();
            String::from_utf8(out).unwrap() + newline
        };
        let original = layout(&user);
        std::fs::write(&path, &original).unwrap();
        env.init();
        // As if the user's editor laid the file out again, our entries included.
        let installed: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        std::fs::write(&path, layout(&installed)).unwrap();

        let out = ok(&env, &["uninstall"]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            original,
            "indent {indent:?}"
        );
        assert!(!out.contains("saved as"), "{out}");
        assert!(
            env.project
                .join(".claude/settings.json.session-sync.bak")
                .exists(),
            "init's backup is the user's: kept"
        );
    }
}

#[test]
fn a_hand_laid_out_settings_file_is_normalized_with_a_backup() {
    let env = Env::new();
    let path = settings_path(&env);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let binary = std::fs::canonicalize(BIN).unwrap();
    let text = format!(
        "{{ \"model\": \"opus\", \"hooks\": {{ \"Stop\": [ {{ \"hooks\": [ {{ \"type\": \"command\", \"command\": \"'{}' hook\" }} ] }} ] }} }}\n",
        binary.display()
    );
    std::fs::write(&path, &text).unwrap();
    let out = ok(&env, &["uninstall"]);
    let backup = env.project.join(".claude/settings.json.session-sync.bak");
    assert!(
        out.contains(&format!("previous file is saved as {}", backup.display())),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), text);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"model\":\"opus\"}\n"
    );
}

#[test]
fn uninstall_stops_at_a_malformed_settings_file_changing_nothing() {
    let env = Env::new();
    env.init();
    std::fs::write(settings_path(&env), "{ oops").unwrap();
    let out = env.run(&["uninstall"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was changed"));
    assert!(env.project.join(".session-sync/config.json").exists());
}

#[test]
fn uninstall_local_and_global_take_their_own_file() {
    let env = Env::new();
    ok(&env, &["init", "--local"]);
    // The config serves the local registration: plain uninstall keeps it and says why.
    let out = ok(&env, &["uninstall"]);
    assert!(out.starts_with("Kept "), "{out}");
    assert!(out.contains("`session-sync uninstall --local` removes it"));
    assert!(env.project.join(".session-sync/config.json").exists());
    let out = ok(&env, &["uninstall", "--local"]);
    assert!(out.contains("settings.local.json"), "{out}");
    assert!(!env.project.join(".session-sync").exists());

    let claude_dir = env.root.path().join("claude-config");
    let global = |args: &[&str]| {
        env.command(args)
            .env("CLAUDE_CONFIG_DIR", &claude_dir)
            .output()
            .unwrap()
    };
    assert!(global(&["init", "--global"]).status.success());
    let out = global(&["uninstall"]);
    assert!(
        stdout(&out).contains(&format!(
            "The hook is still registered in {}; `session-sync uninstall --global` removes it.",
            claude_dir.join("settings.json").display()
        )),
        "{}",
        stdout(&out)
    );
    let out = global(&["uninstall", "--global"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!(
        "Removed {}.",
        env.data.join("config.json").display()
    )));
    assert!(!claude_dir.join("settings.json").exists());
    assert!(claude_dir.exists(), "the user's Claude directory stays");
}

#[test]
fn purge_removes_state_and_logs_and_leaves_mirrors() {
    let env = Env::new();
    env.init();
    let mirror = mirrored(&env, "simple_bash");
    env.hook(b"not json");
    ok(&env, &["doctor"]);
    let out = ok(&env, &["uninstall", "--purge"]);
    assert!(out.contains("Removed the state of 1 session(s)"), "{out}");
    assert!(out.contains("Removed the hook log"), "{out}");
    assert!(out.contains("Removed doctor's log mark"), "{out}");
    assert!(!env.data.exists(), "{out}");
    assert!(mirror.exists());
    assert!(ok(&env, &["uninstall", "--purge"]).starts_with("Nothing to remove"));

    // A data directory shared with other files keeps them.
    let mine = env.data.join("logs/mine.txt");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "keep").unwrap();
    env.hook(b"not json");
    let out = ok(&env, &["uninstall", "--purge"]);
    assert!(out.contains("Removed the hook log"), "{out}");
    assert!(
        out.ends_with(&format!(
            "Kept {}: it holds files session-sync did not create.\n",
            env.data.display()
        )),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "keep");
}

#[test]
fn purge_with_mirrors_keeps_sessions_continued_in_codex() {
    let env = Env::new();
    env.init();
    let ours = mirrored(&env, "simple_bash");
    let continued = mirrored(&env, "parallel_tools");
    append(&continued, CODEX_TURN);
    let out = ok(&env, &["uninstall", "--purge", "--mirrors"]);
    assert!(
        out.contains(&format!("Removed codex mirror {}.", ours.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Kept codex mirror {}: continued in codex ({} bytes after session-sync's last line).",
            continued.display(),
            CODEX_TURN.len()
        )),
        "{out}"
    );
    assert!(!ours.exists());
    assert!(continued.exists());
    assert!(!env.data.exists());

    let usage = env.run(&["uninstall", "--mirrors"]);
    assert_eq!(usage.status.code(), Some(2), "--mirrors needs --purge");
}

// ---- clean ----

#[test]
fn clean_removes_old_mirrors_and_their_state() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("simple_bash");
    let mirror = mirrored(&env, "simple_bash");
    let session = recording.session_id();
    assert!(ok(&env, &["clean", "--older-than", "30d"]).contains("No session last synced"));
    age(&env, &session, 40);

    let dry = ok(&env, &["clean", "--older-than", "30d", "--dry-run"]);
    assert!(
        dry.contains(&format!(
            "  would remove codex mirror {}\n",
            mirror.display()
        )),
        "{dry}"
    );
    assert!(dry.contains("  would remove its state\n"), "{dry}");
    assert!(dry.ends_with("nothing was changed (--dry-run).\n"), "{dry}");
    assert!(mirror.exists() && state_file(&env, &session).exists());

    let out = ok(&env, &["clean", "--older-than", "30d"]);
    assert!(out.starts_with(&format!("{session}  \"")), "{out}");
    assert!(out.contains(&format!("  removed codex mirror {}\n", mirror.display())));
    assert!(out.contains("  removed its state\n"));
    assert!(out.ends_with("Removed 1 mirror(s); kept 0.\n"), "{out}");
    assert!(!mirror.exists());
    assert!(!env.data.join("sessions").join(&session).exists());
    assert!(ok(&env, &["list"]).contains("No session mirrored yet"));
    assert!(ok(&env, &["clean", "--older-than", "30d"]).starts_with("No session last synced"));
}

/// The state is saved before its append, and lists it as pending until the next hook: a
/// session whose last hook wrote lines is still clean's to remove once that append is done.
#[test]
fn clean_removes_a_mirror_whose_last_append_is_still_listed() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("simple_bash");
    let mirror = mirrored(&env, "simple_bash");
    let session = recording.session_id();
    // As the session's last hook leaves it: its last line listed, appended.
    let text = std::fs::read_to_string(&mirror).unwrap();
    let last = text.trim_end().rsplit('\n').next().unwrap().to_owned() + "\n";
    edit_state(&env, &session, |state| {
        state["mirrors"]["codex"]["pending"] =
            json!({"offset": text.len() - last.len(), "data": last});
    });
    age(&env, &session, 40);
    let out = ok(&env, &["clean", "--older-than", "30d"]);
    assert!(out.ends_with("Removed 1 mirror(s); kept 0.\n"), "{out}");
    assert!(!mirror.exists());
}

#[test]
fn clean_keeps_what_the_user_continued_or_someone_else_wrote() {
    let env = Env::new();
    env.init();
    let continued = mirrored(&env, "simple_bash");
    let rebased = mirrored(&env, "parallel_tools");
    let replaced = mirrored(&env, "multi_turn_resume");
    for fixture in ["simple_bash", "parallel_tools", "multi_turn_resume"] {
        age(&env, &Recording::load(fixture).session_id(), 10);
    }
    append(&continued, CODEX_TURN);
    // Codex's lines, then ours after them: the lineage's end moved to the file's end.
    append(&rebased, CODEX_TURN);
    let size = std::fs::metadata(&rebased).unwrap().len();
    edit_state(&env, &Recording::load("parallel_tools").session_id(), |s| {
        s["mirrors"]["codex"]["lineage"]["bytes"] = json!(size)
    });
    // Another session's file at the recorded path.
    let text = std::fs::read_to_string(&replaced).unwrap();
    let id = text
        .lines()
        .next()
        .unwrap()
        .split("\"id\":\"")
        .nth(1)
        .unwrap()[..36]
        .to_owned();
    std::fs::write(&replaced, text.replace(&id, &"0".repeat(36))).unwrap();

    let out = ok(&env, &["clean", "--older-than", "1d"]);
    for (path, why) in [
        (&continued, "continued in codex"),
        (&rebased, "it holds lines session-sync did not write"),
        (&replaced, "its first line is not codex session"),
    ] {
        assert!(
            out.contains(&format!("  kept codex mirror {}: {why}", path.display())),
            "{why}: {out}"
        );
        assert!(path.exists());
    }
    assert_eq!(
        out.matches("  kept its state: a mirror was kept\n").count(),
        3
    );
    assert!(out.ends_with("Removed 0 mirror(s); kept 3.\n"), "{out}");
    assert_eq!(
        std::fs::read_dir(env.data.join("sessions"))
            .unwrap()
            .count(),
        3
    );
}

/// Locks `path` as a hook of the session would (creating it if clean deleted it).
fn hold_lock(path: &Path) -> std::fs::File {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    fs2::FileExt::lock_exclusive(&file).unwrap();
    file
}

/// True when process `pid` has `file` (the same inode) open.
fn has_open(pid: u32, file: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let want = file.metadata().unwrap();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::metadata(fd.path()).ok())
        .any(|m| m.dev() == want.dev() && m.ino() == want.ino())
}

/// Waits until `child` has `file` open; panics with `why` if it exits first.
fn until_open(child: &mut std::process::Child, file: &std::fs::File, why: &str) {
    while !has_open(child.id(), file) {
        assert!(child.try_wait().unwrap().is_none(), "{why}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn signal(child: &std::process::Child, signal: i32) {
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

#[test]
fn clean_deleting_a_lock_never_lets_two_hooks_hold_it() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("simple_bash");
    mirrored(&env, "simple_bash");
    let session = recording.session_id();
    age(&env, &session, 40);
    let lock = env.data.join("sessions").join(&session).join("lock");

    // A hook of the session runs; clean and the next hook wait for it.
    let running = hold_lock(&lock);
    let mut clean = env
        .command(&["clean", "--older-than", "30d"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until_open(
        &mut clean,
        &running,
        "clean did not wait for the session's lock",
    );
    let stop = recording.hooks.iter().rfind(|h| h.event == "Stop").unwrap();
    let mut waiting = env.spawn_hook(env.localize(&stop.payload.to_string()).as_bytes());
    until_open(&mut waiting, &running, "the hook did not wait for the lock");
    // Paused so that clean goes first and deletes the lock the hook waits on.
    signal(&waiting, libc::SIGSTOP);
    drop(running);
    let out = clean.wait_with_output().unwrap();
    assert!(
        stdout(&out).contains("  removed its state\n"),
        "{}",
        stdout(&out)
    );
    assert!(!lock.exists());

    // A hook starting now locks a new file; the paused one must wait for it.
    let next = hold_lock(&lock);
    signal(&waiting, libc::SIGCONT);
    until_open(
        &mut waiting,
        &next,
        "the hook ran on the deleted lock while another held the session",
    );
    drop(next);
    assert_silent_success(&waiting.wait_with_output().unwrap());
    env.settle();
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
    assert_eq!(env.rollouts().len(), 1, "one mirror, written afresh");
}

#[test]
fn purge_waits_for_a_running_hook_before_removing_its_state() {
    let env = Env::new();
    env.init();
    let session = Recording::load("simple_bash").session_id();
    mirrored(&env, "simple_bash");
    let lock = env.data.join("sessions").join(&session).join("lock");
    let running = hold_lock(&lock);
    let mut purge = env
        .command(&["uninstall", "--purge"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until_open(
        &mut purge,
        &running,
        "purge removed the state under a running hook",
    );
    assert!(state_file(&env, &session).exists());
    drop(running);
    let out = purge.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("Removed the state of 1 session(s)"),
        "{}",
        stdout(&out)
    );
    assert!(!env.data.exists());
}

#[test]
fn clean_takes_days_or_hours_and_nothing_else() {
    let env = Env::new();
    for good in ["30d", "12h", "1d"] {
        ok(&env, &["clean", "--older-than", good]);
    }
    for bad in [
        "30",
        "0d",
        "-1d",
        "1.5d",
        "30D",
        "3w",
        "d",
        " 3d",
        "99999999999999999999h",
    ] {
        let out = env.run(&["clean", "--older-than", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    assert_eq!(env.run(&["clean"]).status.code(), Some(2));
}

// ---- doctor ----

fn doctor(env: &Env) -> (Option<i32>, String) {
    let out = env.run(&["doctor"]);
    (out.status.code(), stdout(&out))
}

#[test]
fn doctor_after_init_is_happy() {
    let env = Env::new();
    env.init();
    let (code, out) = doctor(&env);
    assert_eq!(code, Some(0), "{out}");
    let binary = std::fs::canonicalize(BIN).unwrap();
    let settings = settings_path(&env);
    for expected in [
        format!(
            "ok    the hook in {} runs this binary ({})",
            settings.display(),
            binary.display()
        ),
        format!(
            "ok    the hook in {} is registered for all 6 events it needs",
            settings.display()
        ),
        format!(
            "ok    {}: mirroring to codex",
            env.project.join(".session-sync/config.json").display()
        ),
        format!(
            "ok    codex store {} will be created by the first mirror",
            env.codex_home.join("sessions").display()
        ),
        "warn  codex is not on PATH: cannot compare its version with 0.169.0; add codex to PATH"
            .to_owned(),
        "ok    no mirror yet".to_owned(),
    ] {
        assert!(out.contains(&expected), "{expected}\n{out}");
    }
    assert!(!out.contains("FAIL"));
}

#[test]
fn doctor_warns_when_opencode_sessions_cannot_be_read() {
    let env = Env::new();
    // Mirrors' tables, but not every column sessions are read from (no `session.parent_id`):
    // a schema session-sync does not read.
    let db = env.install_opencode_db();
    env.init();
    let (code, out) = doctor(&env);
    assert_eq!(code, Some(0), "{out}");
    let expected = format!(
        "warn  opencode database {} takes mirrors, but its sessions cannot be read: its schema is not OpenCode 1.18's (no session.parent_id); `sessions`, `mirror --from opencode`, `export` and `archive` leave OpenCode's sessions out",
        db.display()
    );
    assert!(out.contains(&expected), "{expected}\n{out}");
}

#[test]
fn doctor_fails_on_a_missing_binary_missing_events_and_a_bad_config() {
    let env = Env::new();
    env.init();
    let path = settings_path(&env);
    let mut settings: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let hooks = settings["hooks"].as_object_mut().unwrap();
    hooks.shift_remove("Stop");
    for groups in hooks.values_mut() {
        groups[0]["hooks"][0]["command"] = json!("'/nowhere/session-sync' hook");
    }
    std::fs::write(&path, settings.to_string()).unwrap();
    std::fs::write(
        env.project.join(".session-sync/config.json"),
        "{\"paused\": 3}",
    )
    .unwrap();

    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    for expected in [
        format!(
            "FAIL  the hook in {} runs /nowhere/session-sync, which does not exist; run `session-sync init` again",
            path.display()
        ),
        format!(
            "FAIL  the hook in {} is not registered for Stop; run `session-sync init` again",
            path.display()
        ),
        format!(
            "FAIL  {}: not a valid session-sync config",
            env.project.join(".session-sync/config.json").display()
        ),
    ] {
        assert!(report.contains(&expected), "{expected}\n{report}");
    }
    assert_eq!(
        stderr(&out),
        "session-sync: 3 check(s) failed; fix them as said above\n"
    );
}

#[test]
fn doctor_fails_when_the_codex_store_takes_no_file() {
    let env = Env::new();
    env.init();
    // A file where the store's directory should be (permissions would not stop root).
    std::fs::write(env.codex_home.join("sessions"), "").unwrap();
    let (code, out) = doctor(&env);
    assert_eq!(code, Some(1));
    assert!(
        out.contains(&format!(
            "FAIL  codex store {0}: cannot create a file in {0}",
            env.codex_home.join("sessions").display()
        )),
        "{out}"
    );
}

#[test]
fn doctor_compares_agent_versions_and_never_hangs() {
    let env = Env::new();
    env.init();
    let bin = env.root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
    };
    script("claude", "echo '2.1.197 (Claude Code)'");
    script("codex", "echo 'codex-cli 0.170.0'");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let run = || {
        let out = env
            .command(&["doctor"])
            .env("PATH", &path)
            .output()
            .unwrap();
        stdout(&out)
    };
    let out = run();
    assert!(
        out.contains("ok    claude 2.1.197: the version session-sync was verified with"),
        "{out}"
    );
    assert!(
        out.contains("warn  codex 0.170.0 is installed; session-sync was verified with 0.169.0; "),
        "{out}"
    );

    script("codex", "sleep 30");
    let started = std::time::Instant::now();
    let out = run();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        out.contains("warn  `codex --version` gave no answer within 3 s"),
        "{out}"
    );
}

#[test]
fn doctor_reports_hook_errors_once() {
    let env = Env::new();
    env.init();
    env.hook(b"not json");
    env.hook(b"");
    let (_, out) = doctor(&env);
    let log = env.data.join("logs/hook.log");
    assert!(
        out.contains(&format!(
            "warn  hook log: 2 error(s) in it; latest: {}; see {}",
            env.log().lines().last().unwrap(),
            log.display()
        )),
        "{out}"
    );
    let (code, out) = doctor(&env);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!(
            "ok    hook log {}: no error since the last doctor run",
            log.display()
        )),
        "{out}"
    );
    // One error before the log is rotated, one after: both are new.
    env.hook(b"[]");
    std::fs::rename(&log, env.data.join("logs/hook.log.1")).unwrap();
    env.hook(b"{}");
    let (_, out) = doctor(&env);
    assert!(
        out.contains("warn  hook log: 2 error(s) since the last doctor run; latest: "),
        "{out}"
    );
}

#[test]
fn doctor_warns_about_mirrors_codex_made_paginated() {
    let env = Env::new();
    env.init();
    let mirror = mirrored(&env, "simple_bash");
    let (code, out) = doctor(&env);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ok    1 mirror(s) checked: all in the format session-sync writes"),
        "{out}"
    );
    let text = std::fs::read_to_string(&mirror).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let mut meta: Value = serde_json::from_str(first).unwrap();
    meta["payload"]["history_mode"] = json!("paginated");
    std::fs::write(&mirror, format!("{meta}\n{rest}")).unwrap();
    let (_, out) = doctor(&env);
    assert!(
        out.contains(&format!(
            "warn  codex mirror {} is in Codex's paginated format ({}); session-sync does not append to it: the next sync forks a new mirror",
            meta["payload"]["id"].as_str().unwrap(),
            mirror.display()
        )),
        "{out}"
    );
}
