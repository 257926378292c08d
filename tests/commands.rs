//! The user commands, driven through the built binary in a temporary HOME.

mod common;

use common::Env;
use serde_json::{Value, json};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

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
    let binary = std::fs::canonicalize(common::BIN).unwrap();
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
    let recording = common::Recording::load("multi_turn_resume");
    common::replay(&env, &recording, common::Lag::None);
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
