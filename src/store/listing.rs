//! The listings index, `<data>/listing.jsonl`: one line per session with what `status` and
//! `list` print, so that they read one small file instead of every session's state. Every
//! save of a state appends its line when what it shows changed; the newest line of a session
//! wins. Format, upkeep and recovery: docs/state.md, `listing.jsonl`.

use super::{LockGuard, SessionFiles, SessionState, fs, lock};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The format of the index; an index of another version is rebuilt.
const VERSION: u32 = 3;

/// How many of the body's most recently synced sessions the header points to: `list` shows
/// 20, and sessions changed or removed since the body was written leave the rest.
const NEWEST_KEPT: usize = 64;

/// The header is read whole within this many bytes: some 1.1 KiB at 5,000 sessions, and the
/// body's newest lines it points to fit whatever their offsets.
const HEADER_MAX: usize = 4096;

/// The index is compacted to one line per session past twice its size after the last
/// compaction, and never below this size.
const COMPACT_MIN: u64 = 512 * 1024;

/// Nor past this many bytes appended since the last rewrite: a listing of one project reads
/// its part of the sorted body and at most this much besides, however many sessions the index
/// holds.
const TAIL_MAX: u64 = 1024 * 1024;

/// An append waits at most this for a compaction's or a rebuild's last step (a copy of the
/// lines appended meanwhile, then a rename).
const APPEND_WAIT: Duration = Duration::from_secs(2);

/// A listing waits at most this for another process's rebuild, then reads the states itself.
const REBUILD_WAIT: Duration = Duration::from_secs(10);

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("listing.jsonl")
}

/// Held by whoever rewrites the index (a compaction, a rebuild), never by an append.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("listing.lock")
}

/// What `status` and `list` show of one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    /// The state's key: the line's `key`, not repeated here.
    #[serde(skip)]
    pub key: String,
    /// First, then `cwd`: a listing of one project or directory finds its lines by them
    /// before parsing any.
    pub project: PathBuf,
    pub cwd: PathBuf,
    pub transcript: PathBuf,
    pub created_at: String,
    pub last_sync: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ListedSource>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mirrors: BTreeMap<String, ListedMirror>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<ListedRetired>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedSource {
    pub agent: String,
    pub id: String,
    /// Came in a package: its copies are listed as mirrors.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedMirror {
    pub id: String,
    pub path: PathBuf,
    pub records: u64,
    pub last_sync: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub losses: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedRetired {
    pub target: String,
    pub id: String,
    pub path: PathBuf,
    pub reason: String,
    pub retired_at: String,
    pub successor: String,
}

impl Listed {
    pub fn of(state: &SessionState) -> Listed {
        Listed {
            key: state.claude_session_id.clone(),
            project: state.project.clone(),
            cwd: state.cwd.clone(),
            transcript: state.transcript_path.clone(),
            created_at: state.created_at.clone(),
            last_sync: state.last_sync.clone(),
            title: state.title.clone(),
            source: state.source.as_ref().map(|s| ListedSource {
                agent: s.agent.clone(),
                id: s.id.clone(),
                imported: s.package.is_some(),
                dropped: s.dropped.clone(),
            }),
            mirrors: state
                .mirrors
                .iter()
                .map(|(target, m)| {
                    let listed = ListedMirror {
                        id: m.id.clone(),
                        path: m.path.clone(),
                        records: m.records,
                        last_sync: m.last_sync.clone(),
                        losses: m.losses.clone(),
                    };
                    (target.clone(), listed)
                })
                .collect(),
            retired: state
                .retired
                .iter()
                .map(|r| ListedRetired {
                    target: r.target.clone(),
                    id: r.id.clone(),
                    path: r.path.clone(),
                    reason: r.reason.clone(),
                    retired_at: r.retired_at.clone(),
                    successor: r.successor.clone(),
                })
                .collect(),
        }
    }

    /// The agent and id the session comes from: `claude` and the key, unless handed over.
    pub fn source(&self) -> (&str, &str) {
        match &self.source {
            Some(source) => (source.agent.as_str(), source.id.as_str()),
            None => ("claude", self.key.as_str()),
        }
    }

    /// The live mirror that carries a retired one on (`SessionState::live_successor`).
    pub fn live_successor(&self, retired: &ListedRetired) -> Option<&str> {
        self.mirrors.get(&retired.target).map(|m| m.id.as_str())
    }
}

/// The first line of the index.
#[derive(Serialize, Deserialize)]
struct Header {
    listing: u32,
    /// The index's size when last compacted or rebuilt: its body, sorted by project, ends
    /// there; the lines appended since follow.
    compacted: u64,
    /// Links of `sessions/` that are not session directories (some file systems count files
    /// too): the index holds `links - 2 - others` sessions.
    #[serde(default)]
    others: u64,
    /// The sessions directory as last found to hold the sessions the index holds (a
    /// `{"checked":…}` line appended since says it later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checked: Option<Check>,
    /// Where the body's most recently synced sessions' lines lie (from the body's start, and
    /// their length), most recent first, at most `NEWEST_KEPT`: `list` reads those and the
    /// lines appended since, not the whole body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    newest: Vec<(u64, u64)>,
}

impl Header {
    /// A header of this version; the body's size and newest lines are the rewrite's to fill.
    fn new(others: u64, checked: Option<Check>) -> Header {
        Header {
            listing: VERSION,
            compacted: 0,
            others,
            checked,
            newest: Vec::new(),
        }
    }
}

/// The sessions directory as a `stat` finds it. Adding or removing a session directory
/// changes it, and nothing else changes which sessions the index holds: while it stays as
/// the index last found it, a listing of one project need not count every session.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
    links: u64,
}

impl Seen {
    fn of(sessions: &Path) -> io::Result<Seen> {
        let meta = std::fs::metadata(sessions)?;
        Ok(Seen {
            ino: meta.ino(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            links: meta.nlink(),
        })
    }
}

/// A listing's finding that the index holds as many sessions as the sessions directory, as a
/// `stat` found it: while the directory stays so, the index still holds that many.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Check {
    #[serde(flatten)]
    dir: Seen,
    /// Sessions the index held, with a state to list or not: `list` tells how many it does
    /// not show without counting them.
    sessions: u64,
}

/// A listing's `{"checked":…}` line. It has no key: readers that do not look for it skip it.
#[derive(Serialize, Deserialize)]
struct CheckLine {
    checked: Check,
}

const CHECKED: &[u8] = br#"{"checked":"#;

/// One session's line. `key` comes last: a line is whole only if it ends with it.
#[derive(Serialize)]
struct LineOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a Listed>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    gone: bool,
    key: &'a str,
}

#[derive(Deserialize)]
struct LineIn {
    #[serde(default)]
    session: Option<Listed>,
    key: String,
}

/// How a line begins when its session's directory was removed.
const GONE: &[u8] = br#"{"gone":true,"#;

/// How a session's line begins: with its project.
const PROJECT: &[u8] = br#"{"session":{"project":"#;

/// `{"session":{…},"key":"<key>"}`: a session; `{"key":"<key>"}`: a directory with no state
/// to list; `{"gone":true,"key":"<key>"}`: removed.
fn line(key: &str, session: Option<&Listed>, gone: bool) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&LineOut { session, gone, key }).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn header_line(header: &Header) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(header).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The key of a whole line (as written, JSON-escaped), without parsing it. A line cut short
/// by a killed write lacks its ending, `"key":"<key>"}`, which appears nowhere else: inside
/// strings quotes are escaped.
fn key_of(line: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = br#""key":""#;
    let body = line.strip_suffix(br#""}"#)?;
    // Keys are plain ids: the last quote opens the key (else, an escaped quote in a key made
    // by hand, search for the field).
    let at = match memchr::memrchr(b'"', body) {
        Some(quote) if body[..=quote].ends_with(KEY) => quote + 1 - KEY.len(),
        _ => memchr::memmem::rfind(body, KEY)?,
    };
    Some(&body[at + KEY.len()..]).filter(|key| !key.is_empty())
}

/// What a rewritten index's body is sorted by: a session's project as a path (`/a/./b/` as
/// `/a/b`), empty for a directory with no state to list.
fn project_key(line: &[u8]) -> Cow<'_, [u8]> {
    match path_field(line, PROJECT) {
        Some(PathField::Plain(bytes)) => Cow::Borrowed(bytes),
        Some(PathField::Parsed(path)) => Cow::Owned(normal(&path).into_os_string().into_vec()),
        None => Cow::Borrowed(&[]),
    }
}

/// A path as its components make it (`/a/./b/` as `/a/b`), as paths compare.
fn normal(path: &Path) -> PathBuf {
    path.components().collect()
}

/// Hashes the keys of an index (our own ids, thousands per listing) faster than SipHash,
/// which guards against keys chosen by an adversary.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// Each session's newest whole line, by key (as written).
type Newest = HashMap<Box<[u8]>, Line, std::hash::BuildHasherDefault<KeyHasher>>;

/// A session's newest whole line, as far as a scan keeps it.
struct Line {
    /// When its key was first seen: the order a compaction writes them in.
    first: usize,
    gone: bool,
    /// The line, when the scan wanted it.
    kept: Option<Vec<u8>>,
}

/// Calls `each` with every whole line `from` holds, read through a small buffer (the size of
/// what is read does not matter to memory), until it returns `false`; returns the bytes up to
/// the end of the last whole line (a torn one after it is left out).
fn each_line(mut from: impl Read, mut each: impl FnMut(&[u8]) -> bool) -> io::Result<usize> {
    let mut buf = vec![0; 256 * 1024];
    let (mut filled, mut consumed) = (0, 0);
    loop {
        if filled == buf.len() {
            // A line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let read = from.read(&mut buf[filled..])?;
        if read == 0 {
            return Ok(consumed);
        }
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', &buf[filled..filled + read]) {
            let line = &buf[start..filled + newline];
            start = filled + newline + 1;
            if !each(line) {
                return Ok(consumed + start);
            }
        }
        filled += read;
        buf.copy_within(start..filled, 0);
        filled -= start;
        consumed += start;
    }
}

/// Reads a file from `at` on (`read_at`: the file's own position is left alone).
struct ReadAt<'a> {
    file: &'a File,
    at: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

/// An index's header and each session's newest whole line.
struct Scan {
    header: Header,
    /// Bytes up to the end of the last whole line (a torn one after it is left out).
    complete: usize,
    newest: Newest,
    /// The newest check of the index against the sessions directory.
    checked: Option<Check>,
}

impl Scan {
    fn new(header: Header, lines: usize) -> Scan {
        Scan {
            checked: header.checked,
            header,
            complete: 0,
            newest: Newest::with_capacity_and_hasher(lines, Default::default()),
        }
    }

    /// Reads an index, keeping the lines `keep` wants; `None` when it has no header of this
    /// version.
    fn read(from: impl Read, size: u64, keep: impl Fn(&[u8]) -> bool) -> io::Result<Option<Scan>> {
        let mut scan: Option<Scan> = None;
        let complete = each_line(from, |line| match &mut scan {
            Some(scan) => {
                scan.add(line, &keep);
                true
            }
            None => match serde_json::from_slice::<Header>(line) {
                // Lines are some hundred bytes long.
                Ok(found) if found.listing == VERSION => {
                    scan = Some(Scan::new(found, size as usize / 512));
                    true
                }
                _ => false,
            },
        })?;
        Ok(scan.map(|scan| Scan { complete, ..scan }))
    }

    /// Takes in one whole line, newer than those before.
    fn add(&mut self, line: &[u8], keep: &impl Fn(&[u8]) -> bool) {
        let Some(key) = key_of(line) else {
            if line.starts_with(CHECKED) {
                if let Ok(found) = serde_json::from_slice::<CheckLine>(line) {
                    self.checked = Some(found.checked);
                }
            }
            return;
        };
        let gone = line.starts_with(GONE);
        let kept = (!gone && keep(line)).then(|| line.to_vec());
        match self.newest.get_mut(key) {
            Some(entry) => (entry.gone, entry.kept) = (gone, kept),
            None => {
                let first = self.newest.len();
                self.newest.insert(key.into(), Line { first, gone, kept });
            }
        }
    }

    /// Takes in the whole lines of `bytes`.
    fn add_all(&mut self, bytes: &[u8]) {
        for line in whole_lines(bytes).split(|&b| b == b'\n') {
            if !line.is_empty() {
                self.add(line, &|_| true);
            }
        }
    }

    /// How many sessions have a directory, by their newest line.
    fn present(&self) -> usize {
        self.newest.values().filter(|line| !line.gone).count()
    }

    /// The lines kept, in the order their sessions were first seen.
    fn kept(&self) -> Vec<&[u8]> {
        let mut kept: Vec<&Line> = self.newest.values().filter(|l| l.kept.is_some()).collect();
        kept.sort_unstable_by_key(|line| line.first);
        kept.iter()
            .filter_map(|line| line.kept.as_deref())
            .collect()
    }

    /// The index this scan makes once rewritten: the lines kept, sorted by project, after a
    /// header that points to the most recently synced sessions' lines.
    fn rewritten(&self) -> Vec<u8> {
        let mut lines = self.kept();
        lines.sort_by_cached_key(|line| project_key(line));
        let mut body = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        let mut spans = Vec::with_capacity(lines.len());
        for line in &lines {
            spans.push((body.len() as u64, line.len() as u64));
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        let mut newest: Vec<usize> = (0..lines.len())
            .filter(|&n| last_sync_of(lines[n]).is_some())
            .collect();
        newest.sort_by_cached_key(|&n| recency(lines[n]));
        newest.truncate(NEWEST_KEPT);
        let header = Header {
            newest: newest.into_iter().map(|n| spans[n]).collect(),
            ..Header::new(self.header.others, self.checked)
        };
        with_header(body, header)
    }
}

/// The body of a rewritten index, sorted by project, read where it lies: a listing of one
/// project finds its lines by binary search.
struct Body<'a> {
    file: &'a File,
    start: u64,
    end: u64,
}

impl Body<'_> {
    /// The first line that starts at or after `at`, and where it starts.
    fn line_from(&self, at: u64) -> io::Result<Option<(u64, Vec<u8>)>> {
        // A line starts where the body does, or after a newline.
        let (mut pos, mut start) = if at > self.start {
            (at - 1, None)
        } else {
            (at, Some(at))
        };
        let mut chunk = vec![0; 4096];
        let mut line = Vec::new();
        while pos < self.end {
            let want = chunk.len().min((self.end - pos) as usize);
            let read = self.file.read_at(&mut chunk[..want], pos)?;
            if read == 0 {
                break;
            }
            let mut bytes = &chunk[..read];
            if start.is_none() {
                if let Some(newline) = memchr::memchr(b'\n', bytes) {
                    start = Some(pos + newline as u64 + 1);
                    bytes = &bytes[newline + 1..];
                }
            }
            pos += read as u64;
            let Some(begins) = start else {
                continue;
            };
            match memchr::memchr(b'\n', bytes) {
                Some(newline) => {
                    line.extend_from_slice(&bytes[..newline]);
                    return Ok(Some((begins, line)));
                }
                None => line.extend_from_slice(bytes),
            }
        }
        Ok(None)
    }

    /// The line `len` bytes long `at` bytes into the body; `None` when no whole line lies
    /// there.
    fn line_at(&self, at: u64, len: u64) -> io::Result<Option<Vec<u8>>> {
        let begin = self.start.saturating_add(at);
        if begin.saturating_add(len) >= self.end {
            return Ok(None);
        }
        // With the newlines around it (the one before the body's first line ends the header).
        let mut bytes = vec![0; len as usize + 2];
        self.file.read_exact_at(&mut bytes, begin - 1)?;
        let line = &bytes[1..bytes.len() - 1];
        let whole = bytes[0] == b'\n'
            && bytes[bytes.len() - 1] == b'\n'
            && memchr::memchr(b'\n', line).is_none();
        Ok(whole.then(|| line.to_vec()))
    }

    /// The lines of `project` (as `project_key` gives it).
    fn lines_of(&self, project: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        // Lines starting before `low` sort before the project; those from `high` on do not.
        let (mut low, mut high) = (self.start, self.end);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.line_from(mid)? {
                Some((start, line)) if start < high && *project_key(&line) < *project => {
                    low = start + line.len() as u64 + 1;
                }
                _ => high = mid,
            }
        }
        let mut lines = Vec::new();
        while let Some((start, line)) = self.line_from(low)? {
            if *project_key(&line) != *project {
                break;
            }
            low = start + line.len() as u64 + 1;
            lines.push(line);
        }
        Ok(lines)
    }
}

/// A path in a line, found after `name` (the field's name with its colon): its bytes when
/// written plainly; parsed when written so that it equals other paths only as a path
/// (`/a/./b`, `/a//b`, `/a/b/`) or holds escapes.
enum PathField<'a> {
    Plain(&'a [u8]),
    Parsed(PathBuf),
}

fn path_field<'a>(line: &'a [u8], name: &[u8]) -> Option<PathField<'a>> {
    let value = line.strip_prefix(name)?;
    let raw = value.strip_prefix(b"\"")?;
    let raw = &raw[..memchr::memchr(b'"', raw)?];
    // A slash that ends the path (but the root), or comes before another or a `.` component.
    let odd = |slash: usize| match raw.get(slash + 1) {
        None => slash > 0,
        Some(b'/') => true,
        Some(b'.') => matches!(raw.get(slash + 2), None | Some(b'/')),
        _ => false,
    };
    let plain = memchr::memchr(b'\\', raw).is_none() && !memchr::memchr_iter(b'/', raw).any(odd);
    if plain {
        return Some(PathField::Plain(raw));
    }
    let path = PathBuf::deserialize(&mut serde_json::Deserializer::from_slice(value)).ok()?;
    Some(PathField::Parsed(path))
}

/// Tells the lines a listing parses from those it skips.
type LineTest = Box<dyn Fn(&[u8]) -> bool>;

/// Which sessions a listing wants.
#[derive(Clone, Copy)]
pub enum Filter<'a> {
    All,
    /// Those governed by this project's configuration.
    Project(&'a Path),
    /// Those whose working directory is at or under this one.
    Under(&'a Path),
}

impl Filter<'_> {
    /// Whether a line may be a wanted session's, told without parsing it: only those are.
    fn line_test(&self) -> LineTest {
        match *self {
            Filter::All => Box::new(|_| true),
            Filter::Project(project) => {
                let want = normal(project);
                Box::new(move |line| {
                    path_field(line, PROJECT).is_some_and(|got| match got {
                        PathField::Plain(bytes) => bytes == want.as_os_str().as_bytes(),
                        PathField::Parsed(path) => path == want,
                    })
                })
            }
            Filter::Under(dir) => {
                let want = normal(dir);
                Box::new(move |line| {
                    let at = memchr::memmem::find(line, br#","cwd":"#);
                    at.and_then(|at| path_field(&line[at..], br#","cwd":"#))
                        .is_some_and(|got| match got {
                            // Parsed later for `Path::starts_with`.
                            PathField::Plain(bytes) => {
                                bytes.starts_with(want.as_os_str().as_bytes())
                            }
                            PathField::Parsed(path) => path.starts_with(&want),
                        })
                })
            }
        }
    }

    fn wants(&self, listed: &Listed) -> bool {
        match self {
            Filter::All => true,
            Filter::Project(project) => listed.project == *project,
            Filter::Under(dir) => listed.cwd.starts_with(dir),
        }
    }
}

/// The sessions `filter` wants, most recently synced first, from the index. An index that is
/// missing, of another version, unreadable or out of step with the sessions directory is
/// rebuilt from the states first (once; a listing that cannot write it reads the states).
pub fn sessions(data_dir: &Path, filter: Filter) -> Vec<Listed> {
    sessions_as(data_dir, filter, |listed| listed)
}

/// `sessions`, each made into what the caller keeps of it as soon as it is parsed: a listing
/// of thousands need not hold them all at once. `each` may see a session twice (when the
/// index turns out damaged, and is read again once rebuilt).
pub fn sessions_as<T>(data_dir: &Path, filter: Filter, each: impl FnMut(Listed) -> T) -> Vec<T> {
    listing(data_dir, filter, None, each).0
}

/// The `count` most recently synced sessions of every project, newest first, each made into
/// what the caller keeps of it, and how many older ones there are. Only those `count` are
/// parsed: their lines are told by their sync time as written. While the index is as its
/// newest check found it, only the lines the header points to and those appended since are
/// read (`read_newest`), however many sessions it holds.
pub fn newest_as<T>(
    data_dir: &Path,
    count: usize,
    each: impl FnMut(Listed) -> T,
) -> (Vec<T>, usize) {
    listing(data_dir, Filter::All, Some(count), each)
}

fn listing<T>(
    data_dir: &Path,
    filter: Filter,
    newest: Option<usize>,
    mut each: impl FnMut(Listed) -> T,
) -> (Vec<T>, usize) {
    let sessions_dir = data_dir.join("sessions");
    if !sessions_dir.exists() {
        return (Vec::new(), 0);
    }
    let mut more = 0;
    let mut found = match read(data_dir, filter, newest, &mut more, &mut each) {
        Some(found) => found,
        None => rebuilt(data_dir, filter, newest, &mut more, &mut each),
    };
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if let Some(count) = newest.filter(|count| found.len() > *count) {
        more += found.len() - count;
        found.truncate(count);
    }
    (found.into_iter().map(|(_, kept)| kept).collect(), more)
}

/// The lines of the `count` most recently synced sessions among `lines`, by their
/// `last_sync` as written (RFC 3339 times in UTC order as text), unparsed; `more` gets how
/// many are left out. Lines without one list no session.
fn newest_lines<'a>(mut lines: Vec<&'a [u8]>, count: usize, more: &mut usize) -> Vec<&'a [u8]> {
    lines.retain(|line| last_sync_of(line).is_some());
    if lines.len() > count {
        lines.sort_by_cached_key(|line| recency(line));
        *more += lines.len() - count;
        lines.truncate(count);
    }
    lines
}

/// What lines are ordered by, unparsed: most recently synced first, then by key.
fn recency(line: &[u8]) -> (Reverse<Option<&[u8]>>, Option<&[u8]>) {
    (Reverse(last_sync_of(line)), key_of(line))
}

/// A session line's own `last_sync`: its first, before any mirror's (the fields before it
/// are paths, whose quotes are escaped).
fn last_sync_of(line: &[u8]) -> Option<&[u8]> {
    const FIELD: &[u8] = br#""last_sync":""#;
    let start = memchr::memmem::find(line, FIELD)? + FIELD.len();
    let len = memchr::memchr(b'"', &line[start..])?;
    Some(&line[start..start + len])
}

/// A session as a listing keeps it, after what it is ordered by: most recently synced first.
type Kept<T> = ((Reverse<String>, String), T);

fn keep<T>(listed: Listed, each: &mut dyn FnMut(Listed) -> T) -> Kept<T> {
    let order = (Reverse(listed.last_sync.clone()), listed.key.clone());
    (order, each(listed))
}

/// The wanted sessions from the index; `None` when it must be rebuilt.
fn read<T>(
    data_dir: &Path,
    filter: Filter,
    newest: Option<usize>,
    more: &mut usize,
    each: &mut dyn FnMut(Listed) -> T,
) -> Option<Vec<Kept<T>>> {
    let index = path(data_dir);
    let file = crate::read::open_read(&index).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let sessions = data_dir.join("sessions");
    let seen = Seen::of(&sessions).ok()?;
    let found = match (filter, newest) {
        (Filter::Project(project), _) => read_project(&file, meta.len(), project, seen, each),
        (Filter::All, Some(count)) => read_newest(&file, meta.len(), count, seen, more, each),
        _ => None,
    };
    if found.is_some() {
        return found;
    }
    let scan = Scan::read(
        ReadAt { file: &file, at: 0 },
        meta.len(),
        filter.line_test(),
    )
    .ok()??;
    let dirs = session_dirs(&sessions, seen.links).ok()?;
    if dirs.checked_sub(scan.header.others)? != scan.present() as u64 {
        return None;
    }
    let mut found = Vec::new();
    let mut lines = scan.kept();
    if let Some(count) = newest {
        lines = newest_lines(lines, count, more);
    }
    for line in lines {
        found.extend(parse(line, filter)?.map(|listed| keep(listed, each)));
    }
    let check = Check {
        dir: seen,
        sessions: scan.present() as u64,
    };
    if scan.checked != Some(check) {
        record_check(&index, &file, check);
    }
    Some(found)
}

/// The session of a wanted line; `None` when the line, whole by its ending yet not an entry,
/// is damaged, so not to be trusted.
fn parse(line: &[u8], filter: Filter) -> Option<Option<Listed>> {
    let parsed: LineIn = serde_json::from_slice(line).ok()?;
    Some(parsed.session.and_then(|mut listed| {
        listed.key = parsed.key;
        filter.wants(&listed).then_some(listed)
    }))
}

/// The index's sorted body, and the lines appended since (those `keep` wants kept), when the
/// sessions directory is still as the index's newest check found it: the index holds the
/// sessions it held then, and a listing need not count them. `None` when it is not (or the
/// index is of another version, or shorter than its body): the caller reads it whole.
fn checked_parts<'a>(
    file: &'a File,
    size: u64,
    seen: Seen,
    keep: impl Fn(&[u8]) -> bool,
) -> Option<(Body<'a>, Scan)> {
    let mut first = vec![0; HEADER_MAX];
    let read = file.read_at(&mut first, 0).ok()?;
    let header_end = memchr::memchr(b'\n', &first[..read])?;
    let header: Header = serde_json::from_slice(&first[..header_end]).ok()?;
    let body = Body {
        file,
        start: header_end as u64 + 1,
        end: header.compacted,
    };
    if header.listing != VERSION || body.end < body.start || body.end > size {
        return None;
    }
    let mut tail = Scan::new(header, 0);
    let at = body.end;
    each_line(ReadAt { file, at }, |line| {
        tail.add(line, &keep);
        true
    })
    .ok()?;
    if tail.checked.map(|check| check.dir) != Some(seen) {
        return None;
    }
    Some((body, tail))
}

/// One project's sessions, from its part of the sorted body and the lines appended since,
/// without counting every session (`checked_parts`); `None` when they must be counted (or
/// the index is damaged): the caller reads it whole.
fn read_project<T>(
    file: &File,
    size: u64,
    project: &Path,
    seen: Seen,
    each: &mut dyn FnMut(Listed) -> T,
) -> Option<Vec<Kept<T>>> {
    let filter = Filter::Project(project);
    let (body, tail) = checked_parts(file, size, seen, filter.line_test())?;
    let mut found = Vec::new();
    for line in body.lines_of(normal(project).as_os_str().as_bytes()).ok()? {
        // A newer line appended since says otherwise.
        if key_of(&line).is_some_and(|key| !tail.newest.contains_key(key)) {
            found.extend(parse(&line, filter)?.map(|listed| keep(listed, each)));
        }
    }
    for line in tail.kept() {
        found.extend(parse(line, filter)?.map(|listed| keep(listed, each)));
    }
    Some(found)
}

/// The `count` most recently synced sessions (`newest_lines_in`), parsed; `more` gets how
/// many others the index lists. `None` when the index must be read whole (or is damaged).
fn read_newest<T>(
    file: &File,
    size: u64,
    count: usize,
    seen: Seen,
    more: &mut usize,
    each: &mut dyn FnMut(Listed) -> T,
) -> Option<Vec<Kept<T>>> {
    let (shown, older) = newest_lines_in(file, size, count, seen)?;
    let parsed: Vec<Listed> = shown
        .iter()
        .map(|line| parse(line, Filter::All).flatten())
        .collect::<Option<_>>()?;
    *more += older;
    Some(parsed.into_iter().map(|l| keep(l, each)).collect())
}

/// The lines of the `count` most recently synced sessions, and how many other sessions the
/// index lists, without reading the whole body: from the body's newest lines the header
/// points to, its lines with no session to list, and the lines appended since (a line
/// appended replaces its session's line in the body, or removes it); the others are counted
/// from the sessions the newest check counted (`checked_parts`), less those with nothing to
/// list. `None` when they must be counted, or the header's lines left once those replaced
/// since are set aside are too few (older lines it does not point to could come next), or
/// a line is not where the header says: the caller reads the index whole.
fn newest_lines_in(
    file: &File,
    size: u64,
    count: usize,
    seen: Seen,
) -> Option<(Vec<Vec<u8>>, usize)> {
    let (body, tail) = checked_parts(file, size, seen, |_| true)?;
    let in_tail = |key: &[u8]| tail.newest.contains_key(key);
    let newest = &tail.header.newest;
    let mut from_body = Vec::with_capacity(count);
    for &(at, len) in newest {
        if from_body.len() == count {
            break;
        }
        // A session's line, or the header does not say where the body's lines lie.
        let line = body.line_at(at, len).ok()??;
        last_sync_of(&line)?;
        if !in_tail(key_of(&line)?) {
            from_body.push(line);
        }
    }
    let (mut candidates, appended_unlisted): (Vec<&[u8]>, Vec<&[u8]>) = tail
        .kept()
        .into_iter()
        .partition(|line| last_sync_of(line).is_some());
    // Directories with no state to list: their lines have no project, so the body's begin it.
    let body_unlisted = body.lines_of(b"").ok()?;
    let body_unlisted = body_unlisted.iter().filter(|line| {
        last_sync_of(line).is_none() && key_of(line).is_some_and(|key| !in_tail(key))
    });
    let listed = (tail.checked?.sessions as usize)
        .checked_sub(appended_unlisted.len() + body_unlisted.count())?;
    let body_short = from_body.len() < count;
    candidates.extend(from_body.iter().map(Vec::as_slice));
    // When the header points to all of the body's sessions, every one listed is a candidate.
    let consistent = if body_short {
        newest.len() < NEWEST_KEPT && candidates.len() == listed
    } else {
        candidates.len() <= listed
    };
    if !consistent {
        return None;
    }
    let shown = newest_lines(candidates, count, &mut 0);
    let older = listed - shown.len();
    Some((shown.into_iter().map(<[u8]>::to_vec).collect(), older))
}

/// Links of the sessions directory that count its subdirectories (`n + 2`), as `stat` found
/// them; where the file system does not count them (btrfs, ext4 past 65,000), its
/// subdirectories listed.
fn session_dirs(sessions: &Path, links: u64) -> io::Result<u64> {
    if links >= 2 {
        return Ok(links - 2);
    }
    Ok(std::fs::read_dir(sessions)?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .count() as u64)
}

/// Rebuilds the index from the states (one process at a time) and gives what `filter` wants.
fn rebuilt<T>(
    data_dir: &Path,
    filter: Filter,
    newest: Option<usize>,
    more: &mut usize,
    each: &mut dyn FnMut(Listed) -> T,
) -> Vec<Kept<T>> {
    let entries = match LockGuard::acquire(&lock_path(data_dir), REBUILD_WAIT) {
        Ok(_lock) => {
            // Another listing may have rebuilt it while this one waited.
            if let Some(found) = read(data_dir, filter, newest, more, each) {
                return found;
            }
            rebuild(data_dir)
        }
        Err(_) => from_states(data_dir).entries,
    };
    entries
        .into_iter()
        .filter_map(|(_, listed)| listed)
        .filter(|listed| filter.wants(listed))
        .map(|listed| keep(listed, each))
        .collect()
}

/// Each session directory's key and what its state lists (`None`: no state to list).
type Entries = Vec<(String, Option<Listed>)>;

/// The sessions directory read whole.
struct FromStates {
    entries: Entries,
    /// Its links that are not session directories.
    others: u64,
    /// The directory as it was before it was read.
    seen: Option<Seen>,
}

/// Every session directory's entry, read from its state.
fn from_states(data_dir: &Path) -> FromStates {
    let sessions = data_dir.join("sessions");
    let seen = Seen::of(&sessions).ok();
    let mut entries = Vec::new();
    for dir in std::fs::read_dir(&sessions).into_iter().flatten().flatten() {
        if !dir.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let key = dir.file_name().to_string_lossy().into_owned();
        let state = super::load_state(&SessionFiles::new(data_dir, &key).state);
        let listed = state.ok().flatten().and_then(|state| state.listed);
        let listed = listed.map(|listed| Listed {
            key: key.clone(),
            ..listed
        });
        entries.push((key, listed));
    }
    let links = seen.map_or(0, |seen| seen.links);
    let others = if links >= 2 {
        (links - 2).saturating_sub(entries.len() as u64)
    } else {
        0
    };
    FromStates {
        entries,
        others,
        seen,
    }
}

/// Writes the index afresh from the states, under the rewriters' lock (held by the caller).
/// Lines appended while the states are read are newer than theirs. What cannot be written is
/// still returned.
fn rebuild(data_dir: &Path) -> Entries {
    let index = path(data_dir);
    // From here on, saves append to this empty index, so none goes missing while the states
    // are read; listings meanwhile find it short, and unchecked, and wait for this rebuild.
    let empty = header_line(&Header::new(0, None));
    let placed = replace_exclusively(&index, |_| Some(empty.clone())).is_ok();
    let states = from_states(data_dir);
    if placed {
        let _ = replace_exclusively(&index, |current| {
            // Still the empty index, grown only by appends.
            let appended = current.strip_prefix(&empty[..])?;
            // As many sessions as directories read, while the directory stays as it was.
            let checked = states.seen.map(|dir| Check {
                dir,
                sessions: states.entries.len() as u64,
            });
            let header = Header::new(states.others, checked);
            let mut scan = Scan::new(header, states.entries.len());
            for (key, listed) in &states.entries {
                scan.add_all(&line(key, listed.as_ref(), false));
            }
            scan.add_all(appended);
            Some(scan.rewritten())
        });
    }
    states.entries
}

/// `body` after `header`, which records the size they make.
fn with_header(body: Vec<u8>, mut header: Header) -> Vec<u8> {
    // The size depends on the header's own digits: two passes settle it.
    header.compacted = body.len() as u64;
    for _ in 0..2 {
        header.compacted = (header_line(&header).len() + body.len()) as u64;
    }
    let mut bytes = header_line(&header);
    bytes.extend(body);
    bytes
}

/// `bytes` up to the end of its last whole line.
fn whole_lines(bytes: &[u8]) -> &[u8] {
    &bytes[..memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1)]
}

/// Replaces the index with what `content` makes of its current bytes (`None`: leave it),
/// holding its exclusive lock: no append is under way, and appends waiting find the new file
/// (they check, once locked, that theirs is still the one at the path).
fn replace_exclusively(
    index: &Path,
    content: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> io::Result<()> {
    let mut current = Vec::new();
    let _held = match open(index) {
        Ok(mut file) => {
            lock::flock_within(&file, lock::Flock::Exclusive, APPEND_WAIT)?;
            if lock::is_at(&file, index)? {
                file.read_to_end(&mut current)?;
            }
            Some(file)
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    match content(&current) {
        Some(bytes) => fs::write_atomic(index, &bytes),
        None => Ok(()),
    }
}

fn open(index: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(index)
}

/// Keeps the index current after `state` was saved: appends its line when what it lists
/// changed since it was loaded or last saved. A line that cannot be appended takes the index
/// with it (the next listing rebuilds it): an index missing a change must not be read.
pub(super) fn record(files: &SessionFiles, state: &mut SessionState) {
    let listed = Listed::of(state);
    if state.listed.as_ref() == Some(&listed) {
        return;
    }
    let appended = append(&files.listing, &line(&files.key, Some(&listed), false));
    state.listed = Some(listed);
    settle(&files.listing, appended);
}

/// After a session's state was removed: its line says the directory went, or that it stays
/// with nothing to list (files of someone else's in it).
pub(super) fn forget(data_dir: &Path, key: &str, dir_gone: bool) {
    let index = path(data_dir);
    let appended = append(&index, &line(key, None, dir_gone));
    settle(&index, appended);
}

fn settle(index: &Path, appended: io::Result<Option<u64>>) {
    match appended {
        Ok(Some(size)) => compact_past(index, size),
        Ok(None) => {}
        Err(_) => {
            let _ = std::fs::remove_file(index);
        }
    }
}

/// Appends one whole line, in one write, under the index's shared lock; returns the index's
/// new size (`None`: there is no index, the next listing builds it from the states).
fn append(index: &Path, line: &[u8]) -> io::Result<Option<u64>> {
    // A rewrite replaces the file between our open and our lock at most once or twice.
    for _ in 0..3 {
        let file = match open(index) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        lock::flock_within(&file, lock::Flock::Shared, APPEND_WAIT)?;
        if !lock::is_at(&file, index)? {
            continue;
        }
        return append_locked(file, line).map(Some);
    }
    Err(io::Error::other("the listings index kept being replaced"))
}

/// Appends one whole line to the index held under its shared lock; returns its new size.
fn append_locked(mut file: File, line: &[u8]) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut last = [b'\n'];
    if len > 0 {
        file.read_exact_at(&mut last, len - 1)?;
    }
    let mut bytes = Vec::with_capacity(line.len() + 1);
    if last != [b'\n'] {
        // A writer killed mid-line left it torn: glued to it, this line would be lost too.
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(line);
    file.write_all(&bytes)?;
    Ok(len + bytes.len() as u64)
}

/// Says in the index that the sessions directory, as `check` found it, holds the sessions it
/// holds, so that listings of one project, and `list`, need not count them again until a
/// session is added or removed. Only to the file read: one rewritten since (a rebuild under
/// way) holds other lines. A check that cannot be written is only not recorded.
fn record_check(index: &Path, read: &File, check: Check) {
    let Ok(file) = open(index) else {
        return;
    };
    let same = |a: &File, b: &File| match (a.metadata(), b.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if !same(&file, read)
        || lock::flock_within(&file, lock::Flock::Shared, APPEND_WAIT).is_err()
        || !lock::is_at(&file, index).unwrap_or(false)
    {
        return;
    }
    let mut line = serde_json::to_vec(&CheckLine { checked: check }).unwrap_or_default();
    line.push(b'\n');
    let _ = append_locked(file, &line);
}

/// Compacts the index when it has grown to `size`, past its limit.
fn compact_past(index: &Path, size: u64) {
    if size <= COMPACT_MIN {
        return;
    }
    let Ok(Some(first)) = crate::read::first_line(index, HEADER_MAX as u64) else {
        return;
    };
    let Ok(header) = serde_json::from_str::<Header>(&first) else {
        return;
    };
    let appended = size.saturating_sub(header.compacted);
    if appended > header.compacted.min(TAIL_MAX) {
        let data_dir = index.parent().unwrap_or(Path::new("."));
        compact(data_dir);
    }
}

/// Rewrites the index to each session's newest line, sorted by project. The lines are
/// gathered without holding appends off; only those appended meanwhile are read, and the
/// file renamed, under the index's exclusive lock. Skipped while another process rewrites it.
fn compact(data_dir: &Path) {
    let Ok(_lock) = LockGuard::acquire(&lock_path(data_dir), Duration::ZERO) else {
        return;
    };
    let index = path(data_dir);
    let Ok(bytes) = crate::read::read_regular(&index, u64::MAX) else {
        return;
    };
    // An index of another version is left for a listing to rebuild.
    let Ok(Some(mut scan)) = Scan::read(&bytes[..], bytes.len() as u64, |_| true) else {
        return;
    };
    let read = &bytes[..scan.complete];
    let _ = replace_exclusively(&index, |current| {
        // Still the file read above, grown only by appends.
        scan.add_all(current.strip_prefix(read)?);
        Some(scan.rewritten())
    });
}

/// What `doctor` found of the index.
pub enum Checked {
    /// No session directory: nothing to index.
    Empty,
    /// It lists every session as its state says (how many).
    Current(usize),
    /// There was none yet (no listing since the sessions began, or since it was deleted); it
    /// was built (with how many sessions).
    Built(usize),
    /// It was missing, unreadable or out of date (how many sessions differed, when it could
    /// be read) and was rebuilt.
    Rebuilt(Option<usize>),
}

/// Compares the index with every state (doctor's thorough check), and rebuilds it when they
/// differ.
pub fn check(data_dir: &Path) -> io::Result<Checked> {
    if !data_dir.join("sessions").exists() {
        return Ok(Checked::Empty);
    }
    let _lock = LockGuard::acquire(&lock_path(data_dir), REBUILD_WAIT)?;
    if !path(data_dir).exists() {
        let built = rebuild(data_dir);
        return Ok(Checked::Built(
            built.iter().filter(|e| e.1.is_some()).count(),
        ));
    }
    let expected: HashMap<String, Listed> = from_states(data_dir)
        .entries
        .into_iter()
        .filter_map(|(key, listed)| Some((key, listed?)))
        .collect();
    let differing = read(data_dir, Filter::All, None, &mut 0, &mut |listed| listed).map(|found| {
        let (mut same, mut unknown) = (0, 0);
        for (_, listed) in &found {
            match expected.get(&listed.key) {
                Some(state) => same += usize::from(state == listed),
                None => unknown += 1,
            }
        }
        expected.len() + unknown - same
    });
    if differing == Some(0) {
        return Ok(Checked::Current(expected.len()));
    }
    rebuild(data_dir);
    Ok(Checked::Rebuilt(differing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(key: &str, project: &str, last_sync: &str) -> Listed {
        Listed {
            key: key.to_owned(),
            project: project.into(),
            cwd: project.into(),
            transcript: "/t.jsonl".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            last_sync: last_sync.into(),
            title: Some("say \"key\":\"x\"}".into()),
            source: None,
            mirrors: BTreeMap::new(),
            retired: Vec::new(),
        }
    }

    fn text(lines: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = header_line(&Header::new(0, None));
        lines.iter().for_each(|l| bytes.extend(l));
        bytes
    }

    #[test]
    fn the_newest_whole_line_of_each_session_wins() {
        let a1 = listed("a", "/p", "1");
        let mut a2 = listed("a", "/p", "2");
        // Longer than the buffer lines are read through.
        a2.title = Some("x".repeat(300 * 1024));
        let mut torn = line("a", Some(&listed("a", "/p", "3")), false);
        torn.truncate(torn.len() - 3);
        torn.push(b'\n');
        let index = text(&[
            line("a", Some(&a1), false),
            line("b", Some(&a1), false),
            line("a", Some(&a2), false),
            torn,
            line("b", None, true),
            line("c", None, false),
        ]);
        let scan = Scan::read(&index[..], 0, |_| true).unwrap().unwrap();
        assert_eq!(scan.present(), 2);
        let kept = scan.kept();
        assert_eq!(kept.len(), 2);
        let newest: LineIn = serde_json::from_slice(kept[0]).unwrap();
        assert_eq!(newest.session.unwrap().last_sync, "2");
        assert_eq!(kept[1], br#"{"key":"c"}"#);
        assert_eq!(scan.complete, index.len());
    }

    #[test]
    fn a_line_is_whole_when_it_ends_with_its_key() {
        let whole = line("a\"b", None, true);
        let whole = whole.strip_suffix(b"\n").unwrap();
        assert_eq!(key_of(whole), Some(&br#"a\"b"#[..]));
        assert_eq!(key_of(br#"{"key":"a"}"#), Some(&b"a"[..]));
        assert_eq!(key_of(br#"{"key":"a"#), None);
        assert_eq!(key_of(br#"{"session":{"title":"x"}"#), None);
    }

    #[test]
    fn another_version_is_no_index() {
        let scan = |bytes: &[u8]| Scan::read(bytes, 0, |_| true).unwrap();
        assert!(scan(b"{\"listing\":0,\"compacted\":0}\n").is_none());
        assert!(scan(b"").is_none());
        assert!(scan(&text(&[])).is_some());
    }

    #[test]
    fn filters_look_for_their_field_whole() {
        let plain = line("a", Some(&listed("a", "/p/q", "1")), false);
        assert!(Filter::Under(Path::new("/p")).line_test()(&plain));
        assert!(!Filter::Under(Path::new("/q")).line_test()(&plain));
        assert!(Filter::Project(Path::new("/p/q")).line_test()(&plain));
        assert!(Filter::Project(Path::new("/p/q/")).line_test()(&plain));
        assert!(!Filter::Project(Path::new("/p")).line_test()(&plain));
        // Paths equal as paths, not as bytes.
        let odd = line("a", Some(&listed("a", "/p/./q/", "1")), false);
        assert!(Filter::Project(Path::new("/p/q")).line_test()(&odd));
        let odd_root = line("a", Some(&listed("a", "//p/q", "1")), false);
        assert!(Filter::Project(Path::new("/p/q")).line_test()(&odd_root));
        let root = line("a", Some(&listed("a", "/", "1")), false);
        assert!(Filter::Project(Path::new("/")).line_test()(&root));
        assert!(Filter::Under(Path::new("/p/q")).line_test()(&odd));
        assert!(!Filter::Project(Path::new("/p")).line_test()(&odd));
        let sibling = listed("a", "/pq", "1");
        assert!(!Filter::Under(Path::new("/p")).wants(&sibling));
    }

    #[test]
    fn a_grown_index_is_compacted_to_the_newest_lines_by_the_append_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        for key in ["a", "b"] {
            std::fs::create_dir_all(dir.path().join("sessions").join(key)).unwrap();
        }
        let mut bytes = header_line(&Header::new(0, None));
        for n in 0..600 {
            let mut session = listed(if n % 2 == 0 { "a" } else { "b" }, "/p", &n.to_string());
            session.title = Some("x".repeat(1000));
            bytes.extend(line(&session.key, Some(&session), false));
        }
        std::fs::write(path(dir.path()), &bytes).unwrap();
        forget(dir.path(), "c", true);

        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert_eq!(text.lines().count(), 3, "header, a, b");
        let header: Header = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(header.compacted, text.len() as u64);
        let mut found: Vec<Listed> =
            read(dir.path(), Filter::All, None, &mut 0, &mut |listed| listed)
                .unwrap()
                .into_iter()
                .map(|(_, listed)| listed)
                .collect();
        found.sort_by(|x, y| x.key.cmp(&y.key));
        let newest: Vec<&str> = found.iter().map(|s| s.last_sync.as_str()).collect();
        assert_eq!(newest, ["598", "599"]);
    }

    #[test]
    fn a_rewritten_body_is_sorted_by_project_and_searched_where_it_lies() {
        let mut scan = Scan::new(Header::new(0, None), 0);
        for n in 0..50 {
            let mut session = listed(&format!("k{n}"), &format!("/p{}", n % 7), "1");
            if n == 3 {
                session.project = "/p3/./".into();
            }
            scan.add_all(&line(&session.key, Some(&session), false));
        }
        scan.add_all(&line("bare", None, false));
        scan.add_all(&line("k0", None, true));
        let bytes = scan.rewritten();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index"), &bytes).unwrap();
        let file = File::open(dir.path().join("index")).unwrap();
        let body = Body {
            file: &file,
            start: memchr::memchr(b'\n', &bytes).unwrap() as u64 + 1,
            end: bytes.len() as u64,
        };
        for p in 0..7 {
            let lines = body.lines_of(format!("/p{p}").as_bytes()).unwrap();
            let keys: Vec<&[u8]> = lines.iter().filter_map(|l| key_of(l)).collect();
            let expected: Vec<String> = (0..50)
                .filter(|n| n % 7 == p && *n != 0)
                .map(|n| format!("k{n}"))
                .collect();
            let mut keys: Vec<String> = keys
                .iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect();
            keys.sort_by_key(|k| k[1..].parse::<usize>().unwrap());
            assert_eq!(keys, expected, "/p{p}");
        }
        assert!(body.lines_of(b"/p").unwrap().is_empty());
        assert!(body.lines_of(b"/q").unwrap().is_empty());
        assert_eq!(body.lines_of(b"").unwrap(), [br#"{"key":"bare"}"#.to_vec()]);
    }

    /// The sessions directory as the tests' checks found it.
    const DIR: Seen = Seen {
        ino: 1,
        mtime: 2,
        mtime_nsec: 3,
        links: 4,
    };

    fn session(n: usize, last_sync: usize) -> Vec<u8> {
        let key = format!("k{n}");
        let session = listed(&key, &format!("/p{}", n % 7), &format!("{last_sync:04}"));
        line(&key, Some(&session), false)
    }

    /// An index rewritten from `body`, then `appended`, then a check of `dir` that counts the
    /// sessions it holds.
    fn index_of(body: &[Vec<u8>], appended: &[Vec<u8>], dir: Seen) -> Vec<u8> {
        let mut scan = Scan::new(Header::new(0, None), 0);
        body.iter().for_each(|line| scan.add_all(line));
        let mut bytes = scan.rewritten();
        appended.iter().for_each(|line| bytes.extend(line));
        let held = Scan::read(&bytes[..], 0, |_| true).unwrap().unwrap();
        let checked = Check {
            dir,
            sessions: held.present() as u64,
        };
        bytes.extend(serde_json::to_vec(&CheckLine { checked }).unwrap());
        bytes.push(b'\n');
        bytes
    }

    /// Lines and how many others, the lines most recent first.
    type Shown = (Vec<Vec<u8>>, usize);

    /// What `list` shows of `index`: from the header's lines and the tail (`None`: it reads
    /// it whole), and from reading it whole.
    fn shown(index: &[u8]) -> (Option<Shown>, Shown) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index"), index).unwrap();
        let file = File::open(dir.path().join("index")).unwrap();
        let by_recency = |(mut lines, older): Shown| {
            lines.sort_by(|a, b| recency(a).cmp(&recency(b)));
            (lines, older)
        };
        let fast = newest_lines_in(&file, index.len() as u64, 20, DIR).map(by_recency);
        let scan = Scan::read(index, 0, |_| true).unwrap().unwrap();
        let mut older = 0;
        let lines = newest_lines(scan.kept(), 20, &mut older);
        let whole = by_recency((lines.into_iter().map(<[u8]>::to_vec).collect(), older));
        (fast, whole)
    }

    fn keys(lines: &[Vec<u8>]) -> Vec<String> {
        let key = |line: &Vec<u8>| String::from_utf8_lossy(key_of(line).unwrap()).into_owned();
        lines.iter().map(key).collect()
    }

    #[test]
    fn the_header_points_to_the_bodys_most_recently_synced_lines() {
        let mut body: Vec<Vec<u8>> = (0..100).map(|n| session(n, (n * 37) % 100)).collect();
        body.push(line("bare", None, false));
        let bytes = index_of(&body, &[], DIR);
        let first = memchr::memchr(b'\n', &bytes).unwrap();
        let header: Header = serde_json::from_slice(&bytes[..first]).unwrap();
        assert!(first < HEADER_MAX, "a header of {first} bytes");
        let pointed: Vec<Vec<u8>> = header
            .newest
            .iter()
            .map(|&(at, len)| bytes[first + 1 + at as usize..][..len as usize].to_vec())
            .collect();
        let mut expected = body[..100].to_vec();
        expected.sort_by(|a, b| recency(a).cmp(&recency(b)));
        for line in expected.iter_mut() {
            line.pop();
        }
        assert_eq!(pointed, expected[..NEWEST_KEPT]);
    }

    #[test]
    fn list_takes_the_newest_from_the_headers_lines_and_those_appended_since() {
        let mut body: Vec<Vec<u8>> = (0..100).map(|n| session(n, n)).collect();
        body.extend([line("bare1", None, false), line("bare2", None, false)]);
        let mut bare1 = listed("bare1", "/q", "0042");
        bare1.title = None;
        let appended = [
            // Synced again, but said older (changed by hand, an import).
            session(99, 50),
            line("k98", None, true),
            session(97, 500),
            session(200, 150),
            line("bare1", Some(&bare1), false),
            // Its state gone, its directory kept.
            line("k5", None, false),
            line("k96", None, true),
            session(96, 96),
            line("bare2", None, true),
        ];
        let (fast, whole) = shown(&index_of(&body, &appended, DIR));
        assert_eq!(fast.as_ref(), Some(&whole));
        let (lines, older) = whole;
        assert_eq!(keys(&lines[..3]), ["k97", "k200", "k96"]);
        assert!(!keys(&lines).contains(&"k98".to_owned()));
        // k0…k99 but k98 and k5, then k200 and bare1.
        assert_eq!(older, 100 - 20);

        // Nothing appended: all from the header's lines.
        let (fast, whole) = shown(&index_of(&body, &[], DIR));
        assert_eq!(fast, Some(whole));
    }

    #[test]
    fn list_reads_it_whole_when_too_few_of_the_headers_lines_are_left() {
        let body: Vec<Vec<u8>> = (0..100).map(|n| session(n, n)).collect();
        let removed = |newest: usize| -> Vec<Vec<u8>> {
            (100 - newest..100)
                .map(|n| line(&format!("k{n}"), None, true))
                .collect()
        };
        // 64 pointed to, 44 removed: 20 left, enough.
        let (fast, whole) = shown(&index_of(&body, &removed(44), DIR));
        assert_eq!(fast, Some(whole));
        let (fast, whole) = shown(&index_of(&body, &removed(45), DIR));
        assert_eq!(fast, None);
        assert_eq!(whole.1, 55 - 20);
        // The header points to every session of a smaller body: none can come next.
        let (fast, whole) = shown(&index_of(&body[..40], &removed(90)[..35], DIR));
        assert_eq!(fast, Some(whole));
    }

    #[test]
    fn list_reads_it_whole_when_it_cannot_trust_the_header_or_the_count() {
        let body: Vec<Vec<u8>> = (0..30).map(|n| session(n, n)).collect();
        // The sessions directory has changed since the newest check.
        let other = Seen { links: 5, ..DIR };
        assert_eq!(shown(&index_of(&body, &[], other)).0, None);
        // The body edited by hand, its size kept: a byte less in its first line, one more in
        // its last; the lines between are no longer where the header says.
        let mut bytes = index_of(&body, &[], DIR);
        let header_end = memchr::memchr(b'\n', &bytes).unwrap();
        let header: Header = serde_json::from_slice(&bytes[..header_end]).unwrap();
        bytes.remove(header_end + 2);
        bytes.insert(header.compacted as usize - 2, b' ');
        assert_eq!(shown(&bytes).0, None);
    }

    #[test]
    fn the_header_records_the_size_written() {
        let body = vec![b'x'; 95];
        let bytes = with_header(body, Header::new(3, None));
        let first = std::str::from_utf8(&bytes).unwrap().lines().next().unwrap();
        let header: Header = serde_json::from_str(first).unwrap();
        assert_eq!(header.compacted, bytes.len() as u64);
        assert_eq!(header.others, 3);
    }
}
