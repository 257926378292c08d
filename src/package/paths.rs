//! Path tokens: a package names paths relative to roots (`{{HOME}}/project`), so that a session
//! lands where the target machine keeps it. Only structured fields are tokenized (session cwd,
//! tool-input path keys); free text (commands, outputs) is left as written.

use crate::model::{Item, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub const HOME: &str = "{{HOME}}";
/// Tool-input keys that hold a path.
const PATH_KEYS: &[&str] = &["file_path", "path", "cwd", "workdir", "notebook_path"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    pub token: String,
    pub path: String,
}

/// The roots paths are tokenized against at export: the home, and each session directory
/// outside it (a project under the home is `{{HOME}}/…` and needs no mapping).
pub struct Roots {
    roots: Vec<Root>,
    used: Vec<bool>,
}

impl Roots {
    pub fn new(home: Option<&Path>) -> Self {
        let roots: Vec<Root> = home
            .map(|h| Root {
                token: HOME.into(),
                path: h.to_string_lossy().trim_end_matches('/').to_owned(),
            })
            .into_iter()
            .collect();
        let used = vec![false; roots.len()];
        Roots { roots, used }
    }

    /// A session directory: tokenized against the home, else it becomes a root of its own.
    pub fn tokenize(&mut self, path: &Path) -> String {
        let text = path.to_string_lossy().trim_end_matches('/').to_owned();
        if let Some(tokenized) = self.tokenize_text(&text) {
            return tokenized;
        }
        let token = format!("{{{{R{}}}}}", self.roots.len());
        self.roots.push(Root {
            token: token.clone(),
            path: text,
        });
        self.used.push(true);
        token
    }

    fn tokenize_text(&mut self, text: &str) -> Option<String> {
        let (index, root) = self
            .roots
            .iter()
            .enumerate()
            .filter(|(_, root)| under(text, &root.path))
            .max_by_key(|(_, root)| root.path.len())?;
        self.used[index] = true;
        Some(format!("{}{}", root.token, &text[root.path.len()..]))
    }

    pub fn tokenize_record(&mut self, record: &Record) -> Record {
        map_paths(record, |path| self.tokenize_text(path))
    }

    /// The roots some path was tokenized against (for the manifest).
    pub fn used(&self) -> Vec<Root> {
        self.roots
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| **used)
            .map(|(root, _)| root.clone())
            .collect()
    }
}

/// A record with each path of its tool input (`PATH_KEYS`) replaced by `map`, where it gives
/// one.
fn map_paths(record: &Record, mut map: impl FnMut(&str) -> Option<String>) -> Record {
    let Item::ToolCall { id, name, input } = &record.item else {
        return record.clone();
    };
    let mut input = input.clone();
    if let Value::Object(args) = &mut input {
        for key in PATH_KEYS {
            if let Some(Value::String(path)) = args.get_mut(*key) {
                if let Some(mapped) = map(path) {
                    *path = mapped;
                }
            }
        }
    }
    Record {
        item: Item::ToolCall {
            id: id.clone(),
            name: name.clone(),
            input,
        },
        ..record.clone()
    }
}

fn under(path: &str, root: &str) -> bool {
    path == root || (path.starts_with(root) && path[root.len()..].starts_with('/'))
}

/// Where each root of a package goes on this machine.
pub struct Localizer {
    targets: BTreeMap<String, String>,
    originals: BTreeMap<String, String>,
}

impl Localizer {
    /// `maps` are `--map SRC=DST` pairs (SRC as the package's manifest lists it); with
    /// `keep_paths` every root stays as it was on the source machine.
    pub fn new(
        roots: &[Root],
        maps: &[(String, String)],
        keep_paths: bool,
        home: Option<&Path>,
    ) -> Self {
        let mut targets = BTreeMap::new();
        let mut originals = BTreeMap::new();
        for root in roots {
            originals.insert(root.token.clone(), root.path.clone());
            let mapped = maps
                .iter()
                .find(|(src, _)| same_root(src, &root.path))
                .map(|(_, dst)| dst.trim_end_matches('/').to_owned());
            let target = if keep_paths {
                Some(root.path.clone())
            } else if let Some(mapped) = mapped {
                Some(mapped)
            } else if root.token == HOME {
                home.map(|h| h.to_string_lossy().trim_end_matches('/').to_owned())
            } else {
                None
            };
            if let Some(target) = target {
                targets.insert(root.token.clone(), target);
            }
        }
        Localizer { targets, originals }
    }

    /// The local path for a tokenized one; an unmapped root says how to map it.
    pub fn path(&self, text: &str) -> Result<String, String> {
        let Some(token_end) = text.strip_prefix("{{").and_then(|t| t.find("}}")) else {
            return Ok(text.to_owned());
        };
        let token = &text[..token_end + 4];
        let rest = &text[token.len()..];
        match self.targets.get(token) {
            Some(target) => Ok(format!("{target}{rest}")),
            None => {
                let original = self.originals.get(token).map_or(token, String::as_str);
                Err(format!(
                    "no mapping for {original} (pass --map {original}=<where it is here> or --keep-paths)"
                ))
            }
        }
    }

    /// A record with its tokenized tool-input paths made local (left as they are where their
    /// root is unmapped: only the session directory must resolve).
    pub fn record(&self, record: &Record) -> Record {
        map_paths(record, |path| self.path(path).ok())
    }

    /// `SRC → DST` for each root mapped somewhere else than where it was.
    pub fn remaps(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter_map(|(token, target)| {
                let original = self.originals.get(token)?;
                (original != target).then(|| format!("{original} → {target}"))
            })
            .collect()
    }
}

/// Windows paths compare with `\` and `/` alike and the drive letter in any case.
fn same_root(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let p = p.replace('\\', "/");
        let p = p.trim_end_matches('/');
        match p.as_bytes() {
            [drive, b':', ..] if drive.is_ascii_alphabetic() => p.to_ascii_lowercase(),
            _ => p.to_owned(),
        }
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn home_and_outside_roots_tokenize_and_localize() {
        let mut roots = Roots::new(Some(Path::new("/home/a")));
        assert_eq!(roots.tokenize(Path::new("/home/a/proj")), "{{HOME}}/proj");
        assert_eq!(roots.tokenize(Path::new("/srv/x")), "{{R1}}");
        let call = Record::new(Item::ToolCall {
            id: "t".into(),
            name: "Read".into(),
            input: json!({ "file_path": "/srv/x/src/main.rs", "pattern": "/home/a" }),
        });
        let tokenized = roots.tokenize_record(&call);
        let Item::ToolCall { input, .. } = &tokenized.item else {
            panic!()
        };
        assert_eq!(input["file_path"], "{{R1}}/src/main.rs");
        assert_eq!(input["pattern"], "/home/a", "free text is left alone");

        let used = roots.used();
        let here = Localizer::new(&used, &[], false, Some(Path::new("/home/b")));
        assert_eq!(here.path("{{HOME}}/proj").unwrap(), "/home/b/proj");
        assert!(here.path("{{R1}}").unwrap_err().contains("--map /srv/x="));
        let mapped = Localizer::new(
            &used,
            &[("/srv/x/".into(), "/data/x".into())],
            false,
            Some(Path::new("/home/b")),
        );
        assert_eq!(mapped.path("{{R1}}/a").unwrap(), "/data/x/a");
        let kept = Localizer::new(&used, &[], true, Some(Path::new("/home/b")));
        assert_eq!(kept.path("{{HOME}}/proj").unwrap(), "/home/a/proj");
        assert!(same_root("C:\\Users\\x", "c:/Users/x/"));
    }
}
