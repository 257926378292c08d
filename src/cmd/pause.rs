//! `session-sync pause`: the hook stays registered and does nothing.

use super::{Result, set_paused};

#[derive(clap::Args)]
pub struct Args {
    /// Pause every project (the global configuration)
    #[arg(long)]
    pub global: bool,
}

pub fn run(args: Args) -> Result {
    let path = set_paused(args.global, true)?;
    println!(
        "Paused: the hook does nothing until `session-sync resume{}` ({}).",
        if args.global { " --global" } else { "" },
        path.display()
    );
    Ok(())
}
