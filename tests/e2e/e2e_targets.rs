//! End-to-end checks of the Chat Completions targets' harness: for Qwen Code, OpenCode and
//! Copilot CLI, a session written by hand in the shape the specs say resumes is resumed
//! headless by the real CLI against the mock, and the model must see exactly that history.
//!
//! Run: `cargo test --test e2e -- --ignored e2e_targets:: --test-threads=2` (needs node/npm; installs
//! the pinned CLIs into `target/e2e-clients` or `$SESSION_SYNC_E2E_CLIENTS` on first use).
//! Set `SESSION_SYNC_E2E_KEEP=1` to keep each test's temp dir, and
//! `SESSION_SYNC_E2E_DUMP=<dir>` to write the sessions written and the requests captured there.

use serde_json::{Value, json};

use crate::support::chat::{self, ChatMock};
use crate::support::env::{TestEnv, dump};
use crate::support::flatten::{Item, compare_mirror, render};
use crate::support::proc::Output;
use crate::support::{copilot, opencode, qwen};

const PROMPT: &str = "Remember this: my secret word is KUMQUAT-7. Then list the files.";
const NEW_PROMPT: &str = "What is my secret word?";
const REPLY: &str = "Mock here: your secret word is KUMQUAT-7.";

/// Prompt with a secret word, assistant text + one `ls` call (in the target's tool naming), its
/// output, assistant text.
fn conversation(tool: &str, args: Value) -> Vec<Item> {
    vec![
        Item::User(PROMPT.into()),
        Item::Assistant("Noted. Listing files now.".into()),
        Item::Call {
            id: "toolu_mirror_0001".into(),
            name: tool.into(),
            args,
        },
        Item::Output {
            id: "toolu_mirror_0001".into(),
            parts: vec!["README.md\nnotes.txt\nsrc".into()],
        },
        Item::Assistant("There are three entries: README.md, notes.txt and src.".into()),
    ]
}

/// The resumed CLI printed the mock's reply, and its main request carried `items` followed by
/// the new prompt, paired and in order. Failures show the CLI's output, what was written and
/// every request the mock saw.
fn check_resume(target: &str, mock: &ChatMock, out: &Output, written: &[Value], items: &[Item]) {
    let context = || {
        let lines: String = written.iter().map(|l| format!("{l}\n")).collect();
        format!(
            "{}\n{}=== written for {target} ===\n{lines}",
            out.describe(),
            mock.describe()
        )
    };
    eprintln!(
        "{target}: resume took {:.1?}\n{}",
        out.elapsed,
        mock.describe()
    );
    let Some(body) = mock.main_request(NEW_PROMPT) else {
        panic!(
            "{target} sent no chat request ending with {NEW_PROMPT:?}:\n{}",
            context()
        )
    };
    dump(&format!("{target}-request.json"), &body);
    dump(
        &format!("{target}-written.json"),
        &Value::Array(written.to_vec()),
    );
    assert!(
        out.success() && out.stdout.contains(REPLY),
        "{target} did not exit 0 printing the mock reply:\n{}",
        context()
    );
    assert_eq!(
        chat::last_user_text(&body),
        NEW_PROMPT,
        "{target}: the new prompt is not the last user message:\n{}",
        context()
    );
    let actual = chat::flatten_chat_request(&body, NEW_PROMPT);
    if let Err(report) = compare_mirror(items, &actual, Clone::clone) {
        panic!("{target}: {report}\n{}", context());
    }
    assert_eq!(
        actual,
        items,
        "{target}: history differs:\n=== expected ===\n{}=== actual ===\n{}\n{}",
        render(items),
        render(&actual),
        context()
    );
    let msgs = body["messages"].as_array().unwrap();
    assert_eq!(
        chat::flatten_chat_messages(&msgs[msgs.len() - 1..]),
        vec![Item::User(NEW_PROMPT.into())],
        "{target}: the last message is not the new prompt"
    );
}

/// Qwen Code: `projects/<encoded cwd>/chats/<uuid>.jsonl` (qwen-code.md §2) resumes with
/// `qwen --resume <uuid> -p …` from the recorded cwd.
#[test]
#[ignore = "end-to-end: runs the real qwen CLI (cargo test --test e2e -- --ignored e2e_targets::)"]
fn qwen_resumes_handwritten_session() {
    let mut env = TestEnv::new();
    let mock = ChatMock::start(REPLY);
    qwen::use_mock(&mut env, &mock);
    let items = conversation("run_shell_command", json!({"command": "ls"}));
    let id = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f";
    let written = qwen::write_session(&env, id, &items);
    let out = qwen::resume(&env, id, NEW_PROMPT);
    check_resume("qwen", &mock, &out, &written, &items);
}

/// OpenCode: rows inserted into the database OpenCode created (opencode.md §3) are listed for
/// the project and resume with `opencode run --session <id> …`.
#[test]
#[ignore = "end-to-end: runs the real opencode CLI (cargo test --test e2e -- --ignored e2e_targets::)"]
fn opencode_resumes_handwritten_session() {
    let mut env = TestEnv::new();
    let mock = ChatMock::start(REPLY);
    opencode::use_mock(&mut env, &mock);
    opencode::init_db(&env);
    let items = conversation(
        "bash",
        json!({"command": "ls", "description": "List files"}),
    );
    let (id, written) = opencode::write_session(&env, &items);
    let list = opencode::session_list(&env);
    assert!(
        list.stdout.contains(&id),
        "opencode session list does not show {id}: {}",
        list.describe()
    );
    let out = opencode::resume(&env, &id, NEW_PROMPT);
    check_resume("opencode", &mock, &out, &written, &items);
}

/// Copilot CLI: `session-state/<uuid>/events.jsonl` + `workspace.yaml` (copilot-cli.md §2–3)
/// resume with `copilot --resume=<uuid> -p … --allow-all` from the recorded cwd.
#[test]
#[ignore = "end-to-end: runs the real copilot CLI (cargo test --test e2e -- --ignored e2e_targets::)"]
fn copilot_resumes_handwritten_session() {
    let mut env = TestEnv::new();
    let mock = ChatMock::start(REPLY);
    copilot::use_mock(&mut env, &mock);
    let items = conversation(
        "bash",
        json!({"command": "ls", "description": "List files"}),
    );
    let id = "3c1e2f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6";
    let written = copilot::write_session(&env, id, &items);
    let out = copilot::resume(&env, id, NEW_PROMPT);
    check_resume("copilot", &mock, &out, &written, &items);
}
