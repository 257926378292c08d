//! The listings index `status` and `list` read (`<data>/listing.jsonl`): kept current by hooks
//! and `clean`, read without the states, rebuilt when missing, damaged or out of step with the
//! sessions directory; what the listings print stays what the states say (`Env::listings`).

use crate::support::home::{Env, stdout};
use serde_json::{Value, json};
use session_sync::agents::claude;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const A: &str = "0a000000-0000-4000-8000-00000000000a";
const B: &str = "0b000000-0000-4000-8000-00000000000b";
const C: &str = "0c000000-0000-4000-8000-00000000000c";

fn index(env: &Env) -> PathBuf {
    env.data.join("listing.jsonl")
}

/// The index file as it is now, held open (so that its inode is not reused).
fn hold(env: &Env) -> std::fs::File {
    std::fs::File::open(index(env)).unwrap()
}

/// Whether the index is still the file `held`: a rebuild or a compaction replaces it, an
/// append does not.
fn still(env: &Env, held: &std::fs::File) -> bool {
    std::fs::metadata(index(env)).unwrap().ino() == held.metadata().unwrap().ino()
}

/// A prompt of Claude Code session `session` run in `cwd`: its transcript line, then its
/// UserPromptSubmit hook.
fn prompt(env: &Env, cwd: &Path, session: &str, text: &str) {
    let folder = claude::project_folder_name(cwd.to_str().unwrap());
    let transcript = env
        .home
        .join(".claude/projects")
        .join(folder)
        .join(format!("{session}.jsonl"));
    std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    let prompt_id = format!("p-{}", text.replace(' ', "-"));
    let line = json!({"type": "user", "uuid": format!("u-{text}"), "parentUuid": null,
        "promptId": prompt_id, "timestamp": "2026-11-21T10:55:50.773Z", "sessionId": session,
        "cwd": cwd, "message": {"role": "user", "content": text}});
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&transcript)
        .unwrap();
    writeln!(file, "{line}").unwrap();
    let payload = json!({"session_id": session, "transcript_path": transcript, "cwd": cwd,
        "hook_event_name": "UserPromptSubmit", "prompt_id": prompt_id, "prompt": text});
    env.hook(payload.to_string().as_bytes());
}

/// `count` sessions of the project, keys beginning with `prefix`, each started by `prompt`.
fn started(env: &Env, count: usize, prefix: &str, prompt_text: &str) -> Vec<String> {
    let keys: Vec<String> = (0..count)
        .map(|n| format!("{prefix}-0000-4000-8000-{n:012}"))
        .collect();
    for key in &keys {
        prompt(env, &env.project, key, prompt_text);
    }
    keys
}

fn run_in(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = env.command(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    stdout(&out)
}

/// `status --json` or `list --json`: each session's key and its mirrors' record counts.
fn listed(json: &str) -> Vec<(String, Vec<u64>)> {
    let value: Value = serde_json::from_str(json).unwrap();
    value["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let records = s["mirrors"].as_array().unwrap().iter();
            (
                s["claude_session_id"].as_str().unwrap().to_owned(),
                records.map(|m| m["records"].as_u64().unwrap()).collect(),
            )
        })
        .collect()
}

fn keys(listed: &[(String, Vec<u64>)]) -> Vec<&str> {
    let mut keys: Vec<&str> = listed.iter().map(|(key, _)| key.as_str()).collect();
    keys.sort_unstable();
    keys
}

#[test]
fn hooks_keep_the_index_that_listings_read_alone() {
    let env = Env::new();
    env.init();
    assert!(stdout(&env.run(&["list"])).contains("No session mirrored yet"));
    assert!(!index(&env).exists(), "an empty listing wrote an index");
    prompt(&env, &env.project, A, "First task");
    assert!(!index(&env).exists(), "a hook built the index");
    env.listings();
    let built = hold(&env);
    let size = std::fs::metadata(index(&env)).unwrap().len();

    prompt(&env, &env.project, A, "Second step");
    prompt(&env, &env.project, B, "Another task");
    let status = listed(&run_in(&env, &env.project, &["status", "--json"]));
    assert_eq!(status[0], (B.to_owned(), vec![1]), "most recent first");
    assert_eq!(status[1], (A.to_owned(), vec![2]));
    assert!(still(&env, &built), "rebuilt instead of appended to");
    assert!(std::fs::metadata(index(&env)).unwrap().len() > size);

    // The listings read no state: without one, the session is still listed, from the index.
    let state = env.data.join("sessions").join(A).join("state.jsonl");
    let aside = state.with_extension("aside");
    std::fs::rename(&state, &aside).unwrap();
    assert!(stdout(&env.run(&["list"])).contains("First task"));
    std::fs::rename(&aside, &state).unwrap();

    let text = env.listings();
    assert!(text[0].contains("\"Another task\""), "{}", text[0]);
}

#[test]
fn status_lists_its_own_project_and_list_every_one() {
    let env = Env::new();
    env.init();
    let other = env.home.join("other");
    let nested = other.join("src");
    std::fs::create_dir_all(&nested).unwrap();
    run_in(&env, &other, &["init"]);
    prompt(&env, &env.project, A, "Here");
    prompt(&env, &other, B, "There");
    env.listings();
    prompt(&env, &nested, C, "Deeper there");

    let here = listed(&run_in(&env, &env.project, &["status", "--json"]));
    assert_eq!(keys(&here), [A]);
    let there = listed(&run_in(&env, &other, &["status", "--json"]));
    assert_eq!(keys(&there), [B, C]);
    let text = run_in(&env, &nested, &["status"]);
    assert!(text.contains("\"Deeper there\"") && !text.contains("\"Here\""));
    let all = listed(&run_in(&env, &env.project, &["list", "--json"]));
    assert_eq!(keys(&all), [A, B, C]);
    env.listings();
}

/// Makes a session look last synced 40 days ago, as an older save would have.
fn age(env: &Env, session: &str) {
    let state = env.data.join("sessions").join(session).join("state.jsonl");
    let text = std::fs::read_to_string(&state).unwrap();
    let mut value: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let then = (chrono::Utc::now() - chrono::TimeDelta::days(40)).to_rfc3339();
    value["last_sync"] = json!(then);
    for mirror in value["mirrors"].as_object_mut().unwrap().values_mut() {
        mirror["last_sync"] = json!(then);
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&state)
        .unwrap();
    writeln!(file, "{value}").unwrap();
}

#[test]
fn clean_takes_its_sessions_out_of_the_index() {
    let env = Env::new();
    env.init();
    prompt(&env, &env.project, A, "Old work");
    prompt(&env, &env.project, B, "New work");
    age(&env, A);
    env.listings();
    let built = hold(&env);
    let cleaned = run_in(&env, &env.project, &["clean", "--older-than", "30d"]);
    assert!(cleaned.contains("removed its state"), "{cleaned}");
    let status = listed(&run_in(&env, &env.project, &["status", "--json"]));
    assert_eq!(keys(&status), [B]);
    assert!(still(&env, &built), "rebuilt instead of told");
    assert!(
        std::fs::read_to_string(index(&env))
            .unwrap()
            .contains(&format!("{{\"gone\":true,\"key\":\"{A}\"}}"))
    );
    env.listings();
}

#[test]
fn a_torn_line_is_skipped_and_the_next_one_starts_afresh() {
    let env = Env::new();
    env.init();
    prompt(&env, &env.project, A, "First task");
    env.listings();
    let built = hold(&env);
    // A save killed while appending its line: the line is cut short.
    let text = std::fs::read_to_string(index(&env)).unwrap();
    let newest = text.lines().last().unwrap().replace("First task", "Torn");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(index(&env))
        .unwrap();
    write!(file, "{}", &newest[..newest.len() - 3]).unwrap();
    let status = run_in(&env, &env.project, &["status"]);
    assert!(
        status.contains("\"First task\"") && !status.contains("Torn"),
        "{status}"
    );
    assert!(still(&env, &built));

    prompt(&env, &env.project, A, "Second step");
    let text = std::fs::read_to_string(index(&env)).unwrap();
    assert!(text.contains(&format!("{}\n{{", &newest[..newest.len() - 3])));
    assert_eq!(
        listed(&run_in(&env, &env.project, &["list", "--json"]))[0].1,
        [2]
    );
    assert!(still(&env, &built));
    env.listings();
}

#[test]
fn a_missing_outdated_or_incomplete_index_is_rebuilt_once() {
    let env = Env::new();
    env.init();
    prompt(&env, &env.project, A, "First task");
    prompt(&env, &env.project, B, "Another task");
    let expected = env.listings();

    std::fs::remove_file(index(&env)).unwrap();
    assert_eq!(env.listings(), expected);
    assert!(index(&env).exists());

    // An index of another format.
    std::fs::write(index(&env), "{\"listing\":0,\"compacted\":0}\n").unwrap();
    assert_eq!(
        listed(&run_in(&env, &env.project, &["list", "--json"])).len(),
        2
    );
    let rebuilt = hold(&env);
    run_in(&env, &env.project, &["list"]);
    assert!(still(&env, &rebuilt), "rebuilt twice");

    // A session whose saves did not reach the index (an older binary, a crash before its
    // first line): the sessions directory holds one more than the index.
    let state = std::fs::read_to_string(env.data.join("sessions").join(A).join("state.jsonl"))
        .unwrap()
        .replace(A, C)
        .replace("First task", "Saved elsewhere");
    std::fs::create_dir_all(env.data.join("sessions").join(C)).unwrap();
    std::fs::write(env.data.join("sessions").join(C).join("state.jsonl"), state).unwrap();
    let status = run_in(&env, &env.project, &["status"]);
    assert!(status.contains("\"Saved elsewhere\""), "{status}");
    assert!(!still(&env, &rebuilt));
    env.listings();
}

#[test]
fn doctor_compares_the_index_with_every_state_and_rebuilds_it() {
    let env = Env::new();
    env.init();
    prompt(&env, &env.project, A, "First task");
    let doctor = |env: &Env| stdout(&env.run(&["doctor"]));
    let out = doctor(&env);
    assert!(
        out.contains("built from the states of 1 session(s)"),
        "{out}"
    );
    let out = doctor(&env);
    assert!(out.contains("1 session(s), as their states say"), "{out}");
    // A state changed behind the index's back (by hand, or an older binary).
    let path = env.data.join("sessions").join(A).join("state.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .lines()
        .last()
        .unwrap()
        .replace("First task", "Renamed");
    std::fs::write(&path, format!("{text}{edited}\n")).unwrap();
    let out = doctor(&env);
    assert!(
        out.contains("warn  listings index")
            && out.contains("1 session(s) listed otherwise than their states say; rebuilt"),
        "{out}"
    );
    assert!(run_in(&env, &env.project, &["status"]).contains("\"Renamed\""));
    env.listings();
}

#[test]
fn concurrent_saves_and_rebuilds_lose_no_line() {
    let env = Env::new();
    env.init();
    let keys = started(&env, 8, "0d000000", "Start");
    env.listings();
    for round in 0..4 {
        if round % 2 == 1 {
            // The listings running meanwhile rebuild it while the hooks append.
            std::fs::remove_file(index(&env)).unwrap();
        }
        std::thread::scope(|scope| {
            for key in &keys {
                let env = &env;
                scope.spawn(move || prompt(env, &env.project, key, &format!("Round {round}")));
            }
            for _ in 0..3 {
                scope.spawn(|| run_in(&env, &env.project, &["list"]));
            }
        });
    }
    let all = listed(&run_in(&env, &env.project, &["list", "--json"]));
    assert_eq!(all.len(), keys.len());
    assert!(all.iter().all(|(_, records)| records == &[5]), "{all:?}");
    env.listings();
}

#[test]
fn status_reads_its_own_projects_lines_alone() {
    let env = Env::new();
    env.init();
    let other = env.home.join("other");
    std::fs::create_dir_all(&other).unwrap();
    run_in(&env, &other, &["init"]);
    prompt(&env, &env.project, A, "Here");
    prompt(&env, &other, B, "There");
    env.listings();
    let built = hold(&env);

    // A session added elsewhere: the next listing counts every session once, and says so in
    // the index; the ones after it do not count them again.
    prompt(&env, &other, C, "New there");
    let here = listed(&run_in(&env, &env.project, &["status", "--json"]));
    assert_eq!(keys(&here), [A]);
    let text = std::fs::read_to_string(index(&env)).unwrap();
    assert!(
        text.lines().last().unwrap().starts_with("{\"checked\":"),
        "{text}"
    );
    run_in(&env, &env.project, &["status"]);
    assert_eq!(std::fs::read_to_string(index(&env)).unwrap(), text);

    // A line appended since the index was sorted is newer than the sorted one.
    prompt(&env, &env.project, A, "Here again");
    let here = listed(&run_in(&env, &env.project, &["status", "--json"]));
    assert_eq!(here, [(A.to_owned(), vec![2])]);
    let text = std::fs::read_to_string(index(&env)).unwrap();
    assert!(
        text.lines()
            .last()
            .unwrap()
            .ends_with(&format!("\"key\":\"{A}\"}}"))
    );

    // Another project's line damaged (in place, the same length): `status` never reads it,
    // `list` does, and rebuilds the index.
    let damaged = text.replace("\"title\":\"There\"", "\"title\":There!!");
    assert_ne!(damaged, text);
    std::fs::write(index(&env), &damaged).unwrap();
    let here = listed(&run_in(&env, &env.project, &["status", "--json"]));
    assert_eq!(keys(&here), [A]);
    assert!(still(&env, &built));
    let all = listed(&run_in(&env, &env.project, &["list", "--json"]));
    assert_eq!(keys(&all), [A, B, C]);
    assert!(!still(&env, &built), "the damage went unseen");
    env.listings();
}

/// `list` shows the 20 most recently synced sessions and says how many more `--all` lists;
/// `--json` lists every one. Only the 20 shown are parsed (`listing::newest_as`).
#[test]
fn list_shows_the_twenty_newest_and_says_how_many_more() {
    let env = Env::new();
    env.init();
    started(&env, 23, "5e55104e", "A task");
    let all = run_in(&env, &env.project, &["list", "--all"]);
    let shown = run_in(&env, &env.project, &["list"]);
    let sessions: Vec<&str> = all.split("\n\n").collect();
    assert_eq!(sessions.len(), 23, "{all}");
    let (newest, footer) = shown.rsplit_once("\n\n").unwrap();
    assert_eq!(newest, sessions[..20].join("\n\n"));
    assert_eq!(
        footer,
        "3 older session(s) not shown: `session-sync list --all` lists every one.\n"
    );
    let listed = listed(&run_in(&env, &env.project, &["list", "--json"]));
    assert_eq!(listed.len(), 23);
    // The newest, from the index, are those a listing from the states shows first.
    assert!(env.listings()[2].ends_with(footer));
}

/// `list` shows the first 20 sessions `list --all` shows, most recently synced first, and says
/// how many more there are; returns that count.
fn list_shows_the_newest_of_all(env: &Env) -> usize {
    let shown = run_in(env, &env.project, &["list"]);
    let all = run_in(env, &env.project, &["list", "--all"]);
    let sessions: Vec<&str> = all.split("\n\n").collect();
    if sessions.len() <= 20 {
        assert_eq!(shown, all);
        return 0;
    }
    let (newest, footer) = shown.rsplit_once("\n\n").unwrap();
    assert_eq!(newest, sessions[..20].join("\n\n"));
    let older = sessions.len() - 20;
    assert_eq!(
        footer,
        format!("{older} older session(s) not shown: `session-sync list --all` lists every one.\n")
    );
    older
}

/// Whether the index holds `{"checked":…}` for the sessions directory as it is now: `list`
/// then reads only the lines the header points to and those appended since.
fn checked_as_now(env: &Env) -> bool {
    let dir = std::fs::metadata(env.data.join("sessions")).unwrap();
    let text = std::fs::read_to_string(index(env)).unwrap();
    let newest = text.lines().rfind(|l| l.contains("\"checked\":")).unwrap();
    let checked = &serde_json::from_str::<Value>(newest).unwrap()["checked"];
    [
        ("ino", dir.ino() as i64),
        ("mtime", dir.mtime()),
        ("mtime_nsec", dir.mtime_nsec()),
        ("links", dir.nlink() as i64),
    ]
    .iter()
    .all(|(field, value)| checked[field].as_i64() == Some(*value))
}

/// Without `--all`, `list` reads the header, the 20 newest lines of the sorted body it points
/// to and the lines appended since: a line appended since overrides its session's line in the
/// body, new sessions are only there, and the count of the others stays exact.
#[test]
fn list_reads_the_newest_where_the_header_points_and_what_was_appended_since() {
    let env = Env::new();
    env.init();
    prompt(&env, &env.project, C, "Long ago");
    let keys = started(&env, 30, "5e55104e", "A task");
    run_in(&env, &env.project, &["list"]);
    let built = hold(&env);
    assert!(checked_as_now(&env));
    assert_eq!(list_shows_the_newest_of_all(&env), 11);

    // The oldest two and the newest synced again: appended, they override the body's lines.
    for key in [&keys[0], &keys[1], &keys[29]] {
        prompt(&env, &env.project, key, "Again");
    }
    assert_eq!(list_shows_the_newest_of_all(&env), 11);
    // New sessions, in the appended lines alone: the first listing after them counts the
    // sessions once, the next ones do not.
    started(&env, 3, "5e55104f", "Newer task");
    run_in(&env, &env.project, &["list"]);
    assert!(checked_as_now(&env));
    assert_eq!(list_shows_the_newest_of_all(&env), 14);
    assert!(still(&env, &built));

    // An old session's line damaged in place (the same length): `list` never reads it,
    // `list --all` does, and rebuilds the index.
    let shown = run_in(&env, &env.project, &["list"]);
    let text = std::fs::read_to_string(index(&env)).unwrap();
    let damaged = text.replace("\"title\":\"Long ago\"", "\"title\":Long ago!!");
    assert_ne!(damaged, text);
    std::fs::write(index(&env), &damaged).unwrap();
    assert_eq!(run_in(&env, &env.project, &["list"]), shown);
    assert!(still(&env, &built));
    run_in(&env, &env.project, &["list", "--all"]);
    assert!(!still(&env, &built), "the damage went unseen");
    assert_eq!(list_shows_the_newest_of_all(&env), 14);
    env.listings();
}

/// Sessions removed (`clean`) after the index was written: appended `gone` lines take them out
/// of the newest and of the count; when too few of the newest the header points to are left,
/// `list` reads the whole index.
#[test]
fn list_leaves_out_sessions_removed_since_and_reads_it_whole_when_too_few_are_left() {
    let env = Env::new();
    env.init();
    let keys = started(&env, 90, "5e55104e", "A task");
    run_in(&env, &env.project, &["list"]);
    let clean = |env: &Env, removed: &[String]| {
        for key in removed {
            age(env, key);
        }
        let cleaned = run_in(env, &env.project, &["clean", "--older-than", "30d"]);
        assert_eq!(cleaned.matches("removed its state").count(), removed.len());
        // Counted once, by the first listing after.
        run_in(env, &env.project, &["list"]);
        assert!(checked_as_now(env));
    };

    // Five of the newest and one of the oldest: the header's newest keep enough.
    let mut removed = keys[85..].to_vec();
    removed.push(keys[0].clone());
    clean(&env, &removed);
    assert_eq!(list_shows_the_newest_of_all(&env), 84 - 20);

    // Of the 64 newest the header points to, 59 are gone: the whole index is read.
    clean(&env, &keys[31..85]);
    assert_eq!(list_shows_the_newest_of_all(&env), 30 - 20);
    env.listings();
}

/// A compaction rewrites the index with the header pointing to the newest of its new body;
/// lines appended after it override those.
#[test]
fn list_shows_the_newest_across_a_compaction() {
    let env = Env::new();
    env.init();
    let keys = started(&env, 25, "5e55104e", "A task");
    run_in(&env, &env.project, &["list"]);
    let built = hold(&env);
    prompt(&env, &env.project, &keys[3], "Again");
    assert_eq!(list_shows_the_newest_of_all(&env), 5);

    // The index grown past its limit by copies of its newest line (changing nothing listed):
    // the next save's append compacts it.
    let text = std::fs::read_to_string(index(&env)).unwrap();
    let newest = text.lines().last().unwrap();
    assert!(
        newest.ends_with(&format!("\"key\":\"{}\"}}", keys[3])),
        "{newest}"
    );
    let copies = format!("{newest}\n").repeat(600 * 1024 / newest.len());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(index(&env))
        .unwrap();
    file.write_all(copies.as_bytes()).unwrap();
    assert_eq!(list_shows_the_newest_of_all(&env), 5);
    prompt(&env, &env.project, &keys[5], "Again");
    assert!(!still(&env, &built), "not compacted");
    let compacted = std::fs::metadata(index(&env)).unwrap().len();
    assert!(compacted < 100 * 1024, "{compacted} bytes");
    assert!(checked_as_now(&env), "the check was not carried over");
    assert_eq!(list_shows_the_newest_of_all(&env), 5);

    // After it: synced again, and new.
    let compacted = hold(&env);
    for key in [&keys[0], &keys[5]] {
        prompt(&env, &env.project, key, "Once more");
    }
    started(&env, 2, "5e55104f", "Newer task");
    run_in(&env, &env.project, &["list"]);
    assert_eq!(list_shows_the_newest_of_all(&env), 7);
    assert!(still(&env, &compacted));
    env.listings();
}
