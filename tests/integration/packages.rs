//! Offline packages between two machines, each a temporary HOME with its own agent homes and
//! data dir (`../shared/specs/packages.md`): export, inspect, import and its classes, rollback,
//! the journal, crash recovery, hostile packages, path maps and redaction, and a Claude session
//! mirrored live on both machines, through the binary.

use crate::support::home::{Env, codex_line, write_rollout};
use crate::support::recording::Recording;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const ID: &str = "01936f3a-1111-7222-8333-444455556666";

/// A Codex session on `env`, as Codex writes one: a prompt, a shell call, an answer.
fn codex_session(env: &Env, id: &str, prompt: &str, output: &str) -> PathBuf {
    let lines = [
        codex_line(
            "session_meta",
            json!({ "id": id, "timestamp": "2025-01-15T10:00:00.000Z", "cwd": env.project, "originator": "codex_cli_rs", "cli_version": "0.169.0", "source": "cli" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "<environment_context>x</environment_context>" }] }),
        ),
        codex_line(
            "event_msg",
            json!({ "type": "user_message", "message": prompt, "images": [] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": prompt }] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}", "call_id": "call_1" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "function_call_output", "call_id": "call_1", "output": output }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "One file." }] }),
        ),
    ];
    write_rollout(env, id, &lines)
}

/// A turn appended to a Codex session, as Codex appends one when the session is resumed.
fn continue_codex(path: &Path, prompt: &str, answer: &str) {
    let text = [
        codex_line(
            "event_msg",
            json!({ "type": "user_message", "message": prompt, "images": [] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": prompt }] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": answer }] }),
        ),
    ]
    .concat();
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
}

/// Runs the binary on `env`, expecting `code`; returns stdout then stderr.
fn run(env: &Env, args: &[&str], code: i32) -> (String, String) {
    let out = env.run(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "session-sync {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

fn ok(env: &Env, args: &[&str]) -> String {
    run(env, args, 0).0
}

fn export(env: &Env, to: &Path) -> String {
    ok(env, &["export", "-o", to.to_str().unwrap()])
}

fn import(env: &Env, package: &Path, extra: &[&str]) -> String {
    let mut args = vec!["import", package.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(env, &args)
}

/// Paths with their mode and content hash (empty for a directory).
type Tree = BTreeMap<PathBuf, (u32, String)>;

/// Every path under `root` (directories too).
fn tree(root: &Path) -> Tree {
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_dir() {
                dirs.push(path.clone());
                String::new()
            } else {
                session_sync::hash::sha256_hex(&std::fs::read(&path).unwrap())
            };
            found.insert(
                path.strip_prefix(root).unwrap().to_owned(),
                (meta.permissions().mode(), content),
            );
        }
    }
    found
}

/// The transaction ids of `env`'s journal.
fn txids(env: &Env) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(env.data.join("journal"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    ids.sort();
    ids
}

/// A package's files by name.
type Files = BTreeMap<String, Vec<u8>>;

/// The files of a package, by name.
fn unpack(package: &Path) -> Files {
    let file = std::fs::File::open(package).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(name, bytes);
    }
    files
}

/// A package with these files, as raw tar entries (names and kinds unchecked).
fn pack(package: &Path, files: &Files, extra: &[(&str, tar::EntryType)]) {
    let file = std::fs::File::create(package).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(file, Default::default()));
    let mut append = |name: &str, kind: tar::EntryType, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        // Written raw: the tar crate refuses `..` through `set_path`, a hostile packer does not.
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        if kind == tar::EntryType::Symlink {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        builder.append(&header, bytes).unwrap();
    };
    for (name, bytes) in files {
        append(name, tar::EntryType::Regular, bytes);
    }
    for (name, kind) in extra {
        append(name, *kind, b"");
    }
    builder.into_inner().unwrap().finish().unwrap();
}

fn manifest(package: &Path) -> Value {
    serde_json::from_slice(&unpack(package)["manifest.json"]).unwrap()
}

/// The files under `dir` (recursively) whose path contains `needle`.
fn find(dir: &Path, needle: &str) -> Vec<PathBuf> {
    tree(dir)
        .into_iter()
        .filter(|(p, (_, hash))| !hash.is_empty() && p.to_string_lossy().contains(needle))
        .map(|(p, _)| dir.join(p))
        .collect()
}

fn claude_sessions(env: &Env) -> Vec<PathBuf> {
    find(&env.home.join(".claude/projects"), ".jsonl")
}

/// Machine A's session, exported; a scratch dir for the packages.
fn transfer() -> (Env, Env, tempfile::TempDir, PathBuf) {
    let a = Env::new();
    let b = Env::new();
    let packages = tempfile::tempdir().unwrap();
    codex_session(&a, ID, "list the files", "a.txt");
    let package = packages.path().join("a1.sspkg");
    let said = export(&a, &package);
    assert!(
        said.contains(&format!("codex     {ID}  4 records")),
        "{said}"
    );
    (a, b, packages, package)
}

#[test]
fn export_inspect_import_then_reimport_writes_nothing() {
    let (_a, b, _packages, package) = transfer();
    let before = tree(b.root.path());
    let said = ok(
        &b,
        &["inspect", package.to_str().unwrap(), "--to", "claude"],
    );
    assert!(
        said.contains(&format!("codex     {ID} → codex     new")),
        "{said}"
    );
    assert!(said.contains("→ claude    new"), "{said}");
    assert!(said.contains("Nothing written"), "{said}");
    assert_eq!(tree(b.root.path()), before, "inspect wrote something");

    let said = import(&b, &package, &["--to", "claude"]);
    // The Codex session comes in under its own id, in B's project.
    let rollouts = b.rollouts();
    assert_eq!(rollouts.len(), 1, "{rollouts:?}");
    assert!(
        rollouts[0]
            .to_string_lossy()
            .ends_with(&format!("-{ID}.jsonl"))
    );
    let lines = crate::support::home::parse_rollout(&rollouts[0]);
    assert_eq!(lines[0]["payload"]["cwd"], b.project.to_str().unwrap());
    assert!(
        std::fs::read_to_string(&rollouts[0])
            .unwrap()
            .contains("list the files")
    );
    let claude = claude_sessions(&b);
    assert_eq!(claude.len(), 1, "{claude:?}");
    assert!(
        std::fs::read_to_string(&claude[0])
            .unwrap()
            .contains("list the files")
    );
    assert!(said.contains("codex     created codex resume"), "{said}");
    assert_eq!(txids(&b).len(), 1);

    let before = tree(b.root.path());
    let said = import(&b, &package, &["--to", "claude"]);
    assert!(said.contains("Nothing to write"), "{said}");
    assert!(said.contains("→ codex     unchanged"), "{said}");
    assert!(said.contains("→ claude    unchanged"), "{said}");
    assert_eq!(tree(b.root.path()), before, "a re-import wrote something");
}

#[test]
fn an_agent_store_that_cannot_be_read_leaves_the_other_sessions_exportable() {
    let a = Env::new();
    codex_session(&a, ID, "list the files", "a.txt");
    // An OpenCode database of a schema session-sync does not read (a newer OpenCode).
    let db = a.home.join(".local/share/opencode/opencode.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE session (id TEXT PRIMARY KEY);")
        .unwrap();
    let packages = tempfile::tempdir().unwrap();
    let package = packages.path().join("a.sspkg");
    let (said, warned) = run(&a, &["export", "-o", package.to_str().unwrap()], 0);
    assert!(
        said.contains(&format!("codex     {ID}  4 records")),
        "{said}"
    );
    assert!(
        warned.contains("warning: not exported: OpenCode's database"),
        "{warned}"
    );
    // Named, it goes without a word about the others.
    let (said, warned) = run(&a, &["export", ID, "-o", package.to_str().unwrap()], 0);
    assert!(said.contains("Wrote 1 session to"), "{said}");
    assert!(!warned.contains("warning"), "{warned}");
    // A session not found says what could not be read.
    let (_, error) = run(
        &a,
        &["export", "ses_nothere", "-o", package.to_str().unwrap()],
        1,
    );
    assert!(
        error.contains("no session ses_nothere") && error.contains("(not read: OpenCode"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
}

/// Classifying against an import's copy reads it through a scratch file, which once left an
/// empty `<data>/tmp` behind.
#[test]
fn inspect_of_an_imported_session_writes_nothing() {
    let (_a, b, _packages, package) = transfer();
    import(&b, &package, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    let before = tree(b.root.path());
    ok(&b, &["inspect", package.to_str().unwrap()]);
    assert_eq!(tree(b.root.path()), before);
}

#[test]
fn continued_on_b_fast_forwards_onto_a_native_file() {
    let (a, b, packages, package) = transfer();
    let original = a.rollouts()[0].clone();
    let original_bytes = std::fs::read(&original).unwrap();
    import(&b, &package, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    let back = packages.path().join("b1.sspkg");
    assert!(export(&b, &back).contains("6 records"));

    let said = import(&a, &back, &[]);
    assert!(
        said.contains("adopt, then fast-forward: +2 records"),
        "{said}"
    );
    // A's own native file: what it held is untouched, B's turn is appended once.
    assert_eq!(a.rollouts(), vec![original.clone()]);
    let now = std::fs::read(&original).unwrap();
    assert_eq!(&now[..original_bytes.len()], &original_bytes[..]);
    let added = String::from_utf8_lossy(&now[original_bytes.len()..]).into_owned();
    assert_eq!(added.matches("\"text\":\"now on B\"").count(), 1, "{added}");
    assert_eq!(
        added.matches("\"text\":\"B says hi.\"").count(),
        1,
        "{added}"
    );
    crate::support::home::parse_rollout(&original);

    // And back: B has all of it already.
    let again = packages.path().join("a2.sspkg");
    assert!(export(&a, &again).contains("6 records"));
    let before = tree(b.root.path());
    let said = import(&b, &again, &[]);
    assert!(said.contains("→ codex     unchanged"), "{said}");
    assert!(said.contains("Nothing to write"), "{said}");
    assert_eq!(tree(b.root.path()), before);
    assert_eq!(txids(&b).len(), 1);

    // Rolled back on A: the append is truncated away, A's file is as it was.
    let said = ok(&a, &["rollback", "--last"]);
    assert!(said.contains("truncated to its size before"), "{said}");
    assert_eq!(std::fs::read(&original).unwrap(), original_bytes);
    assert!(
        !a.data
            .join("sessions")
            .join(format!("pkg-codex-{ID}"))
            .join("state.jsonl")
            .exists()
    );
}

/// A package that fast-forwards only the Claude copy with B's own Codex turn journals that
/// turn: the Codex copy's view must not count it twice (it read local-ahead, and B's next
/// export repeated the turn), and A's next turn still appends to B's copy.
#[test]
fn a_claude_copy_catching_up_does_not_duplicate_the_continuation() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &["--to", "claude"]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    let back = packages.path().join("b1.sspkg");
    export(&b, &back);
    import(&a, &back, &[]);
    let again = packages.path().join("a2.sspkg");
    export(&a, &again);
    // B's Claude copy catches up with B's own Codex turn.
    let said = import(&b, &again, &["--to", "claude"]);
    assert!(
        said.contains("→ claude    fast-forward: +2 records"),
        "{said}"
    );
    let said = import(&b, &again, &[]);
    assert!(said.contains("→ codex     unchanged"), "{said}");
    let third = packages.path().join("b2.sspkg");
    assert!(export(&b, &third).contains("6 records"));

    let copy = b.rollouts()[0].clone();
    let before = std::fs::read(&copy).unwrap();
    continue_codex(&a.rollouts()[0], "now on A", "A says hi.");
    let fourth = packages.path().join("a3.sspkg");
    export(&a, &fourth);
    let said = import(&b, &fourth, &["--to", "claude"]);
    assert!(
        said.contains("→ codex     adopt, then fast-forward: +2 records"),
        "{said}"
    );
    assert_eq!(
        b.rollouts(),
        vec![copy.clone()],
        "a fork instead of an append"
    );
    let after = std::fs::read(&copy).unwrap();
    assert!(after.starts_with(&before));
    let added = String::from_utf8_lossy(&after[before.len()..]).into_owned();
    assert_eq!(
        added.matches("\"text\":\"A says hi.\"").count(),
        1,
        "{added}"
    );
    assert!(!added.contains("B says hi."), "{added}");
}

#[test]
fn both_continued_diverge_into_a_new_session_beside_the_local_one() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    let local = a.rollouts()[0].clone();
    continue_codex(&local, "now on A", "A says hi.");
    let local_bytes = std::fs::read(&local).unwrap();
    let back = packages.path().join("b1.sspkg");
    export(&b, &back);

    let said = import(&a, &back, &[]);
    assert!(said.contains("diverged"), "{said}");
    assert_eq!(
        std::fs::read(&local).unwrap(),
        local_bytes,
        "local session changed"
    );
    let rollouts = a.rollouts();
    assert_eq!(rollouts.len(), 2, "{rollouts:?}");
    let branch = rollouts.iter().find(|p| **p != local).unwrap();
    let branch_text = std::fs::read_to_string(branch).unwrap();
    assert!(branch_text.contains("now on B") && !branch_text.contains("now on A"));
    let branch_id = crate::support::home::parse_rollout(branch)[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(branch_id, ID);
    let listed = ok(&a, &["sessions", "--all"]);
    assert!(
        listed.contains(ID) && listed.contains(&branch_id),
        "{listed}"
    );
    let status = ok(&a, &["list"]);
    assert!(
        status.contains(ID) && status.contains(&branch_id),
        "{status}"
    );
}

/// The session A kept beside a diverged import is A's own: `export` still carries it (it was
/// taken for a mirror and left out).
#[test]
fn after_a_divergence_export_still_carries_the_local_session() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    continue_codex(&a.rollouts()[0], "now on A", "A says hi.");
    let back = packages.path().join("b1.sspkg");
    export(&b, &back);
    assert!(import(&a, &back, &[]).contains("diverged"));
    let said = export(&a, &packages.path().join("a2.sspkg"));
    assert!(
        said.contains(&format!("codex     {ID}  6 records")),
        "A's own session is not exported: {said}"
    );
    assert!(said.contains("Wrote 2 sessions"), "{said}");
}

#[test]
fn after_a_divergence_export_still_carries_the_continued_copy() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    continue_codex(&a.rollouts()[0], "now on A", "A says hi.");
    let again = packages.path().join("a2.sspkg");
    export(&a, &again);
    assert!(import(&b, &again, &[]).contains("diverged"));
    let said = export(&b, &packages.path().join("b2.sspkg"));
    assert!(
        said.contains("Wrote 2 sessions"),
        "B's continuation is not exported: {said}"
    );
}

#[test]
fn an_unrelated_session_with_the_same_id_gets_a_new_id() {
    let (_a, b, _packages, package) = transfer();
    let theirs = codex_session(&b, ID, "something else entirely", "b.txt");
    let bytes = std::fs::read(&theirs).unwrap();
    let said = import(&b, &package, &[]);
    assert!(said.contains("id collision"), "{said}");
    assert_eq!(std::fs::read(&theirs).unwrap(), bytes);
    let rollouts = b.rollouts();
    assert_eq!(rollouts.len(), 2, "{rollouts:?}");
    let new = rollouts.iter().find(|p| **p != theirs).unwrap();
    assert!(!new.to_string_lossy().contains(ID));
    assert!(
        std::fs::read_to_string(new)
            .unwrap()
            .contains("list the files")
    );
}

#[test]
fn rollback_undoes_exactly_and_keeps_what_was_continued() {
    let (_a, b, _packages, package) = transfer();
    let home_before = tree(&b.home);
    let said = import(&b, &package, &["--to", "claude"]);
    let txid = said
        .split("Import ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_owned();
    // The listings follow the import, then its rollback (`Env::listings` checks them).
    assert!(b.listings()[3].contains(ID));
    // Something else happens meanwhile on B: another session, kept by the rollback.
    let other = codex_session(&b, "01936f3a-9999-7222-8333-444455556666", "other", "c.txt");
    let listed = ok(&b, &["journal"]);
    assert!(
        listed.contains(&txid) && listed.contains("Committed"),
        "{listed}"
    );

    let said = ok(&b, &["rollback", &txid]);
    assert!(
        said.contains(&format!("Import {txid} rolled back.")),
        "{said}"
    );
    // Every file as before the import, and the session created meanwhile.
    let files = |tree: Tree| -> Tree {
        tree.into_iter()
            .filter(|(_, (_, hash))| !hash.is_empty())
            .collect()
    };
    let mut expected = files(home_before);
    let other_key = other.strip_prefix(&b.home).unwrap().to_owned();
    expected.insert(other_key.clone(), tree(&b.home)[&other_key].clone());
    assert_eq!(
        files(tree(&b.home)),
        expected,
        "rollback left files behind or removed others"
    );
    assert!(
        !b.data
            .join("sessions")
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().path().join("state.jsonl").exists() })
    );
    assert!(ok(&b, &["journal"]).contains("RolledBack"));
    assert!(!b.listings()[3].contains(ID));
    run(&b, &["rollback", &txid], 1);

    // Imported again and continued in Codex: rollback --last keeps the continued session.
    let said = import(&b, &package, &["--to", "claude"]);
    assert!(said.contains("new"), "{said}");
    let rollout = b
        .rollouts()
        .into_iter()
        .find(|p| p.to_string_lossy().contains(ID))
        .unwrap();
    continue_codex(&rollout, "continued after the import", "ok");
    let continued = std::fs::read(&rollout).unwrap();
    let (said, _) = run(&b, &["rollback", "--last"], 1);
    assert!(said.contains("continued after the import"), "{said}");
    assert_eq!(std::fs::read(&rollout).unwrap(), continued);
    assert!(
        claude_sessions(&b).is_empty(),
        "the untouched Claude copy is deleted"
    );
}

#[test]
fn an_import_killed_half_way_is_rolled_back_by_the_next_import() {
    let (_a, b, packages, package) = transfer();
    import(&b, &package, &["--to", "claude"]);
    // As if killed after writing the sessions, before saying what it wrote or committing:
    // only its first op is in the journal and its status is still `applying`.
    let txid = txids(&b).pop().unwrap();
    let tx_dir = b.data.join("journal").join(&txid);
    let ops = std::fs::read_to_string(tx_dir.join("ops.jsonl")).unwrap();
    assert!(
        ops.lines().nth(1).unwrap().contains("\"op\":\"written\""),
        "{ops}"
    );
    std::fs::write(
        tx_dir.join("ops.jsonl"),
        ops.lines().next().unwrap().to_owned() + "\n",
    )
    .unwrap();
    let tx_path = tx_dir.join("tx.json");
    let mut tx: Value = serde_json::from_slice(&std::fs::read(&tx_path).unwrap()).unwrap();
    tx["status"] = json!("applying");
    std::fs::write(&tx_path, tx.to_string()).unwrap();

    // The next import, of another package, undoes it first (from the session's state).
    let other = Env::new();
    codex_session(
        &other,
        "01936f3a-2222-7222-8333-444455556666",
        "other",
        "c.txt",
    );
    let second = packages.path().join("other.sspkg");
    export(&other, &second);
    let said = import(&b, &second, &[]);
    assert!(
        said.contains(&format!("rolled back the interrupted import {txid}")),
        "{said}"
    );
    let rollouts = b.rollouts();
    assert_eq!(rollouts.len(), 1, "{rollouts:?}");
    assert!(!rollouts[0].to_string_lossy().contains(ID));
    assert!(claude_sessions(&b).is_empty());
    let tx: Value = serde_json::from_slice(&std::fs::read(&tx_path).unwrap()).unwrap();
    assert_eq!(tx["status"], "rolled_back");
    assert!(
        !b.data
            .join("sessions")
            .join(format!("pkg-codex-{ID}"))
            .join("state.jsonl")
            .exists()
    );
}

/// Recovery comes before the plan: classified against the half-applied import, the package
/// read `unchanged` and the recovery then deleted it.
#[test]
fn reimporting_the_package_of_a_killed_import_imports_it() {
    let (_a, b, _packages, package) = transfer();
    import(&b, &package, &[]);
    let txid = txids(&b).pop().unwrap();
    let tx_path = b.data.join("journal").join(&txid).join("tx.json");
    let mut tx: Value = serde_json::from_slice(&std::fs::read(&tx_path).unwrap()).unwrap();
    tx["status"] = json!("applying");
    std::fs::write(&tx_path, tx.to_string()).unwrap();
    let said = import(&b, &package, &[]);
    assert!(
        said.contains(&format!("rolled back the interrupted import {txid}")),
        "{said}"
    );
    assert!(said.contains("→ codex     new"), "{said}");
    assert_eq!(b.rollouts().len(), 1, "the session is not there");
}

/// Imports `package` on a fresh machine and expects a one-line error naming `fault`, exit 1,
/// and nothing written.
fn refused(package: &Path, fault: &str) {
    let b = Env::new();
    let before = tree(b.root.path());
    let (stdout, stderr) = run(&b, &["import", package.to_str().unwrap()], 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(fault), "{stderr} does not say {fault}");
    assert!(stderr.contains(package.to_str().unwrap()), "{stderr}");
    assert_eq!(
        tree(b.root.path()),
        before,
        "a refused package wrote something"
    );
}

#[test]
fn damaged_or_hostile_packages_are_refused_and_write_nothing() {
    let (_a, _b, packages, package) = transfer();
    let files = unpack(&package);
    let records = files
        .keys()
        .find(|k| k.ends_with("records.jsonl"))
        .unwrap()
        .clone();
    let variant = |name: &str, change: &dyn Fn(&mut Files)| {
        let mut files = files.clone();
        change(&mut files);
        let path = packages.path().join(name);
        pack(&path, &files, &[]);
        path
    };
    let flipped = variant("flipped.sspkg", &|f| {
        let bytes = f.get_mut(&records).unwrap();
        bytes[10] ^= 1;
    });
    refused(&flipped, "does not match its checksum");
    let missing = variant("missing.sspkg", &|f| {
        f.remove(&records);
    });
    refused(&missing, "is missing");
    let future = variant("future.sspkg", &|f| {
        let mut manifest: Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
        manifest["format_version"] = json!(2);
        f.insert("manifest.json".into(), manifest.to_string().into_bytes());
    });
    refused(&future, "version 2");
    for (name, entry, kind, fault) in [
        ("dotdot.sspkg", "../x", tar::EntryType::Regular, "../x"),
        (
            "absolute.sspkg",
            "/tmp/x",
            tar::EntryType::Regular,
            "/tmp/x",
        ),
        (
            "symlink.sspkg",
            "link",
            tar::EntryType::Symlink,
            "not a regular file",
        ),
        (
            "hardlink.sspkg",
            "link",
            tar::EntryType::Link,
            "not a regular file",
        ),
    ] {
        let path = packages.path().join(name);
        pack(&path, &files, &[(entry, kind)]);
        refused(&path, fault);
    }
    let crowded = packages.path().join("crowded.sspkg");
    let many: Vec<String> = (0..10_000).map(|n| format!("x{n}")).collect();
    let extra: Vec<(&str, tar::EntryType)> = many
        .iter()
        .map(|n| (n.as_str(), tar::EntryType::Regular))
        .collect();
    pack(&crowded, &files, &extra);
    refused(&crowded, "larger than a package may be");
    let truncated = packages.path().join("truncated.sspkg");
    let bytes = std::fs::read(&package).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refused(&truncated, "not a gzip tar");
}

#[test]
fn a_root_outside_home_needs_a_map_or_keep_paths() {
    let a = Env::new();
    let outside = a.root.path().join("srv/proj");
    std::fs::create_dir_all(&outside).unwrap();
    let path = codex_session(&a, ID, "list the files", "a.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(a.project.to_str().unwrap(), outside.to_str().unwrap());
    // A call whose arguments name a path under the root: mapped as the session dir is.
    let args = json!({ "cmd": "ls", "workdir": outside.join("sub") }).to_string();
    let call = codex_line(
        "response_item",
        json!({ "type": "function_call", "name": "exec_command", "arguments": args, "call_id": "call_2" }),
    );
    let output = codex_line(
        "response_item",
        json!({ "type": "function_call_output", "call_id": "call_2", "output": "b.txt" }),
    );
    std::fs::write(&path, text + &call + &output).unwrap();
    let packages = tempfile::tempdir().unwrap();
    let package = packages.path().join("a.sspkg");
    ok(&a, &["export", "--all", "-o", package.to_str().unwrap()]);

    let b = Env::new();
    let before = tree(b.root.path());
    let (_, stderr) = run(&b, &["import", package.to_str().unwrap()], 1);
    assert!(
        stderr.contains(&format!("no mapping for {}", outside.display()))
            && stderr.contains("--map"),
        "{stderr}"
    );
    assert_eq!(tree(b.root.path()), before);

    let there = b.root.path().join("data-proj");
    let map = format!("{}={}", outside.display(), there.display());
    let said = import(&b, &package, &["--map", &map]);
    assert!(
        said.contains(&format!("{} → {}", outside.display(), there.display())),
        "{said}"
    );
    let lines = crate::support::home::parse_rollout(&b.rollouts()[0]);
    assert_eq!(lines[0]["payload"]["cwd"], there.to_str().unwrap());
    let call = lines
        .iter()
        .find(|l| l["payload"]["call_id"] == "call_2" && l["payload"]["type"] == "function_call")
        .unwrap();
    let args: Value = serde_json::from_str(call["payload"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        args["workdir"],
        there.join("sub").to_str().unwrap(),
        "{call}"
    );

    let c = Env::new();
    import(&c, &package, &["--keep-paths"]);
    let meta = &crate::support::home::parse_rollout(&c.rollouts()[0])[0];
    assert_eq!(meta["payload"]["cwd"], outside.to_str().unwrap());
}

#[test]
fn secrets_are_redacted_and_counted_unless_no_redact() {
    let a = Env::new();
    let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123";
    let aws = "AKIAABCDEFGHIJKLMNOP";
    codex_session(&a, ID, &format!("use {key} please"), &format!("aws {aws}"));
    let packages = tempfile::tempdir().unwrap();
    let package = packages.path().join("a.sspkg");
    let said = export(&a, &package);
    assert!(said.contains("redacted"), "{said}");
    let files = unpack(&package);
    let records = String::from_utf8(
        files
            .iter()
            .find(|(k, _)| k.ends_with("records.jsonl"))
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(
        !records.contains(key) && !records.contains(aws),
        "{records}"
    );
    assert!(records.contains("[REDACTED:anthropic-key]"), "{records}");
    assert!(records.contains("[REDACTED:aws-access-key]"), "{records}");
    let redaction = &manifest(&package)["redaction"];
    assert_eq!(redaction["applied"], true);
    assert!(
        redaction["counts"]["anthropic-key"].as_u64().unwrap() >= 1,
        "{redaction}"
    );
    assert_eq!(redaction["counts"]["aws-access-key"], 1, "{redaction}");
    assert!(
        !files
            .values()
            .any(|f| String::from_utf8_lossy(f).contains(key)),
        "the key is somewhere in the package"
    );

    let b = Env::new();
    let said = ok(&b, &["inspect", package.to_str().unwrap()]);
    assert!(
        said.contains("redacted at export:") && said.contains("anthropic-key"),
        "{said}"
    );

    let plain = packages.path().join("plain.sspkg");
    ok(
        &a,
        &["export", "--no-redact", "-o", plain.to_str().unwrap()],
    );
    let files = unpack(&plain);
    let records = files
        .iter()
        .find(|(k, _)| k.ends_with("records.jsonl"))
        .unwrap()
        .1;
    let records = String::from_utf8_lossy(records);
    assert!(records.contains(key) && records.contains(aws), "{records}");
    assert_eq!(manifest(&plain)["redaction"]["applied"], false);
}

#[test]
fn a_claude_session_keeps_its_id_on_the_other_machine() {
    let a = Env::new();
    let recording = Recording::load("simple_bash");
    recording.write_transcript(&a, usize::MAX);
    let id = recording.session_id();
    let packages = tempfile::tempdir().unwrap();
    let package = packages.path().join("a.sspkg");
    let said = export(&a, &package);
    assert!(said.contains(&format!("claude    {id}")), "{said}");

    let b = Env::new();
    let said = import(&b, &package, &[]);
    assert!(said.contains("→ claude    new"), "{said}");
    let sessions = claude_sessions(&b);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(
        sessions[0].ends_with(format!("{id}.jsonl")),
        "{}",
        sessions[0].display()
    );
    // The project folder is recomputed from B's project dir.
    let folder: String = b
        .project
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    assert!(
        sessions[0].parent().unwrap().ends_with(&folder),
        "{}",
        sessions[0].display()
    );
    let text = std::fs::read_to_string(&sessions[0]).unwrap();
    assert!(
        text.contains(&format!("\"cwd\":\"{}\"", b.project.display())),
        "cwd not local"
    );
    assert!(
        !text.contains(a.home.to_str().unwrap()),
        "A's home left in B's session"
    );
    assert!(
        b.rollouts().is_empty(),
        "only the session's own agent by default"
    );
}

#[test]
fn diverged_on_the_importing_machine_keeps_its_continued_copy() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &["--to", "claude"]);
    let copy = b.rollouts()[0].clone();
    continue_codex(&copy, "now on B", "B says hi.");
    let copy_bytes = std::fs::read(&copy).unwrap();
    continue_codex(&a.rollouts()[0], "now on A", "A says hi.");
    let again = packages.path().join("a2.sspkg");
    export(&a, &again);

    let said = import(&b, &again, &["--to", "claude"]);
    assert!(said.contains("→ codex     diverged"), "{said}");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        copy_bytes,
        "B's continued copy changed"
    );
    let rollouts = b.rollouts();
    assert_eq!(rollouts.len(), 2, "{rollouts:?}");
    let branch = rollouts.iter().find(|p| **p != copy).unwrap();
    let text = std::fs::read_to_string(branch).unwrap();
    assert!(
        text.contains("now on A") && !text.contains("now on B"),
        "{text}"
    );
    let listed = ok(&b, &["list"]);
    assert!(listed.contains("continued in the agent"), "{listed}");
}

/// Codex 0.169's own paginated rollout (recorded): B's turn comes back onto it with the
/// ordinals Codex requires on every line (`../shared/specs/codex.md` §7).
#[test]
fn a_fast_forward_onto_a_paginated_rollout_continues_its_ordinals() {
    let a = Env::new();
    let b = Env::new();
    let fixture = crate::support::files::fixture_dir("native/codex")
        .join("rollout-2026-12-02T15-14-08-01a23751-f769-74d0-94f8-26eecde115d0.jsonl");
    let id = "01a23751-f769-74d0-94f8-26eecde115d0";
    let dir = a.codex_home.join("sessions/2026/12/02");
    std::fs::create_dir_all(&dir).unwrap();
    let native = dir.join(fixture.file_name().unwrap());
    let text = std::fs::read_to_string(&fixture).unwrap();
    std::fs::write(&native, a.localize(&text)).unwrap();
    let packages = tempfile::tempdir().unwrap();
    let there = packages.path().join("a.sspkg");
    export(&a, &there);
    import(&b, &there, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    let back = packages.path().join("b.sspkg");
    export(&b, &back);

    let said = import(&a, &back, &[]);
    assert!(said.contains("fast-forward: +2 records"), "{said}");
    let lines = crate::support::home::parse_rollout(&native);
    assert_eq!(lines[0]["payload"]["id"], id);
    let ordinals: Vec<Option<u64>> = lines.iter().map(|l| l["ordinal"].as_u64()).collect();
    let expected: Vec<Option<u64>> = (0..lines.len() as u64).map(Some).collect();
    assert_eq!(ordinals, expected);
    assert!(
        std::fs::read_to_string(&native)
            .unwrap()
            .contains("B says hi.")
    );
}

/// A turn appended to a Claude Code transcript as Claude Code writes one: a prompt and an
/// answer chained to the last line.
fn continue_claude(env: &Env, path: &Path, id: &str, prompt: &str, answer: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let last = text
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l).ok()?["uuid"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap();
    let (user, assistant) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let common = |parent: &str, uuid: &str| {
        json!({ "parentUuid": parent, "isSidechain": false, "uuid": uuid, "sessionId": id,
                "cwd": env.project, "timestamp": "2026-11-22T10:00:00.000Z", "userType": "external",
                "version": "2.1.197" })
    };
    let mut prompt_line = common(&last, &user);
    prompt_line["type"] = json!("user");
    prompt_line["message"] = json!({ "role": "user", "content": prompt });
    let mut answer_line = common(&user, &assistant);
    answer_line["type"] = json!("assistant");
    answer_line["message"] = json!({ "id": format!("msg_{assistant}"), "type": "message",
        "role": "assistant", "model": "claude-opus-4-8", "content": [{ "type": "text", "text": answer }],
        "stop_reason": "end_turn", "usage": { "input_tokens": 1, "output_tokens": 1 } });
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let lines = format!("{prompt_line}\n{answer_line}\n");
    std::io::Write::write_all(&mut file, lines.as_bytes()).unwrap();
}

/// Claude Code's Stop hook for session `id` at `path`.
fn stop_hook(env: &Env, id: &str, path: &Path) {
    let payload = json!({ "session_id": id, "transcript_path": path, "cwd": env.project,
        "hook_event_name": "Stop", "stop_hook_active": false });
    env.hook(payload.to_string().as_bytes());
}

/// Issue 9's "live mirrors keep working across machines": a Claude session A mirrors live
/// into Codex goes to B (its id kept), B's hook mirrors it on as B's Claude Code continues it,
/// and B's package fast-forwards A's transcript, which A's hook then mirrors on.
#[test]
fn a_live_mirrored_claude_session_keeps_mirroring_across_machines() {
    let a = Env::new();
    a.init();
    let recording = Recording::load("simple_bash");
    crate::support::recording::replay(&a, &recording, crate::support::recording::Lag::None);
    let id = recording.session_id();
    let transcript_a = recording.transcript_path(&a);
    assert_eq!(a.rollouts().len(), 1, "A's live Codex mirror");
    let packages = tempfile::tempdir().unwrap();
    let there = packages.path().join("a.sspkg");
    let said = export(&a, &there);
    assert!(said.contains(&format!("claude    {id}")), "{said}");
    assert!(
        !said.contains("codex "),
        "the mirror is not a session of its own: {said}"
    );

    let b = Env::new();
    b.init();
    import(&b, &there, &[]);
    let sessions = claude_sessions(&b);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let transcript_b = sessions[0].clone();
    assert!(transcript_b.ends_with(format!("{id}.jsonl")));
    continue_claude(&b, &transcript_b, &id, "now on B", "B says hi.");
    stop_hook(&b, &id, &transcript_b);
    let rollouts = b.rollouts();
    assert_eq!(rollouts.len(), 1, "B's live Codex mirror: {rollouts:?}");
    let mirror_b = std::fs::read_to_string(&rollouts[0]).unwrap();
    assert!(
        mirror_b.contains("Run echo hi") && mirror_b.contains("B says hi."),
        "{mirror_b}"
    );

    let back = packages.path().join("b.sspkg");
    let said = export(&b, &back);
    assert!(said.contains(&format!("claude    {id}")), "{said}");
    let before = std::fs::read(&transcript_a).unwrap();
    let said = import(&a, &back, &[]);
    assert!(said.contains("fast-forward: +2 records"), "{said}");
    let after = std::fs::read(&transcript_a).unwrap();
    assert!(after.starts_with(&before) && after.len() > before.len());
    let added = String::from_utf8_lossy(&after[before.len()..]).into_owned();
    assert_eq!(added.matches("B says hi.").count(), 1, "{added}");

    // A's hook carries the fast-forwarded turn into A's own Codex mirror, once.
    stop_hook(&a, &id, &transcript_a);
    let rollouts = a.rollouts();
    assert_eq!(rollouts.len(), 1, "{rollouts:?}");
    let mirror_a = std::fs::read_to_string(&rollouts[0]).unwrap();
    assert_eq!(
        mirror_a.matches("\"text\":\"B says hi.\"").count(),
        1,
        "{mirror_a}"
    );

    // Once more the other way: A's next turn fast-forwards B's transcript and B's mirror.
    continue_claude(&a, &transcript_a, &id, "now on A", "A says hi.");
    stop_hook(&a, &id, &transcript_a);
    let again = packages.path().join("a2.sspkg");
    export(&a, &again);
    let before = std::fs::read(&transcript_b).unwrap();
    let said = import(&b, &again, &[]);
    assert!(said.contains("fast-forward: +2 records"), "{said}");
    let after = std::fs::read(&transcript_b).unwrap();
    assert!(after.starts_with(&before));
    let added = String::from_utf8_lossy(&after[before.len()..]).into_owned();
    assert!(
        added.contains("A says hi.") && !added.contains("B says hi."),
        "{added}"
    );
    stop_hook(&b, &id, &transcript_b);
    let mirror_b = std::fs::read_to_string(&b.rollouts()[0]).unwrap();
    assert_eq!(
        mirror_b.matches("\"text\":\"A says hi.\"").count(),
        1,
        "{mirror_b}"
    );
    assert_eq!(
        mirror_b.matches("\"text\":\"B says hi.\"").count(),
        1,
        "{mirror_b}"
    );
}

/// A second import fast-forwards the copy; its rollback truncates the copy and restores
/// session-sync's state to the first import's, so the same package fast-forwards again.
#[test]
fn rolling_back_a_fast_forward_restores_the_state_before_it() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &[]);
    let copy = b.rollouts()[0].clone();
    let first = std::fs::read(&copy).unwrap();
    let state = b.data.join(format!("sessions/pkg-codex-{ID}/state.jsonl"));
    // state.jsonl is a log of saves: its last line is the state.
    let last = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str::<Value>(text.lines().last().unwrap()).unwrap()
    };
    let first_state = last(&state);
    let first_listings = b.listings();
    continue_codex(&a.rollouts()[0], "now on A", "A says hi.");
    let again = packages.path().join("a2.sspkg");
    export(&a, &again);
    let said = import(&b, &again, &[]);
    assert!(
        said.contains("→ codex     fast-forward: +2 records"),
        "{said}"
    );
    assert!(std::fs::read(&copy).unwrap().starts_with(&first));

    let said = ok(&b, &["rollback", "--last"]);
    assert!(said.contains("truncated to its size before"), "{said}");
    assert!(std::fs::read(&copy).unwrap() == first, "not truncated back");
    assert_eq!(last(&state), first_state);
    assert_eq!(b.listings(), first_listings);
    let said = import(&b, &again, &[]);
    assert!(
        said.contains("→ codex     fast-forward: +2 records"),
        "{said}"
    );
}

/// Redaction changes what the package says, not the ids its records are chained by: B's
/// continuation of a redacted session still fast-forwards A's, whose secret stays as it was.
#[test]
fn redacted_secrets_still_fast_forward() {
    let a = Env::new();
    let b = Env::new();
    let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123";
    let native = codex_session(&a, ID, &format!("use {key} please"), "a.txt");
    let packages = tempfile::tempdir().unwrap();
    let there = packages.path().join("a.sspkg");
    export(&a, &there);
    import(&b, &there, &[]);
    let copy = b.rollouts()[0].clone();
    assert!(!std::fs::read_to_string(&copy).unwrap().contains(key));
    continue_codex(&copy, "now on B", "B says hi.");
    let back = packages.path().join("b.sspkg");
    export(&b, &back);

    let before = std::fs::read(&native).unwrap();
    let said = import(&a, &back, &[]);
    assert!(said.contains("fast-forward: +2 records"), "{said}");
    let after = std::fs::read(&native).unwrap();
    assert!(
        after.starts_with(&before),
        "A's session (and its secret) changed"
    );
    let added = String::from_utf8_lossy(&after[before.len()..]).into_owned();
    assert!(
        added.contains("B says hi.") && !added.contains("REDACTED"),
        "{added}"
    );
}

/// One package with two sessions of one lineage (A's own, and the branch B's turn came in as):
/// on B, whose copy holds B's turn, A's diverges and the branch is unchanged.
#[test]
fn a_package_may_mix_a_branch_and_an_unchanged_session_of_one_lineage() {
    let (a, b, packages, package) = transfer();
    import(&b, &package, &[]);
    let copy = b.rollouts()[0].clone();
    continue_codex(&copy, "now on B", "B says hi.");
    continue_codex(&a.rollouts()[0], "now on A", "A says hi.");
    let back = packages.path().join("b1.sspkg");
    export(&b, &back);
    import(&a, &back, &[]);
    let branch = a
        .rollouts()
        .into_iter()
        .find(|p| !p.to_string_lossy().contains(ID))
        .unwrap();
    let branch_id = crate::support::home::parse_rollout(&branch)[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let both = packages.path().join("a2.sspkg");
    ok(
        &a,
        &["export", ID, &branch_id, "-o", both.to_str().unwrap()],
    );
    let copy_bytes = std::fs::read(&copy).unwrap();

    let said = import(&b, &both, &[]);
    assert!(
        said.contains(&format!("{ID} → codex     diverged")),
        "{said}"
    );
    assert!(
        said.contains(&format!("{branch_id} → codex     unchanged")),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        copy_bytes,
        "B's copy changed"
    );
    let rollouts = b.rollouts();
    let texts: Vec<String> = rollouts
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(
        texts.iter().filter(|t| t.contains("A says hi.")).count(),
        1,
        "A's turn once on B: {rollouts:?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.contains("B says hi.")).count(),
        1,
        "B's turn once on B: {rollouts:?}"
    );
}

/// A target that cannot be written (here CLAUDE_CONFIG_DIR is a file) fails the import, undone
/// whole: it was reported as created, blamed on Claude having the session open, and committed
/// half-applied.
#[test]
fn a_target_that_cannot_be_written_is_reported_as_such() {
    let (_a, b, _packages, package) = transfer();
    std::fs::create_dir_all(&b.home).unwrap();
    std::fs::write(b.home.join(".claude"), "").unwrap();
    let (stdout, stderr) = run(
        &b,
        &["import", package.to_str().unwrap(), "--to", "claude"],
        1,
    );
    assert!(!stdout.contains("claude    created"), "{stdout}");
    assert!(
        stderr.contains("Not a directory") && !stderr.contains("open"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing of this import was kept"),
        "{stderr}"
    );
    assert!(b.rollouts().is_empty(), "the Codex copy is kept");
    assert!(ok(&b, &["journal"]).contains("Failed"));
}

/// An older package of a session continued since: local-ahead, nothing written.
#[test]
fn an_older_package_writes_nothing() {
    let (_a, b, _packages, package) = transfer();
    import(&b, &package, &[]);
    continue_codex(&b.rollouts()[0], "now on B", "B says hi.");
    let before = tree(b.root.path());
    let said = import(&b, &package, &[]);
    assert!(said.contains("→ codex     local-ahead"), "{said}");
    assert!(said.contains("Nothing to write"), "{said}");
    assert_eq!(tree(b.root.path()), before);
}

/// `--to` on a later import of the same package adds the target's copy (it read local-ahead
/// and wrote nothing).
#[test]
fn a_target_added_later_gets_its_copy() {
    let (_a, b, _packages, package) = transfer();
    import(&b, &package, &[]);
    let said = import(&b, &package, &["--to", "claude"]);
    assert!(said.contains("→ codex     unchanged"), "{said}");
    assert!(said.contains("→ claude    new"), "{said}");
    let sessions = claude_sessions(&b);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(
        std::fs::read_to_string(&sessions[0])
            .unwrap()
            .contains("list the files")
    );
    let said = import(&b, &package, &["--to", "claude"]);
    assert!(said.contains("Nothing to write"), "{said}");
    ok(&b, &["rollback", "--last"]);
    assert!(claude_sessions(&b).is_empty());
    assert_eq!(
        b.rollouts().len(),
        1,
        "the Codex copy of the first import stays"
    );
}

#[test]
fn an_import_killed_half_way_is_rolled_back_by_doctor() {
    let (_a, b, _packages, package) = transfer();
    import(&b, &package, &["--to", "claude"]);
    let txid = txids(&b).pop().unwrap();
    let tx_path = b.data.join("journal").join(&txid).join("tx.json");
    let mut tx: Value = serde_json::from_slice(&std::fs::read(&tx_path).unwrap()).unwrap();
    tx["status"] = json!("applying");
    std::fs::write(&tx_path, tx.to_string()).unwrap();

    let out = b.run(&["doctor"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains(&format!("rolled back the interrupted import {txid}")),
        "{said}"
    );
    assert!(b.rollouts().is_empty());
    assert!(claude_sessions(&b).is_empty());
    let again = String::from_utf8_lossy(&b.run(&["doctor"]).stdout).into_owned();
    assert!(!again.contains("interrupted"), "{again}");
}
