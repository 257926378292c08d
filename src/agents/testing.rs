//! What the readers' tests share: the conversation each round trip carries through our
//! encoder and back, and the checks every reader must pass (same items, no drops, the same
//! rids on every read, earlier rids kept when the session grows).

use super::native::{Conversation, NativeSession};
use crate::encode::{Encoder, Lines, Opening, SessionFacts};
use crate::model::{Image, Item, Part, Record, joined_text};
use serde_json::{Value, json};
use std::path::Path;

/// A prompt, a text, two calls in one turn (the shell with a description, and another tool),
/// their results (the second an error), a final text.
pub fn conversation() -> Vec<Record> {
    [
        Item::Prompt {
            parts: vec![Part::Text("List the files".into())],
        },
        Item::Text {
            text: "Listing.".into(),
        },
        Item::ToolCall {
            id: "c1".into(),
            name: "Bash".into(),
            input: json!({"command": "ls", "description": "List"}),
        },
        Item::ToolCall {
            id: "c2".into(),
            name: "read_file".into(),
            input: json!({"file_path": "a.txt"}),
        },
        Item::ToolResult {
            id: "c1".into(),
            parts: vec![Part::Text("a.txt".into())],
            is_error: false,
        },
        Item::ToolResult {
            id: "c2".into(),
            parts: vec![Part::Text("denied".into())],
            is_error: true,
        },
        Item::Text {
            text: "One file.".into(),
        },
    ]
    .into_iter()
    .map(Record::new)
    .collect()
}

/// `conversation` with an image pasted into the prompt, for agents that carry images.
pub fn with_image(mut records: Vec<Record>) -> Vec<Record> {
    if let Item::Prompt { parts } = &mut records[0].item {
        parts.push(Part::Image(Image {
            media_type: "image/png".into(),
            data: "iVBORw0K".into(),
        }));
    }
    records
}

pub fn items(records: &[Record]) -> Vec<Item> {
    records.iter().map(|r| r.item.clone()).collect()
}

pub fn facts(cwd: &Path) -> SessionFacts<'_> {
    SessionFacts {
        preferred_id: None,
        claude_session_id: "abcdef123",
        cwd,
        title: "Files: \"ls\"",
        now: chrono::Utc::now(),
    }
}

/// A new session of `records`, written by `encoder` to its JSONL file as the store would;
/// the opening and the cursor to go on with.
pub fn write_jsonl(encoder: &dyn Encoder, cwd: &Path, records: &[Record]) -> (Opening, Value) {
    let opening = encoder.open(&facts(cwd)).unwrap();
    crate::store::side::write(&opening.side_files).unwrap();
    let mut cursor = opening.cursor.clone();
    let mut lines: Lines = opening.header.iter().collect();
    encoder.encode(records, &mut cursor, &mut lines);
    std::fs::create_dir_all(opening.path.parent().unwrap()).unwrap();
    std::fs::write(&opening.path, lines.text()).unwrap();
    (opening, cursor)
}

/// Appends what `encoder` writes for `records` to the session file at `path`.
pub fn append_jsonl(encoder: &dyn Encoder, path: &Path, cursor: &mut Value, records: &[Record]) {
    let mut lines = Lines::default();
    encoder.encode(records, cursor, &mut lines);
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    std::io::Write::write_all(&mut file, lines.text().as_bytes()).unwrap();
}

/// Reads `session` back as `expected` with nothing dropped, the same records on a second
/// read, and, once `append` has added a prompt to it, the earlier records unchanged.
pub fn round_trip(
    read: fn(&NativeSession) -> Result<Conversation, String>,
    session: &NativeSession,
    expected: &[Item],
    append: impl FnOnce(&[Record]),
) {
    let first = read(session).unwrap();
    assert_eq!(items(&first.records), expected);
    assert!(first.dropped.is_empty(), "{:?}", first.dropped);
    assert!(first.records.iter().all(|r| r.rid.is_some()));
    assert_eq!(read(session).unwrap().records, first.records);
    append(&[Record::new(Item::Prompt {
        parts: vec![Part::Text("more".into())],
    })]);
    let longer = read(session).unwrap();
    assert_eq!(longer.records[..first.records.len()], first.records[..]);
    assert_eq!(items(&longer.records[first.records.len()..]).len(), 1);
}

/// A conversation in one line per record, for comparing with what a real session held.
pub fn shape(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.item {
            Item::Prompt { parts } => format!("prompt {}", joined_text(parts)),
            Item::Text { text } => format!("text {text}"),
            Item::Thinking { text } => format!("thinking {text}"),
            Item::ToolCall { name, input, .. } => format!("call {name} {}", input["command"]),
            Item::ToolResult { is_error, .. } => format!("result error={is_error}"),
        })
        .collect()
}

/// What a conversation dropped, in order.
pub fn dropped(conversation: &Conversation) -> Vec<(&str, u64)> {
    conversation
        .dropped
        .iter()
        .map(|(what, n)| (what.as_str(), *n))
        .collect()
}

pub fn rids(conversation: &Conversation) -> Vec<&str> {
    conversation
        .records
        .iter()
        .filter_map(|r| r.rid.as_deref())
        .collect()
}

/// The conversation every native recording holds (`tests/fixtures/native/*/README.md`: the
/// mocks script the same one for each agent), in `shape`'s form.
pub const RECORDED: &[&str] = &[
    "prompt List the files, then look for a docs folder.",
    "text Listing the files.",
    r#"call Bash "ls -1""#,
    "result error=false",
    r#"call Bash "ls docs""#,
    "result error=true",
    "text The project has README.md, notes.txt and src; there is no docs folder.",
    "prompt How many lines does notes.txt have?",
    "text Counting.",
    r#"call Bash "wc -l notes.txt""#,
    "result error=false",
    "text notes.txt has 3 lines.",
];
