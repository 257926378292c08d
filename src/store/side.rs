//! Files an agent needs beside a mirror session (project registries, ownership markers).
//! They are shared with the agent itself: created only when missing, and a registry only
//! gains our entry, everything else in it kept.

use super::fs;
use crate::encode::SideFile;
use serde_json::{Map, Value};
use std::io;

pub fn write(files: &[SideFile]) -> io::Result<()> {
    for file in files {
        match file {
            SideFile::Create { path, text } => {
                if std::fs::symlink_metadata(path).is_err() {
                    fs::write_atomic(path, text.as_bytes())?;
                }
            }
            SideFile::JsonEntry {
                path,
                object,
                key,
                value,
            } => {
                let mut document = match crate::read::read_regular(path, 16 << 20) {
                    Ok(bytes) => serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                        io::Error::other(format!("{} is not valid JSON: {e}", path.display()))
                    })?,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => Value::Object(Map::new()),
                    Err(err) => return Err(err),
                };
                let Some(root) = document.as_object_mut() else {
                    return Err(io::Error::other(format!(
                        "{} is not a JSON object",
                        path.display()
                    )));
                };
                let entries = root
                    .entry(object.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                let Some(entries) = entries.as_object_mut() else {
                    return Err(io::Error::other(format!(
                        "{}: `{object}` is not an object",
                        path.display()
                    )));
                };
                if entries.contains_key(key) {
                    continue;
                }
                entries.insert(key.clone(), value.clone());
                let mut text = serde_json::to_string_pretty(&document).map_err(io::Error::other)?;
                text.push('\n');
                fs::write_atomic(path, text.as_bytes())?;
            }
        }
    }
    Ok(())
}
