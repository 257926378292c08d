//! `session-sync mirror` (backfill), forks when the user continued a mirror in its agent, and
//! every target written through the same path; driven through the built binary.

use crate::support::files::{files_under, jsonl};
use crate::support::home::{Env, ok};
use crate::support::recording::{Recording, fixture_records};
use crate::support::said::said;
use crate::support::tui::Tui;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Files under `dir` whose path ends with `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect()
}

/// Every tool call id of the recording, in order.
fn call_ids(recording: &Recording) -> Vec<String> {
    let mut ids = Vec::new();
    for line in &recording.transcript {
        let value: Value = serde_json::from_str(line).unwrap();
        for block in value["message"]["content"].as_array().into_iter().flatten() {
            if block["type"] == "tool_use" {
                ids.push(block["id"].as_str().unwrap().to_owned());
            }
        }
    }
    ids
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn mirror_backfills_once_and_the_hook_continues_the_same_mirror() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("parallel_tools");
    recording.write_transcript(&env, usize::MAX);
    let id = recording.session_id();

    let first = ok(env.run(&["mirror", &id]));
    assert!(first.contains("codex resume "), "{first}");
    assert!(first.contains("records added"), "{first}");
    let reference = said(&recording.reference_rollout(&env));
    assert_eq!(said(&env.rollout()), reference);

    let again = ok(env.run(&["mirror", "--last"]));
    assert!(again.contains("up to date"), "{again}");
    // The hook fires later for the same session: nothing new, nothing doubled.
    recording.run_hook(&env, "Stop", 0);
    assert_eq!(said(&env.rollout()), reference);
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
}

#[test]
fn mirror_writes_every_file_target_with_each_call_once() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("parallel_tools");
    recording.write_transcript(&env, usize::MAX);
    let id = recording.session_id();
    let out = ok(env.run(&["mirror", &id, "--to", "gemini,copilot,qwen,openai-chat"]));
    for expected in [
        "gemini --resume ",
        "copilot --resume=",
        "qwen --resume ",
        "chat log ",
    ] {
        assert!(out.contains(expected), "{expected} missing in {out}");
    }
    let stores = [
        (env.home.join(".gemini/tmp"), ".jsonl"),
        (env.home.join(".copilot/session-state"), "events.jsonl"),
        (env.home.join(".qwen/projects"), ".jsonl"),
        (env.data.join("openai-chat"), ".jsonl"),
    ];
    for (dir, suffix) in stores {
        let files = files_ending(&dir, suffix);
        assert_eq!(files.len(), 1, "{dir:?}: {files:?}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        jsonl(&files[0]);
        for call in call_ids(&recording) {
            // Each call id appears in its call and in its result, once each (Copilot repeats
            // it in the execution start and complete events, Qwen Code in the call's outcome).
            let expected = if suffix == "events.jsonl" || dir.ends_with("projects") {
                3
            } else {
                2
            };
            assert_eq!(
                count(&text, &format!("\"{call}\"")),
                expected,
                "{call} in {dir:?}"
            );
        }
    }
    let registry: Value = serde_json::from_str(
        &std::fs::read_to_string(env.home.join(".gemini/projects.json")).unwrap(),
    )
    .unwrap();
    let project = env.localize("/home/user/project");
    let slug = registry["projects"][&project].as_str().unwrap();
    let marker = env
        .home
        .join(".gemini/tmp")
        .join(slug)
        .join(".project_root");
    assert_eq!(std::fs::read_to_string(marker).unwrap(), project);
    let workspace = files_ending(&env.home.join(".copilot/session-state"), "workspace.yaml");
    assert_eq!(workspace.len(), 1);
}

/// Appends a line as Codex does when the user continues the rollout at `path`; the new text.
fn continue_in_codex(path: &Path) -> String {
    let codex_line = r#"{"timestamp":"2026-11-21T11:00:00.000Z","type":"event_msg","payload":{"type":"user_message","message":"continue in codex"}}"#;
    let mut text = std::fs::read_to_string(path).unwrap();
    text.push_str(codex_line);
    text.push('\n');
    std::fs::write(path, &text).unwrap();
    text
}

#[test]
fn a_mirror_continued_in_codex_is_forked_not_appended_to() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("multi_turn_resume");
    let id = recording.session_id();
    let half = recording.transcript.len() / 2;
    recording.write_transcript(&env, half);
    ok(env.run(&["mirror", &id]));
    let original = env.rollouts()[0].clone();

    // The user resumes the mirror in Codex, which appends its own lines.
    let text = continue_in_codex(&original);

    // Claude Code goes on; the next sync must not interleave into Codex's session.
    recording.write_transcript(&env, usize::MAX);
    ok(env.run(&["mirror", &id]));
    assert_eq!(std::fs::read_to_string(&original).unwrap(), text);
    let rollouts = env.rollouts();
    assert_eq!(rollouts.len(), 2, "{rollouts:?}");
    let fork = rollouts.into_iter().find(|r| *r != original).unwrap();
    assert_eq!(
        said(&jsonl(&fork)),
        said(&recording.reference_rollout(&env))
    );

    let status = env.status_json();
    let session = &status["sessions"][0];
    let old = &session["continued_elsewhere"][0];
    assert_eq!(old["reason"], "continued in the agent");
    let live = session["mirrors"][0]["id"].as_str().unwrap();
    assert_eq!(old["successor"], live);
    assert!(fork.to_string_lossy().contains(live));
    let state =
        std::fs::read_to_string(env.data.join("sessions").join(&id).join("state.jsonl")).unwrap();
    let last: Value = serde_json::from_str(state.lines().last().unwrap()).unwrap();
    let parent = &last["mirrors"]["codex"]["lineage"]["parent"];
    assert_eq!(parent["id"], old["id"]);
}

/// M1 continued in Codex is replaced by fork M2; M2 continued too is replaced by M3: both
/// continued mirrors name M3 as the live one (each still records the fork that replaced it).
#[test]
fn after_two_forks_every_continued_mirror_names_the_live_one() {
    let env = Env::new();
    env.init();
    let recording = Recording::load("multi_turn_resume");
    let id = recording.session_id();
    let len = recording.transcript.len();
    let live_mirror = || {
        let status = env.status_json();
        let mirror = &status["sessions"][0]["mirrors"][0];
        let path = PathBuf::from(mirror["path"].as_str().unwrap());
        (mirror["id"].as_str().unwrap().to_owned(), path)
    };
    let mut mirrors = Vec::new();
    for (step, lines) in [len / 3, 2 * len / 3, usize::MAX].into_iter().enumerate() {
        if step > 0 {
            // The user continues the live mirror in Codex before Claude Code goes on.
            continue_in_codex(&live_mirror().1);
        }
        recording.write_transcript(&env, lines);
        ok(env.run(&["mirror", &id]));
        mirrors.push(live_mirror().0);
    }
    let [m1, m2, m3] = &mirrors[..] else {
        panic!("{mirrors:?}")
    };
    assert!(m1 != m2 && m2 != m3, "{mirrors:?}");

    let status = env.status_json();
    let retired = status["sessions"][0]["continued_elsewhere"]
        .as_array()
        .unwrap();
    let ids: Vec<_> = retired.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [m1.as_str(), m2.as_str()], "{status}");
    let successors: Vec<_> = retired.iter().map(|r| r["successor"].clone()).collect();
    assert_eq!(successors, [m2.as_str(), m3.as_str()], "{status}");
    for old in retired {
        assert_eq!(old["live"], m3.as_str(), "{status}");
    }

    let text = ok(env.run(&["status"]));
    let continued: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("continued in the agent"))
        .collect();
    assert_eq!(continued.len(), 2, "{text}");
    for line in continued {
        assert!(
            line.ends_with(&format!("the live mirror is {m3}")),
            "{text}"
        );
    }
}

/// A foreign line after ours in each file target: a line the agent writes when the user
/// continues forks the mirror; Gemini's own listing annotations do not.
#[test]
fn continued_file_mirrors_fork_and_gemini_annotations_do_not() {
    let foreign = [
        (
            "gemini",
            ".gemini/tmp",
            ".jsonl",
            r#"{"$set":{"sessionId":"x"}}"#,
        ),
        (
            "copilot",
            ".copilot/session-state",
            "events.jsonl",
            r#"{"type":"user.message","data":{"content":"in copilot"},"id":"u","timestamp":"t","parentId":null}"#,
        ),
        (
            "qwen",
            ".qwen/projects",
            ".jsonl",
            r#"{"uuid":"q","type":"user"}"#,
        ),
    ];
    for (target, store, suffix, line) in foreign {
        for (appended, forks) in [
            (line, true),
            (r#"{"$set":{"summary":"Listed"}}"#, target != "gemini"),
        ] {
            let env = Env::new();
            env.init();
            let recording = Recording::load("multi_turn_resume");
            let id = recording.session_id();
            recording.write_transcript(&env, recording.transcript.len() / 2);
            ok(env.run(&["mirror", &id, "--to", target]));
            let files = files_ending(&env.home.join(store), suffix);
            assert_eq!(files.len(), 1, "{target}: {files:?}");
            let mut text = std::fs::read_to_string(&files[0]).unwrap();
            text.push_str(appended);
            text.push('\n');
            std::fs::write(&files[0], &text).unwrap();

            recording.write_transcript(&env, usize::MAX);
            ok(env.run(&["mirror", &id, "--to", target]));
            let after = files_ending(&env.home.join(store), suffix);
            if forks {
                assert_eq!(after.len(), 2, "{target} did not fork after {appended}");
                assert_eq!(
                    std::fs::read_to_string(&files[0]).unwrap(),
                    text,
                    "{target}"
                );
            } else {
                assert_eq!(after.len(), 1, "{target} forked after {appended}");
                let grown = std::fs::read_to_string(&files[0]).unwrap();
                assert!(
                    grown.starts_with(&text) && grown.len() > text.len(),
                    "{target}"
                );
            }
        }
    }
}

/// A conversation as comparable items: calls and answers in order, each call's result by its
/// id (a chat turn's results may come in another order than the calls).
fn conversation(records: &[session_sync::model::Record]) -> (Vec<String>, Vec<(String, String)>) {
    use session_sync::model::Item;
    let mut said = Vec::new();
    let mut results = Vec::new();
    for record in records {
        match &record.item {
            Item::Prompt { parts } => said.push(format!("prompt {parts:?}")),
            Item::Text { text } if record.agent.is_none() => said.push(format!("text {text}")),
            Item::ToolCall { id, name, input } => said.push(format!("call {id} {name} {input}")),
            Item::ToolResult {
                id,
                parts,
                is_error,
            } => results.push((id.clone(), format!("{parts:?} error={is_error}"))),
            _ => {}
        }
    }
    results.sort();
    (said, results)
}

#[test]
fn a_session_goes_claude_to_codex_to_claude_with_every_record() {
    for fixture in [
        "simple_bash",
        "parallel_tools",
        "subagent",
        "multi_turn_resume",
    ] {
        let env = Env::new();
        env.init();
        let recording = Recording::load(fixture);
        recording.write_transcript(&env, usize::MAX);
        recording.write_subagents(&env);
        let id = recording.session_id();
        let to_codex = ok(env.run(&["mirror", &id, "--to", "codex"]));
        let codex_id = env.status_json()["sessions"][0]["mirrors"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = ok(env.run(&["mirror", "--from", "codex", &codex_id, "--to", "claude"]));
        assert!(out.contains("claude --resume "), "{out}");

        let handed: Vec<PathBuf> = files_ending(&env.home.join(".claude/projects"), ".jsonl")
            .into_iter()
            .filter(|p| {
                !p.ends_with(format!("{id}.jsonl")) && !p.to_string_lossy().contains("/subagents/")
            })
            .collect();
        assert_eq!(handed.len(), 1, "{fixture}: {handed:?}");
        let text = std::fs::read_to_string(&handed[0]).unwrap();
        let back: Vec<_> = session_sync::agents::claude::read_lines(&text, None)
            .into_iter()
            .map(|e| e.record)
            .collect();

        // What Codex cannot carry, as the loss report says: thinking, and Bash's description.
        let localize = |text: &str| env.localize(text);
        let mut original = fixture_records(fixture, &localize);
        for record in &mut original {
            if let session_sync::model::Item::ToolCall { name, input, .. } = &mut record.item {
                if name == "Bash" {
                    if let Some(args) = input.as_object_mut() {
                        if args.remove("description").is_some() {
                            assert!(
                                to_codex.contains("Bash descriptions dropped"),
                                "{fixture}: {to_codex}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(conversation(&back), conversation(&original), "{fixture}");
    }
}

#[test]
fn mirror_and_export_follow_the_parent_chain_of_a_tui_transcript() {
    let env = Env::new();
    env.init();
    let tui = Tui::new(&env);
    for lines in tui.flushes() {
        tui.append(&lines);
    }
    let path = tui.transcript.to_str().unwrap();
    ok(env.run(&["mirror", path]));
    assert_eq!(said(&env.rollout()), Tui::said());

    let chat: Vec<Value> = ok(env.run(&["export", "--format", "openai-chat", path]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let users: Vec<&Value> = chat.iter().filter(|m| m["role"] == "user").collect();
    assert_eq!(users.len(), 1, "{chat:#?}");
    assert_eq!(users[0]["content"], Tui::PROMPT);
    let roles: Vec<&str> = chat.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "system",
            "user",
            "assistant",
            "assistant",
            "tool",
            "assistant"
        ]
    );
    let tool = chat.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(tool["content"], "hi");
}
