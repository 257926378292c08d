//! An isolated environment for running the real agent CLIs against local mocks.
//!
//! Everything lives in one temp dir: HOME (with XDG dirs), CODEX_HOME, a git project,
//! session-sync's data dir. Commands get a cleared environment, so the machine's real home and
//! credentials are never touched.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::anthropic::AnthropicMock;
use super::clients::{Clients, clients};
use super::files::{BIN, files_under};
use super::openai::ResponsesMock;
use super::proc::{Output, run_with_timeout};

/// Default limit for one CLI invocation.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct TestEnv {
    /// Keeps the temp dir alive; set `SESSION_SYNC_E2E_KEEP=1` to keep it after the test.
    tmp: Option<tempfile::TempDir>,
    pub root: PathBuf,
    pub home: PathBuf,
    pub project: PathBuf,
    pub codex_home: PathBuf,
    pub data_dir: PathBuf,
    pub clients: &'static Clients,
    vars: BTreeMap<String, String>,
    pub timeout: Duration,
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

impl TestEnv {
    /// A fresh environment with the pinned clients installed (installing them if needed).
    pub fn new() -> TestEnv {
        let clients = clients();
        let tmp = tempfile::Builder::new()
            .prefix("ss-e2e-")
            .tempdir()
            .expect("tempdir");
        let root = fs::canonicalize(tmp.path()).unwrap();
        let home = root.join("home");
        let project = root.join("project");
        let codex_home = home.join(".codex");
        let data_dir = root.join("session-sync-data");
        for d in [
            &home,
            &project,
            &codex_home,
            &data_dir,
            &home.join(".config"),
            &home.join(".local/share"),
            &home.join(".local/state"),
            &home.join(".cache"),
            &root.join("tmp"),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        let runtime = root.join("run");
        fs::create_dir_all(&runtime).unwrap();
        fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();

        let ss_dir = Path::new(BIN).parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            clients.bin_dir.display(),
            ss_dir.display()
        );
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            vars.insert(k.to_string(), v.to_string());
        };
        set("PATH", &path);
        set("HOME", home.to_str().unwrap());
        set("USER", if is_root() { "root" } else { "tester" });
        set("LOGNAME", if is_root() { "root" } else { "tester" });
        set("SHELL", "/bin/bash");
        set("LANG", "C.UTF-8");
        set("LC_ALL", "C.UTF-8");
        set("TERM", "dumb");
        set("NO_COLOR", "1");
        set("TMPDIR", root.join("tmp").to_str().unwrap());
        set("XDG_CONFIG_HOME", home.join(".config").to_str().unwrap());
        set("XDG_DATA_HOME", home.join(".local/share").to_str().unwrap());
        set(
            "XDG_STATE_HOME",
            home.join(".local/state").to_str().unwrap(),
        );
        set("XDG_CACHE_HOME", home.join(".cache").to_str().unwrap());
        set("XDG_RUNTIME_DIR", runtime.to_str().unwrap());
        set("GIT_CONFIG_NOSYSTEM", "1");
        set("CODEX_HOME", codex_home.to_str().unwrap());
        set("SESSION_SYNC_DATA_DIR", data_dir.to_str().unwrap());
        set("RUST_BACKTRACE", "1");

        let keep =
            std::env::var_os("SESSION_SYNC_E2E_KEEP").is_some_and(|v| !v.is_empty() && v != "0");
        let env = TestEnv {
            tmp: Some(tmp),
            root,
            home,
            project,
            codex_home,
            data_dir,
            clients,
            vars,
            timeout: DEFAULT_TIMEOUT,
        };
        env.init_project();
        if keep {
            let mut env = env;
            let tmp = env.tmp.take().unwrap();
            let _ = tmp.keep();
            eprintln!("e2e: keeping {}", env.root.display());
            return env;
        }
        env
    }

    fn init_project(&self) {
        write(
            &self.project.join("README.md"),
            "# demo\n\nA tiny project for session-sync tests.\n",
        );
        write(&self.project.join("notes.txt"), "alpha\nbeta\ngamma\n");
        write(
            &self.project.join("src/lib.rs"),
            "pub fn answer() -> u32 {\n    42\n}\n",
        );
        let git = |args: &[&str]| {
            let mut c = self.command("git");
            c.args([
                "-c",
                "user.name=E2E Test",
                "-c",
                "user.email=e2e@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ]);
            c.args(args);
            self.run(&mut c).assert_success();
        };
        git(&["init", "-q", "-b", "main"]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "initial commit"]);
    }

    /// Sets (or overrides) an environment variable for every command.
    pub fn set_var(&mut self, key: &str, value: impl AsRef<str>) -> &mut Self {
        self.vars
            .insert(key.to_string(), value.as_ref().to_string());
        self
    }

    /// Points `claude` at the mock Messages API and makes it quiet and offline.
    pub fn use_anthropic(&mut self, mock: &AnthropicMock) -> &mut Self {
        self.set_var("ANTHROPIC_BASE_URL", mock.base_url());
        self.set_var("ANTHROPIC_API_KEY", "fake");
        self.set_var("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
        self.set_var("DISABLE_AUTOUPDATER", "1");
        self.set_var("DISABLE_TELEMETRY", "1");
        self.set_var("DISABLE_ERROR_REPORTING", "1");
        if is_root() {
            // --dangerously-skip-permissions refuses to run as root otherwise.
            self.set_var("IS_SANDBOX", "1");
        }
        self
    }

    /// Writes `$CODEX_HOME/config.toml` for the mock Responses API (codex.md §11).
    pub fn use_codex(&mut self, mock: &ResponsesMock) -> &mut Self {
        let config = format!(
            r#"model = "mock-model"
model_provider = "mock"
check_for_update_on_startup = false

[model_providers.mock]
name = "Mock Responses API"
base_url = "{}"
wire_api = "responses"
env_key = "MOCK_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
"#,
            mock.base_url()
        );
        write(&self.codex_home.join("config.toml"), &config);
        self.set_var("MOCK_API_KEY", "fake");
        self
    }

    /// A command with the cleared, test-only environment, cwd = the project.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env_clear().envs(&self.vars).current_dir(&self.project);
        c
    }

    pub fn session_sync(&self) -> Command {
        self.command(BIN)
    }

    /// `session-sync <args>`, which must succeed; its stdout.
    pub fn session_sync_ok(&self, args: &[&str]) -> String {
        let out = self.run(self.session_sync().args(args));
        out.assert_success();
        out.stdout.clone()
    }

    /// Runs `session-sync hook` as Claude Code does: `payload` on stdin. It must exit 0 and
    /// print nothing.
    pub fn hook(&self, payload: &serde_json::Value) {
        use std::io::Write;
        let mut child = self
            .session_sync()
            .arg("hook")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "hook: {out:?}"
        );
    }

    /// The id of the first session's `target` mirror, as `status --json` gives it.
    pub fn mirror_id(&self, target: &str) -> String {
        let status: serde_json::Value =
            serde_json::from_str(&self.session_sync_ok(&["status", "--json"])).unwrap();
        status["sessions"][0]["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["target"] == target)
            .unwrap_or_else(|| panic!("no {target} mirror in {status}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn claude(&self) -> Command {
        self.command(self.clients.claude())
    }

    pub fn codex(&self) -> Command {
        self.command(self.clients.codex())
    }

    /// Runs with the env's timeout.
    pub fn run(&self, cmd: &mut Command) -> Output {
        let output = run_with_timeout(cmd, self.timeout)
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
        // Claude Code's hooks may leave their last event to a child: done before what follows.
        super::files::settle(&self.data_dir);
        output
    }

    /// `~/.claude/projects/<encoded project dir>` (claude-code.md §6.1; paths < 200 chars).
    pub fn claude_project_dir(&self) -> PathBuf {
        self.home
            .join(".claude")
            .join("projects")
            .join(self.project_dashed())
    }

    /// The project path with every non-alphanumeric character a `-`: how Claude Code and
    /// Qwen Code name a project's folder.
    pub fn project_dashed(&self) -> String {
        self.project
            .to_str()
            .unwrap()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }

    /// The main transcript of a Claude session, parsed (skipping unparsable lines).
    pub fn claude_transcript(&self, session_id: &str) -> Vec<serde_json::Value> {
        read_jsonl(
            &self
                .claude_project_dir()
                .join(format!("{session_id}.jsonl")),
        )
    }

    /// `$SESSION_SYNC_DATA_DIR/logs/hook.log` (empty string if absent).
    pub fn hook_log(&self) -> String {
        fs::read_to_string(self.data_dir.join("logs").join("hook.log")).unwrap_or_default()
    }

    /// All files under `$CODEX_HOME/sessions`.
    pub fn codex_rollouts(&self) -> Vec<PathBuf> {
        files_under(&self.codex_home.join("sessions"))
    }
}

/// A JSONL file parsed line by line, skipping lines that are not JSON (a line being written).
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Writes `value` as `name` into `$SESSION_SYNC_E2E_DUMP`, if set (for looking at what a test
/// saw).
pub fn dump(name: &str, value: &serde_json::Value) {
    if let Some(dir) = std::env::var_os("SESSION_SYNC_E2E_DUMP") {
        let dir = Path::new(&dir);
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), serde_json::to_string_pretty(value).unwrap()).unwrap();
    }
}
