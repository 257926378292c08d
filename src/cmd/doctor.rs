//! `session-sync doctor`: checks the installation, one line per finding (`ok`, `warn`, `FAIL`,
//! and what to do when not ok); exit status 1 when anything failed.

use super::{
    Error, Result, SettingsFile, current_dir, data_dir, project_root, read_settings, settings_files,
};
use crate::agents::{Finding, Level};
use crate::config::{self, ConfigError, Located};
use crate::store::inspect;
use crate::store::{self, SessionState};
use crate::{agents, paths, settings};
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {}

/// The checks, in the order they print; each gives one line or more.
const CHECKS: &[fn(&Context) -> Vec<Finding>] = &[
    hook_registration,
    configuration,
    target_stores,
    agent_versions,
    hook_log,
    mirror_formats,
    listings_index,
    interrupted_imports,
];

/// How far the hook log has been read, by inode so that a rotation is noticed.
const LOG_MARK_KEY: &str = "hook_log";

pub fn run(_args: Args) -> Result {
    let cx = Context::read()?;
    let mut fails = 0;
    let mut findings: Vec<Finding> = CHECKS.iter().flat_map(|check| check(&cx)).collect();
    if let Some(mark) = &cx.log.mark {
        if let Err(err) = store::write_json(&paths::doctor_mark(&cx.data_dir), mark, None) {
            findings.push(Finding::warn(
                format!("cannot remember how far the hook log was read: {err}"),
                "the next doctor run reports these errors again",
            ));
        }
    }
    for finding in &findings {
        println!("{finding}");
        fails += usize::from(finding.level == Level::Fail);
    }
    if fails > 0 {
        return Err(Error::new(format!(
            "{fails} check(s) failed; fix them as said above"
        )));
    }
    Ok(())
}

/// Everything the checks look at, read once.
struct Context {
    data_dir: PathBuf,
    cwd: PathBuf,
    /// This binary, canonicalized.
    binary: Option<PathBuf>,
    /// Each settings file `init` may have written, parsed (`None`: no such file).
    settings: Vec<(SettingsFile, std::result::Result<Option<Value>, String>)>,
    located: std::result::Result<Option<Located>, ConfigError>,
    sessions: Vec<SessionState>,
    log: LogScan,
}

impl Context {
    fn read() -> Result<Context> {
        let data_dir = data_dir()?;
        let cwd = current_dir()?;
        let settings = settings_files(&project_root(&cwd)?)
            .into_iter()
            .map(|file| {
                let content = read_settings(&file.path).map(|read| read.map(|(_, value)| value));
                (file, content)
            })
            .collect();
        Ok(Context {
            binary: std::env::current_exe().and_then(|p| p.canonicalize()).ok(),
            settings,
            located: config::locate(&cwd, Some(&data_dir)),
            sessions: store::all_sessions(&data_dir),
            log: LogScan::read(&data_dir),
            data_dir,
            cwd,
        })
    }

    fn enabled_targets(&self) -> Vec<&str> {
        match &self.located {
            Ok(Some(located)) => located.config.enabled_targets(),
            _ => Vec::new(),
        }
    }
}

/// Our hook in every settings file that has it: it runs this binary, for every event.
fn hook_registration(cx: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut registered: Vec<&SettingsFile> = Vec::new();
    for (file, content) in &cx.settings {
        let value = match content {
            Ok(Some(value)) => value,
            Ok(None) => continue,
            Err(err) => {
                findings.push(Finding::fail(
                    err.clone(),
                    "fix the JSON, then run `session-sync doctor` again",
                ));
                continue;
            }
        };
        let found = settings::registered(value);
        if found.is_empty() {
            continue;
        }
        registered.push(file);
        let path = file.path.display();
        let mut commands: Vec<&str> = found.iter().map(|(_, c)| c.as_str()).collect();
        commands.sort_unstable();
        commands.dedup();
        for program in commands.iter().filter_map(|c| settings::hook_binary(c)) {
            findings.push(match program.canonicalize() {
                Err(_) => Finding::fail(
                    format!(
                        "the hook in {path} runs {}, which does not exist",
                        program.display()
                    ),
                    format!("run `session-sync init{}` again", file.flag),
                ),
                Ok(canonical) if Some(&canonical) == cx.binary.as_ref() => Finding::ok(format!(
                    "the hook in {path} runs this binary ({})",
                    canonical.display()
                )),
                Ok(canonical) => Finding::warn(
                    format!(
                        "the hook in {path} runs {}, not this binary ({})",
                        canonical.display(),
                        cx.binary
                            .as_deref()
                            .map_or("unknown".into(), |b| b.display().to_string())
                    ),
                    format!(
                        "run `session-sync init{}` with the binary the hook should run",
                        file.flag
                    ),
                ),
            });
        }
        let wanted = settings::events();
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|event| !found.iter().any(|(e, _)| e == *event))
            .map(String::as_str)
            .collect();
        findings.push(if missing.is_empty() {
            Finding::ok(format!(
                "the hook in {path} is registered for all {} events it needs",
                wanted.len()
            ))
        } else {
            Finding::fail(
                format!(
                    "the hook in {path} is not registered for {}",
                    missing.join(", ")
                ),
                format!("run `session-sync init{}` again", file.flag),
            )
        });
    }
    match registered.as_slice() {
        [] => findings.push(Finding::fail(
            format!(
                "the hook is not registered in any of {}",
                cx.settings
                    .iter()
                    .map(|(f, _)| f.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "run `session-sync init` (or `init --local`, `init --global`)",
        )),
        [_] => {}
        [_, others @ ..] => findings.push(Finding::warn(
            format!(
                "the hook is registered in {} settings files; one is enough",
                registered.len()
            ),
            others
                .iter()
                .map(|f| {
                    format!(
                        "`session-sync uninstall{}` removes it from {}",
                        f.flag,
                        f.path.display()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
    findings
}

/// The configuration that applies here parses, and mirrors somewhere.
fn configuration(cx: &Context) -> Vec<Finding> {
    vec![match &cx.located {
        Err(err) => Finding::fail(err.to_string(), "fix or delete that file"),
        Ok(None) => Finding::fail(
            format!("session-sync is not set up for {}", cx.cwd.display()),
            "run `session-sync init` here, or `session-sync init --global`",
        ),
        Ok(Some(located)) => {
            let path = located.path.display();
            let targets = located.config.enabled_targets();
            if located.paused() {
                let resume = if located.config.paused {
                    "session-sync resume"
                } else {
                    "session-sync resume --global"
                };
                Finding::warn(
                    format!("{path}: mirroring is paused"),
                    format!("run `{resume}` to mirror again"),
                )
            } else if targets.is_empty() {
                Finding::warn(
                    format!("{path}: no target enabled"),
                    "set targets.<agent>.enabled to true (codex, gemini, opencode, copilot, qwen, openai-chat)",
                )
            } else {
                Finding::ok(format!("{path}: mirroring to {}", targets.join(", ")))
            }
        }
    }]
}

/// Each enabled target's store takes a new file (a probe file, removed at once), and passes
/// its own checks.
fn target_stores(cx: &Context) -> Vec<Finding> {
    let enabled = cx.enabled_targets();
    let mut findings: Vec<Finding> = agents::live_targets()
        .filter(|target| enabled.contains(&target.name))
        .map(|target| {
            let name = target.name;
            let Some(dir) = (target.store)() else {
                return Finding::fail(
                    format!("{name} store: no home directory to find it in"),
                    "set HOME",
                );
            };
            // The first mirror creates the store: until then, probe the nearest directory
            // that exists.
            let existing = dir.ancestors().find(|a| a.exists()).unwrap_or(&dir);
            match inspect::probe_writable(existing) {
                Ok(()) if existing == dir => {
                    Finding::ok(format!("{name} store {} is writable", dir.display()))
                }
                Ok(()) => Finding::ok(format!(
                    "{name} store {} will be created by the first mirror ({} is writable)",
                    dir.display(),
                    existing.display()
                )),
                Err(err) => Finding::fail(
                    format!(
                        "{name} store {}: cannot create a file in {}: {err}",
                        dir.display(),
                        existing.display()
                    ),
                    format!("make {} a directory you can write to", existing.display()),
                ),
            }
        })
        .collect();
    for target in agents::live_targets().filter(|t| enabled.contains(&t.name)) {
        findings.extend(target.checks.iter().filter_map(|check| check()));
    }
    findings
}

/// Claude Code's and each enabled target's version against those our formats were verified
/// with.
fn agent_versions(cx: &Context) -> Vec<Finding> {
    let enabled = cx.enabled_targets();
    agents::ALL
        .iter()
        .filter(|agent| !agent.live_target || enabled.contains(&agent.name))
        .filter_map(|agent| Some((agent.binary?, agent.verified?)))
        .map(|(agent, verified)| match agents::installed_version(agent) {
            Ok(Some(version)) if version == verified => Finding::ok(format!(
                "{agent} {version}: the version session-sync was verified with"
            )),
            Ok(Some(version)) => Finding::warn(
                format!("{agent} {version} is installed; session-sync was verified with {verified}"),
                format!(
                    "its formats may have changed: check a mirror (`session-sync status`), or install {agent} {verified}"
                ),
            ),
            Ok(None) => Finding::warn(
                format!("{agent} is not on PATH: cannot compare its version with {verified}"),
                format!("add {agent} to PATH"),
            ),
            Err(err) => Finding::warn(err, format!("check that `{agent} --version` works")),
        })
        .collect()
}

/// Imports a crash left half-applied are rolled back (as the next `import` would).
fn interrupted_imports(cx: &Context) -> Vec<Finding> {
    if !cx.data_dir.join("journal").exists() {
        return Vec::new();
    }
    // An import running now holds the lock: its transaction is not an interrupted one.
    let lock = crate::import::lock_path(&cx.data_dir);
    let Ok(_idle) = store::LockGuard::acquire(&lock, std::time::Duration::ZERO) else {
        return vec![Finding::ok("an import is running; its journal is its own")];
    };
    let undone = crate::import::recover(&cx.data_dir);
    if undone.is_empty() {
        return Vec::new();
    }
    undone
        .into_iter()
        .map(|line| {
            Finding::warn(
                line,
                "import the package again if you still want it (`session-sync journal` shows what was undone)",
            )
        })
        .collect()
}

/// Errors the hook logged since the last doctor run.
fn hook_log(cx: &Context) -> Vec<Finding> {
    let path = paths::hook_log(&cx.data_dir);
    let since = if cx.log.since_mark {
        "since the last doctor run"
    } else {
        "in it"
    };
    vec![match (&cx.log.latest, cx.log.mark.is_some()) {
        (Some(latest), _) => Finding::warn(
            format!(
                "hook log: {} error(s) {since}; latest: {latest}",
                cx.log.errors
            ),
            format!("see {}", path.display()),
        ),
        (None, true) => Finding::ok(format!("hook log {}: no error {since}", path.display())),
        (None, false) => Finding::ok("no hook log yet: the hook has not reported anything"),
    }]
}

/// Each of our mirrors, by its target's checks.
fn mirror_formats(cx: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut checked = 0;
    for state in &cx.sessions {
        for (name, mirror) in &state.mirrors {
            let Some(target) = agents::agent(name) else {
                continue;
            };
            checked += 1;
            findings.extend(
                target
                    .mirror_checks
                    .iter()
                    .filter_map(|check| check(mirror)),
            );
        }
    }
    if findings.is_empty() {
        findings.push(Finding::ok(match checked {
            0 => "no mirror yet".to_owned(),
            n => format!("{n} mirror(s) checked: all in the format session-sync writes"),
        }));
    }
    findings
}

/// The index `status` and `list` read, against every state; rebuilt when they differ.
fn listings_index(cx: &Context) -> Vec<Finding> {
    let index = store::listing::path(&cx.data_dir);
    let index = index.display();
    match store::listing::check(&cx.data_dir) {
        Ok(store::listing::Checked::Empty) => Vec::new(),
        Ok(store::listing::Checked::Current(n)) => vec![Finding::ok(format!(
            "listings index {index}: {n} session(s), as their states say"
        ))],
        Ok(store::listing::Checked::Built(n)) => vec![Finding::ok(format!(
            "listings index {index}: built from the states of {n} session(s)"
        ))],
        Ok(store::listing::Checked::Rebuilt(differing)) => {
            let why = match differing {
                Some(n) => format!("{n} session(s) listed otherwise than their states say"),
                None => "missing, damaged or out of step with the sessions directory".to_owned(),
            };
            vec![Finding::warn(
                format!("listings index {index}: {why}; rebuilt from the states"),
                "nothing: `status` and `list` read the rebuilt index",
            )]
        }
        Err(err) => vec![Finding::warn(
            format!("cannot check the listings index {index}: {err}"),
            "run `session-sync doctor` again; `status` and `list` rebuild it when they must",
        )],
    }
}

/// The hook log's errors since the mark the last doctor run left, and the mark to leave now.
struct LogScan {
    errors: usize,
    latest: Option<String>,
    /// A previous run left a mark (else the whole log was read).
    since_mark: bool,
    /// Where this run stopped reading; `None` when there is no log.
    mark: Option<Value>,
}

impl LogScan {
    fn read(data_dir: &Path) -> LogScan {
        let log = paths::hook_log(data_dir);
        let rotated = paths::rotated_hook_log(data_dir);
        let mark = std::fs::read(paths::doctor_mark(data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|mark| {
                let at = &mark[LOG_MARK_KEY];
                Some((at["inode"].as_u64()?, at["offset"].as_u64()?))
            });
        let inode = |path: &Path| std::fs::metadata(path).ok().map(|m| m.ino());
        // Read on from the mark; after a rotation, the rest of the rotated file first.
        let parts: Vec<(&Path, u64)> = match mark {
            Some((at, offset)) if inode(&log) == Some(at) => vec![(&log, offset)],
            Some((at, offset)) if inode(&rotated) == Some(at) => {
                vec![(&rotated, offset), (&log, 0)]
            }
            _ => vec![(&log, 0)],
        };
        let mut scan = LogScan {
            errors: 0,
            latest: None,
            since_mark: mark.is_some(),
            mark: None,
        };
        for (path, offset) in parts {
            let Ok(Some(read)) = crate::read::read_complete_lines(path, offset, u64::MAX) else {
                continue;
            };
            for line in read.text.lines() {
                if line.split_whitespace().nth(1) == Some("ERROR") {
                    scan.errors += 1;
                    scan.latest = Some(line.to_owned());
                }
            }
            if path == log {
                scan.mark = inode(&log)
                    .map(|inode| json!({ LOG_MARK_KEY: { "inode": inode, "offset": read.end } }));
            }
        }
        scan
    }
}
