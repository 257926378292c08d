//! Codex rollouts reduced to what the model is given, and comparisons of two such.

use serde_json::Value;

/// A rollout line reduced to what the model is given, without times and ids.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    User(String),
    Assistant(String),
    Call {
        id: String,
        name: String,
        arguments: String,
    },
    Output {
        id: String,
        output: Value,
    },
}

pub fn said(lines: &[Value]) -> Vec<Said> {
    lines
        .iter()
        .filter(|l| l["type"] == "response_item")
        .map(|l| {
            let p = &l["payload"];
            let text = || {
                p["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["text"].as_str().unwrap_or("<image>"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            match p["type"].as_str().unwrap() {
                "message" if p["role"] == "user" => Said::User(text()),
                "message" => Said::Assistant(text()),
                "function_call" => Said::Call {
                    id: p["call_id"].as_str().unwrap().into(),
                    name: p["name"].as_str().unwrap().into(),
                    arguments: p["arguments"].as_str().unwrap().into(),
                },
                "function_call_output" => Said::Output {
                    id: p["call_id"].as_str().unwrap().into(),
                    output: p["output"].clone(),
                },
                other => panic!("unexpected response_item {other}"),
            }
        })
        .collect()
}

/// Live and reference say the same: the same prompts, texts and calls in the same order, and
/// each output exactly once, after its call and before the next text or prompt.
pub fn assert_same_conversation(live: &[Said], reference: &[Said]) {
    let not_output = |s: &&Said| !matches!(s, Said::Output { .. });
    let live_main: Vec<&Said> = live.iter().filter(not_output).collect();
    let reference_main: Vec<&Said> = reference.iter().filter(not_output).collect();
    assert_eq!(
        live_main, reference_main,
        "prompts, texts and calls differ\nlive: {live:#?}\nreference: {reference:#?}"
    );
    for (index, item) in live.iter().enumerate() {
        let Said::Output { id, output } = item else {
            continue;
        };
        let expected = reference
            .iter()
            .find_map(|s| match s {
                Said::Output { id: rid, output } if rid == id => Some(output),
                _ => None,
            })
            .unwrap_or_else(|| panic!("output {id} is not in the reference"));
        assert_eq!(output, expected, "output of {id} differs");
        let call = live
            .iter()
            .position(|s| matches!(s, Said::Call { id: cid, .. } if cid == id))
            .unwrap();
        assert!(call < index, "output {id} before its call");
        let next_text = live[call..]
            .iter()
            .position(|s| matches!(s, Said::User(_) | Said::Assistant(_)))
            .map_or(live.len(), |p| p + call);
        assert!(index < next_text, "output {id} after the next message");
    }
    let count = |v: &[Said]| {
        v.iter()
            .filter(|s| matches!(s, Said::Output { .. }))
            .count()
    };
    assert_eq!(
        count(live),
        count(reference),
        "number of outputs differs\nlive: {live:#?}"
    );
}

/// Every item of the reference appears exactly once in `live`, in whatever order.
pub fn assert_same_items(live: &[Said], reference: &[Said]) {
    let mut left: Vec<&Said> = live.iter().collect();
    for item in reference {
        let at = left
            .iter()
            .position(|s| *s == item)
            .unwrap_or_else(|| panic!("missing {item:?}\nlive: {live:#?}"));
        left.remove(at);
    }
    assert!(left.is_empty(), "extra items: {left:#?}");
}
