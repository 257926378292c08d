//! The Codex edge cases against the real Codex CLI (pinned) and the mock Responses API:
//! a mirror the user continued in Codex is forked and both resume; `codex exec resume --last`
//! picks the mirror in a home where Codex already has sessions of its own, and still does
//! when Claude Code goes on seconds after the user worked in a native Codex session.
//!
//! Run: `cargo test --test e2e -- --ignored e2e_codex::`.

use crate::support::env::TestEnv;
use crate::support::flatten::{self, claude_call_to_codex, compare_mirror, render};
use crate::support::openai::ResponsesMock;
use crate::support::{codex, fixture};

const REPLY: &str = "Codex here: I can see the whole conversation.";

/// `codex exec resume <id> "<prompt>"`; the request it sent, flattened.
fn resumed(env: &TestEnv, mock: &ResponsesMock, id: &str, prompt: &str) -> Vec<flatten::Item> {
    let out = codex::exec_resume(env, id, prompt);
    out.assert_success();
    let requests = mock.response_requests();
    let body = requests
        .iter()
        .rev()
        .find(|r| r.to_string().contains(prompt))
        .unwrap_or_else(|| panic!("no request for {prompt:?}: {}", out.describe()));
    flatten::flatten_codex_request(body, prompt)
}

/// `codex exec resume --last "<prompt>"` (`--last` stands where the id goes) must resume the
/// whole mirror of `session`.
fn assert_last_resumes(
    env: &TestEnv,
    mock: &ResponsesMock,
    session: &fixture::Installed,
    prompt: &str,
) {
    let listed = codex::threads(env);
    let seen = resumed(env, mock, "--last", prompt);
    if let Err(report) = compare_mirror(
        &session.conversation(usize::MAX),
        &seen,
        claude_call_to_codex,
    ) {
        panic!("`--last` did not resume the mirror:\n{report}\nindex, newest first:\n{listed}");
    }
}

/// A Codex home with the mock, and the first half of recorded session `fixture` mirrored:
/// the environment, the mock, the session, its half length and the mirror's id.
fn half_mirrored(
    fixture_name: &str,
) -> (TestEnv, ResponsesMock, fixture::Installed, usize, String) {
    let mut env = TestEnv::new();
    let mock = ResponsesMock::start(REPLY);
    env.use_codex(&mock);
    env.session_sync_ok(&["init"]);
    let session = fixture::install(&env, fixture_name, 0);
    let half = session.len() / 2;
    session.write(half);
    env.session_sync_ok(&["mirror", &session.session_id, "--to", "codex"]);
    let first = env.mirror_id("codex");
    (env, mock, session, half, first)
}

#[test]
#[ignore = "end-to-end: runs the real codex CLI (cargo test --test e2e -- --ignored e2e_codex::)"]
fn a_mirror_continued_in_codex_forks_and_both_resume() {
    let (env, mock, session, half, first) = half_mirrored("multi_turn_resume");

    // The user continues the mirror in Codex: Codex appends its own turn to the rollout.
    let in_codex = "Carry on in Codex, please.";
    let seen = resumed(&env, &mock, &first, in_codex);
    if let Err(report) = compare_mirror(&session.conversation(half), &seen, claude_call_to_codex) {
        panic!("first half, as Codex saw it:\n{report}");
    }

    // Claude Code goes on with the session: the next sync forks instead of interleaving.
    session.write(usize::MAX);
    env.session_sync_ok(&["mirror", &session.session_id]);
    let status = env.session_sync_ok(&["status", "--json"]);
    let fork = env.mirror_id("codex");
    assert_ne!(fork, first, "{status}");
    assert!(
        status.contains(&first),
        "status lost the continued mirror: {status}"
    );

    let later = "Continue from Claude's latest turn.";
    let seen = resumed(&env, &mock, &fork, later);
    if let Err(report) = compare_mirror(
        &session.conversation(usize::MAX),
        &seen,
        claude_call_to_codex,
    ) {
        panic!("the fork, as Codex saw it:\n{report}\n{}", render(&seen));
    }
    // The continued session still holds the user's Codex turn and none of Claude's later ones.
    let again = "And the Codex one?";
    let seen = resumed(&env, &mock, &first, again);
    assert!(
        seen.contains(&flatten::Item::User(in_codex.into())),
        "{}",
        render(&seen)
    );
    assert!(seen.len() < session.conversation(usize::MAX).len() + 3);
}

#[test]
#[ignore = "end-to-end: runs the real codex CLI (cargo test --test e2e -- --ignored e2e_codex::)"]
fn codex_resume_last_picks_the_mirror_among_codex_own_sessions() {
    let mut env = TestEnv::new();
    let mock = ResponsesMock::start(REPLY);
    env.use_codex(&mock);
    // Codex's own sessions in this project first: they create and fill state_5.sqlite.
    for prompt in ["An unrelated Codex task.", "Another Codex task."] {
        let out = env.run(env.codex().args(["exec", prompt, "--skip-git-repo-check"]));
        out.assert_success();
    }
    assert!(env.codex_home.join("state_5.sqlite").exists());

    env.session_sync_ok(&["init"]);
    let session = fixture::install(&env, "parallel_tools", usize::MAX);
    env.session_sync_ok(&["mirror", &session.session_id]);

    assert_last_resumes(&env, &mock, &session, "Which session is this?");
}

#[test]
#[ignore = "end-to-end: runs the real codex CLI (cargo test --test e2e -- --ignored e2e_codex::)"]
fn codex_resume_last_picks_the_mirror_claude_went_on_with_after_native_codex_use() {
    let mut env = TestEnv::new();
    let mock = ResponsesMock::start(REPLY);
    env.use_codex(&mock);
    let native = |prompt: &str| {
        let out = env.run(env.codex().args(["exec", prompt, "--skip-git-repo-check"]));
        out.assert_success();
    };
    // Codex creates its index with its first session.
    native("An earlier Codex task.");
    env.session_sync_ok(&["init"]);
    let session = fixture::install(&env, "multi_turn_resume", 0);
    let half = session.len() / 2;
    session.write(half);
    env.session_sync_ok(&["mirror", &session.session_id, "--to", "codex"]);

    // The user works in a native Codex session after the mirror was listed; Claude Code goes
    // on a few seconds later, well within the mirror's periodic index refresh.
    native("A native Codex task after the mirror.");
    std::thread::sleep(std::time::Duration::from_secs(2));
    session.write(usize::MAX);
    env.hook(&serde_json::json!({
        "session_id": session.session_id,
        "transcript_path": session.transcript,
        "cwd": env.project,
        "hook_event_name": "Stop",
    }));

    assert_eq!(env.hook_log(), "");
    assert_last_resumes(&env, &mock, &session, "Which session is the latest?");
}

#[test]
#[ignore = "end-to-end: runs the real codex CLI (cargo test --test e2e -- --ignored e2e_codex::)"]
fn a_mirror_codex_migrated_to_paginated_is_forked_never_appended_to() {
    let (env, mock, session, _, first) = half_mirrored("parallel_tools");

    let out = env.run(
        env.codex()
            .args(["migrate-rollouts", "--apply", "--thread", &first]),
    );
    out.assert_success();
    let path: Vec<_> = env
        .codex_rollouts()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&first))
        .collect();
    let migrated = std::fs::read_to_string(&path[0]).unwrap();
    assert!(
        migrated
            .lines()
            .next()
            .unwrap()
            .contains("\"history_mode\":\"paginated\""),
        "codex did not migrate the mirror: {}",
        out.describe()
    );

    session.write(usize::MAX);
    env.session_sync_ok(&["mirror", &session.session_id, "--to", "codex"]);
    assert_eq!(
        std::fs::read_to_string(&path[0]).unwrap(),
        migrated,
        "appended to a paginated file"
    );
    let status = env.session_sync_ok(&["status", "--json"]);
    let fork = env.mirror_id("codex");
    assert_ne!(fork, first);
    assert!(status.contains("paginated"), "{status}");
    let prompt = "Go on from the fork.";
    let seen = resumed(&env, &mock, &fork, prompt);
    if let Err(report) = compare_mirror(
        &session.conversation(usize::MAX),
        &seen,
        claude_call_to_codex,
    ) {
        panic!("the fork, as Codex saw it:\n{report}");
    }
    // The migrated one still resumes in Codex.
    resumed(&env, &mock, &first, "And the migrated one?");
}
