//! The archive repository's files: each written whole (temporary file and rename), and only
//! when its bytes change, so that a run with nothing new leaves every file as it was.

use std::io;
use std::path::{Component, Path};

/// Writes `bytes` to `rel` under `repo` unless the file already holds exactly them. Returns
/// whether it wrote.
pub fn write(repo: &Path, rel: &str, bytes: &[u8]) -> io::Result<bool> {
    let rel_path = Path::new(rel);
    // Names come from session titles and paths: never let one climb out of the repository.
    if !rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{rel} is not a plain path inside the repository"),
        ));
    }
    let path = repo.join(rel_path);
    match std::fs::read(&path) {
        Ok(existing) if existing == bytes => return Ok(false),
        _ => {}
    }
    super::fs::write_atomic(&path, bytes)?;
    Ok(true)
}

/// Creates the repository's directory (a first run).
pub fn create_repo_dir(repo: &Path) -> io::Result<()> {
    super::fs::create_dirs(repo)
}

/// Saves the local record of which native files were already seen unchanged (in the data
/// directory: it describes this machine, not the archive).
pub fn save_seen(path: &Path, value: &serde_json::Value) -> io::Result<()> {
    super::write_json(path, value, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_changed_bytes_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write(dir.path(), "a/b.md", b"x").unwrap());
        assert!(!write(dir.path(), "a/b.md", b"x").unwrap());
        assert!(write(dir.path(), "a/b.md", b"y").unwrap());
        assert_eq!(std::fs::read(dir.path().join("a/b.md")).unwrap(), b"y");
        assert!(write(dir.path(), "../x.md", b"x").is_err());
        assert!(write(dir.path(), "/tmp/x.md", b"x").is_err());
    }
}
