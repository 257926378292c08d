//! Conformance of the PostToolUse rendering with real Claude Code 2.1.197: each case pairs a
//! recorded PostToolUse payload with the text the model got for that call (PostToolBatch).

use serde_json::Value;
use session_sync::agents::claude::render::{Call, tool_output};
use session_sync::model::Part;
use std::path::Path;

#[test]
fn rendering_matches_what_claude_code_showed_its_model() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render/claude-2.1.197.jsonl");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let expected: Vec<String> = match &case["expected"] {
            Value::String(text) => vec![text.clone()],
            Value::Array(blocks) => blocks
                .iter()
                .map(|b| b["text"].as_str().unwrap_or("<image>").to_owned())
                .collect(),
            other => panic!("unexpected {other}"),
        };
        // Another hook replaced this output (`updatedToolOutput`): no payload can know.
        if expected == ["REPLACED"] {
            continue;
        }
        // The background output path depends on the recording machine's uid and temp dir.
        if case["tool_response"].get("backgroundTaskId").is_some() && unsafe { libc_getuid() } != 0
        {
            continue;
        }
        let call = Call {
            tool: case["tool"].as_str().unwrap(),
            tool_use_id: case["tool_use_id"].as_str().unwrap(),
            session_id: case["session_id"].as_str().unwrap(),
            transcript_path: Path::new(case["transcript_path"].as_str().unwrap()),
            cwd: Path::new(case["cwd"].as_str().unwrap()),
        };
        let got: Vec<String> = tool_output(&call, &case["tool_response"])
            .iter()
            .map(|p| match p {
                Part::Text(text) => text.clone(),
                Part::Image(_) => "<image>".to_owned(),
            })
            .collect();
        checked += 1;
        if got != expected {
            failures.push(format!(
                "{} {} ({}):\n  got      {:?}\n  expected {:?}",
                case["run"], call.tool, call.tool_use_id, got, expected
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 60, "only {checked} cases checked");
}

unsafe extern "C" {
    #[link_name = "getuid"]
    fn libc_getuid() -> u32;
}
