//! Renders a PostToolUse `tool_response` (structured) into the text Claude Code's model sees.
//!
//! PostToolUse runs before Claude Code builds the tool_result, so the model-facing text is not
//! available yet. These rules reproduce Claude Code 2.1.197's own rendering (its
//! `mapToolResultToToolResultBlockParam` functions), checked call by call against PostToolBatch
//! and transcripts of the real CLI. Tools without a rule fall back to their raw output.

use crate::model::{Image, Part};
use serde_json::Value;
use std::path::Path;

/// What the rendering needs beyond the tool response.
pub struct Call<'a> {
    pub tool: &'a str,
    pub tool_use_id: &'a str,
    pub session_id: &'a str,
    /// The main transcript; large outputs are saved next to it.
    pub transcript_path: &'a Path,
    pub cwd: &'a Path,
}

/// The parts the model saw for a successful call that returned `response`.
pub fn tool_output(call: &Call, response: &Value) -> Vec<Part> {
    let parts = match (call.tool, response) {
        (_, Value::String(text)) => vec![Part::Text(text.clone())],
        ("Bash", Value::Object(_)) => bash(call, response),
        ("Read", Value::Object(_)) if str_of(response, "type") == "notebook" => notebook(response),
        ("Agent" | "Task", Value::Object(_))
            if response.get("content").is_some_and(Value::is_array) =>
        {
            agent(response)
        }
        (tool, Value::Object(_)) => match text_of(tool, response) {
            Some(text) => vec![Part::Text(text)],
            None => raw(response),
        },
        _ => raw(response),
    };
    finish(call, parts)
}

/// The parts the model saw for a failed call: PostToolUseFailure's `error` is that text.
pub fn tool_error(error: &Value) -> Vec<Part> {
    match error {
        Value::String(text) => vec![Part::Text(text.clone())],
        other => raw(other),
    }
}

const TODO_WRITE: &str = "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable";
const FILE_STATE_NOTE: &str = " (file state is current in your context — no need to Read it back)";
const USER_MODIFIED_WRITE: &str = " The user modified your proposed content before accepting it.";
const STALE_RECOVERED: &str = " (note: the file had been modified on disk since you last read it — the edit applied cleanly, but the file contains other changes not in your context. Read it before edits that depend on surrounding content.)";

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool) == Some(true)
}

fn number(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

fn strings<'v>(value: &'v Value, key: &str) -> Vec<&'v str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn text_of(tool: &str, response: &Value) -> Option<String> {
    match tool {
        "Read" => read(response),
        "Write" => write(response),
        "Edit" => edit(response),
        "Glob" => glob(response),
        "Grep" => grep(response),
        "TodoWrite" => Some(TODO_WRITE.to_owned()),
        "NotebookEdit" => notebook_edit(response),
        "WebFetch" => response
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_owned),
        "TaskCreate" => {
            let task = response.get("task")?;
            Some(format!(
                "Task #{} created successfully: {}",
                str_of(task, "id"),
                str_of(task, "subject")
            ))
        }
        "TaskList" => task_list(response),
        "TaskGet" => task_get(response),
        "TaskUpdate" => task_update(response),
        _ => None,
    }
}

fn bash(call: &Call, response: &Value) -> Vec<Part> {
    let stdout = str_of(response, "stdout");
    if flag(response, "isImage") {
        if let Some(image) = data_url_image(stdout) {
            return vec![Part::Image(image)];
        }
    }
    let mut out = trim_end_js(strip_leading_blank_lines(stdout)).to_owned();
    if let Some(path) = response.get("persistedOutputPath").and_then(Value::as_str) {
        let size = number(response, "persistedOutputSize").unwrap_or(0);
        out = persisted(path, size, &out);
    }
    let stderr = str_of(response, "stderr");
    let mut err = stderr.trim().to_owned();
    if flag(response, "interrupted") {
        if !stderr.is_empty() {
            err.push('\n');
        }
        err.push_str("<error>Command was aborted before completion</error>");
    }
    let background = match response.get("backgroundTaskId").and_then(Value::as_str) {
        Some(id) => {
            let output = background_output_path(call, id);
            if flag(response, "backgroundedByUser") {
                format!(
                    "Command was manually backgrounded by user with ID: {id}. Output is being written to: {output}"
                )
            } else {
                format!(
                    "Command running in background with ID: {id}. Output is being written to: {output}. You will be notified when it completes. To check interim output, use Read on that file path."
                )
            }
        }
        None => String::new(),
    };
    let pieces = [
        out.as_str(),
        err.as_str(),
        background.as_str(),
        str_of(response, "staleReadFileStateHint"),
        str_of(response, "ghRateLimitHint"),
    ];
    let text: Vec<&str> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
    vec![Part::Text(text.join("\n"))]
}

/// `/^(\s*\n)+/` removed: leading lines that hold only white space.
fn strip_leading_blank_lines(text: &str) -> &str {
    let blank_prefix = text.len() - text.trim_start().len();
    match text[..blank_prefix].rfind('\n') {
        Some(newline) => &text[newline + 1..],
        None => text,
    }
}

/// JavaScript's `trimEnd` (white space and the byte order mark).
fn trim_end_js(text: &str) -> &str {
    text.trim_end_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Where Claude Code writes a background command's output (not in the payload).
fn background_output_path(call: &Call, id: &str) -> String {
    let base = std::env::var_os("CLAUDE_CODE_TMPDIR")
        .or_else(|| std::env::var_os("TMPDIR"))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let dir = base.join(format!("claude-{uid}"));
    let dir = dir.canonicalize().unwrap_or(dir);
    let cwd = super::project_folder_name(&call.cwd.to_string_lossy());
    format!(
        "{}/{cwd}/{}/tasks/{id}.output",
        dir.display(),
        call.session_id
    )
}

fn data_url_image(text: &str) -> Option<Image> {
    let rest = text.trim().strip_prefix("data:")?;
    let (media_type, data) = rest.split_once(";base64,")?;
    media_type.starts_with("image/").then(|| Image {
        media_type: media_type.to_owned(),
        data: data.to_owned(),
    })
}

fn read(response: &Value) -> Option<String> {
    let file = response.get("file")?;
    match str_of(response, "type") {
        "text" => {
            let content = file.get("content")?.as_str()?;
            let start = number(file, "startLine").unwrap_or(1);
            if !content.is_empty() {
                let numbered: Vec<String> = content
                    .split('\n')
                    .enumerate()
                    .map(|(i, line)| format!("{}\t{}", start + i as u64, line.strip_suffix('\r').unwrap_or(line)))
                    .collect();
                Some(numbered.join("\n"))
            } else if number(file, "totalLines") == Some(0) {
                Some("<system-reminder>Warning: the file exists but the contents are empty.</system-reminder>".to_owned())
            } else {
                Some(format!(
                    "<system-reminder>Warning: the file exists but is shorter than the provided offset ({start}). The file has {} lines.</system-reminder>",
                    number(file, "totalLines").unwrap_or(0)
                ))
            }
        }
        "file_unchanged" => Some("Wasted call — file unchanged since your last Read. Refer to that earlier tool_result instead.".to_owned()),
        "pdf" => Some(format!(
            "PDF file read: {} ({})",
            str_of(file, "filePath"),
            human_size(number(file, "originalSize").unwrap_or(0))
        )),
        _ => None,
    }
}

/// A notebook read: one block per cell and per output, adjacent text blocks merged.
fn notebook(response: &Value) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut push = |part: Part| match (parts.last_mut(), part) {
        (Some(Part::Text(last)), Part::Text(text)) => {
            last.push('\n');
            last.push_str(&text);
        }
        (_, part) => parts.push(part),
    };
    let cells = response.pointer("/file/cells").and_then(Value::as_array);
    for cell in cells.into_iter().flatten() {
        let id = str_of(cell, "cell_id");
        let kind = str_of(cell, "cellType");
        let language = str_of(cell, "language");
        let meta = match kind {
            "code" if language != "python" => format!("<language>{language}</language>"),
            "code" => String::new(),
            other => format!("<cell_type>{other}</cell_type>"),
        };
        push(Part::Text(format!(
            "<cell id=\"{id}\">{meta}{}</cell id=\"{id}\">",
            str_of(cell, "source")
        )));
        for output in cell
            .get("outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = str_of(output, "text");
            if !text.is_empty() {
                push(Part::Text(format!("\n{text}")));
            }
            if let Some(image) = output.get("image") {
                push(Part::Image(Image {
                    media_type: str_of(image, "media_type").to_owned(),
                    data: str_of(image, "image_data").to_owned(),
                }));
            }
        }
    }
    parts
}

fn write(response: &Value) -> Option<String> {
    let path = response.get("filePath")?.as_str()?;
    let tail = if flag(response, "userModified") {
        USER_MODIFIED_WRITE
    } else {
        FILE_STATE_NOTE
    };
    Some(match str_of(response, "type") {
        "create" => format!("File created successfully at: {path}{tail}"),
        _ => format!("The file {path} has been updated successfully.{tail}"),
    })
}

fn edit(response: &Value) -> Option<String> {
    let path = response.get("filePath")?.as_str()?;
    let user_modified = flag(response, "userModified");
    let note = if user_modified {
        ".  The user modified your proposed changes before accepting them. "
    } else {
        ""
    };
    let tail = if flag(response, "staleRecovered") {
        STALE_RECOVERED
    } else if user_modified {
        ""
    } else {
        FILE_STATE_NOTE
    };
    Some(if flag(response, "replaceAll") {
        format!(
            "The file {path} has been updated{note}. All occurrences were successfully replaced.{tail}"
        )
    } else {
        format!("The file {path} has been updated successfully{note}.{tail}")
    })
}

fn glob(response: &Value) -> Option<String> {
    let names = strings(response, "filenames");
    if names.is_empty() {
        return Some("No files found".to_owned());
    }
    let mut text = names.join("\n");
    if flag(response, "truncated") {
        let shown = names.len() as u64;
        let note = match number(response, "totalMatches") {
            None => "(Results are truncated. Consider using a more specific path or pattern.)"
                .to_owned(),
            Some(total) if flag(response, "countIsComplete") => format!(
                "(Showing {shown} of {total} matching files; {} more are not listed. Narrow the pattern or path to see the rest.)",
                total.saturating_sub(shown)
            ),
            Some(total) => format!(
                "(Showing the first {shown} files; there are more than {total} matches. Narrow the pattern or path to see the rest.)"
            ),
        };
        text.push('\n');
        text.push_str(&note);
    }
    Some(text)
}

fn grep(response: &Value) -> Option<String> {
    let mut pagination = Vec::new();
    if let Some(limit) = number(response, "appliedLimit") {
        pagination.push(format!("limit: {limit}"));
    }
    if let Some(offset) = number(response, "appliedOffset").filter(|o| *o != 0) {
        pagination.push(format!("offset: {offset}"));
    }
    let pagination = pagination.join(", ");
    let content = match str_of(response, "content") {
        "" => "No matches found",
        content => content,
    };
    Some(
        match response
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("files_with_matches")
        {
            "content" if pagination.is_empty() => content.to_owned(),
            "content" => format!("{content}\n\n[Showing results with pagination = {pagination}]"),
            "count" => {
                let matches = number(response, "numMatches").unwrap_or(0);
                let files = number(response, "numFiles").unwrap_or(0);
                let suffix = if pagination.is_empty() {
                    String::new()
                } else {
                    format!(" with pagination = {pagination}")
                };
                let word = if matches == 1 {
                    "occurrence"
                } else {
                    "occurrences"
                };
                format!(
                    "{content}\n\nFound {matches} total {word} across {}.{suffix}",
                    plural(files, "file", "files")
                )
            }
            _ => {
                let files = number(response, "numFiles").unwrap_or(0);
                if files == 0 {
                    "No files found".to_owned()
                } else {
                    let suffix = if pagination.is_empty() {
                        String::new()
                    } else {
                        format!(" {pagination}")
                    };
                    format!(
                        "Found {}{suffix}\n{}",
                        plural(files, "file", "files"),
                        strings(response, "filenames").join("\n")
                    )
                }
            }
        },
    )
}

fn notebook_edit(response: &Value) -> Option<String> {
    let error = str_of(response, "error");
    if !error.is_empty() {
        return Some(error.to_owned());
    }
    let cell = str_of(response, "cell_id");
    let source = str_of(response, "new_source");
    Some(match str_of(response, "edit_mode") {
        "replace" => format!("Updated cell {cell} with {source}"),
        "insert" => format!("Inserted cell {cell} with {source}"),
        "delete" => format!("Deleted cell {cell}"),
        _ => "Unknown edit mode".to_owned(),
    })
}

fn task_list(response: &Value) -> Option<String> {
    let tasks = response.get("tasks")?.as_array()?;
    if tasks.is_empty() {
        return Some("No tasks found".to_owned());
    }
    let lines: Vec<String> = tasks
        .iter()
        .map(|task| {
            let mut line = format!(
                "#{} [{}] {}",
                str_of(task, "id"),
                str_of(task, "status"),
                str_of(task, "subject")
            );
            let owner = str_of(task, "owner");
            if !owner.is_empty() {
                line.push_str(&format!(" ({owner})"));
            }
            let blocked = strings(task, "blockedBy");
            if !blocked.is_empty() {
                let ids: Vec<String> = blocked.iter().map(|id| format!("#{id}")).collect();
                line.push_str(&format!(" [blocked by {}]", ids.join(", ")));
            }
            line
        })
        .collect();
    Some(lines.join("\n"))
}

fn task_get(response: &Value) -> Option<String> {
    let task = response.get("task")?;
    if task.is_null() {
        return Some("Task not found".to_owned());
    }
    let mut text = format!(
        "Task #{}: {}\nStatus: {}\nDescription: {}",
        str_of(task, "id"),
        str_of(task, "subject"),
        str_of(task, "status"),
        str_of(task, "description")
    );
    for (key, label) in [("blockedBy", "Blocked by"), ("blocks", "Blocks")] {
        let ids = strings(task, key);
        if !ids.is_empty() {
            let ids: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
            text.push_str(&format!("\n{label}: {}", ids.join(", ")));
        }
    }
    Some(text)
}

fn task_update(response: &Value) -> Option<String> {
    let id = str_of(response, "taskId");
    if !flag(response, "success") {
        let error = str_of(response, "error");
        return Some(if error.is_empty() {
            format!("Task #{id} not found")
        } else {
            error.to_owned()
        });
    }
    Some(format!(
        "Updated task #{id} {}",
        strings(response, "updatedFields").join(", ")
    ))
}

fn agent(response: &Value) -> Vec<Part> {
    let mut parts: Vec<Part> = response["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .map(|t| Part::Text(t.to_owned()))
        .collect();
    if let Some(id) = response.get("agentId").and_then(Value::as_str) {
        parts.push(Part::Text(format!(
            "agentId: {id} (use SendMessage with to: '{id}', summary: '<5-10 word recap>' to continue this agent)\n<usage>subagent_tokens: {}\ntool_uses: {}\nduration_ms: {}</usage>",
            number(response, "totalTokens").unwrap_or(0),
            number(response, "totalToolUseCount").unwrap_or(0),
            number(response, "totalDurationMs").unwrap_or(0),
        )));
    }
    parts
}

/// Tools without a rule: text blocks (MCP style), a string, or the raw JSON.
fn raw(response: &Value) -> Vec<Part> {
    if let Value::Array(blocks) = response {
        let texts: Vec<Part> = blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(|t| Part::Text(t.to_owned()))
            .collect();
        if texts.len() == blocks.len() {
            return texts;
        }
    }
    match response {
        Value::String(text) => vec![Part::Text(text.clone())],
        Value::Null => Vec::new(),
        other => vec![Part::Text(other.to_string())],
    }
}

/// Claude Code's last step for every tool: an empty result says so; a result over the tool's
/// limit is saved to a file and replaced by a preview.
fn finish(call: &Call, parts: Vec<Part>) -> Vec<Part> {
    let texts_only = parts.iter().all(|p| matches!(p, Part::Text(_)));
    let blank = parts
        .iter()
        .all(|p| matches!(p, Part::Text(t) if t.trim().is_empty()));
    if blank {
        return vec![Part::Text(format!(
            "({} completed with no output)",
            call.tool
        ))];
    }
    let Some(limit) = persist_limit(call.tool) else {
        return parts;
    };
    let length: usize = parts
        .iter()
        .filter_map(Part::text)
        .map(|t| t.encode_utf16().count())
        .sum();
    if !texts_only || length <= limit {
        return parts;
    }
    let extension = if parts.len() > 1 { "json" } else { "txt" };
    let text: String = parts
        .iter()
        .filter_map(Part::text)
        .collect::<Vec<_>>()
        .join("\n");
    let stem = call.transcript_path.with_extension("");
    let path = format!(
        "{}/tool-results/{}.{extension}",
        stem.display(),
        call.tool_use_id
    );
    vec![Part::Text(persisted(&path, length as u64, &text))]
}

/// Characters (UTF-16 units) over which Claude Code saves a tool's result to a file.
fn persist_limit(tool: &str) -> Option<usize> {
    match tool {
        "Read" => None,
        "Bash" => Some(30_000),
        "Grep" => Some(20_000),
        _ => Some(50_000),
    }
}

/// The `<persisted-output>` preview that replaces an oversized result.
fn persisted(path: &str, size: u64, text: &str) -> String {
    const PREVIEW_UNITS: usize = 2000;
    let head = utf16_prefix(text, PREVIEW_UNITS);
    let (preview, more) = if head.len() == text.len() {
        (text, false)
    } else {
        let cut = head
            .rfind('\n')
            .filter(|&i| head[..i].encode_utf16().count() > 1000);
        (cut.map_or(head, |i| &head[..i]), true)
    };
    format!(
        "<persisted-output>\nOutput too large ({}). Full output saved to: {path}\n\nPreview (first 2KB):\n{preview}{}</persisted-output>",
        human_size(size),
        if more { "\n...\n" } else { "\n" }
    )
}

/// The longest prefix of `text` at most `units` UTF-16 units long.
fn utf16_prefix(text: &str, units: usize) -> &str {
    let mut count = 0;
    for (index, c) in text.char_indices() {
        count += c.len_utf16();
        if count > units {
            return &text[..index];
        }
    }
    text
}

/// Claude Code's sizes: `512 bytes`, `39.1KB`, `2KB`, `1.5MB` (one decimal, rounded half up).
fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut unit_size: u128 = 1024;
    for unit in ["KB", "MB", "GB"] {
        if (bytes as u128) < unit_size * 1024 || unit == "GB" {
            let tenths = (bytes as u128 * 20 + unit_size) / (unit_size * 2);
            return if tenths % 10 == 0 {
                format!("{}{unit}", tenths / 10)
            } else {
                format!("{}.{}{unit}", tenths / 10, tenths % 10)
            };
        }
        unit_size *= 1024;
    }
    unreachable!("the GB arm always returns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(tool: &str, response: Value) -> String {
        let call = Call {
            tool,
            tool_use_id: "toolu_1",
            session_id: "s1",
            transcript_path: Path::new("/h/.claude/projects/-p/s1.jsonl"),
            cwd: Path::new("/p"),
        };
        crate::model::joined_text(&tool_output(&call, &response))
    }

    #[test]
    fn bash_folds_notes_and_says_when_empty() {
        assert_eq!(
            render("Bash", json!({"stdout": "out\nerr", "stderr": ""})),
            "out\nerr"
        );
        assert_eq!(
            render("Bash", json!({"stdout": "", "stderr": ""})),
            "(Bash completed with no output)"
        );
        assert_eq!(
            render(
                "Bash",
                json!({"stdout": "/tmp", "stderr": "\nShell cwd was reset to /p"})
            ),
            "/tmp\nShell cwd was reset to /p"
        );
        assert_eq!(
            render("Bash", json!({"stdout": "\n\n  lead  \n", "stderr": ""})),
            "  lead"
        );
    }

    #[test]
    fn bash_large_output_is_a_persisted_preview() {
        let stdout: String = (1..=20000)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let text = render(
            "Bash",
            json!({"stdout": stdout, "stderr": "", "persistedOutputPath": "/t/x.txt", "persistedOutputSize": 108894}),
        );
        assert!(text.starts_with("<persisted-output>\nOutput too large (106.3KB). Full output saved to: /t/x.txt\n\nPreview (first 2KB):\n1\n2\n"));
        assert!(
            text.ends_with("\n526\n527\n...\n</persisted-output>"),
            "{}",
            &text[text.len() - 60..]
        );
    }

    #[test]
    fn read_numbers_lines_and_warns_on_empty() {
        let file = |content: &str, start: u64, total: u64| json!({"type": "text", "file": {"filePath": "/p/a", "content": content, "startLine": start, "totalLines": total}});
        assert_eq!(
            render("Read", file("alpha\nbeta\n", 1, 3)),
            "1\talpha\n2\tbeta\n3\t"
        );
        assert_eq!(render("Read", file("beta", 2, 4)), "2\tbeta");
        assert_eq!(
            render("Read", file("", 1, 1)),
            "<system-reminder>Warning: the file exists but is shorter than the provided offset (1). The file has 1 lines.</system-reminder>"
        );
    }

    #[test]
    fn edit_write_glob_grep_wording() {
        assert_eq!(
            render("Edit", json!({"filePath": "/p/e", "replaceAll": true})),
            "The file /p/e has been updated. All occurrences were successfully replaced. (file state is current in your context — no need to Read it back)"
        );
        assert_eq!(
            render("Write", json!({"type": "update", "filePath": "/p/o"})),
            "The file /p/o has been updated successfully. (file state is current in your context — no need to Read it back)"
        );
        assert_eq!(
            render(
                "Glob",
                json!({"filenames": ["a"], "truncated": true, "totalMatches": 150, "countIsComplete": true})
            ),
            "a\n(Showing 1 of 150 matching files; 149 more are not listed. Narrow the pattern or path to see the rest.)"
        );
        assert_eq!(
            render(
                "Grep",
                json!({"mode": "count", "content": "a.txt:1\nb.txt:2", "numMatches": 3, "numFiles": 2})
            ),
            "a.txt:1\nb.txt:2\n\nFound 3 total occurrences across 2 files."
        );
        assert_eq!(
            render(
                "Grep",
                json!({"mode": "files_with_matches", "filenames": ["nb", "c"], "numFiles": 2, "appliedLimit": 2, "appliedOffset": 1})
            ),
            "Found 2 files limit: 2, offset: 1\nnb\nc"
        );
        assert_eq!(
            render("Grep", json!({"mode": "content", "content": ""})),
            "No matches found"
        );
    }

    #[test]
    fn oversized_results_of_other_tools_are_persisted_next_to_the_transcript() {
        let text = render(
            "Grep",
            json!({"mode": "content", "content": "x".repeat(20_001)}),
        );
        assert!(
            text.contains(
                "Full output saved to: /h/.claude/projects/-p/s1/tool-results/toolu_1.txt"
            ),
            "{text}"
        );
        assert!(text.contains("(19.5KB)"));
    }

    #[test]
    fn sizes_round_like_javascript() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(2000), "2KB");
        assert_eq!(human_size(40001), "39.1KB");
        assert_eq!(human_size(1280), "1.3KB");
        assert_eq!(human_size(3 << 20), "3MB");
    }

    #[test]
    fn unknown_tools_keep_their_raw_output() {
        assert_eq!(
            render("mcp__x__y", json!([{"type": "text", "text": "hello"}])),
            "hello"
        );
        assert_eq!(render("Mystery", json!({"a": 1})), "{\"a\":1}");
        assert_eq!(
            render("Mystery", json!("")),
            "(Mystery completed with no output)"
        );
    }
}
