//! Records the native sessions under `tests/fixtures/native/<agent>/` with the real CLIs
//! (pinned) against the scripted mocks, paths neutralised. Each test writes into
//! `$SESSION_SYNC_RECORD_DIR/<agent>` (default: a kept temp dir) and prints the path; copy the
//! files over the fixtures after checking the diff.
//!
//! Run: `cargo test --test e2e -- --ignored record_native:: --nocapture --test-threads=1`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::chat::ChatMock;
use crate::support::env::TestEnv;
use crate::support::files::files_under;
use crate::support::flatten::Item;
use crate::support::gemini_api::GeminiMock;
use crate::support::native::{self, neutralise, save};
use crate::support::openai::ResponsesMock;
use crate::support::{codex, copilot, gemini, opencode, qwen};
use serde_json::json;

fn out_dir(agent: &str) -> PathBuf {
    let base = match std::env::var_os("SESSION_SYNC_RECORD_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => tempfile::Builder::new()
            .prefix("ss-native-")
            .tempdir()
            .unwrap()
            .keep(),
    };
    base.join(agent)
}

/// The native rollout (0.169 writes paginated files itself), and a legacy rollout continued by
/// Codex (a seeded legacy turn, then a Codex turn with a shell call) before and after
/// `codex migrate-rollouts --apply`.
#[test]
#[ignore = "records fixtures with the real codex CLI"]
fn record_codex() {
    let mut env = TestEnv::new();
    let mock = ResponsesMock::scripted(native::codex_script());
    env.use_codex(&mock);
    let dir = out_dir("codex");
    let copy = |from: &std::path::Path, to: &str| {
        let name = from.file_name().unwrap().to_str().unwrap();
        save(
            &dir,
            &format!("{to}{name}"),
            &neutralise(&env, &fs::read_to_string(from).unwrap()),
        );
    };
    let id = native::codex_session(&env);
    copy(&native::codex_rollout(&env, &id), "");

    let legacy_id = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
    let legacy = codex::write_legacy_rollout(
        &env,
        legacy_id,
        &[
            Item::User("Say hello.".into()),
            Item::Assistant("Hello!".into()),
        ],
    );
    native::codex_exec(&env, Some(legacy_id), native::CODEX_PROMPT_2);
    copy(&legacy, "legacy/");
    let out = env.run(
        env.codex()
            .args(["migrate-rollouts", "--apply", "--thread", legacy_id]),
    );
    out.assert_success();
    copy(&native::codex_rollout(&env, legacy_id), "migrated/");
    println!("recorded codex {id} and {legacy_id} into {}", dir.display());
}

/// Every file Gemini CLI wrote under `~/.gemini` for a session of two prompts (the second
/// resumed headless), with shell calls, one failing.
#[test]
#[ignore = "records fixtures with the real gemini CLI"]
fn record_gemini() {
    let mut env = TestEnv::new();
    let mock = GeminiMock::scripted(native::gemini_script());
    gemini::use_gemini(&mut env, &mock);
    let id = native::gemini_session(&env);
    let dir = out_dir("gemini");
    let root = gemini::gemini_dir(&env);
    for file in files_under(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if rel != "settings.json" {
            save(
                &dir,
                &rel,
                &neutralise(&env, &fs::read_to_string(&file).unwrap()),
            );
        }
    }
    // What the model saw when prompt 2 resumed the session.
    let resumed = mock
        .main_request(native::GEMINI_PROMPT_2)
        .expect("no request for prompt 2");
    save(
        &dir,
        "request-prompt-2.json",
        &neutralise(
            &env,
            &serde_json::to_string_pretty(&resumed["contents"]).unwrap(),
        ),
    );
    println!("recorded gemini {id} into {}", dir.display());
}

/// The committed recordings name no temp dir of the environment that made them.
#[test]
fn recordings_are_neutralised() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native");
    let files = files_under(&root);
    assert!(files.len() > 5, "{files:?}");
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("ss-e2e-"),
            "{} names a temp dir",
            file.display()
        );
    }
}

/// The rows OpenCode wrote to its database for a session of two prompts (`opencode run`, then
/// `opencode run --session <id>`), with bash calls, one failing.
#[test]
#[ignore = "records fixtures with the real opencode CLI"]
fn record_opencode() {
    let mut env = TestEnv::new();
    let mock = ChatMock::scripted(native::opencode_script());
    opencode::use_mock(&mut env, &mock);
    let id = native::opencode_session(&env);
    let dir = out_dir("opencode");
    let dump = serde_json::to_string_pretty(&native::opencode_dump(&env, &id)).unwrap();
    save(&dir, &format!("{id}.json"), &neutralise(&env, &dump));
    println!("recorded opencode {id} into {}", dir.display());
}

/// Copilot CLI's `session-state/<id>/` for one prompt with a `bash` call.
#[test]
#[ignore = "records fixtures with the real copilot CLI"]
fn record_copilot() {
    let mut env = TestEnv::new();
    let mock = ChatMock::scripted(native::shell_script(
        "bash",
        json!({"command": "ls -1", "description": "List files"}),
    ));
    copilot::use_mock(&mut env, &mock);
    native::copilot_run(&env, native::SHELL_PROMPT);
    let root = env.home.join(".copilot/session-state");
    let dir = out_dir("copilot");
    for file in files_under(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        save(
            &dir,
            &rel,
            &neutralise(&env, &fs::read_to_string(&file).unwrap()),
        );
    }
    println!("recorded copilot into {}", dir.display());
}

/// Qwen Code's `projects/<project>/chats/<id>.jsonl` for one prompt with a
/// `run_shell_command` call.
#[test]
#[ignore = "records fixtures with the real qwen CLI"]
fn record_qwen() {
    let mut env = TestEnv::new();
    let mock = ChatMock::scripted(native::shell_script(
        "run_shell_command",
        json!({"command": "ls -1", "is_background": false}),
    ));
    qwen::use_mock(&mut env, &mock);
    native::qwen_run(&env, native::SHELL_PROMPT);
    let root = qwen::chats_dir(&env);
    let dir = out_dir("qwen");
    for file in files_under(&root) {
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        save(
            &dir,
            &name,
            &neutralise(&env, &fs::read_to_string(&file).unwrap()),
        );
    }
    println!("recorded qwen into {}", dir.display());
}
