//! Each recorded Claude Code session → the Codex rollout it produces (ids and times masked).

use crate::support::recording::batch_rollout;
use serde_json::Value;
use session_sync::encode::ToolStyle;

fn rollout(name: &str, style: ToolStyle) -> Vec<Value> {
    let mut lines = batch_rollout(name, &|text| text.to_owned(), style);
    let meta = &mut lines[0];
    meta["timestamp"] = "[time]".into();
    meta["payload"]["id"] = "[id]".into();
    meta["payload"]["timestamp"] = "[time]".into();
    meta["payload"]["cli_version"] = "[version]".into();
    lines
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
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

/// Every other target's encoder over every recorded session; generated ids are numbered in
/// order of appearance, so the snapshot shows how lines refer to each other.
mod targets {
    use crate::support::recording::{encode_all, fixture_records};
    use serde_json::Value;
    use session_sync::agents::{
        copilot::write::Copilot, gemini::write::Gemini, openai_chat::write::OpenaiChat,
        opencode::write::Opencode, qwen::write::Qwen,
    };
    use session_sync::encode::{Encoder, ToolStyle};
    use std::collections::HashMap;
    use std::path::PathBuf;

    const FIXTURES: &[&str] = &[
        "simple_bash",
        "parallel_tools",
        "multi_turn_resume",
        "subagent",
    ];

    fn encoders(root: &std::path::Path) -> Vec<(&'static str, Box<dyn Encoder>)> {
        let style = ToolStyle::Structured;
        let max_output_bytes = 256 * 1024;
        // OpenCode's encoder refuses to create the database it writes rows into.
        std::fs::write(root.join("opencode.db"), b"").unwrap();
        vec![
            (
                "gemini",
                Box::new(Gemini {
                    root: root.join(".gemini"),
                    style,
                    max_output_bytes,
                }),
            ),
            (
                "opencode",
                Box::new(Opencode {
                    db: root.join("opencode.db"),
                    model: Some("mock/mock-model".into()),
                    style,
                    max_output_bytes,
                }),
            ),
            (
                "copilot",
                Box::new(Copilot {
                    home: PathBuf::from("/copilot"),
                    style,
                    max_output_bytes,
                }),
            ),
            (
                "qwen",
                Box::new(Qwen {
                    home: PathBuf::from("/qwen"),
                    style,
                    max_output_bytes,
                }),
            ),
            (
                "openai_chat",
                Box::new(OpenaiChat {
                    dir: PathBuf::from("/chat"),
                    style,
                    max_output_bytes,
                }),
            ),
        ]
    }

    fn mask(value: &mut Value, seen: &mut HashMap<String, String>) {
        match value {
            Value::String(text) => {
                let kind = if is_uuid(text) {
                    Some("uuid")
                } else {
                    ["ses_", "msg_", "prt_"]
                        .iter()
                        .find(|p| text.starts_with(*p) && text.len() == 30)
                        .map(|p| &p[..3])
                };
                if let Some(kind) = kind {
                    let n = seen.len() + 1;
                    *text = seen
                        .entry(text.clone())
                        .or_insert_with(|| format!("[{kind}-{n}]"))
                        .clone();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| mask(v, seen)),
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if key == "lastUpdated" || key == "cli_version" {
                        *v = "[masked]".into();
                    } else {
                        mask(v, seen);
                    }
                }
            }
            _ => {}
        }
    }

    fn is_uuid(text: &str) -> bool {
        text.len() == 36 && uuid::Uuid::parse_str(text).is_ok()
    }

    #[test]
    fn every_target_for_every_fixture() {
        let root = tempfile::tempdir().unwrap();
        for fixture in FIXTURES {
            let records = fixture_records(fixture, &|text| text.to_owned());
            for (target, encoder) in encoders(root.path()) {
                let mut lines = encode_all(encoder.as_ref(), &records);
                let mut seen = HashMap::new();
                lines.iter_mut().for_each(|line| mask(line, &mut seen));
                let root_text = root.path().to_string_lossy().into_owned();
                let text = serde_json::to_string(&lines)
                    .unwrap()
                    .replace(&root_text, "[root]");
                let lines: Value = serde_json::from_str(&text).unwrap();
                snapshot!(format!("{target}_{fixture}"), lines);
            }
        }
    }
}
