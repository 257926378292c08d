//! Recorded Claude Code sessions replayed through the built binary: hooks in their recorded
//! order (overlapping ones concurrently), the transcript growing as Claude Code writes it.

mod common;

use common::{Env, Lag, Recording, assert_same_conversation, assert_same_items, replay, said};

fn mirror(name: &str, lag: Lag) {
    let env = Env::new();
    env.init();
    let recording = Recording::load(name);
    replay(&env, &recording, lag);
    assert_eq!(
        env.log_lines("ERROR"),
        Vec::<String>::new(),
        "the hook logged errors"
    );
    let warnings = env.log_lines("WARN");
    if lag == Lag::Stuck {
        assert!(
            !warnings.is_empty(),
            "writing without the transcript is worth a warning"
        );
    } else {
        assert_eq!(
            warnings,
            Vec::<String>::new(),
            "the transcript was there in time"
        );
    }

    let rollout = env.rollout();
    let live = said(&rollout);
    let reference = said(&recording.reference_rollout(&env));
    if lag == Lag::Stuck {
        // Without the transcript in time, payloads run ahead: nothing lost, nothing doubled.
        assert_same_items(&live, &reference);
    } else {
        assert_same_conversation(&live, &reference);
    }

    let status = env.status_json();
    let session = &status["sessions"][0];
    assert_eq!(
        session["claude_session_id"],
        recording.session_id().as_str()
    );
    let mirror = &session["mirrors"][0];
    assert_eq!(mirror["target"], "codex");
    assert_eq!(mirror["id"], rollout[0]["payload"]["id"]);
    assert_eq!(
        mirror["resume"],
        format!("codex resume {}", mirror["id"].as_str().unwrap()).as_str()
    );
    assert_eq!(mirror["records"].as_u64().unwrap() as usize, live.len());
}

#[test]
fn simple_bash_with_transcript_on_time() {
    mirror("simple_bash", Lag::None);
}

#[test]
fn simple_bash_with_transcript_flushed_during_hooks() {
    mirror("simple_bash", Lag::Flushes);
}

#[test]
fn simple_bash_with_transcript_stuck() {
    mirror("simple_bash", Lag::Stuck);
}

#[test]
fn parallel_tools_with_transcript_on_time() {
    mirror("parallel_tools", Lag::None);
}

#[test]
fn parallel_tools_with_transcript_flushed_during_hooks() {
    mirror("parallel_tools", Lag::Flushes);
}

#[test]
fn parallel_tools_with_transcript_stuck() {
    mirror("parallel_tools", Lag::Stuck);
}

#[test]
fn multi_turn_resume_with_transcript_on_time() {
    mirror("multi_turn_resume", Lag::None);
}

#[test]
fn multi_turn_resume_with_transcript_flushed_during_hooks() {
    mirror("multi_turn_resume", Lag::Flushes);
}

#[test]
fn multi_turn_resume_with_transcript_stuck() {
    mirror("multi_turn_resume", Lag::Stuck);
}

#[test]
fn subagent_with_transcript_on_time() {
    mirror("subagent", Lag::None);
}

#[test]
fn subagent_with_transcript_flushed_during_hooks() {
    mirror("subagent", Lag::Flushes);
}

#[test]
fn subagent_with_transcript_stuck() {
    mirror("subagent", Lag::Stuck);
}
