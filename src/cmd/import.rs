//! `session-sync import` (and `inspect`, its dry run): a package's sessions into this
//! machine's agents, each classified against what is here, as one journaled transaction.

use super::{Error, Result, data_dir};
use crate::config::Config;
use crate::{agents, import, package, store};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    package: PackageArgs,
    /// Show what would be written, write nothing (same as `inspect`)
    #[arg(long)]
    dry_run: bool,
}

/// What `import` and `inspect` both take.
#[derive(clap::Args)]
pub struct PackageArgs {
    /// The package (`.sspkg`, a folder with a package's layout, or a history archive)
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Also write the sessions into these agents (their own agent always)
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(agents::names(agents::writable())))]
    to: Vec<String>,
    /// Put a path root of the source machine somewhere else here: `--map /srv/x=/data/x`
    #[arg(long = "map", value_name = "SRC=DST")]
    maps: Vec<String>,
    /// Keep the source machine's paths as they are
    #[arg(long)]
    keep_paths: bool,
}

pub fn inspect(package: PackageArgs) -> Result {
    run(Args {
        package,
        dry_run: true,
    })
}

pub fn run(args: Args) -> Result {
    let Args {
        package: args,
        dry_run,
    } = args;
    let data_dir = data_dir()?;
    let maps = args
        .maps
        .iter()
        .map(|m| {
            m.split_once('=')
                .filter(|(src, dst)| !src.is_empty() && dst.starts_with('/'))
                .map(|(src, dst)| (src.to_owned(), dst.to_owned()))
                .ok_or_else(|| {
                    Error::usage(format!("--map {m}: give SRC=DST with an absolute DST"))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let package = package::read(&args.file).map_err(Error::new)?;
    let options = import::Options {
        to: args.to,
        maps,
        keep_paths: args.keep_paths,
    };
    // Planned before anything is written, so that a refused import writes nothing.
    let mut plan = import::plan(package, &data_dir, &options).map_err(Error::new)?;
    // One import at a time, so that a transaction found `applying` is one a crash left
    // half-applied, never one running beside this. It is undone first, and the plan made
    // again: it must not count the writes undone.
    let _importing = if dry_run {
        None
    } else {
        let lock = import::lock_path(&data_dir);
        let guard = store::LockGuard::acquire(&lock, std::time::Duration::from_secs(60))
            .map_err(|e| Error::new(format!("another import is running ({e})")))?;
        let recovered = import::recover(&data_dir);
        for line in &recovered {
            println!("{line}");
        }
        if !recovered.is_empty() {
            plan = import::plan(plan.package, &data_dir, &options).map_err(Error::new)?;
        }
        Some(guard)
    };
    let manifest = &plan.package.manifest;
    println!(
        "{}: package {} from {}, {}",
        args.file.display(),
        manifest.package_id,
        manifest.created_at,
        super::count(plan.sessions.len(), "session")
    );
    for line in import::describe(&plan) {
        println!("  {line}");
    }
    for remap in &plan.remaps {
        println!("  path {remap}");
    }
    if manifest.redaction.applied && !manifest.redaction.counts.is_empty() {
        println!(
            "  redacted at export: {}",
            super::status::counted(&manifest.redaction.counts)
        );
    }
    if dry_run {
        println!("Nothing written (dry run).");
        return Ok(());
    }
    let config = Config::new(&agents::names(agents::writable()), &agents::found());
    let applied = import::apply(&plan, &args.file, &data_dir, &config).map_err(Error::new)?;
    for line in &applied.lines {
        println!("{line}");
    }
    match &applied.txid {
        Some(txid) => println!("Import {txid} done; `session-sync rollback {txid}` undoes it."),
        None => println!("Nothing to write: every session is here already."),
    }
    if applied.problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(applied.problems.join("; ")))
    }
}
