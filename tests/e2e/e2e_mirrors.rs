//! session-sync's own mirrors in the real CLIs: a recorded Claude Code session is mirrored
//! (`session-sync mirror`), resumed headless by the pinned Qwen Code, OpenCode and Copilot CLI
//! against the mock Chat Completions server, and the model must see every prompt, text, call
//! and output of the session, paired and in order.
//!
//! Run: `cargo test --test e2e -- --ignored e2e_mirrors:: --test-threads=2`.

use serde_json::Value;

use crate::support::anthropic::AnthropicMock;
use crate::support::chat::{ChatMock, flatten_chat_request};
use crate::support::env::TestEnv;
use crate::support::fixture;
use crate::support::flatten::{Item, compare_mirror, render};
use crate::support::gemini_api::{GeminiMock, flatten_gemini_request};
use crate::support::scenario;
use crate::support::{copilot, gemini, opencode, qwen};

const NEW_PROMPT: &str = "What did we do so far?";

/// Resumes a mirror headless with a new prompt.
type Resume = fn(&TestEnv, &str, &str) -> crate::support::proc::Output;
const REPLY: &str = "Mock here: I can see the whole conversation.";

/// Claude's Bash call as the target's shell tool; other tools keep their Claude names.
fn shell_as(native: &'static str) -> impl Fn(&Item) -> Item {
    move |item| match item {
        Item::Call { id, name, args } if name == "Bash" => {
            let mut mapped = serde_json::Map::new();
            mapped.insert("command".into(), args["command"].clone());
            if let Some(description) = args.get("description") {
                mapped.insert("description".into(), description.clone());
            }
            Item::Call {
                id: id.clone(),
                name: native.into(),
                args: Value::Object(mapped),
            }
        }
        other => other.clone(),
    }
}

/// Mirrors `fixture_name` into `target`, resumes it with `resume`, and compares what the
/// model saw with the recorded conversation.
fn mirror_and_resume(
    env: &TestEnv,
    mock: &ChatMock,
    target: &str,
    fixture_name: &str,
    native_shell: &'static str,
    resume: Resume,
) {
    let session = fixture::install(env, fixture_name, usize::MAX);
    env.session_sync_ok(&["mirror", &session.session_id, "--to", target]);
    let id = env.mirror_id(target);
    let out = resume(env, &id, NEW_PROMPT);
    let body = mock.main_request(NEW_PROMPT).unwrap_or_else(|| {
        panic!(
            "{target} sent no request for the new prompt:\n{}\n{}",
            out.describe(),
            mock.describe()
        )
    });
    let seen = flatten_chat_request(&body, NEW_PROMPT);
    let expected = session.conversation(usize::MAX);
    if let Err(report) = compare_mirror(&expected, &seen, shell_as(native_shell)) {
        panic!(
            "{target} ({fixture_name}) did not see the session:\n{report}\nseen:\n{}",
            render(&seen)
        );
    }
    assert!(
        out.stdout.contains(REPLY),
        "{target} did not print the reply: {}",
        out.describe()
    );
}

#[test]
#[ignore = "end-to-end: runs the real qwen CLI (cargo test --test e2e -- --ignored e2e_mirrors::)"]
fn qwen_resumes_mirrored_sessions() {
    for fixture_name in ["parallel_tools", "subagent"] {
        let mut env = TestEnv::new();
        let mock = ChatMock::start(REPLY);
        qwen::use_mock(&mut env, &mock);
        env.session_sync_ok(&["init"]);
        mirror_and_resume(
            &env,
            &mock,
            "qwen",
            fixture_name,
            "run_shell_command",
            qwen::resume,
        );
    }
}

#[test]
#[ignore = "end-to-end: runs the real opencode CLI (cargo test --test e2e -- --ignored e2e_mirrors::)"]
fn opencode_resumes_mirrored_sessions() {
    for fixture_name in ["parallel_tools", "subagent"] {
        let mut env = TestEnv::new();
        let mock = ChatMock::start(REPLY);
        opencode::use_mock(&mut env, &mock);
        opencode::init_db(&env);
        env.session_sync_ok(&["init"]);
        mirror_and_resume(
            &env,
            &mock,
            "opencode",
            fixture_name,
            "bash",
            opencode::resume,
        );
        // `opencode session list` shows it too (its list reads the same rows).
        let list = opencode::session_list(&env);
        let id = env.mirror_id("opencode");
        assert!(list.stdout.contains(&id), "{}", list.describe());
    }
}

#[test]
#[ignore = "end-to-end: runs the real copilot CLI (cargo test --test e2e -- --ignored e2e_mirrors::)"]
fn copilot_resumes_mirrored_sessions() {
    for fixture_name in ["parallel_tools", "subagent"] {
        let mut env = TestEnv::new();
        let mock = ChatMock::start(REPLY);
        copilot::use_mock(&mut env, &mock);
        env.session_sync_ok(&["init"]);
        mirror_and_resume(
            &env,
            &mock,
            "copilot",
            fixture_name,
            "bash",
            copilot::resume,
        );
    }
}

#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_mirrors::)"]
fn gemini_lists_and_resumes_mirrored_sessions() {
    for fixture_name in ["parallel_tools", "subagent"] {
        let mut env = TestEnv::new();
        let mock = GeminiMock::start(REPLY);
        gemini::use_gemini(&mut env, &mock);
        env.session_sync_ok(&["init"]);
        let session = fixture::install(&env, fixture_name, usize::MAX);
        let half = session.len() / 2;
        session.write(half);
        env.session_sync_ok(&["mirror", &session.session_id, "--to", "gemini"]);
        let id = env.mirror_id("gemini");

        // Listing annotates sessions ($set summary): not the user continuing.
        let list = gemini::list_sessions(&env);
        assert!(list.stdout.contains(&id), "{}", list.describe());
        session.write(usize::MAX);
        env.session_sync_ok(&["mirror", &session.session_id, "--to", "gemini"]);
        assert_eq!(
            env.mirror_id("gemini"),
            id,
            "a listing made session-sync fork"
        );

        let out = gemini::resume(&env, &id, NEW_PROMPT);
        let body = mock.main_request(NEW_PROMPT).unwrap_or_else(|| {
            panic!(
                "gemini sent no request: {}\n{:#?}",
                out.describe(),
                mock.stream_requests()
            )
        });
        let seen = flatten_gemini_request(&body, NEW_PROMPT);
        let expected = session.conversation(usize::MAX);
        if let Err(report) = compare_mirror(&expected, &seen, shell_as("run_shell_command")) {
            panic!(
                "gemini ({fixture_name}) did not see the session:\n{report}\nseen:\n{}",
                render(&seen)
            );
        }
    }
}

/// The live path: real `claude -p` runs the scripted scenario (parallel calls, Write/Edit, a
/// subagent, a failing Bash, thinking, `--resume`) with the hooks `init` registered for every
/// agent found; then each agent resumes its mirror and its model sees Claude's conversation.
#[test]
#[ignore = "end-to-end: runs the real claude, gemini, opencode, copilot and qwen CLIs"]
fn live_hooks_mirror_a_claude_session_into_every_agent() {
    let mut env = TestEnv::new();
    let anthropic = AnthropicMock::start(scenario::main_script(&env.project));
    let chat = ChatMock::start(REPLY);
    let gemini_api = GeminiMock::start(REPLY);
    env.use_anthropic(&anthropic);
    qwen::use_mock(&mut env, &chat);
    opencode::use_mock(&mut env, &chat);
    copilot::use_mock(&mut env, &chat);
    gemini::use_gemini(&mut env, &gemini_api);
    opencode::init_db(&env);
    env.session_sync_ok(&["init"]);

    scenario::run_main(&env);
    // The hooks' children write the mirrors after the hooks return: wait for them.
    crate::support::files::settle(&env.data_dir);
    let expected = scenario::expected_conversation(&anthropic);
    let log = std::fs::read_to_string(env.data_dir.join("logs/hook.log")).unwrap_or_default();
    assert!(!log.contains(" ERROR "), "the hooks logged errors:\n{log}");

    let agents: [(&str, &'static str, Resume); 3] = [
        ("qwen", "run_shell_command", qwen::resume),
        ("opencode", "bash", opencode::resume),
        ("copilot", "bash", copilot::resume),
    ];
    for (target, shell, resume) in agents {
        let id = env.mirror_id(target);
        let prompt = format!("{NEW_PROMPT} ({target})");
        let out = resume(&env, &id, &prompt);
        let body = chat.main_request(&prompt).unwrap_or_else(|| {
            panic!(
                "{target} sent no request: {}\n{}",
                out.describe(),
                chat.describe()
            )
        });
        let seen = flatten_chat_request(&body, &prompt);
        if let Err(report) = compare_mirror(&expected, &seen, shell_as(shell)) {
            panic!("{target} did not see the live session:\n{report}");
        }
    }
    let id = env.mirror_id("gemini");
    let out = gemini::resume(&env, &id, NEW_PROMPT);
    let body = gemini_api.main_request(NEW_PROMPT).unwrap_or_else(|| {
        panic!("gemini sent no request: {}", out.describe());
    });
    let seen = flatten_gemini_request(&body, NEW_PROMPT);
    if let Err(report) = compare_mirror(&expected, &seen, shell_as("run_shell_command")) {
        panic!("gemini did not see the live session:\n{report}");
    }
}
