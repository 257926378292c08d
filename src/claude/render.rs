//! Renders a PostToolUse `tool_response` (structured) into the text Claude Code's model sees.
//!
//! PostToolUse runs before Claude Code builds the tool_result, so the model-facing text is not
//! available yet; these rules reproduce Claude Code 2.1.197's own formatting for its built-in
//! tools (checked against real transcripts in tests). Other tools fall back to their raw output.

use crate::model::Part;
use serde_json::Value;

/// The parts the model saw for a successful call of `tool` that returned `response`.
pub fn tool_output(tool: &str, response: &Value) -> Vec<Part> {
    let text = match (tool, response) {
        (_, Value::String(text)) => Some(text.clone()),
        ("Bash", Value::Object(_)) => Some(bash(response)),
        ("Read", Value::Object(_)) => read(response),
        ("Write", Value::Object(_)) => write(response),
        ("Edit" | "MultiEdit", Value::Object(_)) => edited(response),
        ("Glob", Value::Object(_)) => glob(response),
        ("Grep", Value::Object(_)) => grep(response),
        ("TodoWrite", Value::Object(_)) => Some(TODO_WRITE.to_owned()),
        ("Agent" | "Task", Value::Object(_)) => return agent(response),
        _ => None,
    };
    match text {
        Some(text) => vec![Part::Text(text)],
        None => generic(response),
    }
}

/// The parts the model saw for a failed call (PostToolUseFailure `error`).
pub fn tool_error(error: &Value) -> Vec<Part> {
    match error {
        Value::String(text) => vec![Part::Text(text.clone())],
        other => generic(other),
    }
}

const TODO_WRITE: &str = "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable";
const FILE_STATE_NOTE: &str = "(file state is current in your context — no need to Read it back)";

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn bash(response: &Value) -> String {
    let stdout = str_of(response, "stdout");
    let stderr = str_of(response, "stderr");
    let mut text = match (stdout.is_empty(), stderr.is_empty()) {
        (false, false) => format!("{stdout}\n{stderr}"),
        (false, true) => stdout.to_owned(),
        (true, false) => stderr.to_owned(),
        (true, true) => String::new(),
    };
    if response.get("interrupted").and_then(Value::as_bool) == Some(true) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("<error>Command was aborted before completion</error>");
    }
    if let Some(id) = response.get("backgroundTaskId").and_then(Value::as_str) {
        text = format!("Command running in background with ID: {id}");
    }
    text
}

fn read(response: &Value) -> Option<String> {
    let file = response.get("file")?;
    let content = file.get("content")?.as_str()?;
    let start = file.get("startLine").and_then(Value::as_u64).unwrap_or(1);
    if content.is_empty() {
        return None;
    }
    let numbered: Vec<String> = content
        .split('\n')
        .enumerate()
        .map(|(i, line)| format!("{}\t{line}", start + i as u64))
        .collect();
    Some(numbered.join("\n"))
}

fn write(response: &Value) -> Option<String> {
    let path = response.get("filePath")?.as_str()?;
    Some(match str_of(response, "type") {
        "create" => format!("File created successfully at: {path} {FILE_STATE_NOTE}"),
        _ => format!("The file {path} has been updated successfully. {FILE_STATE_NOTE}"),
    })
}

fn edited(response: &Value) -> Option<String> {
    let path = response.get("filePath")?.as_str()?;
    Some(format!(
        "The file {path} has been updated successfully. {FILE_STATE_NOTE}"
    ))
}

fn glob(response: &Value) -> Option<String> {
    let names = response.get("filenames")?.as_array()?;
    if names.is_empty() {
        return Some("No files found".to_owned());
    }
    let mut text = names
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    if response.get("truncated").and_then(Value::as_bool) == Some(true) {
        text.push_str("\n(Results are truncated. Consider using a more specific path or pattern.)");
    }
    Some(text)
}

fn grep(response: &Value) -> Option<String> {
    match str_of(response, "mode") {
        "content" => {
            let content = str_of(response, "content");
            Some(if content.is_empty() {
                "No matches found".to_owned()
            } else {
                content.to_owned()
            })
        }
        "files_with_matches" => {
            let names: Vec<&str> = response
                .get("filenames")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if names.is_empty() {
                return Some("No files found".to_owned());
            }
            let noun = if names.len() == 1 { "file" } else { "files" };
            Some(format!(
                "Found {} {noun}\n{}",
                names.len(),
                names.join("\n")
            ))
        }
        _ => None,
    }
}

fn agent(response: &Value) -> Vec<Part> {
    let mut parts: Vec<Part> = match response.get("content") {
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(|t| Part::Text(t.to_owned()))
            .collect(),
        _ => return generic(response),
    };
    if let Some(id) = response.get("agentId").and_then(Value::as_str) {
        let number = |key: &str| response.get(key).and_then(Value::as_u64).unwrap_or(0);
        parts.push(Part::Text(format!(
            "agentId: {id} (use SendMessage with to: '{id}', summary: '<5-10 word recap>' to continue this agent)\n<usage>subagent_tokens: {}\ntool_uses: {}\nduration_ms: {}</usage>",
            number("totalTokens"),
            number("totalToolUseCount"),
            number("totalDurationMs"),
        )));
    }
    parts
}

/// Tools without a known rendering: text content blocks (MCP style) or the raw JSON.
fn generic(response: &Value) -> Vec<Part> {
    if let Value::Array(blocks) = response {
        let texts: Vec<Part> = blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(|t| Part::Text(t.to_owned()))
            .collect();
        if texts.len() == blocks.len() && !texts.is_empty() {
            return texts;
        }
    }
    if let Some(text) = response.as_str() {
        return vec![Part::Text(text.to_owned())];
    }
    vec![Part::Text(response.to_string())]
}
