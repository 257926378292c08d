//! Flattening conversations into comparable item sequences, and comparing a source
//! conversation (what Claude's model saw) with a mirror (what another agent's model saw).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Value, json};

use super::anthropic::{first_user_text, is_harness_text};

/// One conversation item, agent-neutral.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    User(String),
    Assistant(String),
    /// A tool call; `args` is a JSON value (Codex's `arguments` string is parsed).
    Call {
        id: String,
        name: String,
        args: Value,
    },
    /// A tool result as text parts (a string result is one part).
    Output {
        id: String,
        parts: Vec<String>,
    },
    /// Anything else a flattener did not expect (kept so it shows up in a comparison).
    Other(String),
}

impl Item {
    pub fn is_text(&self) -> bool {
        matches!(self, Item::User(_) | Item::Assistant(_))
    }
    pub fn is_output(&self) -> bool {
        matches!(self, Item::Output { .. })
    }
}

fn short(s: &str, n: usize) -> String {
    let one_line = s.replace('\n', "⏎");
    if one_line.chars().count() > n {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    } else {
        one_line
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::User(t) => write!(f, "user      {:?}", short(t, 100)),
            Item::Assistant(t) => write!(f, "assistant {:?}", short(t, 100)),
            Item::Call { id, name, args } => {
                write!(f, "call      {id} {name} {}", short(&args.to_string(), 120))
            }
            Item::Output { id, parts } => {
                write!(f, "output    {id} {:?}", short(&parts.join("⏎"), 100))
            }
            Item::Other(s) => write!(f, "OTHER     {}", short(s, 140)),
        }
    }
}

/// Numbered listing, one item per line.
pub fn render(items: &[Item]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| format!("{i:3}  {it}\n"))
        .collect()
}

/// Text parts of a message `content`: a string, or an array of blocks with `text`.
pub fn text_parts(content: &Value) -> Vec<String> {
    match content {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_string))
            .collect(),
        Value::Null => vec![],
        other => vec![other.to_string()],
    }
}

// ---------------------------------------------------------------------------------------------
// Claude (Anthropic Messages API)

/// Flattens Anthropic `messages` (plus an optional final assistant message) into items:
/// user prompts (harness text such as `<system-reminder>` dropped), assistant texts, tool_use,
/// tool_result. Thinking and role-"system" messages are skipped.
pub fn flatten_anthropic(messages: &[Value], final_message: Option<&Value>) -> Vec<Item> {
    let mut out = Vec::new();
    let all = messages.iter().chain(final_message);
    for m in all {
        let role = m["role"].as_str().unwrap_or("assistant");
        if role == "system" {
            // Claude Code 2.1 puts harness notes (agent listings, task reminders) into
            // `messages` as role "system": not conversation content.
            continue;
        }
        let blocks: Vec<Value> = match &m["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(a) => a.clone(),
            _ => vec![],
        };
        for b in blocks {
            match (role, b["type"].as_str().unwrap_or("")) {
                ("user", "text") => {
                    let t = b["text"].as_str().unwrap_or("");
                    if !is_harness_text(t) {
                        out.push(Item::User(t.to_string()));
                    }
                }
                ("user", "tool_result") => out.push(Item::Output {
                    id: b["tool_use_id"].as_str().unwrap_or("").to_string(),
                    parts: text_parts(&b["content"]),
                }),
                ("user", "image") | ("user", "document") => {
                    out.push(Item::Other(format!("user {}", b["type"])))
                }
                ("assistant", "text") => out.push(Item::Assistant(
                    b["text"].as_str().unwrap_or("").to_string(),
                )),
                ("assistant", "tool_use") => out.push(Item::Call {
                    id: b["id"].as_str().unwrap_or("").to_string(),
                    name: b["name"].as_str().unwrap_or("").to_string(),
                    args: b["input"].clone(),
                }),
                ("assistant", "thinking") | ("assistant", "redacted_thinking") => {}
                (r, t) => out.push(Item::Other(format!("{r} block {t}: {b}"))),
            }
        }
    }
    out
}

/// Flattens a Messages API request body (+ the answer to it).
pub fn flatten_anthropic_request(request: &Value, answer: Option<&Value>) -> Vec<Item> {
    let msgs = request["messages"].as_array().cloned().unwrap_or_default();
    flatten_anthropic(&msgs, answer)
}

/// Inserts each subagent's tool calls and outputs right after the main conversation's Agent
/// call that spawned it. `subagents` are (last request, answer) pairs of each subagent
/// conversation; a subagent is matched to the Agent call whose `input.prompt` equals the
/// subagent's first user text. Subagent texts are dropped (they are not mirrored).
pub fn splice_subagents(main: Vec<Item>, subagents: &[(Value, Option<Value>)]) -> Vec<Item> {
    let mut out = Vec::new();
    for item in main {
        let spawn_prompt = match &item {
            Item::Call { name, args, .. } if name == "Agent" || name == "Task" => {
                args["prompt"].as_str().map(str::to_string)
            }
            _ => None,
        };
        out.push(item);
        if let Some(prompt) = spawn_prompt {
            for (req, ans) in subagents {
                if first_user_text(req) == prompt {
                    let inner = flatten_anthropic_request(req, ans.as_ref());
                    out.extend(
                        inner
                            .into_iter()
                            .filter(|i| matches!(i, Item::Call { .. } | Item::Output { .. })),
                    );
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Codex (OpenAI Responses API `input`)

/// User texts Codex itself injects (not prompts).
pub fn is_codex_injected_user_text(t: &str) -> bool {
    let t = t.trim_start();
    t.starts_with("<environment_context>")
        || t.starts_with("<user_instructions>")
        || t.starts_with("<INSTRUCTIONS>")
        || t.starts_with("# AGENTS.md instructions")
        || t.starts_with("<skills_instructions>")
        || t.starts_with("<turn_aborted>")
}

/// Flattens a Responses API `input` array: developer/system messages and Codex-injected user
/// messages are skipped, as is reasoning; function and custom tool calls become `Call`s.
pub fn flatten_responses_input(input: &[Value]) -> Vec<Item> {
    let mut out = Vec::new();
    for it in input {
        match it["type"].as_str().unwrap_or("message") {
            "message" => {
                let role = it["role"].as_str().unwrap_or("");
                let parts = text_parts(&it["content"]);
                match role {
                    "developer" | "system" => {}
                    "user" => {
                        if parts.iter().any(|p| is_codex_injected_user_text(p)) {
                            continue;
                        }
                        for p in parts {
                            out.push(Item::User(p));
                        }
                    }
                    "assistant" => {
                        for p in parts {
                            out.push(Item::Assistant(p));
                        }
                    }
                    r => out.push(Item::Other(format!("message role {r}: {it}"))),
                }
            }
            "function_call" => {
                let raw = it["arguments"].as_str().unwrap_or("");
                let args =
                    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
                out.push(Item::Call {
                    id: it["call_id"].as_str().unwrap_or("").to_string(),
                    name: it["name"].as_str().unwrap_or("").to_string(),
                    args,
                });
            }
            // Free-form input (Codex's `apply_patch`) stays a string.
            "custom_tool_call" => out.push(Item::Call {
                id: it["call_id"].as_str().unwrap_or("").to_string(),
                name: it["name"].as_str().unwrap_or("").to_string(),
                args: it["input"].clone(),
            }),
            "function_call_output" | "custom_tool_call_output" => out.push(Item::Output {
                id: it["call_id"].as_str().unwrap_or("").to_string(),
                parts: text_parts(&it["output"]),
            }),
            "reasoning" => {}
            t => out.push(Item::Other(format!("{t}: {it}"))),
        }
    }
    out
}

/// Codex's view: drop the trailing new prompt (the `codex exec resume … "<prompt>"` text).
pub fn flatten_codex_request(body: &Value, new_prompt: &str) -> Vec<Item> {
    let input = body["input"].as_array().cloned().unwrap_or_default();
    let mut items = flatten_responses_input(&input);
    if let Some(pos) = items
        .iter()
        .rposition(|i| matches!(i, Item::User(t) if t == new_prompt))
    {
        items.remove(pos);
    }
    items
}

/// The Claude → Codex tool mapping: `Bash` → `exec_command {"cmd"}`; others unchanged.
pub fn claude_call_to_codex(item: &Item) -> Item {
    match item {
        Item::Call { id, name, args } if name == "Bash" => Item::Call {
            id: id.clone(),
            name: "exec_command".into(),
            args: json!({"cmd": args["command"].clone()}),
        },
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison

fn outputs_equal(a: &[String], b: &[String]) -> bool {
    a == b
        || ["\n", "\n\n", ""]
            .iter()
            .any(|sep| a.join(sep) == b.join(sep))
}

/// Checks that `actual` mirrors `expected` (both flattened; `map_call` maps the source's calls
/// to the target's naming):
/// * the non-output items (prompts, assistant texts, calls with id, name and args) are equal,
///   in order, with nothing missing or duplicated;
/// * every call has exactly one output, equal to the source's output for that call id,
///   placed after the call and before the next text item; no output without a call.
///
/// Returns a report of every problem found, with both sequences, on failure.
pub fn compare_mirror(
    expected: &[Item],
    actual: &[Item],
    map_call: impl Fn(&Item) -> Item,
) -> Result<(), String> {
    let expected: Vec<Item> = expected.iter().map(&map_call).collect();
    let mut problems = Vec::new();

    let spine = |items: &[Item]| -> Vec<Item> {
        items.iter().filter(|i| !i.is_output()).cloned().collect()
    };
    let (es, as_) = (spine(&expected), spine(actual));
    if es != as_ {
        let first = es
            .iter()
            .zip(&as_)
            .position(|(a, b)| a != b)
            .unwrap_or(es.len().min(as_.len()));
        problems.push(format!(
            "texts/calls differ (expected {} items, got {}); first difference at spine index {first}:\n  expected: {}\n  actual:   {}",
            es.len(),
            as_.len(),
            es.get(first).map_or("<end>".into(), |i| i.to_string()),
            as_.get(first).map_or("<end>".into(), |i| i.to_string()),
        ));
    }

    let mut expected_out: BTreeMap<&str, &Vec<String>> = BTreeMap::new();
    for it in &expected {
        if let Item::Output { id, parts } = it {
            if expected_out.insert(id, parts).is_some() {
                problems.push(format!("source has two outputs for {id}"));
            }
        }
    }
    let mut call_pos: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, it) in actual.iter().enumerate() {
        if let Item::Call { id, .. } = it {
            if call_pos.insert(id, i).is_some() {
                problems.push(format!("call {id} appears twice in the mirror"));
            }
        }
    }
    let mut seen_out: BTreeSet<&str> = BTreeSet::new();
    for (i, it) in actual.iter().enumerate() {
        let Item::Output { id, parts } = it else {
            continue;
        };
        if !seen_out.insert(id) {
            problems.push(format!("[{i}] second output for {id}"));
        }
        match call_pos.get(id.as_str()) {
            None => problems.push(format!("[{i}] output for unknown call {id}")),
            Some(&c) => {
                if c > i {
                    problems.push(format!("[{i}] output for {id} comes before its call [{c}]"));
                } else if let Some(t) = actual[c..i].iter().position(Item::is_text) {
                    problems.push(format!("[{i}] output for {id} comes after a text item [{}] following its call [{c}]", c + t));
                }
            }
        }
        match expected_out.get(id.as_str()) {
            None => problems.push(format!(
                "[{i}] output {id} has no counterpart in the source"
            )),
            Some(exp) if !outputs_equal(exp, parts) => problems.push(format!(
                "[{i}] output for {id} differs:\n  expected: {:?}\n  actual:   {:?}",
                exp.join("\n"),
                parts.join("\n")
            )),
            Some(_) => {}
        }
    }
    for id in call_pos.keys() {
        if !seen_out.contains(id) {
            problems.push(format!("call {id} has no output in the mirror"));
        }
    }
    for it in actual {
        if let Item::Other(s) = it {
            problems.push(format!("unexpected item in the mirror: {}", short(s, 200)));
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "mirror does not match the source:\n- {}\n\n=== expected (source, mapped) ===\n{}\n=== actual (mirror) ===\n{}",
            problems.join("\n- "),
            render(&expected),
            render(actual)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, name: &str, args: Value) -> Item {
        Item::Call {
            id: id.into(),
            name: name.into(),
            args,
        }
    }
    fn out(id: &str, t: &str) -> Item {
        Item::Output {
            id: id.into(),
            parts: vec![t.into()],
        }
    }

    fn source() -> Vec<Item> {
        vec![
            Item::User("p".into()),
            Item::Assistant("a".into()),
            call("t1", "Bash", json!({"command": "ls", "description": "d"})),
            call("t2", "Read", json!({"file_path": "/f"})),
            out("t2", "r"),
            out("t1", "l"),
            Item::Assistant("done".into()),
        ]
    }

    fn mirror() -> Vec<Item> {
        vec![
            Item::User("p".into()),
            Item::Assistant("a".into()),
            call("t1", "exec_command", json!({"cmd": "ls"})),
            call("t2", "Read", json!({"file_path": "/f"})),
            out("t1", "l"),
            out("t2", "r"),
            Item::Assistant("done".into()),
        ]
    }

    #[test]
    fn accepts_a_faithful_mirror_with_outputs_in_another_order() {
        compare_mirror(&source(), &mirror(), claude_call_to_codex).unwrap();
    }

    #[test]
    fn rejects_broken_mirrors() {
        type Breaker = Box<dyn Fn(&mut Vec<Item>)>;
        let cases: Vec<(&str, Breaker)> = vec![
            (
                "duplicate text",
                Box::new(|m| m.insert(1, Item::Assistant("a".into()))),
            ),
            (
                "duplicate output",
                Box::new(|m| m.insert(5, out("t1", "l"))),
            ),
            (
                "missing output",
                Box::new(|m| {
                    m.remove(4);
                }),
            ),
            ("wrong output", Box::new(|m| m[5] = out("t2", "x"))),
            (
                "output after text",
                Box::new(|m| {
                    let o = m.remove(4);
                    m.push(o);
                }),
            ),
            (
                "output before call",
                Box::new(|m| {
                    let o = m.remove(4);
                    m.insert(2, o);
                }),
            ),
            ("calls swapped", Box::new(|m| m.swap(2, 3))),
            (
                "bash args kept",
                Box::new(|m| {
                    m[2] = call(
                        "t1",
                        "exec_command",
                        json!({"cmd": "ls", "description": "d"}),
                    )
                }),
            ),
            (
                "unknown item",
                Box::new(|m| m.push(Item::Other("x".into()))),
            ),
            (
                "missing prompt",
                Box::new(|m| {
                    m.remove(0);
                }),
            ),
        ];
        for (what, break_it) in cases {
            let mut m = mirror();
            break_it(&mut m);
            assert!(
                compare_mirror(&source(), &m, claude_call_to_codex).is_err(),
                "accepted a mirror with: {what}"
            );
        }
    }

    #[test]
    fn flattens_anthropic_and_responses_shapes() {
        let msgs = vec![
            json!({"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}, {"type": "text", "text": "p"}]}),
            json!({"role": "system", "content": "Available agent types…"}),
            json!({"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "a"}, {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]}),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]}]}),
        ];
        let items = flatten_anthropic(
            &msgs,
            Some(&json!({"role": "assistant", "content": [{"type": "text", "text": "done"}]})),
        );
        assert_eq!(
            items,
            vec![
                Item::User("p".into()),
                Item::Assistant("a".into()),
                call("t1", "Bash", json!({"command": "ls"})),
                Item::Output {
                    id: "t1".into(),
                    parts: vec!["x".into(), "y".into()]
                },
                Item::Assistant("done".into()),
            ]
        );
        let input = vec![
            json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sys"}]}),
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "p"}]}),
            json!({"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}", "call_id": "t1"}),
            json!({"type": "function_call_output", "call_id": "t1", "output": "x\ny"}),
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>…</environment_context>"}]}),
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "new"}]}),
        ];
        let body = json!({"input": input});
        assert_eq!(
            flatten_codex_request(&body, "new"),
            vec![
                Item::User("p".into()),
                call("t1", "exec_command", json!({"cmd": "ls"})),
                out("t1", "x\ny")
            ]
        );
        // Split parts match the joined form.
        compare_mirror(
            &items[2..4],
            &flatten_codex_request(&body, "new")[1..],
            claude_call_to_codex,
        )
        .unwrap();
    }
}
