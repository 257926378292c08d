//! `session-sync journal`: the imports of this machine, newest first.

use super::{Result, data_dir, print_json, when};
use crate::store::journal::Journal;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result {
    let mut txs = Journal::new(&data_dir()?).list();
    txs.reverse();
    if args.json {
        print_json(&serde_json::to_value(&txs).unwrap_or_default());
        return Ok(());
    }
    if txs.is_empty() {
        println!("No import yet.");
    }
    for tx in &txs {
        println!(
            "{}  {:?}  {}  {}",
            tx.txid,
            tx.status,
            when(&tx.started_at),
            tx.package_path.display()
        );
        for line in &tx.plan {
            println!("    {line}");
        }
    }
    Ok(())
}
