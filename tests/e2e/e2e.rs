//! Claude Code mirrored into Codex: prompts, calls, subagents, resumes, the TUI in tmux.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::anthropic::AnthropicMock;
use crate::support::codex;
use crate::support::env::{TestEnv, dump};
use crate::support::flatten::{self, Item, claude_call_to_codex, compare_mirror, render};
use crate::support::openai::ResponsesMock;
use crate::support::scenario::{self, PROMPT_1, PROMPT_2, SUBAGENT_TASK};

const CODEX_PROMPT: &str = "Continue in Codex.";
const CODEX_REPLY: &str = "Codex here: I can see the whole conversation.";

fn dump_anthropic(mock: &AnthropicMock) {
    let all: Vec<Value> = mock
        .exchanges()
        .into_iter()
        .map(|e| json!({"method": e.method, "path": e.path, "query": e.query, "headers": e.headers, "scripted": e.scripted, "body": e.body, "response": e.response}))
        .collect();
    dump("anthropic-exchanges.json", &Value::Array(all));
}

/// The Claude scenario alone, without session-sync: checks the mock and the script drive the
/// real CLI through every turn, and the transcript records all of it.
#[test]
#[ignore = "end-to-end: runs the real claude CLI (cargo test --test e2e -- --ignored e2e::)"]
fn claude_scenario_against_mock() {
    let mut env = TestEnv::new();
    let mock = AnthropicMock::start(scenario::main_script(&env.project));
    env.use_anthropic(&mock);

    let run = scenario::run_main(&env);
    dump_anthropic(&mock);

    // Every scripted turn was requested: 5 + 2 main, 2 subagent.
    let scripted = mock.scripted_exchanges();
    let main_turns = scripted
        .iter()
        .filter(|e| crate::support::anthropic::first_user_text(&e.body) == PROMPT_1)
        .count();
    let sub_turns = scripted
        .iter()
        .filter(|e| crate::support::anthropic::first_user_text(&e.body) == SUBAGENT_TASK)
        .count();
    assert_eq!(
        (main_turns, sub_turns),
        (7, 2),
        "scripted turns (main, subagent)"
    );

    // The transcript holds every prompt, text and call of the main conversation.
    let transcript = env.claude_transcript(&run.session_id);
    let expected = scenario::expected_conversation(&mock);
    let mut tool_ids = Vec::new();
    let mut texts = Vec::new();
    for line in &transcript {
        if line["isSidechain"] == true {
            continue;
        }
        match &line["message"]["content"] {
            Value::String(s) if line["type"] == "user" => texts.push(s.clone()),
            Value::Array(blocks) => {
                for b in blocks {
                    match b["type"].as_str() {
                        Some("text") => texts.push(b["text"].as_str().unwrap_or("").to_string()),
                        Some("tool_use") => tool_ids.push(b["id"].as_str().unwrap().to_string()),
                        Some("tool_result") => {
                            tool_ids.push(b["tool_use_id"].as_str().unwrap().to_string())
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for item in &expected {
        let found = match item {
            Item::User(t) | Item::Assistant(t) => texts.contains(t),
            // Subagent calls live in the subagent file, not the main transcript.
            Item::Call { id, .. } | Item::Output { id, .. } => {
                tool_ids.contains(id) || subagent_has(&env, &run.session_id, id)
            }
            Item::Other(_) => false,
        };
        assert!(
            found,
            "transcript lacks {item}\nexpected:\n{}",
            render(&expected)
        );
    }
}

fn subagent_has(env: &TestEnv, session_id: &str, tool_id: &str) -> bool {
    let dir = env.claude_project_dir().join(session_id).join("subagents");
    fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        fs::read_to_string(e.path())
            .unwrap_or_default()
            .contains(tool_id)
    })
}

/// The main scenario: `session-sync init`, a two-process Claude session (parallel calls,
/// Write and Edit, a subagent, a failing call, a resumed prompt), then `codex exec resume
/// <mirror id>`: Codex's model must see the whole Claude conversation.
#[test]
#[ignore = "end-to-end: runs the real claude and codex CLIs (cargo test --test e2e -- --ignored e2e::)"]
fn mirrors_claude_session_into_codex() {
    let mut env = TestEnv::new();
    let anthropic = AnthropicMock::start(scenario::main_script(&env.project));
    let responses = ResponsesMock::start(CODEX_REPLY);
    env.use_anthropic(&anthropic).use_codex(&responses);

    // 1. init registers the hooks.
    let mut init = env.session_sync();
    init.arg("init");
    env.run(&mut init).assert_success();
    let settings = fs::read_to_string(env.project.join(".claude/settings.json"))
        .expect("session-sync init wrote no .claude/settings.json");
    assert!(
        settings.contains("hook"),
        "no hook in .claude/settings.json:\n{settings}"
    );

    // 2. The Claude session, over two processes.
    let run = scenario::run_main(&env);
    dump_anthropic(&anthropic);
    let diag = Diagnostics {
        env: &env,
        claude: &run.outputs,
    };
    diag.assert_no_hook_errors(&run.session_id);

    // 3. status --json names the Codex mirror.
    let mut status = env.session_sync();
    status.args(["status", "--json"]);
    let status = env.run(&mut status);
    status.assert_success();
    let status_json = status.json();
    dump("status.json", &status_json);
    let mirror = codex_mirror(&status_json, &run.session_id).unwrap_or_else(|| {
        panic!(
            "no codex mirror for session {} in status:\n{status_json:#}\n{}",
            run.session_id,
            diag.report()
        )
    });
    let codex_id = mirror["id"].as_str().expect("mirror id").to_string();
    let rollout = mirror["path"].as_str().expect("mirror path").to_string();
    assert!(
        Path::new(&rollout).is_file(),
        "mirror path {rollout} is not a file\n{}",
        diag.report()
    );
    assert!(
        rollout.starts_with(env.codex_home.join("sessions").to_str().unwrap()),
        "rollout {rollout} is not under $CODEX_HOME/sessions"
    );
    assert_eq!(
        mirror["resume"],
        format!("codex resume {codex_id}"),
        "resume command in status"
    );

    // 4. Codex resumes the mirror.
    let out = codex::exec_resume(&env, &codex_id, CODEX_PROMPT);
    let requests = responses.response_requests();
    let Some(body) = requests.last() else {
        panic!(
            "codex sent no request to the mock: {}\nrollout:\n{}",
            out.describe(),
            fs::read_to_string(&rollout).unwrap_or_default()
        )
    };
    dump("codex-request.json", body);
    out.assert_success();
    assert!(
        out.stdout.contains(CODEX_REPLY),
        "codex did not print the mock reply: {}",
        out.describe()
    );

    // 5. Codex's model saw exactly Claude's conversation.
    let expected = scenario::expected_conversation(&anthropic);
    let actual = flatten::flatten_codex_request(body, CODEX_PROMPT);
    if let Err(report) = compare_mirror(&expected, &actual, claude_call_to_codex) {
        panic!(
            "{report}\n{}\nrollout {rollout}:\n{}",
            diag.report(),
            fs::read_to_string(&rollout).unwrap_or_default()
        );
    }
    assert_subagent_nested(&actual);
    // The new prompt is last.
    assert_eq!(
        flatten::flatten_responses_input(std::slice::from_ref(
            body["input"].as_array().unwrap().last().unwrap()
        )),
        vec![Item::User(CODEX_PROMPT.into())]
    );
    // Both prompts are there, in order.
    let users: Vec<&Item> = actual
        .iter()
        .filter(|i| matches!(i, Item::User(_)))
        .collect();
    assert_eq!(
        users,
        vec![&Item::User(PROMPT_1.into()), &Item::User(PROMPT_2.into())]
    );

    // Nothing went wrong in hooks while codex ran either.
    diag.assert_no_hook_errors(&run.session_id);
}

/// The subagent's Bash call sits between the Agent call and the Agent call's output.
fn assert_subagent_nested(items: &[Item]) {
    let pos = |pred: &dyn Fn(&Item) -> bool| items.iter().position(pred);
    let agent_call = pos(&|i| matches!(i, Item::Call { name, .. } if name == "Agent"))
        .expect("no Agent call in the mirror");
    let Item::Call { id: agent_id, .. } = &items[agent_call] else {
        unreachable!()
    };
    let agent_out = pos(&|i| matches!(i, Item::Output { id, .. } if id == agent_id))
        .expect("no Agent output in the mirror");
    let sub_call = pos(&|i| matches!(i, Item::Call { args, .. } if args["cmd"] == "ls -1 *.txt"))
        .expect("no subagent Bash call in the mirror");
    assert!(
        agent_call < sub_call && sub_call < agent_out,
        "subagent call at {sub_call} is not between the Agent call {agent_call} and its output {agent_out}:\n{}",
        render(items)
    );
}

/// The `mirrors[]` entry with target "codex" for a Claude session in `status --json`.
fn codex_mirror(status: &Value, session_id: &str) -> Option<Value> {
    status["sessions"]
        .as_array()?
        .iter()
        .find(|s| s["claude_session_id"] == session_id)?["mirrors"]
        .as_array()?
        .iter()
        .find(|m| m["target"] == "codex")
        .cloned()
}

/// Failure context: hook log, claude outputs, transcript hook attachments.
struct Diagnostics<'a> {
    env: &'a TestEnv,
    claude: &'a [crate::support::proc::Output],
}

impl Diagnostics<'_> {
    fn report(&self) -> String {
        let mut s = format!("=== hook.log ===\n{}\n", self.env.hook_log());
        for o in self.claude {
            s.push_str(&o.describe());
            s.push('\n');
        }
        s
    }

    /// No error in session-sync's hook log, no hook error reported by Claude Code (its output
    /// or `hook_*error`/`hook_cancelled` attachments in the transcript), no hook stdout.
    fn assert_no_hook_errors(&self, session_id: &str) {
        let problems = self.hook_problems(session_id);
        assert!(
            problems.is_empty(),
            "hook problems:\n{}\n{}",
            problems.join("\n"),
            self.report()
        );
    }

    fn hook_problems(&self, session_id: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for l in self.env.hook_log().lines() {
            let low = l.to_ascii_lowercase();
            if low.contains("error") || low.contains("panic") || low.contains("fail") {
                problems.push(format!("hook.log: {l}"));
            }
        }
        for o in self.claude {
            let text = format!("{}\n{}", o.stdout, o.stderr).to_ascii_lowercase();
            if text.contains("hook") && (text.contains("error") || text.contains("fail")) {
                problems.push(format!("claude reported a hook problem: {}", o.describe()));
            }
        }
        for l in self.env.claude_transcript(session_id) {
            let t = l["attachment"]["type"].as_str().unwrap_or("");
            if l["type"] == "attachment" && t.starts_with("hook_") && t != "hook_additional_context"
            {
                problems.push(format!("transcript: {l}"));
            }
        }
        problems
    }
}

/// Control for `Diagnostics::assert_no_hook_errors`: quiet hooks leave no trace, and a failing
/// hook is caught (so a green main test means the session-sync hooks really ran cleanly).
#[test]
#[ignore = "end-to-end: runs the real claude CLI (cargo test --test e2e -- --ignored e2e::)"]
fn hook_error_check_detects_failing_hooks() {
    let settings = |failure_cmd: &str| {
        let quiet =
            json!([{"matcher": "*", "hooks": [{"type": "command", "command": "cat >/dev/null"}]}]);
        json!({"hooks": {
            "UserPromptSubmit": quiet, "PostToolUse": quiet, "Stop": quiet, "SessionStart": quiet,
            "PostToolUseFailure": [{"matcher": "*", "hooks": [{"type": "command", "command": failure_cmd}]}],
        }})
    };
    for (failure_cmd, should_fail) in [
        ("cat >/dev/null", false),
        ("cat >/dev/null; echo boom >&2; exit 1", true),
    ] {
        let mut env = TestEnv::new();
        let mock = AnthropicMock::start(scenario::main_script(&env.project));
        env.use_anthropic(&mock);
        let path = env.project.join(".claude/settings.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, settings(failure_cmd).to_string()).unwrap();
        let run = scenario::run_main(&env);
        let diag = Diagnostics {
            env: &env,
            claude: &run.outputs,
        };
        let problems = diag.hook_problems(&run.session_id);
        assert_eq!(
            !problems.is_empty(),
            should_fail,
            "hook check with PostToolUseFailure hook {failure_cmd:?}: {problems:#?}"
        );
        if should_fail {
            eprintln!("control: detected {problems:#?}");
        }
    }
}

/// Codex alone, without session-sync: a hand-written legacy rollout (codex.md §1) is resumed
/// against the mock Responses API, and the flattened request input is exactly that history.
#[test]
#[ignore = "end-to-end: runs the real codex CLI (cargo test --test e2e -- --ignored e2e::)"]
fn codex_resumes_handwritten_rollout_against_mock() {
    let mut env = TestEnv::new();
    let mock = ResponsesMock::start(CODEX_REPLY);
    env.use_codex(&mock);

    let items = vec![
        Item::User("list the files please".into()),
        Item::Assistant("I will run ls.".into()),
        Item::Call {
            id: "toolu_1".into(),
            name: "exec_command".into(),
            args: json!({"cmd": "ls -1"}),
        },
        Item::Call {
            id: "toolu_2".into(),
            name: "Read".into(),
            args: json!({"file_path": "/x/notes.txt"}),
        },
        Item::Output {
            id: "toolu_2".into(),
            parts: vec!["1\talpha".into()],
        },
        Item::Output {
            id: "toolu_1".into(),
            parts: vec!["README.md\nnotes.txt\nsrc".into()],
        },
        Item::Assistant("Three entries.".into()),
    ];
    let id = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
    codex::write_legacy_rollout(&env, id, &items);

    let out = codex::exec_resume(&env, id, CODEX_PROMPT);
    let reqs = mock.response_requests();
    assert!(
        !reqs.is_empty(),
        "codex sent no /responses request: {}",
        out.describe()
    );
    let body = reqs.last().unwrap();
    dump("codex-request-handwritten.json", body);
    out.assert_success();
    assert!(
        out.stdout.contains(CODEX_REPLY),
        "codex did not print the mock reply: {}",
        out.describe()
    );

    let actual = flatten::flatten_codex_request(body, CODEX_PROMPT);
    if let Err(report) = compare_mirror(&items, &actual, Clone::clone) {
        panic!("{report}");
    }
    let input = body["input"].as_array().unwrap();
    assert_eq!(
        flatten::flatten_responses_input(std::slice::from_ref(input.last().unwrap())),
        vec![Item::User(CODEX_PROMPT.into())]
    );
}

/// Harness self-check: the Claude scenario's conversation, written by the test itself as a
/// reference Codex rollout, resumes and passes the same comparison the main test uses.
/// Validates the scenario, both mocks, both flatteners and the comparison end to end,
/// independently of session-sync.
#[test]
#[ignore = "end-to-end: runs the real claude and codex CLIs (cargo test --test e2e -- --ignored e2e::)"]
fn reference_rollout_of_claude_scenario_passes_comparison() {
    let mut env = TestEnv::new();
    let anthropic = AnthropicMock::start(scenario::main_script(&env.project));
    let responses = ResponsesMock::start(CODEX_REPLY);
    env.use_anthropic(&anthropic).use_codex(&responses);

    scenario::run_main(&env);
    let expected = scenario::expected_conversation(&anthropic);
    let mapped: Vec<Item> = expected.iter().map(claude_call_to_codex).collect();
    let id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
    codex::write_legacy_rollout(&env, id, &mapped);

    let out = codex::exec_resume(&env, id, CODEX_PROMPT);
    out.assert_success();
    let requests = responses.response_requests();
    let body = requests.last().expect("codex sent no request");
    dump("codex-request-reference.json", body);
    let actual = flatten::flatten_codex_request(body, CODEX_PROMPT);
    if let Err(report) = compare_mirror(&expected, &actual, claude_call_to_codex) {
        panic!("{report}");
    }
    assert_subagent_nested(&actual);
}

/// The interactive TUI, driven in tmux as a user would: three sessions, each one prompt with a
/// Bash call, then `/exit`; each mirror holds the call and its output once and no `/exit`.
/// Issue 11 saw the TUI write the first prompt's line after the first call's, and that call
/// written twice, in 3 runs out of 4; the runs here write the prompt first, so that order is
/// held by `a_tui_session_writes_its_first_call_once` (tests/hook_replay.rs), which replays it.
#[test]
#[ignore = "end-to-end: runs the real claude TUI in tmux (cargo test --test e2e -- --ignored e2e::)"]
fn tui_session_writes_its_first_call_once() {
    use crate::support::anthropic::{Block, Reply, first_user_text, has_tools, turns_since_prompt};
    use crate::support::tmux::Tmux;
    use std::time::Duration;
    const PROMPT: &str = "Run echo hi in the shell.";
    const FINAL: &str = "It printed hi.";
    for round in 0..3 {
        let mut env = TestEnv::new();
        let mock = AnthropicMock::start(|req: &Value| {
            if !has_tools(req) || first_user_text(req) != PROMPT {
                return Reply::Generic;
            }
            match turns_since_prompt(req) {
                0 => vec![
                    Block::text("I'll run it."),
                    Block::tool(
                        "Bash",
                        json!({"command": "echo hi", "description": "Print hi"}),
                    ),
                ]
                .into(),
                1 => vec![Block::text(FINAL)].into(),
                _ => vec![Block::text("SCRIPT EXHAUSTED")].into(),
            }
        });
        env.use_anthropic(&mock);
        env.session_sync_ok(&["init"]);
        // Onboarding done, the folder trusted (the TUI runs no project hook before), the key
        // approved: the TUI opens on its prompt.
        let state = json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "customApiKeyResponses": {"approved": ["fake"], "rejected": []},
            "projects": {env.project.to_str().unwrap(): {
                "hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true,
            }},
        });
        fs::write(env.home.join(".claude.json"), state.to_string()).unwrap();

        let tui = Tmux::start(&env, &env.clients.claude(), &["--allowedTools", "Bash"]);
        let minute = Duration::from_secs(60);
        tui.wait("the prompt", minute, |screen| {
            screen.contains("? for shortcuts")
        });
        tui.type_line(PROMPT);
        let rollout_says = |text: &str| {
            env.codex_rollouts()
                .iter()
                .any(|r| fs::read_to_string(r).unwrap_or_default().contains(text))
        };
        tui.wait("the final answer in the mirror", minute, |_| {
            rollout_says(FINAL)
        });
        tui.type_line("/exit");
        tui.wait("claude to exit", minute, |_| !tui.alive());

        let rollouts = env.codex_rollouts();
        assert_eq!(rollouts.len(), 1, "round {round}: {rollouts:?}");
        let lines = crate::support::env::read_jsonl(&rollouts[0]);
        let count = |kind: &str| {
            lines
                .iter()
                .filter(|l| l["type"] == "response_item" && l["payload"]["type"] == kind)
                .count()
        };
        assert_eq!(
            (count("function_call"), count("function_call_output")),
            (1, 1),
            "round {round}: {}",
            fs::read_to_string(&rollouts[0]).unwrap()
        );
        let users: Vec<&Value> = lines
            .iter()
            .filter(|l| l["payload"]["type"] == "message" && l["payload"]["role"] == "user")
            .collect();
        assert_eq!(
            users.len(),
            1,
            "round {round}: only the prompt, not /exit: {users:#?}"
        );
        let log = env.hook_log();
        assert!(!log.contains(" ERROR "), "round {round}: {log}");
    }
}
