//! Reads Claude Code: transcript lines and hook tool responses, into the normalized model.

use super::transcript::{AgentResult, Line};
use crate::model::{Image, Item, Part, Record};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// One model record read from a transcript, with the Claude facts needed to reconcile it with
/// what the hooks already reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub record: Record,
    /// `promptId` of a user prompt line (equals the UserPromptSubmit payload's `prompt_id`).
    pub prompt_id: Option<String>,
    /// For the result of an Agent call: the subagent that produced it.
    pub spawned_agent: Option<String>,
}

/// Model name Claude Code gives to messages it made up itself (errors, "No response requested.").
const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Reads one transcript line. `agent` is the subagent id when reading a subagent's file.
/// Lines that are not conversation (attachments, bookkeeping, meta prompts) give nothing;
/// so does a line that is not valid JSON.
pub fn read_line(line: &str, agent: Option<&str>) -> Vec<Entry> {
    read_linked(line, agent).entries
}

/// A line's entries and its place in the conversation's tree.
struct Linked {
    entries: Vec<Entry>,
    uuid: Option<String>,
    parent: Option<String>,
}

fn read_linked(line: &str, agent: Option<&str>) -> Linked {
    let Ok(line) = serde_json::from_str::<Line>(line) else {
        return Linked {
            entries: Vec::new(),
            uuid: None,
            parent: None,
        };
    };
    Linked {
        entries: entries(&line, agent),
        uuid: line.uuid.map(Cow::into_owned),
        parent: line.parent_uuid.map(Cow::into_owned),
    }
}

fn entries(line: &Line, agent: Option<&str>) -> Vec<Entry> {
    if line.is_sidechain && agent.is_none() {
        // Old versions kept subagent lines in the main file; they are read from the subagent's.
        return Vec::new();
    }
    let Some(message) = &line.message else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    let mut push = |item: Item, prompt_id: Option<String>, spawned_agent: Option<String>| {
        entries.push(Entry {
            record: Record {
                timestamp: line.timestamp.clone(),
                agent: agent.map(str::to_owned),
                rid: crate::model::origin_id(&item, line.uuid.as_deref()),
                item,
            },
            prompt_id,
            spawned_agent,
        })
    };
    match line.kind {
        "user" => {
            if line.is_meta || line.is_compact_summary || line.is_visible_in_transcript_only {
                return Vec::new();
            }
            let mut prompt_parts = Vec::new();
            match &message.content {
                Value::String(text) if !is_command_echo(text) => {
                    prompt_parts.push(Part::Text(text.clone()));
                }
                Value::Array(blocks) => {
                    for block in blocks {
                        match block_type(block) {
                            "tool_result" => {
                                let spawned = agent_of_result(line.tool_use_result);
                                push(tool_result(block), None, spawned);
                            }
                            "text" => {
                                if let Some(text) = str_field(block, "text") {
                                    if !text.trim().is_empty() {
                                        prompt_parts.push(Part::Text(text.to_owned()));
                                    }
                                }
                            }
                            "image" => prompt_parts.extend(image(block).map(Part::Image)),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            if !prompt_parts.is_empty() {
                push(
                    Item::Prompt {
                        parts: prompt_parts,
                    },
                    line.prompt_id.clone(),
                    None,
                );
            }
        }
        "assistant" => {
            if line.is_api_error_message || message.model.as_deref() == Some(SYNTHETIC_MODEL) {
                return Vec::new();
            }
            let Value::Array(blocks) = &message.content else {
                return Vec::new();
            };
            for block in blocks {
                match block_type(block) {
                    "text" => match str_field(block, "text") {
                        Some(text) if !text.trim().is_empty() => push(
                            Item::Text {
                                text: text.to_owned(),
                            },
                            None,
                            None,
                        ),
                        _ => {}
                    },
                    "thinking" => {
                        if let Some(text) = str_field(block, "thinking") {
                            push(
                                Item::Thinking {
                                    text: text.to_owned(),
                                },
                                None,
                                None,
                            );
                        }
                    }
                    "tool_use" | "server_tool_use" => {
                        if let (Some(id), Some(name)) =
                            (str_field(block, "id"), str_field(block, "name"))
                        {
                            push(
                                Item::ToolCall {
                                    id: id.to_owned(),
                                    name: name.to_owned(),
                                    input: block.get("input").cloned().unwrap_or(Value::Null),
                                },
                                None,
                                None,
                            );
                        }
                    }
                    kind if kind.ends_with("_tool_result") => {
                        // Server tools (web search) answer inside the assistant message.
                        push(tool_result(block), None, None);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    entries
}

/// Slash-command bookkeeping that Claude Code writes as user lines but that is not a prompt:
/// a local command's output, and the echo of a built-in command, which never reaches the
/// model (`/exit` ends every TUI session). A custom command's echo is what the model sees
/// of it, and stays.
fn is_command_echo(text: &str) -> bool {
    const BUILT_IN: &[&str] = &[
        "add-dir",
        "agents",
        "clear",
        "compact",
        "config",
        "context",
        "cost",
        "doctor",
        "exit",
        "export",
        "help",
        "hooks",
        "ide",
        "login",
        "logout",
        "mcp",
        "memory",
        "model",
        "permissions",
        "quit",
        "rename",
        "resume",
        "status",
        "theme",
        "usage",
        "vim",
    ];
    if text.starts_with("<local-command-") {
        return true;
    }
    let echo = text.starts_with("<command-name>") || text.starts_with("<command-message>");
    echo && text
        .split_once("<command-name>/")
        .and_then(|(_, rest)| rest.split_once("</command-name>"))
        .is_some_and(|(name, _)| BUILT_IN.contains(&name))
}

fn block_type(block: &Value) -> &str {
    str_field(block, "type").unwrap_or("")
}

fn str_field<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn tool_result(block: &Value) -> Item {
    let id = str_field(block, "tool_use_id").unwrap_or("").to_owned();
    let parts = match block.get("content") {
        Some(Value::String(text)) => vec![Part::Text(text.clone())],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match block_type(item) {
                "text" => str_field(item, "text").map(|t| Part::Text(t.to_owned())),
                "image" => image(item).map(Part::Image),
                _ => Some(Part::Text(item.to_string())),
            })
            .collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![Part::Text(other.to_string())],
    };
    let is_error = block
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Item::ToolResult {
        id,
        parts,
        is_error,
    }
}

fn image(block: &Value) -> Option<Image> {
    let source = block.get("source")?;
    if str_field(source, "type")? != "base64" {
        return None;
    }
    Some(Image {
        media_type: str_field(source, "media_type")
            .unwrap_or("image/png")
            .to_owned(),
        data: str_field(source, "data")?.to_owned(),
    })
}

fn agent_of_result(raw: Option<&serde_json::value::RawValue>) -> Option<String> {
    let raw = raw?.get();
    if !raw.starts_with('{') || !raw.contains("\"agentId\"") {
        return None;
    }
    serde_json::from_str::<AgentResult>(raw).ok()?.agent_id
}

/// Where Claude Code keeps a subagent's transcript (`jsonl`) or metadata (`meta.json`).
pub fn subagent_file(
    transcript: &std::path::Path,
    session_id: &str,
    agent: &str,
    extension: &str,
) -> Option<std::path::PathBuf> {
    Some(
        transcript
            .parent()?
            .join(session_id)
            .join("subagents")
            .join(format!("agent-{agent}.{extension}")),
    )
}

/// The folder name Claude Code gives a working directory under `~/.claude/projects/` (and
/// elsewhere): every UTF-16 unit outside `[A-Za-z0-9]` becomes `-`; past 200 characters the
/// name is cut and suffixed with a base-36 hash of the whole path.
pub fn project_folder_name(cwd: &str) -> String {
    const MAX: usize = 200;
    let name: String = cwd
        .encode_utf16()
        .map(|unit| match char::from_u32(u32::from(unit)) {
            Some(c) if c.is_ascii_alphanumeric() => c,
            _ => '-',
        })
        .collect();
    if name.len() <= MAX {
        return name;
    }
    let hash = cwd.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    format!(
        "{}-{}",
        &name[..MAX],
        base36(u64::from(hash.unsigned_abs()))
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Reads every complete line of `text` (a chunk of a transcript), in the conversation's order.
pub fn read_lines(text: &str, agent: Option<&str>) -> Vec<Entry> {
    let mut lines: Vec<Linked> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| read_linked(line, agent))
        .collect();
    chain_order(&lines)
        .into_iter()
        .flat_map(|i| std::mem::take(&mut lines[i].entries))
        .collect()
}

/// The order of `lines` with every line after its parent (`parentUuid`), file order otherwise.
/// The interactive TUI writes the first prompt's line after the assistant lines that answer
/// it (whose parents chain back to it); everywhere else the two orders agree.
fn chain_order(lines: &[Linked]) -> Vec<usize> {
    let mut position = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(uuid) = &line.uuid {
            position.entry(uuid.as_str()).or_insert(i);
        }
    }
    let mut done = vec![false; lines.len()];
    // Lines held back until the line they hang off (by index) is placed.
    let mut waiting: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut order = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let parent = line
            .parent
            .as_deref()
            .and_then(|p| position.get(p).copied());
        if let Some(parent) = parent.filter(|&p| p != i && !done[p]) {
            waiting.entry(parent).or_default().push(i);
            continue;
        }
        let mut next = vec![i];
        while let Some(j) = next.pop() {
            order.push(j);
            done[j] = true;
            if let Some(children) = waiting.remove(&j) {
                next.extend(children.into_iter().rev());
            }
        }
    }
    // Parents that never came before their children (a cycle): file order.
    let mut left: Vec<usize> = waiting.into_values().flatten().collect();
    left.sort_unstable();
    order.extend(left);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(path: &str) -> Vec<Item> {
        let text = std::fs::read_to_string(path).unwrap();
        read_lines(&text, None)
            .into_iter()
            .map(|e| e.record.item)
            .collect()
    }

    #[test]
    fn simple_bash_reads_prompt_text_call_result_text() {
        let items = items("tests/fixtures/simple_bash/transcript.jsonl");
        assert_eq!(items.len(), 5, "{items:#?}");
        assert!(matches!(&items[0], Item::Prompt { .. }));
        assert!(matches!(&items[1], Item::Text { text } if text == "I'll run that command."));
        assert!(matches!(&items[2], Item::ToolCall { name, .. } if name == "Bash"));
        assert!(
            matches!(&items[3], Item::ToolResult { parts, is_error: false, .. } if parts == &vec![Part::Text("hi".into())])
        );
        assert!(matches!(&items[4], Item::Text { text } if text == "The command printed: hi"));
    }

    #[test]
    fn failing_result_is_an_error_and_thinking_is_read() {
        let items = items("tests/fixtures/parallel_tools/transcript.jsonl");
        assert!(
            items
                .iter()
                .any(|i| matches!(i, Item::ToolResult { is_error: true, .. }))
        );
        assert!(items.iter().any(|i| matches!(i, Item::Thinking { .. })));
    }

    #[test]
    fn agent_result_names_its_subagent() {
        let text = std::fs::read_to_string("tests/fixtures/subagent/transcript.jsonl").unwrap();
        let spawned: Vec<_> = read_lines(&text, None)
            .into_iter()
            .filter_map(|e| e.spawned_agent)
            .collect();
        assert_eq!(spawned, vec!["ad2fc5f300eb647a3".to_owned()]);
    }

    #[test]
    fn project_folder_names_match_claude_code() {
        assert_eq!(
            project_folder_name("/home/user/project"),
            "-home-user-project"
        );
        assert_eq!(
            project_folder_name("/home/user/my_app.v2"),
            "-home-user-my-app-v2"
        );
        assert_eq!(project_folder_name("/a/😀"), "-a---");
        let long = format!("/{}", "x".repeat(300));
        let name = project_folder_name(&long);
        assert!(name.starts_with(&format!("-{}", "x".repeat(199))));
        assert_eq!(name.len(), 200 + 1 + name.rsplit('-').next().unwrap().len());
    }

    #[test]
    fn lines_come_after_their_parent_whatever_the_file_order() {
        let line = |uuid: &str, parent: Option<&str>, text: &str| {
            serde_json::json!({
                "type": "user", "uuid": uuid, "parentUuid": parent,
                "message": {"role": "user", "content": text},
            })
            .to_string()
        };
        let prompts = |lines: &[String]| -> Vec<String> {
            read_lines(&lines.join("\n"), None)
                .into_iter()
                .map(|e| joined_text_of(&e.record.item))
                .collect()
        };
        // A child before its parent, and a grandchild before both.
        let tui = [
            line("c", Some("b"), "3"),
            line("a", None, "1"),
            line("d", Some("c"), "4"),
            line("b", Some("a"), "2"),
            line("e", Some("x"), "5"),
        ];
        assert_eq!(prompts(&tui), ["1", "2", "3", "4", "5"]);
        // A cycle (not written by Claude Code) keeps file order and loses nothing.
        let cycle = [line("a", Some("b"), "1"), line("b", Some("a"), "2")];
        assert_eq!(prompts(&cycle), ["1", "2"]);
    }

    fn joined_text_of(item: &Item) -> String {
        match item {
            Item::Prompt { parts } => crate::model::joined_text(parts),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn built_in_command_echoes_are_not_prompts() {
        let user = |text: &str| {
            serde_json::json!({"type": "user", "message": {"role": "user", "content": text}})
                .to_string()
        };
        for echo in [
            "<command-name>/exit</command-name>\n<command-message>exit</command-message>\n<command-args></command-args>",
            "<command-message>compact</command-message>\n<command-name>/compact</command-name>",
            "<local-command-stdout>Goodbye!</local-command-stdout>",
        ] {
            assert!(read_line(&user(echo), None).is_empty(), "{echo}");
        }
        let custom = "<command-name>/review</command-name>\n<command-args>src</command-args>";
        assert_eq!(read_line(&user(custom), None).len(), 1);
    }

    #[test]
    fn garbage_and_bookkeeping_lines_give_nothing() {
        assert!(read_line("not json", None).is_empty());
        assert!(read_line(r#"{"type":"last-prompt","leafUuid":"x"}"#, None).is_empty());
        assert!(
            read_line(
                r#"{"type":"user","isMeta":true,"message":{"role":"user","content":"Continue"}}"#,
                None
            )
            .is_empty()
        );
        assert!(read_line(r#"{"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text","text":"No response requested."}]}}"#, None).is_empty());
    }
}
