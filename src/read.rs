//! Bounded, non-blocking file readers, below everything that reads files (the store, the agents'
//! readers, the hook): a FIFO or a device planted where a file belongs never blocks or
//! exhausts a reader.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The bytes of `path` if it is a regular file of at most `max` bytes. The hook reads files in
/// places others control (a project's config, an agent's registry): there a FIFO, or a symlink
/// to /dev/zero or /dev/tty (which a cloned repository can hold), would block the hook or
/// never end the read.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut file = open_read(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max {
        return Err(io::Error::other(format!(
            "not a regular file of at most {max} bytes; ignored"
        )));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `read_regular` as text (invalid UTF-8 replaced).
pub fn read_text(path: &Path, max: u64) -> io::Result<String> {
    read_regular(path, max).map(into_text)
}

/// `bytes` as text, invalid UTF-8 replaced: taken as they are when valid (the usual case,
/// checked far faster than the replacing scan, and not copied).
pub fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
}

/// Opens `path` for reading. O_NONBLOCK: a FIFO where a file belongs would otherwise block
/// the open until a writer comes, forever; regular files read the same either way.
pub fn open_read(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Size of `path`, 0 when it does not exist.
pub fn size(path: &Path) -> io::Result<u64> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(err),
    }
}

/// Reads `len` bytes of `path` from `offset` (fewer at the end of the file).
pub fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut file = open_read(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Complete lines read from a growing file.
pub struct Lines {
    pub text: String,
    /// Offset just past the last complete line read.
    pub end: u64,
    /// The file is now shorter than the offset asked for.
    pub shrunk: bool,
    /// The read stopped at its limit: the file goes on after it.
    pub cut: bool,
}

/// Reads `path` from `offset` to its last complete line within `limit` bytes, never more (a
/// line longer than that gives no text). `None` when the file does not exist.
pub fn read_complete_lines(path: &Path, offset: u64, limit: u64) -> io::Result<Option<Lines>> {
    let mut file = match open_read(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let len = file.metadata()?.len();
    if len <= offset {
        return Ok(Some(Lines {
            text: String::new(),
            end: len,
            shrunk: len < offset,
            cut: false,
        }));
    }
    file.seek(SeekFrom::Start(offset))?;
    let wanted = (len - offset).min(limit.max(1));
    let mut bytes = vec![0; wanted as usize];
    file.read_exact(&mut bytes)?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(complete);
    Ok(Some(Lines {
        text: into_text(bytes),
        end: offset + complete as u64,
        shrunk: false,
        cut: offset + wanted < len,
    }))
}

/// Where the line under way at `offset` ends, looking at most `limit` bytes ahead, in small
/// reads: `(just past its newline, true)`, else `(how far it was looked at, false)`. `None`
/// when the file does not exist; a file now shorter than `offset` ends there.
pub fn skip_line(path: &Path, offset: u64, limit: u64) -> io::Result<Option<(u64, bool)>> {
    let mut file = match open_read(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let len = file.metadata()?.len();
    if len < offset {
        return Ok(Some((len, true)));
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut file = file.take(limit);
    let mut buf = vec![0; 64 * 1024];
    let mut at = offset;
    loop {
        let read = file.read(&mut buf)?;
        if read == 0 {
            return Ok(Some((at, false)));
        }
        if let Some(newline) = buf[..read].iter().position(|&b| b == b'\n') {
            return Ok(Some((at + newline as u64 + 1, true)));
        }
        at += read as u64;
    }
}

/// The last complete line of `path` that `parse` accepts, parsed, reading backwards from the
/// end in chunks (the file may be long; the line wanted is near its end). A missing file gives
/// `None`.
pub fn last_line_parsed<T>(
    path: &Path,
    parse: impl Fn(&[u8]) -> Option<T>,
) -> io::Result<Option<T>> {
    // Each read doubles: a line of n bytes costs O(n) reads and scans, not O(n²) with
    // fixed-size chunks (every chunk re-scans and re-copies what was read before it).
    let mut chunk_len: u64 = 16 * 1024;
    let mut file = match open_read(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    // `buf` holds the file from `start` on; `line_end` is where the candidate line's '\n' is.
    let mut start = file.metadata()?.len();
    let mut buf: Vec<u8> = Vec::new();
    let mut line_end: Option<usize> = None;
    loop {
        if line_end.is_none() {
            line_end = buf.iter().rposition(|&b| b == b'\n');
        }
        if let Some(end) = line_end {
            match buf[..end].iter().rposition(|&b| b == b'\n') {
                Some(previous) => {
                    let line = &buf[previous + 1..end];
                    if let Some(parsed) = (!line.is_empty()).then(|| parse(line)).flatten() {
                        return Ok(Some(parsed));
                    }
                    line_end = Some(previous);
                    continue;
                }
                None if start == 0 => {
                    let line = &buf[..end];
                    return Ok((!line.is_empty()).then(|| parse(line)).flatten());
                }
                None => {}
            }
        } else if start == 0 {
            return Ok(None);
        }
        let from = start.saturating_sub(chunk_len);
        chunk_len = chunk_len.saturating_mul(2);
        let mut chunk = vec![0; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        let added = chunk.len();
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = from;
        line_end = line_end.map(|end| end + added);
    }
}

/// The first line of `path` (without its newline), read no further than `max` bytes; `None`
/// when the file does not exist or its first line is longer.
pub fn first_line(path: &Path, max: u64) -> io::Result<Option<String>> {
    let file = match open_no_follow(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut line = Vec::new();
    BufReader::new(file.take(max)).read_until(b'\n', &mut line)?;
    Ok(line
        .strip_suffix(b"\n")
        .map(|l| String::from_utf8_lossy(l).into_owned()))
}

/// Opens `path` for reading, refusing a symlink there.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(content: &[u8]) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        std::fs::write(&path, content).unwrap();
        last_line_parsed(&path, |line| {
            (line.starts_with(b"{") && line.ends_with(b"}"))
                .then(|| String::from_utf8(line.to_vec()).unwrap())
        })
        .unwrap()
    }

    #[test]
    fn last_valid_complete_line_wins() {
        assert_eq!(last(b"{a}\n{b}\n").as_deref(), Some("{b}"));
        assert_eq!(last(b"{a}\n{b}\n{c").as_deref(), Some("{b}"), "torn tail");
        assert_eq!(
            last(b"{a}\n{b\n").as_deref(),
            Some("{a}"),
            "invalid last line"
        );
        assert_eq!(last(b"{a").as_deref(), None);
        assert_eq!(last(b"").as_deref(), None);
    }

    #[test]
    fn lines_longer_than_a_chunk_are_read_whole() {
        let long = format!("{{{}}}", "x".repeat(40_000));
        let content = format!("{{first}}\n{long}\n{{torn");
        assert_eq!(last(content.as_bytes()).unwrap(), long);
        let content = format!("{long}\n{}\n", "y".repeat(40_000));
        assert_eq!(last(content.as_bytes()).unwrap(), long);
    }

    #[test]
    fn complete_lines_read_as_text_invalid_bytes_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, b"{\"a\":\"\xc3\xa9\"}\n{\"b\":\"\xff\"}\n{\"torn").unwrap();
        let read = read_complete_lines(&path, 0, 1 << 20).unwrap().unwrap();
        assert_eq!(read.text, "{\"a\":\"é\"}\n{\"b\":\"\u{fffd}\"}\n");
        assert_eq!(read.end, 21);
        assert!(!read.cut);
    }

    #[test]
    fn first_line_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abc\ndef\n").unwrap();
        assert_eq!(first_line(&path, 100).unwrap().as_deref(), Some("abc"));
        assert_eq!(first_line(&path, 2).unwrap(), None);
        assert_eq!(first_line(&dir.path().join("none"), 100).unwrap(), None);
    }
}
