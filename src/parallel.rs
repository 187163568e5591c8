//! Work over a slice spread across the machine's cores, results kept in order.

/// Runs `f` on every item, in parallel when there are several (at most one thread per core, and
/// 16), keeping order; the first error (in item order) wins.
pub fn par_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len())
        .min(16);
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    let results: Vec<Vec<Result<R, E>>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_reports_the_first_error() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(par_map(&items, |&i| Ok::<_, ()>(i * 2)).unwrap()[99], 198);
        let first_bad = par_map(&items, |&i| if i % 30 == 29 { Err(i) } else { Ok(i) });
        assert_eq!(first_bad, Err(29));
    }
}
