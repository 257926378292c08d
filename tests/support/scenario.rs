//! The main Claude Code scenario, reusable by every mirror target's test: one session over two
//! `claude -p` processes with parallel read-only calls, Write + Edit, a subagent, a failing
//! Bash call, and a resumed second prompt.

use std::path::Path;

use serde_json::{Value, json};

use super::anthropic::{
    AnthropicMock, Block, Exchange, Reply, first_user_text, has_tools, last_user_text,
    turns_since_prompt,
};
use super::env::TestEnv;
use super::flatten::{Item, flatten_anthropic_request, splice_subagents};
use super::proc::Output;

pub const PROMPT_1: &str = "Look around the project, then add hello.py, capitalise beta in notes.txt, and have a subagent list the text files.";
pub const PROMPT_2: &str = "Now count the lines of notes.txt.";
pub const SUBAGENT_TASK: &str =
    "SUBTASK-42: list the *.txt files in the project and report their names.";

pub const FINAL_1: &str =
    "Done: hello.py was written, beta is now BETA in notes.txt, and the subagent found notes.txt.";
pub const FINAL_2: &str = "notes.txt has 3 lines.";

/// The scripted model for the main scenario. `project` is the absolute project dir (used in
/// file paths of Read/Write/Edit).
pub fn main_script(project: &Path) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    let project = project.to_path_buf();
    move |req: &Value| {
        if !has_tools(req) {
            return Reply::Generic;
        }
        let p = |rel: &str| project.join(rel).to_string_lossy().into_owned();
        let first = first_user_text(req);
        let turn = turns_since_prompt(req);
        if first == SUBAGENT_TASK {
            return match turn {
                0 => vec![
                    Block::text("Listing the text files."),
                    Block::tool(
                        "Bash",
                        json!({"command": "ls -1 *.txt", "description": "List text files"}),
                    ),
                ]
                .into(),
                _ => vec![Block::text(
                    "Sub-agent report: notes.txt is the only text file.",
                )]
                .into(),
            };
        }
        if first != PROMPT_1 {
            return Reply::Generic;
        }
        let last = last_user_text(req);
        if last == PROMPT_1 {
            match turn {
                0 => vec![
                    Block::thinking("The user wants me to explore first. I will read and search in parallel."),
                    Block::text("Let me look at the project."),
                    Block::tool("Read", json!({"file_path": p("notes.txt")})),
                    Block::tool("Bash", json!({"command": "ls -1", "description": "List files"})),
                    Block::tool("Glob", json!({"pattern": "**/*.rs"})),
                    Block::tool("Grep", json!({"pattern": "beta", "output_mode": "content", "-n": true})),
                ]
                .into(),
                1 => vec![
                    Block::text("Now I will write hello.py and edit notes.txt."),
                    Block::tool("Write", json!({"file_path": p("hello.py"), "content": "print(\"hello\")\n"})),
                    Block::tool("Edit", json!({"file_path": p("notes.txt"), "old_string": "beta", "new_string": "BETA"})),
                    // Rejected before it runs: no PostToolUse or PostToolUseFailure fires.
                    Block::tool("Edit", json!({"file_path": p("notes.txt"), "old_string": "not in the file", "new_string": "x"})),
                ]
                .into(),
                2 => vec![
                    Block::text("Delegating the listing to a subagent."),
                    Block::tool(
                        "Agent",
                        json!({"description": "List text files", "prompt": SUBAGENT_TASK, "subagent_type": "general-purpose"}),
                    ),
                ]
                .into(),
                3 => vec![Block::tool(
                    "Bash",
                    json!({"command": "cat notes.txt && ls /definitely/missing", "description": "Show notes and fail"}),
                )]
                .into(),
                4 => vec![Block::thinking("Everything is done; the failure was expected."), Block::text(FINAL_1)].into(),
                _ => vec![Block::text("SCRIPT EXHAUSTED (prompt 1)")].into(),
            }
        } else if last == PROMPT_2 {
            match turn {
                0 => vec![
                    Block::text("Counting the lines."),
                    Block::tool(
                        "Bash",
                        json!({"command": "wc -l notes.txt", "description": "Count lines"}),
                    ),
                ]
                .into(),
                1 => vec![Block::text(FINAL_2)].into(),
                _ => vec![Block::text("SCRIPT EXHAUSTED (prompt 2)")].into(),
            }
        } else {
            Reply::Generic
        }
    }
}

/// Runs `claude -p` with the flags the scenario needs.
pub fn claude_p(env: &TestEnv, prompt: &str, resume: Option<&str>) -> Output {
    let mut cmd = env.claude();
    cmd.arg("-p");
    if let Some(id) = resume {
        cmd.args(["--resume", id]);
    }
    cmd.arg(prompt).args([
        "--output-format",
        "json",
        "--dangerously-skip-permissions",
        "--allowedTools",
        "Glob",
        "Grep",
    ]);
    env.run(&mut cmd)
}

pub struct ScenarioRun {
    pub session_id: String,
    pub outputs: Vec<Output>,
}

/// Runs both `claude -p` processes of the main scenario (the mock must run `main_script`).
pub fn run_main(env: &TestEnv) -> ScenarioRun {
    let first = claude_p(env, PROMPT_1, None);
    first.assert_success();
    let result = first.json();
    let session_id = result["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no session_id in claude output: {}", first.describe()))
        .to_string();
    assert_eq!(
        result["result"],
        FINAL_1,
        "claude process 1 did not finish the script: {}",
        first.describe()
    );
    let second = claude_p(env, PROMPT_2, Some(&session_id));
    second.assert_success();
    assert_eq!(
        second.json()["result"],
        FINAL_2,
        "claude process 2 did not finish the script: {}",
        second.describe()
    );
    ScenarioRun {
        session_id,
        outputs: vec![first, second],
    }
}

/// The last scripted exchange of the conversation whose first user text is `first`.
pub fn last_exchange_of(mock: &AnthropicMock, first: &str) -> Option<Exchange> {
    mock.scripted_exchanges()
        .into_iter()
        .rfind(|e| first_user_text(&e.body) == first)
}

/// The whole conversation as Claude's model saw it at the end: the last main request plus
/// the answer, with the subagent's calls spliced in after the Agent call.
pub fn expected_conversation(mock: &AnthropicMock) -> Vec<Item> {
    let main =
        last_exchange_of(mock, PROMPT_1).expect("no main-conversation request reached the mock");
    let sub = last_exchange_of(mock, SUBAGENT_TASK).expect("no subagent request reached the mock");
    splice_subagents(
        flatten_anthropic_request(&main.body, main.response.as_ref()),
        &[(sub.body.clone(), sub.response.clone())],
    )
}
