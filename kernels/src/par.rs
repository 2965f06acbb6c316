//! Tiny fork-join helpers over `std::thread::scope` (no thread pool: each call spawns `parts - 1` threads and runs
//! the first part on the caller's thread; callers only split work large enough to amortise that).

/// Runs `f` on every job, the first on the current thread and the others on scoped threads, and returns the results
/// in job order. A panic in a job is resumed on the caller's thread.
pub(crate) fn run_parts<J, T, F>(jobs: Vec<J>, f: F) -> Vec<T>
where
    J: Send,
    T: Send,
    F: Fn(J) -> T + Sync,
{
    if jobs.len() <= 1 {
        return jobs.into_iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let mut jobs = jobs.into_iter();
        let first = jobs.next();
        let handles: Vec<_> = jobs.map(|job| scope.spawn(move || f(job))).collect();
        let mut out = Vec::with_capacity(handles.len() + 1);
        out.extend(first.map(f));
        for handle in handles {
            match handle.join() {
                Ok(value) => out.push(value),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// How many parts to split `work` items into, given a minimum amount of work per part.
pub(crate) fn parts_for(threads: usize, work: usize, min_per_part: usize) -> usize {
    threads.clamp(1, (work / min_per_part.max(1)).max(1))
}

/// `parts + 1` boundaries splitting `0..n` evenly.
pub(crate) fn even_split(n: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..=parts).map(|i| n * i / parts).collect()
}

/// `parts + 1` group indices splitting the groups of a CSR `offsets` array so that each part holds about the same
/// number of elements (offsets must already be validated: non-decreasing).
pub(crate) fn group_split(offsets: &[u32], parts: usize) -> Vec<usize> {
    let groups = offsets.len().saturating_sub(1);
    let total = offsets.last().copied().unwrap_or(0) as usize;
    let parts = parts.max(1);
    let mut out = Vec::with_capacity(parts + 1);
    out.push(0);
    for i in 1..parts {
        let target = (total * i / parts) as u32;
        let g = offsets[..groups].partition_point(|&o| o < target);
        out.push(g.max(*out.last().unwrap_or(&0)));
    }
    out.push(groups);
    out
}

/// Splits `s` at the increasing element indices `points` (first 0, last `s.len()`).
pub(crate) fn split_at_points<'a, T>(mut s: &'a mut [T], points: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(points.len().saturating_sub(1));
    let mut consumed = points.first().copied().unwrap_or(0);
    for &p in points.iter().skip(1) {
        let (head, tail) = std::mem::take(&mut s).split_at_mut(p - consumed);
        out.push(head);
        s = tail;
        consumed = p;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_split_balances_and_covers() {
        let offsets = [0u32, 4, 4, 10, 11, 20];
        let split = group_split(&offsets, 2);
        assert_eq!(split.first(), Some(&0));
        assert_eq!(split.last(), Some(&5));
        assert!(split.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(split[1], 3); // first group whose start is >= 10
        let one = group_split(&[0u32], 4);
        assert!(one.iter().all(|&g| g == 0));
    }

    #[test]
    fn split_points_and_parts() {
        let mut v = [1, 2, 3, 4, 5];
        let parts = split_at_points(&mut v, &[0, 2, 2, 5]);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![2, 0, 3]);
        assert_eq!(even_split(10, 3), vec![0, 3, 6, 10]);
        assert_eq!(parts_for(2, 10, 100), 1);
        assert_eq!(parts_for(2, 1000, 100), 2);
        let squares = run_parts(vec![1, 2, 3], |x| x * x);
        assert_eq!(squares, vec![1, 4, 9]);
    }
}
