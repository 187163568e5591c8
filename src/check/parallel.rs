//! Runs independent jobs on every core: the files of a program are parsed, and its modules
//! checked, in parallel.

use std::cmp::Reverse;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Below this total cost (bytes of source), the jobs run on the calling thread alone: starting
/// a thread would cost more than it saves.
const PARALLEL_COST: usize = 64 * 1024;

/// The stack of each helper thread, as large as the command line's main thread: parsing and
/// checking recurse into long `else if` chains and operator chains.
const STACK: usize = 256 << 20;

/// Applies `work` to every job (given with its cost, in bytes of source), on as many threads as
/// there are cores, the calling thread being one of them, costliest jobs first. `work` gets the
/// job's index; the results come back in job order.
pub fn map<T: Send, R: Send>(jobs: Vec<(usize, T)>, work: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    let total: usize = jobs.iter().map(|(cost, _)| cost).sum();
    let threads = if total < PARALLEL_COST {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(jobs.len())
    };
    if threads <= 1 {
        return jobs
            .into_iter()
            .enumerate()
            .map(|(i, (_, job))| work(i, job))
            .collect();
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| Reverse(jobs[i].0));
    let slots: Vec<Mutex<Option<T>>> = jobs
        .into_iter()
        .map(|(_, job)| Mutex::new(Some(job)))
        .collect();
    let next = AtomicUsize::new(0);
    let run = || {
        let mut done = Vec::new();
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let job = slots[i]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .expect("each job is taken once");
            done.push((i, work(i, job)));
        }
        done
    };
    let mut results: Vec<Option<R>> = (0..slots.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(scope, run)
                    .ok()
            })
            .collect();
        let mut done = run();
        for helper in helpers {
            done.extend(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        for (i, result) in done {
            results[i] = Some(result);
        }
    });
    results
        .into_iter()
        .map(|result| result.expect("every job ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_job_order() {
        for n in [0, 1, 5, 40] {
            let jobs: Vec<(usize, usize)> = (0..n).map(|i| (i * 10_000, i)).collect();
            let got = super::map(jobs, |i, job| {
                assert_eq!(i, job);
                job * 2
            });
            assert_eq!(got, (0..n).map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
