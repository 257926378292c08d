//! `session-sync resume`: mirror again after `pause`. The next hook catches up on everything
//! said meanwhile.

use super::{Result, set_paused};

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
