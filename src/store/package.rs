//! Writes package files and the machine id packages name their source by.

use super::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes a gzip tar of `files` (in the order given, regular files only) to `path`, whole or
/// not at all.
pub fn write(path: &Path, files: &[(String, Vec<u8>)]) -> io::Result<()> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    {
        let mut tar = tar::Builder::new(&mut gzip);
        tar.mode(tar::HeaderMode::Deterministic);
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o600);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, name, bytes.as_slice())?;
        }
        tar.finish()?;
    }
    gzip.flush()?;
    fs::write_atomic(path, &gzip.finish()?)
}

/// This machine's id (a random UUID kept in the data directory), created on first use.
pub fn machine_id(data_dir: &Path) -> io::Result<String> {
    let path = data_dir.join("machine-id");
    if let Ok(text) = crate::read::read_text(&path, 1024) {
        let id = text.trim();
        if uuid::Uuid::parse_str(id).is_ok() {
            return Ok(id.to_owned());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    fs::write_atomic(&path, format!("{id}\n").as_bytes())?;
    Ok(id)
}
