//! `.session-sync/config.json`: which targets a project mirrors to, and how.
//! Unknown keys are kept so that a rewrite (pause, resume) never drops a user's edits.

use crate::encode::ToolStyle;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub const PROJECT_CONFIG: &str = ".session-sync/config.json";
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub targets: Targets,
    /// A tool output longer than this keeps its head and tail around a marker.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn default_max_output_bytes() -> usize {
    DEFAULT_MAX_OUTPUT_BYTES
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex: Option<CodexTarget>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodexTarget {
    pub enabled: bool,
    #[serde(default)]
    pub tool_style: ToolStyle,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Config {
    pub fn new(codex_enabled: bool) -> Self {
        Config {
            paused: false,
            targets: Targets {
                codex: Some(CodexTarget {
                    enabled: codex_enabled,
                    tool_style: ToolStyle::Structured,
                    other: Map::new(),
                }),
                other: Map::new(),
            },
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            other: Map::new(),
        }
    }

    pub fn codex(&self) -> Option<&CodexTarget> {
        self.targets.codex.as_ref().filter(|c| c.enabled)
    }

    pub fn enabled_targets(&self) -> Vec<&'static str> {
        self.codex().map(|_| "codex").into_iter().collect()
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
    let bytes = match read_regular(path) {
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

/// The bytes of `path` if it is a regular file of at most 1 MiB. The hook reads the config of
/// whatever project Claude Code runs in: there a FIFO, or a symlink to /dev/zero or /dev/tty
/// (which a cloned repository can hold), would block the hook or never end the read.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    const MAX_CONFIG_BYTES: u64 = 1 << 20;
    let mut file = crate::store::fs::open_read(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(
            "not a regular file of at most 1 MiB; ignored",
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The nearest project configuration at or above `dir`, else the global one; `None` when
/// session-sync is not set up for `dir`.
pub fn locate(dir: &Path, data_dir: Option<&Path>) -> Result<Option<Located>, ConfigError> {
    let global_path = data_dir.map(crate::paths::global_config);
    let global = match &global_path {
        Some(path) => read(path)?,
        None => None,
    };
    let globally_paused = global.as_ref().is_some_and(|g| g.paused);
    for ancestor in dir.ancestors() {
        let path = ancestor.join(PROJECT_CONFIG);
        if let Some(config) = read(&path)? {
            return Ok(Some(Located {
                config,
                path,
                project: Some(ancestor.to_owned()),
                globally_paused,
            }));
        }
    }
    Ok(global.zip(global_path).map(|(config, path)| Located {
        config,
        path,
        project: None,
        globally_paused,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let text = r#"{"paused":false,"mine":1,"targets":{"codex":{"enabled":true,"note":"x"},"gemini":{"enabled":false}}}"#;
        let config: Config = serde_json::from_str(text).unwrap();
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["mine"], 1);
        assert_eq!(back["targets"]["codex"]["note"], "x");
        assert_eq!(back["targets"]["gemini"]["enabled"], false);
        assert_eq!(back["targets"]["codex"]["tool_style"], "structured");
    }
}
