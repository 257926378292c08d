//! Recorded Claude Code sessions replayed through the built binary: hooks in their recorded
//! order (overlapping ones concurrently), the transcript growing as Claude Code writes it.

use crate::support::files::jsonl;
use crate::support::home::Env;
use crate::support::recording::{Lag, Recording, encode_all, fixture_records, replay};
use crate::support::said::{assert_same_conversation, assert_same_items, said};
use crate::support::tui::Tui;

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
        let session = recording.session_id();
        assert!(
            warnings
                .iter()
                .all(|w| w.contains(&format!(" {session}: "))),
            "the hook's child names the event and session: {warnings:?}"
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

/// With every file target enabled, the live hooks write the same chat turns a whole-transcript
/// read gives (checked on the OpenAI-chat log, whose lines carry no generated ids) and log no
/// error for any target.
fn every_target(name: &str, lag: Lag) {
    use session_sync::agents::openai_chat::write::OpenaiChat;
    use session_sync::encode::ToolStyle;
    let env = Env::new();
    env.init();
    let config_path = env.project.join(".session-sync/config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    for target in config["targets"].as_object_mut().unwrap().values_mut() {
        target["enabled"] = true.into();
    }
    std::fs::write(&config_path, config.to_string()).unwrap();
    env.install_opencode_db();

    let recording = Recording::load(name);
    replay(&env, &recording, lag);
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());

    let chat_dir = env.data.join("openai-chat");
    let log = chat_dir.join(format!("{}.jsonl", recording.session_id()));
    let live = jsonl(&log);
    let localize = |text: &str| env.localize(text);
    let records = fixture_records(name, &localize);
    let encoder = OpenaiChat {
        dir: chat_dir,
        style: ToolStyle::Structured,
        max_output_bytes: 256 * 1024,
    };
    let reference = encode_all(&encoder, &records);
    // The system line names the session; the rest is the conversation.
    assert_eq!(
        live[1..],
        reference[1..],
        "live chat log differs from a whole read"
    );
}

#[test]
fn every_target_parallel_tools_with_flushes() {
    every_target("parallel_tools", Lag::Flushes);
}

#[test]
fn every_target_subagent_with_flushes() {
    every_target("subagent", Lag::Flushes);
}

#[test]
fn every_target_multi_turn_on_time() {
    every_target("multi_turn_resume", Lag::None);
}

#[test]
fn only_the_users_own_configuration_chooses_where_chat_logs_go() {
    let env = Env::new();
    env.init();
    let in_repo = env.project.join("chats");
    let config_path = env.project.join(".session-sync/config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["targets"]["openai-chat"] = serde_json::json!({"enabled": true, "dir": in_repo});
    std::fs::write(&config_path, config.to_string()).unwrap();

    let first = Recording::load("simple_bash");
    replay(&env, &first, Lag::None);
    let default = env.data.join("openai-chat");
    assert!(!in_repo.exists(), "the repository chose where the log went");
    assert!(
        default
            .join(format!("{}.jsonl", first.session_id()))
            .exists()
    );

    // The user's global configuration may choose, for every project.
    let mine = env.root.path().join("my-chats");
    std::fs::write(
        env.data.join("config.json"),
        serde_json::json!({"targets": {"openai-chat": {"enabled": false, "dir": mine}}})
            .to_string(),
    )
    .unwrap();
    let second = Recording::load("parallel_tools");
    replay(&env, &second, Lag::None);
    assert!(!in_repo.exists());
    assert!(mine.join(format!("{}.jsonl", second.session_id())).exists());
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
}

#[test]
fn a_tui_session_writes_its_first_call_once() {
    let env = Env::new();
    env.init();
    let tui = Tui::new(&env);
    for (lines, payload) in tui.flushes().iter().zip(tui.payloads()) {
        tui.append(lines);
        env.hook(&payload);
    }
    assert_eq!(said(&env.rollout()), Tui::said());
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
}
