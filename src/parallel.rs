//! Work on several targets side by side: a catch-up step encodes and writes megabytes per
//! target, and the targets share nothing but what they read.

use std::sync::{Mutex, PoisonError};

/// `work` applied to every job, results in the jobs' order; on scoped threads (one per job)
/// when `side_by_side`, else in turn. A panic in a job is raised again here.
pub fn map<J: Send, R: Send>(
    jobs: Vec<J>,
    side_by_side: bool,
    work: impl Fn(J) -> R + Sync,
) -> Vec<R> {
    if !side_by_side || jobs.len() < 2 {
        return jobs.into_iter().map(work).collect();
    }
    // Each job waits in a slot for its thread: one whose thread cannot start (a process
    // limit) is still there afterwards, and runs here.
    let slots: Vec<Mutex<Option<J>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let take = |slot: &Mutex<Option<J>>| slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let work = &work;
    std::thread::scope(|scope| {
        let threads: Vec<_> = slots
            .iter()
            .map(|slot| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || take(slot).map(work))
                    .ok()
            })
            .collect();
        threads
            .into_iter()
            .zip(&slots)
            .filter_map(|(thread, slot)| {
                let done = thread.and_then(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                });
                done.or_else(|| take(slot).map(work))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_the_jobs_order_either_way() {
        for side_by_side in [false, true] {
            let squares = map(vec![1, 2, 3, 4], side_by_side, |n: u64| n * n);
            assert_eq!(squares, vec![1, 4, 9, 16]);
        }
    }
}
