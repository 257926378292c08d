//! Claude Code `settings.json`: merging our hook entries in (and recognising them), as pure
//! functions over JSON values. The fragment we install is `hooks/claude-settings.json`.

use serde_json::{Map, Value};
use std::path::Path;

const FRAGMENT: &str = include_str!("../hooks/claude-settings.json");
const COMMAND_PLACEHOLDER: &str = "{{command}}";

/// The shell command Claude Code runs (`/bin/sh -c`): the binary's absolute path, quoted.
pub fn hook_command(binary: &Path) -> String {
    let path = binary.to_string_lossy().replace('\'', r"'\''");
    format!("'{path}' hook")
}

/// The events our fragment registers, in order.
pub fn events() -> Vec<String> {
    fragment("")
        .get("hooks")
        .and_then(Value::as_object)
        .map(|hooks| hooks.keys().cloned().collect())
        .unwrap_or_default()
}

fn fragment(command: &str) -> Value {
    let text = FRAGMENT.replace(
        COMMAND_PLACEHOLDER,
        &command.replace('\\', "\\\\").replace('"', "\\\""),
    );
    serde_json::from_str(&text).expect("hooks/claude-settings.json is valid JSON")
}

/// Is `command` a session-sync hook command (any install path)?
pub fn is_our_command(command: &str) -> bool {
    let command = command.trim();
    let (program, rest) = match command.strip_prefix('\'') {
        Some(quoted) => match quoted.find('\'') {
            Some(end) => (&quoted[..end], &quoted[end + 1..]),
            None => return false,
        },
        None => command
            .split_once(char::is_whitespace)
            .unwrap_or((command, "")),
    };
    let name = Path::new(program).file_name().and_then(|n| n.to_str());
    name == Some("session-sync") && rest.trim() == "hook"
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

/// Merges our hook entries for `command` into `settings`, keeping every other key and hook.
/// Our entries found with another path (the binary moved) get the new path.
pub fn merge(settings: &mut Value, command: &str) -> Result<Vec<(String, Change)>, String> {
    let root = settings
        .as_object_mut()
        .ok_or("the file is not a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("its \"hooks\" is not an object")?;
    let wanted = fragment(command);
    let mut changes = Vec::new();
    for (event, groups) in wanted["hooks"].as_object().into_iter().flatten() {
        let existing = hooks
            .entry(event.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| format!("its \"hooks.{event}\" is not a list"))?;
        let mut change = Change::Added;
        for entry in existing
            .iter_mut()
            .filter_map(|group| group.get_mut("hooks"))
            .filter_map(Value::as_array_mut)
            .flatten()
        {
            let Some(current) = entry.get("command").and_then(Value::as_str) else {
                continue;
            };
            if !is_our_command(current) {
                continue;
            }
            if current == command {
                if change == Change::Added {
                    change = Change::Unchanged;
                }
            } else {
                entry["command"] = Value::String(command.to_owned());
                change = Change::Updated;
            }
        }
        if change == Change::Added {
            existing.extend(groups.as_array().into_iter().flatten().cloned());
        }
        changes.push((event.clone(), change));
    }
    Ok(changes)
}

/// The commands of our entries found in `settings`, per event.
pub fn registered(settings: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (event, groups) in settings
        .get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for entry in groups
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("hooks"))
            .filter_map(Value::as_array)
            .flatten()
        {
            if let Some(command) = entry.get("command").and_then(Value::as_str) {
                if is_our_command(command) {
                    found.push((event.clone(), command.to_owned()));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn command_is_quoted_and_recognised() {
        let command = hook_command(Path::new("/opt/my tools/session-sync"));
        assert_eq!(command, "'/opt/my tools/session-sync' hook");
        assert!(is_our_command(&command));
        assert!(is_our_command("/usr/bin/session-sync hook"));
        assert!(!is_our_command("/usr/bin/session-sync-other hook"));
        assert!(!is_our_command("'/usr/bin/session-sync' status"));
        assert!(!is_our_command("echo session-sync hook"));
    }

    #[test]
    fn merge_keeps_other_hooks_and_keys_and_is_idempotent() {
        let mut settings = json!({
            "model": "opus",
            "hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}]}
        });
        let command = "'/bin/session-sync' hook";
        let first = merge(&mut settings, command).unwrap();
        assert!(first.iter().all(|(_, c)| *c == Change::Added));
        let once = settings.clone();
        let second = merge(&mut settings, command).unwrap();
        assert!(second.iter().all(|(_, c)| *c == Change::Unchanged));
        assert_eq!(settings, once);
        assert_eq!(settings["model"], "opus");
        assert_eq!(
            settings["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
            "lint"
        );
        assert_eq!(settings["hooks"]["PostToolUse"][1]["matcher"], "*");
        assert_eq!(registered(&settings).len(), events().len());
    }

    #[test]
    fn merge_moves_our_entries_to_the_new_path() {
        let mut settings = json!({});
        merge(&mut settings, "'/old/session-sync' hook").unwrap();
        let changes = merge(&mut settings, "'/new/session-sync' hook").unwrap();
        assert!(changes.iter().all(|(_, c)| *c == Change::Updated));
        assert!(
            registered(&settings)
                .iter()
                .all(|(_, c)| c == "'/new/session-sync' hook")
        );
    }

    #[test]
    fn merge_refuses_unexpected_shapes() {
        assert!(merge(&mut json!([]), "x").is_err());
        assert!(merge(&mut json!({"hooks": {"Stop": {}}}), "x").is_err());
    }
}
