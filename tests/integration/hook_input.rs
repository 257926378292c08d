//! Whatever Claude Code (or anything else) feeds the hook: exit 0, not a byte of output.

use crate::support::home::{Env, assert_silent_success};
use crate::support::recording::{Lag, Recording, replay};
use crate::support::said;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn assert_no_mirror(env: &Env) {
    assert!(env.rollouts().is_empty(), "a rollout was written");
}

#[test]
fn garbage_empty_and_odd_payloads_are_logged_not_printed() {
    let env = Env::new();
    env.init();
    let inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\n".to_vec(),
        b"not json at all".to_vec(),
        b"{\"session_id\":".to_vec(),
        b"[1,2,3]".to_vec(),
        b"{}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
        br#"{"session_id":"x","hook_event_name":"NoSuchEvent","cwd":"/"}"#.to_vec(),
        br#"{"session_id":"x","hook_event_name":"PostToolUse"}"#.to_vec(),
        br#"{"session_id":42,"hook_event_name":"Stop"}"#.to_vec(),
    ];
    for input in inputs {
        env.hook(&input);
    }
    assert_no_mirror(&env);
    assert!(
        env.log().contains("not a Claude Code hook payload"),
        "log: {}",
        env.log()
    );
}

#[test]
fn hostile_ids_cannot_steer_writes() {
    let env = Env::new();
    env.init();
    let project = env.project.to_str().unwrap();
    for id in ["../../escape", "a/b", "x\u{0}y", &"a".repeat(5000), ""] {
        let payload = serde_json::json!({
            "session_id": id,
            "transcript_path": format!("{project}/t.jsonl"),
            "cwd": project,
            "hook_event_name": "UserPromptSubmit",
            "prompt": "hi",
        });
        env.hook(payload.to_string().as_bytes());
    }
    assert_no_mirror(&env);
    let escaped = env.data.parent().unwrap().join("escape");
    assert!(!escaped.exists());
    assert!(env.log().contains("not a plain id"));
}

#[test]
fn oversized_payload_is_drained_and_dropped() {
    let env = Env::new();
    env.init();
    let mut input =
        br#"{"session_id":"s","hook_event_name":"PostToolUse","tool_input":{"content":""#.to_vec();
    input.resize(70 << 20, b'a');
    input.extend_from_slice(b"\"}}");
    env.hook(&input);
    assert_no_mirror(&env);
    assert!(env.log().contains("over 64 MiB"));
}

#[test]
fn stdin_that_never_closes_does_not_hang_the_hook() {
    let env = Env::new();
    let mut child = env.spawn_hook_piped();
    let _open_stdin = child.stdin.take();
    let started = Instant::now();
    let output = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "hook hangs on an open stdin"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_silent_success(&output);
}

#[test]
fn hook_with_bad_arguments_still_exits_zero_silently() {
    let env = Env::new();
    let output = env
        .command(&["hook", "--no-such-flag", "extra"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_silent_success(&output);
}

#[test]
fn uninitialized_project_is_left_alone() {
    let env = Env::new();
    let recording = Recording::load("simple_bash");
    for hook in &recording.hooks {
        env.hook(env.localize(&hook.payload.to_string()).as_bytes());
    }
    assert_no_mirror(&env);
    assert!(
        !env.data.join("sessions").exists(),
        "state written for an uninitialized project"
    );
}

#[test]
fn paused_project_mirrors_nothing_until_resumed_then_catches_up() {
    let env = Env::new();
    env.init();
    assert!(env.run(&["pause"]).status.success());
    let recording = Recording::load("simple_bash");
    recording.write_transcript(&env, usize::MAX);
    for hook in &recording.hooks {
        env.hook(env.localize(&hook.payload.to_string()).as_bytes());
    }
    assert_no_mirror(&env);
    assert!(String::from_utf8_lossy(&env.run(&["status"]).stdout).contains("PAUSED"));

    assert!(env.run(&["resume"]).status.success());
    recording.run_hook(&env, "SessionEnd", 0);
    let said = said::said(&env.rollout());
    assert_eq!(said, said::said(&recording.reference_rollout(&env)));
}

#[test]
fn files_we_create_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.init();
    let recording = Recording::load("simple_bash");
    replay(&env, &recording, Lag::None);
    let rollout = &env.rollouts()[0];
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(rollout), 0o600);
    assert_eq!(mode(rollout.parent().unwrap()), 0o700);
    let state = env
        .data
        .join("sessions")
        .join(recording.session_id())
        .join("state.jsonl");
    assert_eq!(mode(&state), 0o600);
    assert_eq!(mode(state.parent().unwrap()), 0o700);
}

#[test]
fn appends_wait_while_codex_has_the_session_open() {
    use fs2::FileExt;
    let env = Env::new();
    env.init();
    let recording = Recording::load("multi_turn_resume");
    // First process: the mirror is created.
    recording.write_transcript(&env, 9);
    recording.run_hook(&env, "SessionEnd", 0);
    let before = std::fs::read_to_string(&env.rollouts()[0]).unwrap();
    let id = env.rollout()[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Codex opens the session: it holds its writer lock.
    let locks = env.codex_home.join("thread-writer-locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = std::fs::File::create(locks.join(format!("{id}.lock"))).unwrap();
    lock.lock_exclusive().unwrap();
    recording.write_transcript(&env, 18);
    recording.run_hook(&env, "SessionEnd", 1);
    assert_eq!(
        std::fs::read_to_string(&env.rollouts()[0]).unwrap(),
        before,
        "appended while Codex held the lock"
    );
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());

    // Codex closes it: the next hook catches up, in order.
    FileExt::unlock(&lock).unwrap();
    recording.write_transcript(&env, usize::MAX);
    recording.run_hook(&env, "SessionEnd", 2);
    assert_eq!(
        said::said(&env.rollout()),
        said::said(&recording.reference_rollout(&env))
    );
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
}

#[test]
fn a_session_whose_cwd_leaves_the_project_keeps_mirroring() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("multi_turn_resume");
    replay(&env, &recording, Lag::None);
    let before = said::said(&env.rollout()).len();
    let outside = env.root.path().join("worktree");
    std::fs::create_dir_all(&outside).unwrap();
    let prompt = serde_json::json!({
        "session_id": recording.session_id(),
        "transcript_path": recording.transcript_path(&env),
        "cwd": outside,
        "prompt_id": "p-outside",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "Carry on in the worktree.",
    });
    env.hook(prompt.to_string().as_bytes());
    let said = said::said(&env.rollout());
    assert_eq!(said.len(), before + 1);
    assert_eq!(
        said.last(),
        Some(&said::Said::User("Carry on in the worktree.".into()))
    );
}
