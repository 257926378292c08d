//! `session-sync archive`: every agent's sessions into a git repository, run twice, grown,
//! pushed, and on bad input. Each test drives the built binary in a temporary HOME.

use crate::support::home::{Env, codex_line, ok, stderr, stdout, write_rollout};
use crate::support::recording::Recording;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CODEX_ID: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";

/// A failure as the user sees it: exit 1 and one line saying what to do.
fn fails(out: Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

fn repo(env: &Env) -> PathBuf {
    env.root.path().join("archive")
}

fn archive(env: &Env, extra: &[&str]) -> Output {
    let repo = repo(env);
    let mut args = vec!["archive", repo.to_str().unwrap()];
    args.extend_from_slice(extra);
    env.run(&args)
}

/// git in `dir`, with no configuration but the repository's own (no user identity).
fn git(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("HOME", &env.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out)
}

fn commits(env: &Env) -> usize {
    git(env, &repo(env), &["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .unwrap()
}

/// Every file of the repository's work tree, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn index(env: &Env) -> Value {
    serde_json::from_slice(&std::fs::read(repo(env).join(".session-sync-archive.json")).unwrap())
        .unwrap()
}

/// Markdown files of sessions (not subagents), by file name.
fn markdowns(env: &Env) -> BTreeMap<String, String> {
    tree(&repo(env))
        .into_iter()
        .filter(|(p, _)| p.ends_with(".md") && !p.contains(".agent-"))
        .map(|(p, b)| {
            let name = p.rsplit('/').next().unwrap().to_owned();
            (name, String::from_utf8(b).unwrap())
        })
        .collect()
}

/// The index lists exactly the files on disk, with their hashes.
fn assert_index_consistent(env: &Env) {
    let repo = repo(env);
    let index = index(env);
    for entry in index["sessions"].as_object().unwrap().values() {
        for (file, hash) in entry["files"].as_object().unwrap() {
            let bytes = std::fs::read(repo.join(file)).unwrap();
            use sha2::Digest;
            let actual: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hash, &actual, "{file}");
        }
    }
    let listed: Vec<String> = index["sessions"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|e| {
            e["files"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    for file in tree(&repo).keys().filter(|p| p.starts_with("history/")) {
        assert!(listed.contains(file), "{file} is not in the index");
    }
}

/// A Codex rollout as Codex writes it: injected context, a typed prompt, a call and answer.
fn codex_rollout(env: &Env) -> PathBuf {
    let lines = [
        codex_line(
            "session_meta",
            json!({ "id": CODEX_ID, "timestamp": "2025-01-15T10:00:00.000Z", "cwd": env.project.join("app"), "originator": "codex_cli_rs", "cli_version": "0.169.0", "source": "cli" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "<environment_context>x</environment_context>" }] }),
        ),
        codex_line(
            "event_msg",
            json!({ "type": "user_message", "message": "list the files", "images": [] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "list the files" }] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}", "call_id": "call_1" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "function_call_output", "call_id": "call_1", "output": "Process exited with code 0\nOutput:\na.txt" }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "One file." }] }),
        ),
    ];
    write_rollout(env, CODEX_ID, &lines)
}

fn append_codex_turn(path: &Path) {
    let text = [
        codex_line(
            "event_msg",
            json!({ "type": "user_message", "message": "thanks", "images": [] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "thanks" }] }),
        ),
        codex_line(
            "response_item",
            json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "You are welcome." }] }),
        ),
    ]
    .concat()
    .replace("10:00:00", "10:05:00");
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
}

#[test]
fn archived_twice_changes_nothing_and_growth_updates_that_session_only() {
    let env = Env::new();
    let claude = Recording::load("parallel_tools");
    claude.write_transcript(&env, usize::MAX);
    let subagent = Recording::load("subagent");
    subagent.write_transcript(&env, usize::MAX);
    subagent.write_subagents(&env);
    let rollout = codex_rollout(&env);

    let out = ok(archive(&env, &["--commit"]));
    assert!(out.contains("3 added, 0 updated"), "{out}");
    assert_eq!(commits(&env), 1);
    let message = git(&env, &repo(&env), &["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("archive: 3 added, 0 updated"),
        "{message}"
    );
    assert!(
        message.contains("added codex ~/project/app 2025-01-15-1000-list-the-files.md"),
        "{message}"
    );
    let first = tree(&repo(&env));
    assert!(first.contains_key("index.html") && first.contains_key(".session-sync-archive.json"));
    let names: Vec<&String> = first.keys().collect();
    assert!(
        names.iter().any(|p| p.starts_with("history/user/codex/")
            && p.ends_with("/project/app/2025-01-15-1000-list-the-files.md")),
        "{names:#?}"
    );
    assert!(
        names
            .iter()
            .any(|p| p.ends_with("/project/app/.2025-01-15-1000-list-the-files.json"))
    );
    assert!(
        names
            .iter()
            .any(|p| p.contains(".agent-ad2fc5f300eb647a3.md")),
        "{names:#?}"
    );
    assert_index_consistent(&env);
    // The hidden JSON is self-contained: the records with their ids, and what names them.
    for (path, bytes) in first
        .iter()
        .filter(|(p, _)| p.ends_with(".json") && p.starts_with("history/"))
    {
        let hidden: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        let lineage = hidden["lineage"].as_str().unwrap();
        let entry = &index(&env)["sessions"][lineage];
        assert_eq!(hidden["record_count"], entry["records"], "{path}");
        assert_eq!(hidden["chain"], entry["chain"], "{path}");
        assert_eq!(
            lineage,
            format!(
                "{}:{}",
                hidden["agent"].as_str().unwrap(),
                hidden["session_id"].as_str().unwrap()
            )
        );
        assert!(
            hidden["cwd"]
                .as_str()
                .unwrap()
                .starts_with(env.home.to_str().unwrap())
        );
        assert!(hidden["title"].is_string());
        let records = hidden["records"].as_array().unwrap();
        assert_eq!(
            records.len() as u64,
            hidden["record_count"].as_u64().unwrap()
        );
        let rids: Vec<&str> = records.iter().map(|r| r["rid"].as_str().unwrap()).collect();
        assert_eq!(
            session_sync::agents::native::chain(lineage, rids),
            hidden["chain"].as_str().unwrap()
        );
        for record in records {
            assert!(
                session_sync::model::Record::from_json(record).is_some(),
                "{record}"
            );
        }
    }
    let subagent_json = first
        .iter()
        .find(|(p, _)| p.ends_with(".json") && p.contains("use-a-subagent"))
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .unwrap();
    assert_eq!(subagent_json["subagents"][0]["agent"], "ad2fc5f300eb647a3");
    assert!(
        subagent_json["subagents"][0]["records"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );

    // Nothing new: no byte changes, no commit.
    let out = ok(archive(&env, &["--commit"]));
    assert!(out.contains("0 added, 0 updated, 3 unchanged"), "{out}");
    assert_eq!(commits(&env), 1);
    assert_eq!(tree(&repo(&env)), first);
    assert_eq!(git(&env, &repo(&env), &["status", "--porcelain"]), "");
    // Without the local cache every session is read again, and still nothing changes.
    std::fs::remove_dir_all(env.data.join("archive")).unwrap();
    ok(archive(&env, &["--commit"]));
    assert_eq!(commits(&env), 1);
    assert_eq!(tree(&repo(&env)), first);

    // The Codex session continues: only its files and its index entry change.
    let before = index(&env);
    let body = |markdown: &str| markdown.splitn(3, "---\n").nth(2).unwrap().to_owned();
    let old_body = body(&markdowns(&env)["2025-01-15-1000-list-the-files.md"]);
    // No thinking without --thinking (the recorded session has some).
    let thought = markdowns(&env)
        .values()
        .any(|m| m.contains("Thinking") || m.contains("inspect the project first"));
    assert!(!thought);
    append_codex_turn(&rollout);
    let out = ok(archive(&env, &["--commit"]));
    assert!(out.contains("0 added, 1 updated, 2 unchanged"), "{out}");
    assert_eq!(commits(&env), 2);
    let changed = git(
        &env,
        &repo(&env),
        &["diff", "--name-only", "HEAD~1", "HEAD"],
    );
    let changed: Vec<&str> = changed.lines().collect();
    // Its Markdown, hidden JSON and page data, the index and the page's list.
    assert_eq!(changed.len(), 5, "{changed:?}");
    assert!(changed.contains(&".session-sync-archive.json"));
    assert!(changed.contains(&"archive-index.js"));
    assert!(
        changed
            .iter()
            .all(|p| !p.starts_with("history") || p.contains("/codex/")),
        "{changed:?}"
    );
    let after = index(&env);
    let lineage = format!("codex:{CODEX_ID}");
    for (key, entry) in before["sessions"].as_object().unwrap() {
        if key == &lineage {
            assert_eq!(
                after["sessions"][key]["markdown"], entry["markdown"],
                "the name never changes"
            );
            assert_ne!(after["sessions"][key]["records"], entry["records"]);
        } else {
            assert_eq!(&after["sessions"][key], entry);
        }
    }
    let message = git(&env, &repo(&env), &["log", "-1", "--format=%B"]);
    assert!(
        message.contains("updated codex ~/project/app 2025-01-15-1000-list-the-files.md"),
        "{message}"
    );
    let markdown = &markdowns(&env)["2025-01-15-1000-list-the-files.md"];
    assert!(markdown.contains("You are welcome."), "{markdown}");
    // The conversation grew at its end: the old text is the new one's beginning.
    assert!(
        body(markdown).starts_with(old_body.trim_end()),
        "{markdown}"
    );

    // The agent deletes the session: the archive keeps it.
    std::fs::remove_file(&rollout).unwrap();
    ok(archive(&env, &["--commit"]));
    assert_eq!(commits(&env), 2);
    assert!(markdowns(&env).contains_key("2025-01-15-1000-list-the-files.md"));
    assert!(index(&env)["sessions"][&lineage].is_object());
}

#[test]
fn mirrors_written_by_session_sync_are_not_archived_again() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("simple_bash");
    recording.write_transcript(&env, usize::MAX);
    let id = recording.session_id();
    ok(env.run(&["mirror", &id, "--to", "codex"]));
    let codex_id = env.status_json()["sessions"][0]["mirrors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(env.run(&["mirror", "--from", "codex", &codex_id, "--to", "claude"]));

    let out = ok(archive(&env, &[]));
    assert!(out.contains("1 added"), "{out}");
    let sessions = index(&env)["sessions"].clone();
    let keys: Vec<&String> = sessions.as_object().unwrap().keys().collect();
    assert_eq!(keys, vec![&format!("claude:{id}")]);
}

#[test]
fn names_come_from_the_title_and_clash_gets_the_id() {
    let env = Env::new();
    let recording = Recording::load("simple_bash");
    recording.write_transcript(&env, usize::MAX);
    let id = recording.session_id();
    // The same session under another id: same minute, same title.
    let path = recording.transcript_path(&env);
    let other = "0b5e55ed-0000-4000-8000-0000000000aa";
    let text = std::fs::read_to_string(&path).unwrap().replace(&id, other);
    std::fs::write(path.with_file_name(format!("{other}.jsonl")), text).unwrap();
    // A third one named by the user: its title wins over the first prompt.
    let named = "0b5e55ed-0000-4000-8000-0000000000bb";
    let text = std::fs::read_to_string(&path).unwrap().replace(&id, named)
        + &json!({"type": "custom-title", "customTitle": "Ünïcode & shell: échos!", "sessionId": named}).to_string()
        + "\n";
    std::fs::write(path.with_file_name(format!("{named}.jsonl")), text).unwrap();

    ok(archive(&env, &[]));
    let names: Vec<String> = markdowns(&env).into_keys().collect();
    // Sessions of the same minute are named in id order: the first keeps the plain name.
    let plain = "2026-11-21-1055-run-echo-hi-in-the-shell-and-tell-me-what-it-printed.md";
    assert!(names.contains(&plain.to_owned()), "{names:?}");
    let clash = format!("{}-{}.md", plain.trim_end_matches(".md"), &id[..8]);
    assert!(names.contains(&clash), "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("-unicode-shell-echos.md")),
        "{names:?}"
    );

    // A name once given stays, even when the title changes later.
    let named_path = path.with_file_name(format!("{named}.jsonl"));
    let mut text = std::fs::read_to_string(&named_path).unwrap();
    text += &(json!({"type": "custom-title", "customTitle": "Renamed", "sessionId": named})
        .to_string()
        + "\n");
    text += &std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .replace(&id, named);
    text += "\n";
    std::fs::write(&named_path, text).unwrap();
    ok(archive(&env, &[]));
    assert!(
        markdowns(&env)
            .keys()
            .any(|n| n.ends_with("-unicode-shell-echos.md"))
    );
    assert!(!markdowns(&env).keys().any(|n| n.contains("renamed")));
}

/// A Claude Code transcript of one prompt and one answer.
fn claude_session(env: &Env, id: &str, prompt: &str, answer: &str) {
    let dir = env.home.join(".claude/projects/-home-user-project");
    std::fs::create_dir_all(&dir).unwrap();
    let cwd = env.project.to_str().unwrap();
    let lines = [
        json!({"type": "user", "uuid": format!("{id}-u"), "sessionId": id, "cwd": cwd, "timestamp": "2026-01-02T03:04:05.000Z", "message": {"role": "user", "content": prompt}}),
        json!({"type": "assistant", "uuid": format!("{id}-a"), "sessionId": id, "cwd": cwd, "timestamp": "2026-01-02T03:04:06.000Z", "message": {"role": "assistant", "model": "m", "content": [{"type": "text", "text": answer}]}}),
    ];
    let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    std::fs::write(dir.join(format!("{id}.jsonl")), text).unwrap();
}

#[test]
fn secrets_are_redacted_keywords_sanitized_and_marked_sessions_skipped() {
    let env = Env::new();
    std::fs::create_dir_all(&env.data).unwrap();
    std::fs::write(
        env.data.join("config.json"),
        json!({"archive": {"repo": repo(&env), "keywords": ["ProjectX"]}}).to_string(),
    )
    .unwrap();
    let secret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUV1234";
    claude_session(
        &env,
        "aaaaaaaa-0000-4000-8000-000000000001",
        &format!(
            "<command-message>deploy</command-message>\n<command-name>/deploy</command-name>\nuse key {secret} please\nthe projectx launch date\nlast line"
        ),
        "Done.",
    );
    claude_session(
        &env,
        "aaaaaaaa-0000-4000-8000-000000000002",
        "private notes SESSION_SYNC_NO_ARCHIVE",
        "ok",
    );
    // REPO from the configuration.
    let out = ok(env.run(&["archive"]));
    assert!(out.contains("1 added"), "{out}");
    assert!(out.contains("1 skipped"), "{out}");
    let all: String = tree(&repo(&env))
        .into_values()
        .map(|b| String::from_utf8(b).unwrap())
        .collect();
    assert!(!all.contains(secret));
    assert!(!all.to_lowercase().contains("projectx"));
    assert!(!all.contains("private notes"));
    let markdown = markdowns(&env).into_values().next().unwrap();
    assert!(
        markdown.contains("redactions: {\"openai-key\": 1}"),
        "{markdown}"
    );
    assert!(markdown.contains("sanitized_lines: 1"), "{markdown}");
    assert!(markdown.contains("[SANITIZED]\nlast line"), "{markdown}");
    // The command wrapper is not the user's words, nor the name.
    assert!(markdown.contains("*Ran `/deploy`*"), "{markdown}");
    assert!(!markdown.contains("<command-message>"), "{markdown}");
    let name = markdowns(&env).into_keys().next().unwrap();
    assert!(
        name.starts_with("2026-01-02-0304-use-key-redacted"),
        "{name}"
    );

    // --no-redact keeps secrets (a fresh archive).
    let env2 = Env::new();
    claude_session(
        &env2,
        "aaaaaaaa-0000-4000-8000-000000000003",
        &format!("key {secret}"),
        "ok",
    );
    ok(archive(&env2, &["--no-redact"]));
    assert!(
        markdowns(&env2)
            .into_values()
            .next()
            .unwrap()
            .contains(secret)
    );
}

#[test]
fn agent_and_since_choose_the_sessions() {
    let env = Env::new();
    Recording::load("simple_bash").write_transcript(&env, usize::MAX);
    codex_rollout(&env);
    // Activity is the session file's last write: just now.
    let out = ok(archive(&env, &["--since", "2999-01-01"]));
    assert!(out.contains("0 added"), "{out}");
    let out = ok(archive(
        &env,
        &["--agent", "codex", "--since", "2020-01-01T00:00:00Z"],
    ));
    assert!(out.contains("1 added"), "{out}");
    let keys: Vec<String> = index(&env)["sessions"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, vec![format!("codex:{CODEX_ID}")]);
    let out = archive(&env, &["--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = archive(&env, &["--agent", "nobody"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn without_repo_or_configuration_it_says_to_pass_one() {
    let env = Env::new();
    let out = env.run(&["archive"]);
    let err = fails(out);
    assert!(err.contains("pass REPO"), "{err}");
}

#[test]
fn bad_repositories_are_refused_with_nothing_written() {
    let env = Env::new();
    Recording::load("simple_bash").write_transcript(&env, usize::MAX);

    // An existing folder that is not a repository.
    let repo = repo(&env);
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("notes.txt"), "mine").unwrap();
    let err = fails(archive(&env, &[]));
    assert!(err.contains("is not a git repository"), "{err}");
    assert_eq!(tree(&repo).len(), 1);
    std::fs::remove_dir_all(&repo).unwrap();

    // Someone edited an archived file and did not commit.
    ok(archive(&env, &["--commit"]));
    let (md, _) = tree(&repo)
        .into_iter()
        .find(|(p, _)| p.ends_with(".md"))
        .unwrap();
    std::fs::write(repo.join(&md), "my edit").unwrap();
    let before = tree(&repo);
    let err = fails(archive(&env, &["--commit"]));
    assert!(err.contains("uncommitted changes in history/"), "{err}");
    assert_eq!(tree(&repo), before);
    assert_eq!(commits(&env), 1);
    git(&env, &repo, &["checkout", "--", "."]);

    // Our own uncommitted output (a run without --commit) is not in the way.
    Recording::load("parallel_tools").write_transcript(&env, usize::MAX);
    ok(archive(&env, &[]));
    let out = ok(archive(&env, &["--commit"]));
    assert!(out.contains("committed"), "{out}");
    assert_eq!(commits(&env), 2);
    assert_index_consistent(&env);
}

#[test]
fn a_repository_it_cannot_write_fails_whole() {
    let env = Env::new();
    Recording::load("simple_bash").write_transcript(&env, usize::MAX);
    let repo = repo(&env);
    std::fs::create_dir_all(&repo).unwrap();
    git(&env, &repo, &["init", "-q"]);
    // `history` is a file: nothing can be written below it (works as root too, unlike chmod).
    std::fs::write(repo.join("history"), "x").unwrap();
    git(&env, &repo, &["add", "history"]);
    git(
        &env,
        &repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ],
    );
    let err = fails(archive(&env, &["--commit"]));
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(commits(&env), 1);
    assert_eq!(index(&env)["sessions"], json!({}));
    assert_eq!(
        git(&env, &repo, &["status", "--porcelain", "--", "history"]),
        ""
    );

    // A read-only repository (permissions do not stop root: then only the case above counts).
    let other = Env::new();
    Recording::load("simple_bash").write_transcript(&other, usize::MAX);
    let repo = self::repo(&other);
    std::fs::create_dir_all(&repo).unwrap();
    git(&other, &repo, &["init", "-q"]);
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(&repo, mode(0o555)).unwrap();
    let writable = std::fs::write(repo.join("probe"), "x").is_ok();
    if !writable {
        let err = fails(archive(&other, &[]));
        assert!(err.contains("cannot write"), "{err}");
        assert_eq!(tree(&repo).len(), 0);
    }
    std::fs::set_permissions(&repo, mode(0o755)).unwrap();
}

#[test]
fn a_session_written_in_part_is_listed_and_rendered_again() {
    // Where the files go (the machine's name is in the path).
    let probe = Env::new();
    Recording::load("simple_bash").write_transcript(&probe, usize::MAX);
    ok(archive(&probe, &[]));
    let markdown = index(&probe)["sessions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["markdown"]
        .as_str()
        .unwrap()
        .to_owned();
    let (dir, file) = markdown.rsplit_once('/').unwrap();
    let hidden = format!("{dir}/.{}.json", file.trim_end_matches(".md"));

    let env = Env::new();
    Recording::load("simple_bash").write_transcript(&env, usize::MAX);
    let repo = repo(&env);
    std::fs::create_dir_all(repo.join(&hidden)).unwrap();
    git(&env, &repo, &["init", "-q"]);
    // The hidden JSON cannot replace a directory: the Markdown is written, the rest is not.
    let err = fails(archive(&env, &[]));
    assert!(
        err.contains("cannot write") && err.contains(".json"),
        "{err}"
    );
    assert_index_consistent(&env);
    let entry = index(&env)["sessions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(entry["markdown"], markdown.as_str());
    assert_eq!(entry["records"], 0);

    std::fs::remove_dir(repo.join(&hidden)).unwrap();
    let out = ok(archive(&env, &["--commit"]));
    assert!(out.contains("1 updated"), "{out}");
    assert_index_consistent(&env);
    assert_eq!(
        index(&env)["sessions"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["records"],
        5
    );
}

#[test]
fn an_unreadable_session_is_left_out_and_the_rest_archived() {
    let env = Env::new();
    Recording::load("simple_bash").write_transcript(&env, usize::MAX);
    let dir = env.home.join(".claude/projects/-home-user-project");
    std::fs::write(
        dir.join("0b5e55ed-0000-4000-8000-0000000000cc.jsonl"),
        b"\x00\xffnot json\n{\"trunc",
    )
    .unwrap();
    let rollout = codex_rollout(&env);
    // Truncated: the rest of the file is gone, its first line is cut.
    let text = std::fs::read_to_string(&rollout).unwrap();
    std::fs::write(&rollout, &text[..40]).unwrap();
    let out = ok(archive(&env, &["--commit"]));
    assert!(out.contains("1 added"), "{out}");
    assert_eq!(index(&env)["sessions"].as_object().unwrap().len(), 1);
    assert_index_consistent(&env);
}

#[test]
fn push_goes_to_the_remote_and_a_refusal_keeps_the_commit() {
    let env = Env::new();
    let recording = Recording::load("simple_bash");
    recording.write_transcript(&env, usize::MAX);
    let remote = env.root.path().join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&env, &remote, &["init", "-q", "--bare"]);
    let repo = repo(&env);
    ok(archive(&env, &[]));
    git(
        &env,
        &repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    let out = ok(archive(&env, &["--push"]));
    assert!(out.contains("pushed to origin"), "{out}");
    let head = git(&env, &repo, &["rev-parse", "HEAD"]);
    let branch = git(&env, &repo, &["symbolic-ref", "--short", "HEAD"]);
    assert_eq!(git(&env, &remote, &["rev-parse", branch.trim()]), head);

    // The remote refuses: one line, exit 1, the local commit stays.
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho refused by policy >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    Recording::load("parallel_tools").write_transcript(&env, usize::MAX);
    let err = fails(archive(&env, &["--push"]));
    assert!(err.contains("push to origin refused"), "{err}");
    assert_eq!(commits(&env), 2);
    assert_eq!(git(&env, &remote, &["rev-parse", branch.trim()]), head);
}

#[test]
fn init_archive_archives_in_the_background_when_a_session_ends() {
    let env = Env::new();
    let recording = Recording::load("simple_bash");
    recording.write_transcript(&env, usize::MAX);
    let repo = repo(&env);
    let out = ok(env.run(&["init", "--global", "--archive", repo.to_str().unwrap()]));
    assert!(out.contains("Archiving into"), "{out}");
    let settings: Value =
        serde_json::from_slice(&std::fs::read(env.home.join(".claude/settings.json")).unwrap())
            .unwrap();
    let command = settings["hooks"]["SessionEnd"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(command.ends_with("' hook"), "{command}");
    let config: Value =
        serde_json::from_slice(&std::fs::read(env.data.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["archive"]["repo"], repo.to_str().unwrap());

    // The hook returns (its pipes close) while the archive runs on its own.
    recording.run_hook(&env, "SessionEnd", 0);
    let committed = || {
        Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["log", "--format=%s"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("archive: 1 added"))
    };
    // Not a timing assertion: a bound so that a broken run fails instead of hanging.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !committed() {
        assert!(
            std::time::Instant::now() < deadline,
            "no archive commit: {}",
            env.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(env.log_lines("WARN").is_empty(), "{}", env.log());

    // A later plain `init --global` still picks the targets, keeping the archive settings.
    ok(env.run(&["init", "--global"]));
    let config: Value =
        serde_json::from_slice(&std::fs::read(env.data.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["archive"]["on_session_end"], true);
    assert!(config["targets"]["codex"].is_object(), "{config}");
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// The archive's Markdown of each recorded Claude Code session and of a Codex rollout, with
/// this machine's name masked.
#[test]
fn markdown_snapshots() {
    for fixture in [
        "simple_bash",
        "parallel_tools",
        "subagent",
        "multi_turn_resume",
    ] {
        let env = Env::new();
        let recording = Recording::load(fixture);
        recording.write_transcript(&env, usize::MAX);
        recording.write_subagents(&env);
        ok(archive(&env, &["--thinking"]));
        let files = tree(&repo(&env));
        let host = index(&env)["sessions"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["host"]
            .as_str()
            .unwrap()
            .to_owned();
        for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".md")) {
            let text = String::from_utf8(bytes.clone())
                .unwrap()
                .replace(&format!("host: \"{host}\""), "host: \"[host]\"")
                .replace(env.home.to_str().unwrap(), "/home/user");
            let name = if path.contains(".agent-") {
                format!("archive_{fixture}_subagent")
            } else {
                format!("archive_{fixture}")
            };
            snapshot!(name, text);
        }
    }
    let env = Env::new();
    codex_rollout(&env);
    ok(archive(&env, &[]));
    let (_, text) = markdowns(&env).into_iter().next().unwrap();
    let host = index(&env)["sessions"][format!("codex:{CODEX_ID}")]["host"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = text
        .replace(&format!("host: \"{host}\""), "host: \"[host]\"")
        .replace(env.home.to_str().unwrap(), "/home/user");
    snapshot!("archive_codex", text);
}

/// The page in a real headless Chromium (Debian's `chromium`), from `file://`: the list, a
/// search over the conversations' text, and an opened conversation with its calls folded.
/// `cargo test --test integration -- --ignored archive::` (needs `apt-get install chromium`).
#[test]
#[ignore]
fn index_html_in_headless_chromium() {
    let env = Env::new();
    for fixture in ["simple_bash", "parallel_tools", "subagent"] {
        Recording::load(fixture).write_transcript(&env, usize::MAX);
    }
    codex_rollout(&env);
    ok(archive(&env, &[]));
    let page = repo(&env).join("index.html");
    let dom = |hash: &str| -> String {
        let out = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("file://{}#{hash}", page.display()))
            .env("HOME", &env.home)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let items = |dom: &str| dom.matches("<li data-lineage=").count();

    let all = dom("");
    assert_eq!(items(&all), 4, "{all}");
    assert!(all.contains("4 of 4 sessions"), "{all}");
    assert!(all.contains("list the files"), "{all}");

    // Text only in a tool call's output of one session ("a.txt" is Codex's ls output, and the
    // subagent's): the search reads the conversations, not only titles.
    let found = dom("q=definitely%2Fmissing");
    assert_eq!(items(&found), 1, "{found}");
    assert!(found.contains("Look around the project"), "{found}");

    let by_agent = dom("agent=codex");
    assert_eq!(items(&by_agent), 1, "{by_agent}");
    let by_date = dom("from=2026-01-01");
    assert_eq!(items(&by_date), 3, "{by_date}");

    let lineage = format!("codex:{CODEX_ID}");
    let opened = dom(&format!("open={}", lineage.replace(':', "%3A")));
    assert!(opened.contains("<details"), "{opened}");
    assert!(opened.contains("<code>ls</code>"), "{opened}");
    assert!(opened.contains("One file."), "{opened}");
    assert!(opened.contains("a.txt"), "{opened}");
}

/// The archive carries sessions between machines: A archives and pushes to a bare remote, B
/// clones and imports the clone as a package, goes on and pushes back, A pulls and imports: a
/// fast-forward of A's own session, nothing twice.
#[test]
fn sessions_go_from_machine_to_machine_through_the_archive() {
    let (a, b) = (Env::new(), Env::new());
    let rollout_a = codex_rollout(&a);
    let remote = a.root.path().join("remote.git");
    git(
        &a,
        a.root.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    ok(archive(&a, &["--commit"]));
    git(
        &a,
        &repo(&a),
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    ok(archive(&a, &["--push"]));

    let clone = repo(&b);
    git(
        &b,
        b.root.path(),
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let plan = ok(b.run(&["inspect", clone.to_str().unwrap()]));
    assert!(plan.contains("codex     new: 4 records"), "{plan}");
    ok(b.run(&["import", clone.to_str().unwrap(), "--to", "claude"]));
    let rollouts_b = crate::support::home::rollouts_in(&b.codex_home);
    assert_eq!(rollouts_b.len(), 1);
    assert!(
        rollouts_b[0]
            .to_string_lossy()
            .ends_with(&format!("{CODEX_ID}.jsonl"))
    );
    let again = ok(b.run(&["import", clone.to_str().unwrap()]));
    assert!(again.contains("Nothing to write"), "{again}");

    append_codex_turn(&rollouts_b[0]);
    ok(archive(&b, &["--push"]));
    git(&a, &repo(&a), &["pull", "-q", "origin", "HEAD"]);
    let before = std::fs::read(&rollout_a).unwrap();
    let imported = ok(a.run(&["import", repo(&a).to_str().unwrap()]));
    assert!(imported.contains("fast-forward: +2 records"), "{imported}");
    let after = std::fs::read(&rollout_a).unwrap();
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "A's own session is only appended to"
    );
    let text = String::from_utf8(after).unwrap();
    assert_eq!(
        text.matches("You are welcome.").count(),
        2,
        "one response item, one event"
    );
    let still = ok(a.run(&["import", repo(&a).to_str().unwrap()]));
    assert!(still.contains("Nothing to write"), "{still}");
}

/// Copies a recorded native store under `dest`, its paths moved into `env`'s HOME.
fn install_native(env: &Env, fixture: &str, dest: &Path) {
    let from = crate::support::files::fixture_dir("native").join(fixture);
    for (relative, bytes) in tree(&from) {
        if relative.ends_with("README.md") || relative.starts_with("request-") {
            continue;
        }
        let path = dest.join(&relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = env.localize(&String::from_utf8(bytes).unwrap());
        std::fs::write(path, text).unwrap();
    }
}

/// OpenCode's database holding the recorded session's rows, in its own columns.
fn install_opencode(env: &Env) {
    let dump = crate::support::files::fixture_dir("native")
        .join("opencode/ses_dc8ab1092ffeB7g71iPQ1Z0Mor.json");
    let rows: Value =
        serde_json::from_str(&env.localize(&std::fs::read_to_string(dump).unwrap())).unwrap();
    let dir = env.home.join(".local/share/opencode");
    std::fs::create_dir_all(&dir).unwrap();
    let connection = rusqlite::Connection::open(dir.join("opencode.db")).unwrap();
    for (table, rows) in rows.as_object().unwrap() {
        let rows = rows.as_array().unwrap();
        let columns: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
        let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
        connection
            .execute_batch(&format!("CREATE TABLE {table} ({});", names.join(", ")))
            .unwrap();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO {table} VALUES ({})", marks.join(", "));
        for row in rows {
            let values: Vec<rusqlite::types::Value> = columns
                .iter()
                .map(|c| match &row[c.as_str()] {
                    Value::Null => rusqlite::types::Value::Null,
                    Value::String(s) => rusqlite::types::Value::Text(s.clone()),
                    Value::Number(n) if n.is_i64() => {
                        rusqlite::types::Value::Integer(n.as_i64().unwrap())
                    }
                    Value::Number(n) => rusqlite::types::Value::Real(n.as_f64().unwrap()),
                    other => rusqlite::types::Value::Text(other.to_string()),
                })
                .collect();
            connection
                .execute(&sql, rusqlite::params_from_iter(values))
                .unwrap();
        }
    }
}

/// Sessions the real Codex, Gemini CLI, OpenCode, Copilot CLI and Qwen Code wrote (recorded
/// against the mock models) archive once, then a second run changes nothing; each agent's
/// Markdown is snapshotted.
#[test]
fn every_agents_recorded_sessions_archive_once_and_read_well() {
    let env = Env::new();
    let codex = crate::support::files::fixture_dir("native").join("codex");
    let rollout = std::fs::read_dir(&codex)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let dest = env.codex_home.join("sessions/2026/12/02");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(
        dest.join(rollout.file_name().unwrap()),
        env.localize(&std::fs::read_to_string(&rollout).unwrap()),
    )
    .unwrap();
    install_native(&env, "gemini", &env.home.join(".gemini"));
    install_native(&env, "copilot", &env.home.join(".copilot"));
    let qwen_chats = env.home.join(".qwen/projects").join(
        env.project
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>(),
    );
    install_native(&env, "qwen", &qwen_chats.join("chats"));
    install_opencode(&env);

    let first = ok(archive(&env, &["--commit"]));
    assert!(first.contains("5 added"), "{first}");
    let files = tree(&repo(&env));
    let again = ok(archive(&env, &["--commit"]));
    assert!(again.contains("0 added, 0 updated, 5 unchanged"), "{again}");
    assert_eq!(
        tree(&repo(&env)),
        files,
        "a run with nothing new changes no byte"
    );
    assert_eq!(commits(&env), 1);

    let sessions = index(&env)["sessions"].as_object().unwrap().clone();
    for (lineage, entry) in sessions {
        let agent = lineage.split(':').next().unwrap().to_owned();
        let host = entry["host"].as_str().unwrap();
        let markdown = entry["markdown"].as_str().unwrap();
        let text = String::from_utf8(files[markdown].clone())
            .unwrap()
            .replace(&format!("host: \"{host}\""), "host: \"[host]\"")
            .replace(env.home.to_str().unwrap(), "/home/user");
        snapshot!(format!("archive_native_{agent}"), text);
    }
}
