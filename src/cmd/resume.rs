//! `session-sync resume`: mirror again after `pause`. The next hook catches up on everything
//! said meanwhile.

use super::{Error, Result, current_dir, data_dir};
use crate::{config, paths, store};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Resume every project (the global configuration)
    #[arg(long)]
    pub global: bool,
}

pub fn run(args: Args) -> Result {
    let path = set_paused(args.global, false)?;
    println!(
        "Mirroring again ({}); the next hook catches up on what was said meanwhile.",
        path.display()
    );
    Ok(())
}

/// Sets `paused` in the configuration that applies here (or the global one), keeping every
/// other key as the user wrote it. Returns the file changed.
pub fn set_paused(global: bool, paused: bool) -> Result<PathBuf> {
    let data_dir = data_dir()?;
    let path = if global {
        paths::global_config(&data_dir)
    } else {
        match config::locate(&current_dir()?, Some(&data_dir))? {
            Some(located) => located.path,
            None => {
                return Err(Error::new(
                    "session-sync is not set up here; run `session-sync init` first",
                ));
            }
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && global => "{}".to_owned(),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
    };
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(format!(
            "{} is not valid JSON ({e}); fix or delete it",
            path.display()
        ))
    })?;
    let object = value.as_object_mut().ok_or_else(|| {
        Error::new(format!(
            "{} is not a JSON object; fix or delete it",
            path.display()
        ))
    })?;
    object.insert("paused".into(), serde_json::Value::Bool(paused));
    store::write_json(&path, &value, None)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}
