//! A session as Markdown that reads well on GitHub and in a pager: front matter, then the
//! conversation, each tool call folded in a `<details>` block with its output.

use super::naming::{self, split_prompt};
use crate::model::{Item, Part, Record, joined_text};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::Path;

/// Outputs longer than this many lines keep their head and tail.
const MAX_LINES: usize = 60;
const HEAD_LINES: usize = 40;
const TAIL_LINES: usize = 15;
/// Outputs longer than this many bytes keep their head and tail.
const MAX_BYTES: usize = 8 * 1024;
const HEAD_BYTES: usize = 5 * 1024;
const TAIL_BYTES: usize = 2 * 1024;
/// A summary line longer than this is cut.
const MAX_SUMMARY: usize = 100;

/// What the front matter says about a session.
pub struct Facts<'a> {
    pub agent: &'a str,
    pub id: &'a str,
    pub title: &'a str,
    pub user: &'a str,
    pub host: &'a str,
    pub project: &'a str,
    pub started: &'a str,
    pub last_activity: &'a str,
    pub records: usize,
    pub redactions: &'a BTreeMap<String, u64>,
    pub sanitized_lines: u64,
    pub dropped: &'a BTreeMap<String, u64>,
}

pub struct Options<'a> {
    pub thinking: bool,
    /// Tool paths under it are shown relative to it.
    pub cwd: Option<&'a Path>,
    /// The Markdown file's name without `.md`: subagent files are named after it.
    pub base: &'a str,
    /// The call that started each subagent, where the agent's store says so.
    pub spawned_by: &'a HashMap<String, String>,
}

pub struct Rendered {
    pub markdown: String,
    /// `(file name, Markdown)` per subagent, in order of appearance.
    pub subagents: Vec<(String, String)>,
}

/// The file a subagent's conversation goes to, beside its session's.
pub fn subagent_file(base: &str, agent: &str) -> String {
    format!("{base}.agent-{}.md", naming::name_segment(agent))
}

pub fn session(facts: &Facts, records: &[Record], options: &Options) -> Rendered {
    let results = results_by_call(records);
    let links = subagent_links(records, options.spawned_by);
    let mut out = front_matter(facts, None);
    let _ = writeln!(out, "# {}\n", one_line(facts.title));
    let main: Vec<&Record> = records.iter().filter(|r| r.agent.is_none()).collect();
    conversation(&mut out, &main, &results, &links, options);
    let linked: Vec<&String> = links.values().flatten().collect();
    let mut subagents = Vec::new();
    let mut order: Vec<&str> = Vec::new();
    for record in records {
        if let Some(agent) = record.agent.as_deref() {
            if !order.contains(&agent) {
                order.push(agent);
            }
        }
    }
    let unlinked: Vec<&&str> = order
        .iter()
        .filter(|a| !linked.iter().any(|l| l.as_str() == **a))
        .collect();
    if !unlinked.is_empty() {
        out.push_str("## Subagents\n\n");
        for agent in unlinked {
            let file = subagent_file(options.base, agent);
            let _ = writeln!(out, "- [{agent}]({})", link(&file));
        }
        out.push('\n');
    }
    for agent in order {
        let own: Vec<&Record> = records
            .iter()
            .filter(|r| r.agent.as_deref() == Some(agent))
            .collect();
        let mut text = front_matter(facts, Some(agent));
        let _ = writeln!(
            text,
            "# Subagent {agent}\n\nOf [{}]({}).\n",
            one_line(facts.title),
            link(&format!("{}.md", options.base))
        );
        conversation(&mut text, &own, &results, &HashMap::new(), options);
        subagents.push((subagent_file(options.base, agent), finish(text)));
    }
    Rendered {
        markdown: finish(out),
        subagents,
    }
}

/// One trailing newline, no trailing blank lines.
fn finish(mut text: String) -> String {
    let trimmed = text.trim_end().len();
    text.truncate(trimmed);
    text.push('\n');
    text
}

fn front_matter(facts: &Facts, subagent: Option<&str>) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let mut out = String::from("---\n");
    let _ = writeln!(out, "agent: {}", facts.agent);
    let _ = writeln!(out, "session: {}", q(facts.id));
    if let Some(subagent) = subagent {
        let _ = writeln!(out, "subagent: {}", q(subagent));
    }
    let _ = writeln!(out, "title: {}", q(&one_line(facts.title)));
    let _ = writeln!(out, "user: {}", q(facts.user));
    let _ = writeln!(out, "host: {}", q(facts.host));
    let _ = writeln!(out, "project: {}", q(facts.project));
    let _ = writeln!(out, "started: {}", q(facts.started));
    let _ = writeln!(out, "last_activity: {}", q(facts.last_activity));
    if subagent.is_none() {
        let _ = writeln!(out, "records: {}", facts.records);
        let _ = writeln!(out, "redactions: {}", counts(facts.redactions));
        let _ = writeln!(out, "sanitized_lines: {}", facts.sanitized_lines);
        if !facts.dropped.is_empty() {
            let _ = writeln!(out, "dropped_by_reader: {}", counts(facts.dropped));
        }
    }
    out.push_str("---\n\n");
    out
}

/// A count map as a YAML flow mapping (`{}` when empty).
fn counts(map: &BTreeMap<String, u64>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {v}",
                serde_json::to_string(k).expect("strings serialise")
            )
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Results by the call they answer.
fn results_by_call(records: &[Record]) -> HashMap<&str, &Record> {
    records
        .iter()
        .filter_map(|r| match &r.item {
            Item::ToolResult { id, .. } => Some((id.as_str(), r)),
            _ => None,
        })
        .collect()
}

/// Which subagents each main call started: the store's word where it has one, else the main
/// call still waiting for its result when the subagent's first record appears (that is
/// where subagent records sit in the normalized conversation).
fn subagent_links(
    records: &[Record],
    spawned_by: &HashMap<String, String>,
) -> HashMap<String, Vec<String>> {
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    let mut open: Vec<&str> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for record in records {
        match (&record.agent, &record.item) {
            (None, Item::ToolCall { id, .. }) => open.push(id),
            (None, Item::ToolResult { id, .. }) => open.retain(|c| c != id),
            (Some(agent), _) if !seen.contains(&agent.as_str()) => {
                seen.push(agent);
                let call = spawned_by
                    .get(agent)
                    .map(String::as_str)
                    .or(open.last().copied());
                if let Some(call) = call {
                    links
                        .entry(call.to_owned())
                        .or_default()
                        .push(agent.clone());
                }
            }
            _ => {}
        }
    }
    links
}

fn conversation(
    out: &mut String,
    records: &[&Record],
    results: &HashMap<&str, &Record>,
    links: &HashMap<String, Vec<String>>,
    options: &Options,
) {
    let mut speaker = None;
    let mut heading = |out: &mut String, who: &'static str, record: &Record| {
        if speaker != Some(who) {
            speaker = Some(who);
            match record.timestamp.as_deref().map(short_time) {
                Some(time) => {
                    // Plain text after the name: reads the same on GitHub and in a pager.
                    let _ = writeln!(out, "## {who} · {time}\n");
                }
                None => {
                    let _ = writeln!(out, "## {who}\n");
                }
            }
        }
    };
    let called: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.item {
            Item::ToolCall { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    for record in records {
        match &record.item {
            Item::Prompt { parts } => {
                let prompt = split_prompt(&joined_text(parts));
                heading(out, "User", record);
                if let Some(command) = prompt.command() {
                    let _ = writeln!(out, "*Ran `{}`*\n", command.replace('`', "'"));
                }
                if !prompt.words.is_empty() {
                    let _ = writeln!(out, "{}\n", prompt.words);
                }
                images(out, parts);
                let context: Vec<&(String, String)> = prompt
                    .injected
                    .iter()
                    .filter(|(tag, _)| !tag.starts_with("command-"))
                    .collect();
                if !context.is_empty() {
                    let tags: Vec<&str> = context.iter().map(|(t, _)| t.as_str()).collect();
                    let _ = writeln!(
                        out,
                        "<details><summary>Context added by the agent: {}</summary>\n",
                        escape(&tags.join(", "))
                    );
                    for (tag, text) in context {
                        let _ = writeln!(out, "{tag}:\n\n{}\n", fenced("text", &limit(text)));
                    }
                    out.push_str("</details>\n\n");
                }
            }
            Item::Text { text } => {
                heading(out, "Assistant", record);
                let _ = writeln!(out, "{}\n", text.trim());
            }
            Item::Thinking { text } => {
                if options.thinking && !text.trim().is_empty() {
                    heading(out, "Assistant", record);
                    let _ = writeln!(
                        out,
                        "<details><summary>Thinking</summary>\n\n{}\n\n</details>\n",
                        text.trim()
                    );
                }
            }
            Item::ToolCall { id, name, input } => {
                heading(out, "Assistant", record);
                let result = results.get(id.as_str()).copied();
                tool_call(out, name, input, result, links.get(id), options);
            }
            Item::ToolResult {
                id,
                parts,
                is_error,
            } => {
                if !called.contains(&id.as_str()) {
                    heading(out, "Assistant", record);
                    let flag = if *is_error { " (error)" } else { "" };
                    let _ = writeln!(
                        out,
                        "<details><summary>Result of an earlier call{flag}</summary>\n\n{}\n</details>\n",
                        output_block(parts)
                    );
                }
            }
        }
    }
}

fn images(out: &mut String, parts: &[Part]) {
    for part in parts {
        if let Part::Image(image) = part {
            let _ = writeln!(
                out,
                "*[image: {}, {} KB]*\n",
                image.media_type,
                image.data.len() * 3 / 4 / 1024
            );
        }
    }
}

fn tool_call(
    out: &mut String,
    name: &str,
    input: &Value,
    result: Option<&Record>,
    subagents: Option<&Vec<String>>,
    options: &Options,
) {
    let error = matches!(
        result,
        Some(Record {
            item: Item::ToolResult { is_error: true, .. },
            ..
        })
    );
    let summary = summary(name, input, options.cwd);
    let _ = write!(out, "<details><summary>{}", escape(name));
    if !summary.is_empty() {
        let _ = write!(out, ": <code>{}</code>", escape(&summary));
    }
    if error {
        out.push_str(" (error)");
    }
    out.push_str("</summary>\n\n");
    let input = input_block(name, input);
    if !input.is_empty() {
        out.push_str(&input);
        out.push('\n');
    }
    for agent in subagents.into_iter().flatten() {
        let file = subagent_file(options.base, agent);
        let _ = writeln!(out, "Subagent's conversation: [{agent}]({})\n", link(&file));
    }
    match result {
        Some(Record {
            item: Item::ToolResult { parts, .. },
            ..
        }) => {
            out.push_str(if error { "Error:\n\n" } else { "Output:\n\n" });
            out.push_str(&output_block(parts));
        }
        _ => out.push_str("*No result recorded.*\n"),
    }
    out.push_str("\n</details>\n\n");
}

/// The line that says what a call did: the command, the file, the pattern.
pub(super) fn summary(name: &str, input: &Value, cwd: Option<&Path>) -> String {
    let field = |key: &str| input.get(key).and_then(Value::as_str);
    let path = |p: &str| match cwd.and_then(|cwd| Path::new(p).strip_prefix(cwd).ok()) {
        Some(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
        Some(rel) => rel.display().to_string(),
        None => p.to_owned(),
    };
    let text = if let Some(patch) = patch_text(name, input) {
        let files: Vec<&str> = patch
            .lines()
            .filter_map(|l| {
                ["*** Update File: ", "*** Add File: ", "*** Delete File: "]
                    .iter()
                    .find_map(|p| l.strip_prefix(p))
            })
            .collect();
        files.iter().map(|f| path(f)).collect::<Vec<_>>().join(", ")
    } else if let Some(file) = field("file_path")
        .or(field("notebook_path"))
        .or(field("path"))
    {
        let mut text = path(file);
        if let Some(pattern) = field("pattern") {
            text = format!("{pattern} in {text}");
        }
        text
    } else {
        [
            "command",
            "pattern",
            "query",
            "url",
            "description",
            "prompt",
            "skill",
        ]
        .iter()
        .find_map(|k| field(k))
        .unwrap_or("")
        .to_owned()
    };
    let line = one_line(&text);
    cut(&line, MAX_SUMMARY)
}

fn patch_text<'v>(name: &str, input: &'v Value) -> Option<&'v str> {
    if name != "apply_patch" {
        return None;
    }
    input
        .as_str()
        .or_else(|| input.get("input").and_then(Value::as_str))
        .or_else(|| input.get("patch").and_then(Value::as_str))
}

fn input_block(name: &str, input: &Value) -> String {
    let field = |key: &str| input.get(key).and_then(Value::as_str);
    if let Some(patch) = patch_text(name, input) {
        return fenced("diff", &limit(patch));
    }
    match name {
        "Bash" if field("command").is_some() => {
            let mut text = fenced("sh", &limit(field("command").unwrap_or("")));
            if let Some(description) = field("description") {
                text = format!("{}\n\n{text}", one_line(description));
            }
            text
        }
        "Write" if field("content").is_some() => fenced("", &limit(field("content").unwrap_or(""))),
        "Edit" if field("old_string").is_some() => {
            let mut diff = String::new();
            for line in field("old_string").unwrap_or("").lines() {
                let _ = writeln!(diff, "-{line}");
            }
            for line in field("new_string").unwrap_or("").lines() {
                let _ = writeln!(diff, "+{line}");
            }
            fenced("diff", &limit(&diff))
        }
        "Agent" | "Task" if field("prompt").is_some() => {
            fenced("text", &limit(field("prompt").unwrap_or("")))
        }
        // One short argument (Read's file, Glob's pattern) is all in the summary line already.
        _ if input.as_object().is_some_and(|o| {
            o.len() == 1
                && o.values().all(|v| {
                    v.as_str()
                        .is_some_and(|s| s.len() < MAX_SUMMARY && !s.contains('\n'))
                })
        }) =>
        {
            String::new()
        }
        _ => {
            let pretty = serde_json::to_string_pretty(input).unwrap_or_default();
            fenced("json", &limit(&pretty))
        }
    }
}

fn output_block(parts: &[Part]) -> String {
    let text = joined_text(parts);
    let mut out = if text.trim().is_empty() && parts.iter().all(|p| p.text().is_some()) {
        "*(no output)*\n".to_owned()
    } else if text.trim().is_empty() {
        String::new()
    } else {
        fenced("text", &limit(&text))
    };
    images(&mut out, parts);
    out
}

/// `text` cut to its head and tail when long, with what was left out said in between.
pub(super) fn limit(text: &str) -> String {
    let text = text.trim_end_matches('\n');
    let lines: Vec<&str> = text.lines().collect();
    let by_lines = if lines.len() > MAX_LINES {
        let omitted = lines.len() - HEAD_LINES - TAIL_LINES;
        format!(
            "{}\n[… {omitted} lines not shown …]\n{}",
            lines[..HEAD_LINES].join("\n"),
            lines[lines.len() - TAIL_LINES..].join("\n")
        )
    } else {
        text.to_owned()
    };
    if by_lines.len() <= MAX_BYTES {
        return by_lines;
    }
    let head = floor(&by_lines, HEAD_BYTES);
    let tail = ceil(&by_lines, by_lines.len() - TAIL_BYTES);
    format!(
        "{}\n[… {} bytes not shown …]\n{}",
        &by_lines[..head],
        tail - head,
        &by_lines[tail..]
    )
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A fenced block whose fence is longer than any run of backticks inside.
fn fenced(lang: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{lang}\n{}\n{fence}\n", text.trim_end_matches('\n'))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A file name as a relative Markdown link target.
fn link(file: &str) -> String {
    format!("./{}", file.replace(' ', "%20"))
}

/// `2025-01-15T10:00:05.123Z` as `2025-01-15 10:00:05Z`.
fn short_time(timestamp: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(timestamp) {
        Ok(time) => time
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%SZ")
            .to_string(),
        Err(_) => timestamp.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_keeps_head_and_tail() {
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let out = limit(&text);
        assert!(out.starts_with("line 1\n"));
        assert!(out.ends_with("line 100"));
        assert!(out.contains("[… 45 lines not shown …]"));
        let wide = "é".repeat(10_000);
        assert!(limit(&wide).contains("bytes not shown"));
    }

    #[test]
    fn fences_outlast_backticks_inside() {
        assert_eq!(fenced("", "a ```` b"), "`````\na ```` b\n`````\n");
    }

    #[test]
    fn summaries_name_the_command_or_file() {
        let cwd = Path::new("/p");
        let s = |name: &str, input: Value| summary(name, &input, Some(cwd));
        assert_eq!(
            s("Bash", serde_json::json!({"command": "ls\n-la"})),
            "ls -la"
        );
        assert_eq!(
            s("Read", serde_json::json!({"file_path": "/p/src/a.rs"})),
            "src/a.rs"
        );
        assert_eq!(
            s(
                "apply_patch",
                serde_json::json!({"input": "*** Begin Patch\n*** Update File: /p/x.rs\n"})
            ),
            "x.rs"
        );
        assert_eq!(s("Other", serde_json::json!({"n": 1})), "");
    }
}
