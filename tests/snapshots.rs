//! Each recorded Claude Code session → the Codex rollout it produces (ids and times masked).

use serde_json::Value;
use session_sync::claude::{self, Entry};
use session_sync::encode::codex::Codex;
use session_sync::encode::{Encoder, SessionFacts, ToolStyle};
use session_sync::sync::{Event, Progress, Sync};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The rollout lines for a whole transcript read at once.
fn rollout(name: &str, style: ToolStyle) -> Vec<Value> {
    let dir = fixture(name);
    let transcript = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    let read_subagent = |agent: &str| -> Vec<Entry> {
        let path = dir.join("subagents").join(format!("agent-{agent}.jsonl"));
        claude::read_lines(
            &std::fs::read_to_string(path).unwrap_or_default(),
            Some(agent),
        )
    };
    let mut progress = Progress::default();
    let mut engine = Sync::new(&mut progress, &read_subagent, "NOW".into());
    for entry in claude::read_lines(&transcript, None) {
        engine.consume(entry);
    }
    engine.apply(Event::CatchUp);
    let codex = Codex {
        home: PathBuf::from("/codex"),
        style,
        max_output_bytes: 256 * 1024,
    };
    let facts = SessionFacts {
        cwd: Path::new("/home/user/project"),
        now: chrono::Utc::now(),
    };
    let mut lines = codex.open(&facts).header;
    for record in engine.records() {
        codex.encode(&record, &mut lines);
    }
    lines
        .iter()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            if value["type"] == "session_meta" {
                value["timestamp"] = "[time]".into();
                value["payload"]["id"] = "[id]".into();
                value["payload"]["timestamp"] = "[time]".into();
                value["payload"]["cli_version"] = "[version]".into();
            }
            value
        })
        .collect()
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!($name, $value);
        })
    };
}

#[test]
fn simple_bash() {
    snapshot!(
        "codex_simple_bash",
        rollout("simple_bash", ToolStyle::Structured)
    );
}

#[test]
fn parallel_tools() {
    snapshot!(
        "codex_parallel_tools",
        rollout("parallel_tools", ToolStyle::Structured)
    );
}

#[test]
fn multi_turn_resume() {
    snapshot!(
        "codex_multi_turn_resume",
        rollout("multi_turn_resume", ToolStyle::Structured)
    );
}

#[test]
fn subagent() {
    snapshot!("codex_subagent", rollout("subagent", ToolStyle::Structured));
}

#[test]
fn parallel_tools_as_text() {
    snapshot!(
        "codex_parallel_tools_text",
        rollout("parallel_tools", ToolStyle::Text)
    );
}
