//! End-to-end tests of the Gemini CLI harness: hand-written sessions (gemini-cli.md) resumed by
//! the real `gemini` against the mock Gemini API, and the record shapes an encoder may use.
//!
//! Run: `cargo test --test e2e -- --ignored e2e_gemini:: --test-threads=2` (needs node/npm; installs
//! the pinned CLIs into `target/e2e-clients` or `$SESSION_SYNC_E2E_CLIENTS` on first use).
//! Set `SESSION_SYNC_E2E_KEEP=1` to keep each test's temp dir, and
//! `SESSION_SYNC_E2E_DUMP=<dir>` to write the captured requests there.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::env::{TestEnv, dump};
use crate::support::files::jsonl;
use crate::support::flatten::{Item, compare_mirror, render};
use crate::support::gemini::{self, SessionFile, gemini_record, tool_call, user_record};
use crate::support::gemini_api::{
    GeminiMock, flatten_gemini_contents, flatten_gemini_request, turn_shapes,
};
use crate::support::proc::Output;

const PROMPT: &str = "What is my secret word?";
const REPLY: &str = "Gemini mock here: I can see the whole conversation.";
const SECRET: &str = "Remember this: my secret word is KUMQUAT-7. Then list the files.";

fn call(id: &str, name: &str, args: Value) -> Item {
    Item::Call {
        id: id.into(),
        name: name.into(),
        args,
    }
}

fn output(id: &str, text: &str) -> Item {
    Item::Output {
        id: id.into(),
        parts: vec![text.into()],
    }
}

/// What one headless resume produced.
struct Resumed {
    out: Output,
    /// The main request (the one carrying the prompt).
    body: Value,
    /// The session file after the run.
    after: String,
}

/// Resumes `id` with `prompt`, checks the mock reply was printed and returns the main request
/// and the session file after the run.
fn resume(env: &TestEnv, mock: &GeminiMock, id: &str, prompt: &str, file: &Path) -> Resumed {
    let out = gemini::resume(env, id, prompt);
    let after = fs::read_to_string(file).unwrap_or_default();
    let all: Vec<Value> = mock
        .requests()
        .into_iter()
        .map(|r| json!({"method": r.method, "path": r.path, "query": r.query, "body": r.body}))
        .collect();
    dump(&format!("gemini-{id}-requests.json"), &Value::Array(all));
    let Some(body) = mock.main_request(prompt) else {
        panic!(
            "gemini sent no main request with the prompt: {}\nrequests: {:?}\nsession file:\n{after}",
            out.describe(),
            mock.requests()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        )
    };
    out.assert_success();
    assert!(
        out.stdout.contains(REPLY),
        "gemini did not print the mock reply: {}",
        out.describe()
    );
    Resumed { out, body, after }
}

/// Fails with the flattened request and turn shapes unless the model saw `expected` followed
/// by `prompt` (as the whole last turn), and nothing else.
fn assert_history(r: &Resumed, prompt: &str, expected: &[Item]) {
    let actual = flatten_gemini_request(&r.body, prompt);
    let contents = r.body["contents"].as_array().unwrap();
    let last = flatten_gemini_contents(&contents[contents.len() - 1..]);
    assert!(
        actual == expected && last == [Item::User(prompt.into())],
        "the model saw:\n{}\nexpected:\n{}\nturns: {:?}\nlast turn: {last:?}",
        render(&actual),
        render(expected),
        turn_shapes(&r.body)
    );
}

/// `gemini --list-sessions` exits 0 and names `id`; returns its output.
fn list_shows(env: &TestEnv, id: &str) -> Output {
    let out = gemini::list_sessions(env);
    out.assert_success();
    assert!(
        out.stdout.contains(id),
        "--list-sessions does not show {id}: {}",
        out.describe()
    );
    out
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line ({e}): {l}")))
        .collect()
}

/// A short tag per record: `meta`, `user:<text>`, `gemini:<text>`, `$set:<keys>`.
fn record_kind(r: &Value) -> String {
    if let Some(set) = r["$set"].as_object() {
        return format!("$set:{}", set.keys().cloned().collect::<Vec<_>>().join(","));
    }
    let text = match &r["content"] {
        Value::String(s) => s.clone(),
        c => c[0]["text"].as_str().unwrap_or("").to_string(),
    };
    match r["type"].as_str() {
        Some(t) => format!("{t}:{text}"),
        None if r.get("sessionId").is_some() => "meta".into(),
        None => format!("other:{r}"),
    }
}

const LS_OUT: &str = "MIRROR_FILE_A.txt\nMIRROR_FILE_B.txt";
const FINAL: &str = "There are two files: MIRROR_FILE_A.txt and MIRROR_FILE_B.txt.";

fn ls_call(output: Option<&str>) -> Value {
    tool_call(
        "toolu_mirror_0001",
        "run_shell_command",
        json!({"command": "ls"}),
        output,
    )
}

/// user → text → call → output → text: what every variant below must show the model.
fn spec_history() -> Vec<Item> {
    vec![
        Item::User(SECRET.into()),
        Item::Assistant("Noted. Listing files now.".into()),
        call(
            "toolu_mirror_0001",
            "run_shell_command",
            json!({"command": "ls"}),
        ),
        output("toolu_mirror_0001", LS_OUT),
        Item::Assistant(FINAL.into()),
    ]
}

fn setup() -> (TestEnv, GeminiMock) {
    let mut env = TestEnv::new();
    let mock = GeminiMock::start(REPLY);
    gemini::use_gemini(&mut env, &mock);
    (env, mock)
}

/// The spec's example session (gemini-cli.md §2), written by hand, is listed (with its
/// summary as title) and resumes headless: the model sees user → text → call → output →
/// text → new prompt.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_resumes_handwritten_session_against_mock() {
    let (env, mock) = setup();
    let id = "11111111-2222-4333-8444-555555555555";
    let mut s = SessionFile::new(id);
    s.push(user_record("4b0c-user-1", SECRET))
        .push(gemini_record(
            "9e21-gemini-1",
            Some("Noted. Listing files now."),
            vec![ls_call(Some(LS_OUT))],
        ))
        .push(gemini_record("c7f3-gemini-2", Some(FINAL), vec![]))
        .push(gemini::set_summary(
            "Mirrored from Claude Code: secret word test",
        ));
    let file = s.write(&env);
    // The layout of gemini-cli.md §1: slug "project", both markers, the registry entry.
    let dir = gemini::gemini_dir(&env);
    assert_eq!(file.parent().unwrap(), dir.join("tmp/project/chats"));
    assert!(s.file_name().ends_with("-11111111.jsonl"));
    for marker in ["tmp/project/.project_root", "history/project/.project_root"] {
        assert_eq!(
            fs::read_to_string(dir.join(marker)).unwrap(),
            env.project.to_str().unwrap()
        );
    }
    let registry: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("projects.json")).unwrap()).unwrap();
    assert_eq!(
        registry["projects"][env.project.to_str().unwrap()],
        "project"
    );

    let listed = list_shows(&env, id);
    assert!(
        listed
            .stdout
            .contains("Mirrored from Claude Code: secret word test"),
        "summary not shown as title: {}",
        listed.describe()
    );

    let r = resume(&env, &mock, id, PROMPT, &file);
    dump("gemini-request-handwritten.json", &r.body);
    assert_history(&r, PROMPT, &spec_history());
    assert_eq!(
        turn_shapes(&r.body),
        [
            "user[text,text]", // <session_context> + the first prompt, merged into one turn
            "model[text,functionCall]",
            "user[functionResponse]",
            "model[text]",
            "user[text]"
        ]
    );
    let items = flatten_gemini_request(&r.body, PROMPT);
    compare_mirror(&spec_history(), &items, Clone::clone).unwrap();
}

/// (a) A later line with an existing message id replaces the earlier record in place: the
/// call first written without a result, then re-emitted with it after the final text.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_replaced_record_keeps_its_position() {
    let (env, mock) = setup();
    let id = "aaaaaaaa-0000-4000-8000-00000000000a";
    let mut s = SessionFile::new(id);
    s.push(user_record("u1", SECRET))
        .push(gemini_record(
            "g1",
            Some("Noted. Listing files now."),
            vec![ls_call(None)],
        ))
        .push(gemini_record("g2", Some(FINAL), vec![]))
        .push(gemini_record(
            "g1",
            Some("Noted. Listing files now."),
            vec![ls_call(Some(LS_OUT))],
        ));
    let file = s.write(&env);
    list_shows(&env, id);
    let r = resume(&env, &mock, id, PROMPT, &file);
    dump("gemini-request-replaced.json", &r.body);
    assert_history(&r, PROMPT, &spec_history());
}

/// (b) Two consecutive `gemini` messages (text only, then tool calls only) reach the model
/// merged into one model turn, exactly as one message with both would.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_consecutive_model_messages() {
    let (env, mock) = setup();
    let id = "bbbbbbbb-0000-4000-8000-00000000000b";
    let mut s = SessionFile::new(id);
    s.push(user_record("u1", SECRET))
        .push(gemini_record(
            "g1",
            Some("Noted. Listing files now."),
            vec![],
        ))
        .push(gemini_record("g2", None, vec![ls_call(Some(LS_OUT))]))
        .push(gemini_record("g3", Some(FINAL), vec![]));
    let file = s.write(&env);
    list_shows(&env, id);
    let r = resume(&env, &mock, id, PROMPT, &file);
    dump("gemini-request-consecutive.json", &r.body);
    assert_history(&r, PROMPT, &spec_history());
    assert_eq!(
        turn_shapes(&r.body),
        [
            "user[text,text]",
            "model[text,functionCall]",
            "user[functionResponse]",
            "model[text]",
            "user[text]"
        ]
    );
}

/// (c) One `gemini` message with two tool calls (parallel calls) and both results, written
/// with `records_from_items`: one model turn with both calls, one user turn with both
/// responses.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_parallel_tool_calls() {
    let (env, mock) = setup();
    let id = "cccccccc-0000-4000-8000-00000000000c";
    let items = vec![
        Item::User(SECRET.into()),
        Item::Assistant("Listing and reading.".into()),
        call("call_1", "run_shell_command", json!({"command": "ls"})),
        call("call_2", "read_file", json!({"file_path": "notes.txt"})),
        output("call_2", "alpha\nbeta\ngamma"),
        output("call_1", LS_OUT),
        Item::Assistant(FINAL.into()),
    ];
    let mut s = SessionFile::new(id);
    for r in gemini::records_from_items(&items) {
        s.push(r);
    }
    let file = s.write(&env);
    list_shows(&env, id);
    let r = resume(&env, &mock, id, PROMPT, &file);
    dump("gemini-request-parallel.json", &r.body);
    let actual = flatten_gemini_request(&r.body, PROMPT);
    compare_mirror(&items, &actual, Clone::clone).unwrap();
    assert_eq!(
        turn_shapes(&r.body),
        [
            "user[text,text]",
            "model[text,functionCall,functionCall]",
            "user[functionResponse,functionResponse]",
            "model[text]",
            "user[text]"
        ]
    );
}

/// (d) `{"$set":{"lastUpdated":…}}` lines between and after messages are accepted: listed,
/// resumed, history intact.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_accepts_set_last_updated_lines() {
    let (env, mock) = setup();
    let id = "dddddddd-0000-4000-8000-00000000000d";
    let mut s = SessionFile::new(id);
    s.push(user_record("u1", SECRET))
        .push(gemini::set_last_updated(&gemini::iso_minutes_ago(9)))
        .push(gemini_record(
            "g1",
            Some("Noted. Listing files now."),
            vec![ls_call(Some(LS_OUT))],
        ))
        .push(gemini::set_last_updated(&gemini::iso_minutes_ago(8)))
        .push(gemini_record("g2", Some(FINAL), vec![]))
        .push(gemini::set_last_updated(&gemini::iso_minutes_ago(2)));
    let file = s.write(&env);
    list_shows(&env, id);
    let r = resume(&env, &mock, id, PROMPT, &file);
    assert_history(&r, PROMPT, &spec_history());
}

/// (e) What a headless resume writes: it appends to the resumed file (never rewrites it), and
/// it also leaves a second, non-resumable file with the same session id. A second resume then
/// duplicates tool outputs. The next Gemini start with another session deletes the mirrored
/// file (retention cleanup of the stray's short id).
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_headless_resume_appends_and_leaves_a_stray_file() {
    let (env, mock) = setup();
    let id = "eeeeeeee-0000-4000-8000-00000000000e";
    let mut s = SessionFile::new(id);
    s.push(user_record("u1", SECRET))
        .push(gemini_record(
            "g1",
            Some("Noted. Listing files now."),
            vec![ls_call(Some(LS_OUT))],
        ))
        .push(gemini_record("g2", Some(FINAL), vec![]));
    let file = s.write(&env);
    let before = fs::read_to_string(&file).unwrap();

    let r = resume(&env, &mock, id, PROMPT, &file);
    eprintln!(
        "(e) resume took {:.1?}, stdout {:?}; file after resume:\n{}",
        r.out.elapsed, r.out.stdout, r.after
    );
    assert!(
        r.after.starts_with(&before),
        "the resume rewrote the file instead of appending"
    );
    let appended = parse_lines(&r.after[before.len()..]);
    let kinds: Vec<String> = appended.iter().map(record_kind).collect();
    assert_eq!(
        kinds,
        [
            "$set:sessionId".to_string(),
            "$set:messages,lastUpdated".into(),
            format!("user:{PROMPT}"),
            "$set:lastUpdated".into(),
            format!("gemini:{REPLY}"),
            "$set:lastUpdated".into(),
        ],
        "appended records"
    );
    // The checkpoint: <session_context> first, then the file's messages, with each call's
    // results as an extra user message `<gemini id>_response`.
    let checkpoint: Vec<String> = appended[1]["$set"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["type"].as_str().unwrap(),
                m["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        checkpoint[1..],
        ["user:u1", "gemini:g1", "user:g1_response", "gemini:g2"]
    );
    assert!(record_kind(&appended[1]["$set"]["messages"][0]).starts_with("user:<session_context>"));

    // The stray file: same session id, named by the resume's minute, not resumable.
    let files = gemini::session_files(&env);
    let stray: Vec<_> = files.iter().filter(|f| **f != file).collect();
    assert_eq!(stray.len(), 1, "session files: {files:?}");
    let stray_kinds: Vec<String> = jsonl(stray[0]).iter().map(record_kind).collect();
    assert_eq!(stray_kinds, ["meta", "$set:messages,lastUpdated"]);
    assert!(
        stray[0]
            .to_str()
            .unwrap()
            .ends_with(&format!("-{}.jsonl", &id[..8]))
    );

    // A second resume of the same file: the checkpoint holds both the call (with its result)
    // and the synthetic `g1_response` message, so the model gets the tool output twice (one
    // user turn with two functionResponse parts for one call). The first resume's turn is
    // there once.
    const PROMPT_2: &str = "And the files?";
    let r2 = resume(&env, &mock, id, PROMPT_2, &file);
    let mut expected = spec_history();
    expected.insert(4, output("toolu_mirror_0001", LS_OUT));
    expected.extend([Item::User(PROMPT.into()), Item::Assistant(REPLY.into())]);
    assert_history(&r2, PROMPT_2, &expected);
    assert_eq!(
        turn_shapes(&r2.body)[2],
        "user[functionResponse,functionResponse]"
    );

    // Any other Gemini start in the project (here a new headless session) runs the retention
    // cleanup, which deletes the mirrored file.
    let mut fresh = gemini::command(&env);
    fresh.args(["-p", "hello"]);
    env.run(&mut fresh).assert_success();
    assert!(!file.exists(), "the mirrored file survived");
}

/// Control for (e): with the stray file removed after the resume, a new Gemini session in the
/// project leaves the mirrored file (and the user's continuation in it) alone.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_mirror_survives_next_start_without_the_stray_file() {
    let (env, mock) = setup();
    let id = "ffffffff-0000-4000-8000-00000000000f";
    let mut s = SessionFile::new(id);
    s.push(user_record("u1", SECRET))
        .push(gemini_record("g1", Some(FINAL), vec![]));
    let file = s.write(&env);
    resume(&env, &mock, id, PROMPT, &file);
    for f in gemini::session_files(&env) {
        if f != file {
            fs::remove_file(f).unwrap();
        }
    }
    let mut fresh = gemini::command(&env);
    fresh.args(["-p", "hello"]);
    env.run(&mut fresh).assert_success();
    assert!(file.exists(), "the mirrored file was deleted");
    list_shows(&env, id);
}

/// `--list-sessions` (and, by the code, interactive start) annotates the newest other session
/// with more than one user message: it appends `$set {summary (generated when missing),
/// memoryScratchpad}`. Such lines do not mean the user continued the session; a record
/// appended later makes the scratchpad stale, and the next listing appends a new one.
#[test]
#[ignore = "end-to-end: runs the real gemini CLI (cargo test --test e2e -- --ignored e2e_gemini::)"]
fn gemini_listing_appends_summary_and_scratchpad() {
    let (env, _mock) = setup();
    let id = "99999999-0000-4000-8000-000000000009";
    let mut s = SessionFile::new(id);
    s.push(user_record("u1", SECRET))
        .push(gemini_record(
            "g1",
            Some("Noted. Listing files now."),
            vec![ls_call(Some(LS_OUT))],
        ))
        .push(gemini_record("g2", Some(FINAL), vec![]))
        .push(user_record("u2", "Thanks."))
        .push(gemini_record("g3", Some("You're welcome."), vec![]));
    let file = s.write(&env);
    let kinds = |path: &Path| -> Vec<String> { jsonl(path).iter().map(record_kind).collect() };
    let written = kinds(&file);

    list_shows(&env, id);
    let after = kinds(&file);
    assert_eq!(after[..written.len()], written[..]);
    assert_eq!(after[written.len()..], ["$set:summary,memoryScratchpad"]);

    // Listing again changes nothing; a new record makes the scratchpad stale.
    list_shows(&env, id);
    assert_eq!(kinds(&file).len(), after.len());
    gemini::append_records(&file, &[user_record("u3", "One more thing.")]);
    list_shows(&env, id);
    assert_eq!(
        kinds(&file)[after.len()..],
        ["user:One more thing.", "$set:memoryScratchpad"]
    );
}
