//! `records.jsonl`: every normalized record mirrored for a session, so that a mirror opened
//! later (a target enabled mid-session, a fork) starts with the full history.
//!
//! The session state says how many bytes of the journal are valid; bytes past that (from a
//! hook killed before it saved the state) are cut before the next append.

use super::fs;
use crate::model::Record;
use serde_json::Value;
use std::io::{self, Write};
use std::path::Path;

/// Appends `records` after the first `valid` bytes; returns the journal's new valid length.
pub fn append(path: &Path, valid: u64, records: &[Record]) -> io::Result<u64> {
    if records.is_empty() {
        return Ok(valid);
    }
    let mut data = String::new();
    for record in records {
        crate::json::write_value(&mut data, &record.to_json());
        data.push('\n');
    }
    let mut file = fs::open_append(path)?;
    if file.metadata()?.len() != valid {
        file.set_len(valid)?;
    }
    file.write_all(data.as_bytes())?;
    Ok(valid + data.len() as u64)
}

/// The first `valid` bytes of the journal as records (lines that do not parse are skipped).
pub fn read(path: &Path, valid: u64) -> io::Result<Vec<Record>> {
    if valid == 0 {
        return Ok(Vec::new());
    }
    let bytes = crate::read::read_range(path, 0, valid)?;
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter_map(|value| Record::from_json(&value))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Image, Item, Part};
    use serde_json::json;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        let records = vec![
            Record::new(Item::Prompt {
                parts: vec![
                    Part::Text("hi".into()),
                    Part::Image(Image {
                        media_type: "image/png".into(),
                        data: "AAAA".into(),
                    }),
                ],
            }),
            Record {
                timestamp: Some("2026-01-01T00:00:00.000Z".into()),
                agent: Some("a1".into()),
                rid: Some("t1:call".into()),
                item: Item::ToolCall {
                    id: "t1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "ls"}),
                },
            },
            Record::new(Item::ToolResult {
                id: "t1".into(),
                parts: vec![Part::Text("out".into())],
                is_error: true,
            }),
        ];
        let valid = append(&path, 0, &records[..2]).unwrap();
        // A killed hook appended past what its state recorded.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        let valid = append(&path, valid, &records[2..]).unwrap();
        assert_eq!(read(&path, valid).unwrap(), records);
    }
}
