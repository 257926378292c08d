//! `.session-sync/config.json`: which targets a project mirrors to, and how.
//! Unknown keys are kept so that a rewrite (pause, resume) never drops a user's edits.

use crate::encode::ToolStyle;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const PROJECT_CONFIG: &str = ".session-sync/config.json";
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub paused: bool,
    /// Settings per target name (`codex`, `gemini`, …).
    #[serde(default)]
    pub targets: BTreeMap<String, TargetConfig>,
    /// A tool output longer than this keeps its head and tail around a marker.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn default_max_output_bytes() -> usize {
    DEFAULT_MAX_OUTPUT_BYTES
}

/// One target's settings. `dir` and `model` matter to some targets only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetConfig {
    pub enabled: bool,
    #[serde(default)]
    pub tool_style: ToolStyle,
    /// Where a file-only target (`openai-chat`) writes its sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `provider/model` recorded in the mirror, for agents that resume with the recorded
    /// model (OpenCode); by default the agent's own configured model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl TargetConfig {
    pub fn new(enabled: bool) -> Self {
        TargetConfig {
            enabled,
            tool_style: ToolStyle::Structured,
            dir: None,
            model: None,
            other: Map::new(),
        }
    }
}

impl Config {
    /// A configuration enabling exactly `enabled` among `known` targets.
    pub fn new(known: &[&str], enabled: &[&str]) -> Self {
        Config {
            paused: false,
            targets: known
                .iter()
                .map(|name| (name.to_string(), TargetConfig::new(enabled.contains(name))))
                .collect(),
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            other: Map::new(),
        }
    }

    /// The settings of `target` when it is enabled.
    pub fn target(&self, target: &str) -> Option<&TargetConfig> {
        self.targets.get(target).filter(|t| t.enabled)
    }

    /// Where the user's own (global) configuration has targets write: absolute paths only, a
    /// relative one would land in whatever project the hook runs in.
    fn own_dirs(&self) -> BTreeMap<String, PathBuf> {
        self.targets
            .iter()
            .filter_map(|(name, target)| {
                let dir = target.dir.clone().filter(|dir| dir.is_absolute())?;
                Some((name.clone(), dir))
            })
            .collect()
    }

    /// Gives every target the `dir` of `dirs` (none when it has none). A repository's
    /// configuration never chooses where a conversation is written: it would land in the
    /// repository, to be committed, or anywhere on disk.
    fn set_dirs(&mut self, dirs: &BTreeMap<String, PathBuf>) {
        for (name, target) in &mut self.targets {
            target.dir = dirs.get(name).cloned();
        }
    }

    /// Enabled targets, in `targets`' order.
    pub fn enabled_targets(&self) -> Vec<&str> {
        self.targets
            .iter()
            .filter(|(_, t)| t.enabled)
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// Which configuration applies to a directory, and where it is.
#[derive(Debug, Clone)]
pub struct Located {
    pub config: Config,
    pub path: PathBuf,
    /// The project root (the directory holding `.session-sync/`), or `None` for the global one.
    pub project: Option<PathBuf>,
    /// The global configuration says paused (applies to every project).
    pub globally_paused: bool,
}

impl Located {
    pub fn paused(&self) -> bool {
        self.config.paused || self.globally_paused
    }
}

#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

pub fn read(path: &Path) -> Result<Option<Config>, ConfigError> {
    let bytes = match crate::read::read_regular(path, 1 << 20) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(ConfigError {
                path: path.to_owned(),
                message: err.to_string(),
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|err| ConfigError {
            path: path.to_owned(),
            message: format!("not a valid session-sync config: {err}"),
        })
}

/// What session-sync reads, rewrites or deletes in a project, folders before their files. A
/// cloned repository can carry any of them as a symbolic link to the user's files elsewhere.
const PROJECT_PATHS: [&str; 5] = [
    PROJECT_DIR,
    PROJECT_CONFIG,
    ".claude",
    ".claude/settings.json",
    ".claude/settings.local.json",
];
const PROJECT_DIR: &str = ".session-sync";

/// Refuses a project where one of `PROJECT_PATHS` is a symbolic link, naming it.
pub fn refuse_links(project: &Path) -> Result<(), ConfigError> {
    PROJECT_PATHS
        .iter()
        .try_for_each(|name| refuse_link(&project.join(name)))
}

/// The nearest directory at or above `dir` holding a project configuration; a `.session-sync`
/// on the way that is a symbolic link is an error.
pub fn project_of(dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    for ancestor in dir.ancestors() {
        refuse_link(&ancestor.join(PROJECT_DIR))?;
        if ancestor.join(PROJECT_CONFIG).exists() {
            return Ok(Some(ancestor.to_owned()));
        }
    }
    Ok(None)
}

/// An error naming `path` if it is a symbolic link: we never follow one.
fn refuse_link(path: &Path) -> Result<(), ConfigError> {
    match std::fs::read_link(path) {
        Ok(target) => Err(ConfigError {
            path: path.to_owned(),
            message: format!(
                "a symbolic link (to {}), which session-sync does not follow",
                target.display()
            ),
        }),
        Err(_) => Ok(()),
    }
}

/// The nearest project configuration at or above `dir`, else the global one; `None` when
/// session-sync is not set up for `dir`. A `.session-sync` that is a symbolic link is an error.
pub fn locate(dir: &Path, data_dir: Option<&Path>) -> Result<Option<Located>, ConfigError> {
    let global_path = data_dir.map(crate::paths::global_config);
    let global = match &global_path {
        Some(path) => read(path)?,
        None => None,
    };
    let globally_paused = global.as_ref().is_some_and(|g| g.paused);
    let dirs = global.as_ref().map(Config::own_dirs).unwrap_or_default();
    for ancestor in dir.ancestors() {
        refuse_link(&ancestor.join(PROJECT_DIR))?;
        let path = ancestor.join(PROJECT_CONFIG);
        if let Some(mut config) = read(&path)? {
            config.set_dirs(&dirs);
            return Ok(Some(Located {
                config,
                path,
                project: Some(ancestor.to_owned()),
                globally_paused,
            }));
        }
    }
    Ok(global.zip(global_path).map(|(mut config, path)| {
        config.set_dirs(&dirs);
        Located {
            config,
            path,
            project: None,
            globally_paused,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let text = r#"{"paused":false,"mine":1,"targets":{"codex":{"enabled":true,"note":"x"},"future":{"enabled":false}}}"#;
        let config: Config = serde_json::from_str(text).unwrap();
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["mine"], 1);
        assert_eq!(back["targets"]["codex"]["note"], "x");
        assert_eq!(back["targets"]["future"]["enabled"], false);
        assert_eq!(back["targets"]["codex"]["tool_style"], "structured");
    }
}
