//! Each recorded Claude Code session → the Codex rollout it produces (ids and times masked).

mod common;

use serde_json::Value;
use session_sync::encode::ToolStyle;

fn rollout(name: &str, style: ToolStyle) -> Vec<Value> {
    let mut lines = common::batch_rollout(name, &|text| text.to_owned(), style);
    let meta = &mut lines[0];
    meta["timestamp"] = "[time]".into();
    meta["payload"]["id"] = "[id]".into();
    meta["payload"]["timestamp"] = "[time]".into();
    meta["payload"]["cli_version"] = "[version]".into();
    lines
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
