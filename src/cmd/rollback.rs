//! `session-sync rollback`: undoes one import exactly, keeping whatever changed since.

use super::{Error, Result, data_dir};
use crate::store::journal::{self, Journal, Status};

#[derive(clap::Args)]
pub struct Args {
    /// The import's transaction id (`session-sync journal` lists them)
    #[arg(value_name = "TXID", required_unless_present = "last")]
    txid: Option<String>,
    /// The most recent import
    #[arg(long, conflicts_with = "txid")]
    last: bool,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let journal = Journal::new(&data_dir);
    let tx = match &args.txid {
        Some(txid) => journal.get(txid).ok_or_else(|| {
            Error::new(format!(
                "no import {txid}; `session-sync journal` lists them"
            ))
        })?,
        None => journal
            .list()
            .into_iter()
            .rev()
            .find(|tx| tx.status == Status::Committed)
            .ok_or_else(|| Error::new("no import to roll back"))?,
    };
    if tx.status == Status::RolledBack {
        return Err(Error::new(format!(
            "import {} is rolled back already",
            tx.txid
        )));
    }
    let ops = journal
        .ops(&tx.txid)
        .map_err(|e| Error::new(format!("cannot read the journal of {}: {e}", tx.txid)))?;
    let (lines, complete) = journal::undo(&data_dir, &ops);
    for line in &lines {
        println!("  {line}");
    }
    let mut tx = tx;
    tx.status = Status::RolledBack;
    tx.results = lines;
    journal
        .save(&tx)
        .map_err(|e| Error::new(format!("cannot update the journal of {}: {e}", tx.txid)))?;
    if complete {
        println!("Import {} rolled back.", tx.txid);
        Ok(())
    } else {
        Err(Error::new(format!(
            "import {} rolled back except what changed since (kept, listed above)",
            tx.txid
        )))
    }
}
