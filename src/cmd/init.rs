//! `session-sync init`: register the hook, write the project's configuration.

use super::{Error, Result, current_dir, data_dir};
use crate::config::{self, Config, PROJECT_CONFIG};
use crate::settings::{self, Change};
use crate::{agents, paths, store};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Register in the user's Claude Code settings (~/.claude, or $CLAUDE_CONFIG_DIR) for every
    /// project, with one global configuration
    #[arg(long, conflicts_with = "local")]
    global: bool,
    /// Register in .claude/settings.local.json (personal, not committed) instead of settings.json
    #[arg(long)]
    local: bool,
    /// Archive every agent's sessions into this git repository whenever a Claude Code session
    /// ends (in the background); only registers the hook and `archive.repo`
    #[arg(long, value_name = "REPO")]
    archive: Option<PathBuf>,
}

pub fn run(args: Args) -> Result {
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::new(format!("cannot find the session-sync binary's path: {e}")))?;
    let project = current_dir()?;
    let (settings_path, config_path) = if args.global {
        let claude_dir = paths::claude_config_dir().ok_or_else(|| {
            Error::new("cannot find a home directory; set HOME or CLAUDE_CONFIG_DIR")
        })?;
        (
            claude_dir.join("settings.json"),
            paths::global_config(&data_dir()?),
        )
    } else {
        config::refuse_links(&project)?;
        let name = if args.local {
            "settings.local.json"
        } else {
            "settings.json"
        };
        (
            project.join(".claude").join(name),
            project.join(PROJECT_CONFIG),
        )
    };

    register_hook(&settings_path, &binary)?;
    if let Some(repo) = args.archive {
        return enable_archive(&project.join(repo));
    }
    write_config(&config_path)?;
    if args.global {
        println!(
            "Next: start Claude Code in any project (`claude`); `session-sync status` there shows how to continue each session in your other agents."
        );
    } else {
        println!(
            "Next: start Claude Code here (`claude`); `session-sync status` shows how to continue each session in your other agents."
        );
    }
    Ok(())
}

fn register_hook(path: &Path, binary: &Path) -> Result {
    let mut settings = match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Value::Object(Default::default()),
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::new(format!(
                "{} is not valid JSON ({e}); fix it and run init again (nothing was changed)",
                path.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Object(Default::default()),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
    };
    let command = settings::hook_command(binary);
    let changes = settings::merge(&mut settings, &command).map_err(|e| {
        Error::new(format!(
            "{}: {e}; fix it and run init again (nothing was changed)",
            path.display()
        ))
    })?;
    let events = |wanted: Change| -> Vec<&str> {
        changes
            .iter()
            .filter(|(_, c)| *c == wanted)
            .map(|(e, _)| e.as_str())
            .collect()
    };
    if changes.iter().all(|(_, c)| *c == Change::Unchanged) {
        println!(
            "Hook already registered in {} ({}).",
            path.display(),
            events(Change::Unchanged).join(", ")
        );
        return Ok(());
    }
    let backup = backup_path(path);
    let had_file = path.exists();
    store::write_json(path, &settings, Some(&backup))
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    let added = events(Change::Added);
    let updated = events(Change::Updated);
    if !added.is_empty() {
        println!(
            "Registered the hook in {} for {}.",
            path.display(),
            added.join(", ")
        );
    }
    if !updated.is_empty() {
        println!(
            "Updated the hook's path in {} for {}.",
            path.display(),
            updated.join(", ")
        );
    }
    println!("  command: {command}");
    if had_file {
        println!("  previous settings saved as {}", backup.display());
    }
    Ok(())
}

/// Sets `archive.repo` and `archive.on_session_end` in the global configuration, keeping
/// every other key.
fn enable_archive(repo: &Path) -> Result {
    let data_dir = data_dir()?;
    let path = paths::global_config(&data_dir);
    let mut value = match config::read(&path)? {
        Some(config) => serde_json::to_value(&config).map_err(|e| Error::new(e.to_string()))?,
        None => serde_json::json!({}),
    };
    let archive = &mut value["archive"];
    if !archive.is_object() {
        *archive = serde_json::json!({});
    }
    archive["repo"] = Value::from(repo.to_string_lossy());
    archive["on_session_end"] = Value::from(true);
    store::write_json(&path, &value, None)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "Archiving into {} when a session ends (set in {}).",
        repo.display(),
        path.display()
    );
    println!(
        "  the hook starts `session-sync archive {} --commit` in the background; run it yourself once now to archive what exists",
        repo.display()
    );
    Ok(())
}

pub(super) fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".session-sync.bak");
    path.with_file_name(name)
}

fn write_config(path: &Path) -> Result {
    let existing = config::read(path)?;
    if let Some(existing) = existing.as_ref().filter(|c| !c.targets.is_empty()) {
        println!("Kept the existing configuration {}.", path.display());
        describe_targets(existing);
        return Ok(());
    }
    let found: Vec<(&agents::Agent, Option<agents::Found>)> =
        agents::detectable().map(|a| (a, agents::find(a))).collect();
    let enabled: Vec<&str> = found
        .iter()
        .filter(|(_, f)| f.is_some())
        .map(|(a, _)| a.name)
        .collect();
    let mut config = Config::new(&agents::names(agents::live_targets()), &enabled);
    // A global configuration holding only the archive settings (`init --archive`) keeps them.
    if let Some(existing) = existing {
        config.paused = existing.paused;
        config.other = existing.other;
    }
    let value = serde_json::to_value(&config).map_err(|e| Error::new(e.to_string()))?;
    store::write_json(path, &value, None)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    println!("Wrote {}.", path.display());
    for (agent, found) in &found {
        let target = agent.name;
        match found {
            Some(found) => {
                println!("  {target}: found ({found}): mirroring enabled");
                if let Some(problem) = (agent.not_ready)() {
                    println!("    but {problem}");
                }
            }
            None => println!(
                "  {target}: not found (no `{}` on PATH, no {}): disabled; install {}, then set targets.{target}.enabled to true in {}",
                agent.binary.unwrap_or(target),
                (agent.home)()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "store".into()),
                agent.display,
                path.display()
            ),
        }
    }
    println!(
        "  openai-chat: off; set targets.openai-chat.enabled to true for a portable chat log per session, or run `session-sync export <session>`"
    );
    if let Some(found) = agents::find(&agents::AMP) {
        println!("  amp: found ({found}): {}", super::AMP_NOTE);
    }
    Ok(())
}

fn describe_targets(config: &Config) {
    let enabled = config.enabled_targets();
    if enabled.is_empty() {
        println!(
            "  no target enabled: set targets.<agent>.enabled to true (codex, gemini, opencode, copilot, qwen, openai-chat)"
        );
    } else {
        println!("  mirroring to: {}", enabled.join(", "));
    }
    if config.paused {
        println!("  paused: run `session-sync resume` to mirror again");
    }
}
