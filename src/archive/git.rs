//! The git CLI, run in the archive repository: the user's own git, configuration and
//! credentials, nothing of ours on the wire.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Identity for commits when the user has configured none (a fresh machine, cron).
const FALLBACK_NAME: &str = "session-sync";
const FALLBACK_EMAIL: &str = "session-sync@localhost";

fn git(repo: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(repo)
        .stdin(Stdio::null())
        // Never stop to ask for a password from cron or the hook.
        .env("GIT_TERMINAL_PROMPT", "0");
    command
}

fn run(mut command: Command, what: &str) -> Result<Output, String> {
    let output = command.output().map_err(|e| {
        format!("cannot run git ({e}); install git or put it on PATH, then run this again")
    })?;
    check(output, what)
}

/// The output of a git run that succeeded, else its first line of complaint.
fn check(output: Output, what: &str) -> Result<Output, String> {
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("fatal: ")
                .trim_start_matches("error: ")
        })
        .find(|l| !l.is_empty() && !l.starts_with("hint:"))
        .unwrap_or("no message");
    Err(format!("{what}: {reason}"))
}

/// The top of the work tree `dir` is in; `None` when it is in none. An error when git
/// refuses the directory for another reason (another user's repository, say).
pub fn toplevel(dir: &Path) -> Result<Option<std::path::PathBuf>, String> {
    let mut command = git(dir);
    command.args(["rev-parse", "--show-toplevel"]);
    match run(command, &format!("git cannot use {}", dir.display())) {
        Ok(output) => {
            let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            Ok(Some(std::path::PathBuf::from(text)))
        }
        Err(e) if e.contains("not a git repository") => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn init(repo: &Path) -> Result<(), String> {
    let mut command = git(repo);
    command.args(["init", "-q"]);
    run(command, &format!("git init {} failed", repo.display())).map(drop)
}

/// Paths under `pathspec` that differ from the last commit (changed, added, deleted or
/// untracked), relative to the repository.
pub fn changed(repo: &Path, pathspec: &[&str]) -> Result<Vec<String>, String> {
    let mut command = git(repo);
    command
        .args([
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--",
        ])
        .args(pathspec);
    let output = run(command, "git status failed")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut paths = Vec::new();
    let mut fields = text.split('\0');
    while let Some(field) = fields.next() {
        if field.len() < 4 {
            continue;
        }
        let (status, path) = field.split_at(3);
        paths.push(path.to_owned());
        // A rename's second field is its old path.
        if status.starts_with('R') || status.starts_with('C') {
            fields.next();
        }
    }
    Ok(paths)
}

fn configured(repo: &Path, key: &str) -> bool {
    let mut command = git(repo);
    command.args(["config", "--get", key]);
    command
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
}

/// Commits exactly `pathspec` (other staged work of the user's stays staged, not committed).
/// `false` when there was nothing to commit.
pub fn commit(repo: &Path, pathspec: &[&str], message: &str) -> Result<bool, String> {
    let mut add = git(repo);
    add.args(["add", "-A", "--"]).args(pathspec);
    run(add, "git add failed")?;
    let mut diff = git(repo);
    diff.args(["diff", "--cached", "--quiet", "--"])
        .args(pathspec);
    if diff
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?
        .success()
    {
        return Ok(false);
    }
    let mut command = git(repo);
    if !configured(repo, "user.name") {
        command.args(["-c", &format!("user.name={FALLBACK_NAME}")]);
    }
    if !configured(repo, "user.email") {
        command.args(["-c", &format!("user.email={FALLBACK_EMAIL}")]);
    }
    // The message on stdin: a first run lists thousands of sessions, past one argument's limit.
    command
        .args(["commit", "-q", "--no-verify", "-F", "-", "--"])
        .args(pathspec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| {
        format!("cannot run git ({e}); install git or put it on PATH, then run this again")
    })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let message = message.to_owned();
    // Written from a thread: git may answer before reading it all.
    let writer =
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, message.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("git commit failed: {e}"))?;
    let _ = writer.join();
    check(output, "git commit failed")?;
    Ok(true)
}

/// Pushes the current branch to its upstream's remote, else `origin`.
pub fn push(repo: &Path) -> Result<String, String> {
    let mut branch = git(repo);
    branch.args(["symbolic-ref", "--short", "HEAD"]);
    let branch = run(branch, "cannot push: HEAD is not on a branch")?;
    let branch = String::from_utf8_lossy(&branch.stdout).trim().to_owned();
    let mut remote = git(repo);
    remote.args(["config", "--get", &format!("branch.{branch}.remote")]);
    let remote = remote
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "origin".to_owned());
    if !configured(repo, &format!("remote.{remote}.url")) {
        return Err(format!(
            "{} has no remote {remote:?}; add one with `git -C {} remote add {remote} URL`",
            repo.display(),
            repo.display()
        ));
    }
    let mut command = git(repo);
    command.args(["push", "-q", &remote, &format!("HEAD:refs/heads/{branch}")]);
    run(
        command,
        &format!(
            "push to {remote} refused (the commit is kept; pull, then run `git -C {} push`)",
            repo.display()
        ),
    )?;
    Ok(remote)
}
