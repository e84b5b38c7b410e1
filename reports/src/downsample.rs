//! Picks which samples of a pod's timeline a report shows: the points of its HTML
//! chart and the rows of its text table. A day at one capture a minute is 1,440
//! samples per pod; the chart needs ~300, the table 20. Whole samples are kept (not
//! per-series points) so every point or row is a real capture and the moment table can
//! show all views of it. Samples next to an event are always kept; the rest are
//! bucketed and each bucket keeps its highest and lowest pod usage, so peaks (the
//! lead-up to an OOM) and dips (the kill) survive.

use std::collections::BTreeSet;

/// Indices (sorted, unique) of the samples to keep out of `values.len()`.
///
/// `values` is the pod usage per sample (`None` = unknown, never picked as a peak),
/// `must` the indices that are always kept, `max_points` the target size; when `must`
/// alone exceeds it, every `must` index is still kept.
pub fn pick(values: &[Option<u64>], must: &BTreeSet<usize>, max_points: usize) -> Vec<usize> {
    let n = values.len();
    if n <= max_points {
        return (0..n).collect();
    }
    let mut keep: BTreeSet<usize> = must.iter().copied().filter(|&i| i < n).collect();
    keep.insert(0);
    keep.insert(n - 1);
    let budget = max_points.saturating_sub(keep.len());
    let buckets = (budget / 2).max(1);
    let size = n.div_ceil(buckets);
    for start in (0..n).step_by(size) {
        let range = start..(start + size).min(n);
        let mut hi: Option<(usize, u64)> = None;
        let mut lo: Option<(usize, u64)> = None;
        for i in range.clone() {
            if let Some(v) = values[i] {
                if hi.is_none_or(|(_, h)| v > h) {
                    hi = Some((i, v));
                }
                if lo.is_none_or(|(_, l)| v < l) {
                    lo = Some((i, v));
                }
            }
        }
        match (hi, lo) {
            (Some((h, _)), Some((l, _))) => {
                keep.insert(h);
                keep.insert(l);
            }
            // A bucket of unknowns still gets one point so the gap shows.
            _ => {
                keep.insert(range.start);
            }
        }
    }
    keep.into_iter().collect()
}

/// [`pick`] with at most `max` indices even when `must` alone would exceed it (a
/// table that must stay short): then the first and last samples and an even spread of
/// `must` are kept, with room for one bucket's highest and lowest usage.
pub fn pick_at_most(values: &[Option<u64>], must: &BTreeSet<usize>, max: usize) -> Vec<usize> {
    let n = values.len();
    if n <= max {
        return (0..n).collect();
    }
    // The ends are always kept; a bucket needs two more.
    let room = max.saturating_sub(4);
    let inner: Vec<usize> = must
        .iter()
        .copied()
        .filter(|&i| i > 0 && i < n - 1)
        .collect();
    let kept: BTreeSet<usize> = if inner.len() > room {
        (0..room).map(|k| inner[k * inner.len() / room]).collect()
    } else {
        inner.into_iter().collect()
    };
    let mut out = pick(values, &kept, max);
    out.truncate(max.max(2));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_kept_whole() {
        let v = vec![Some(1); 10];
        assert_eq!(pick(&v, &BTreeSet::new(), 300), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn keeps_peaks_dips_and_events() {
        let mut v: Vec<Option<u64>> = (0..1440).map(|i| Some(100 + (i % 7) as u64)).collect();
        v[700] = Some(10_000); // the peak before an OOM
        v[701] = Some(1); // the kill
        v[900] = None;
        let must: BTreeSet<usize> = [1000, 1001].into();
        let kept = pick(&v, &must, 300);
        assert!(kept.len() <= 300, "{}", kept.len());
        assert!(kept.len() > 200, "{}", kept.len());
        for i in [0, 700, 701, 1000, 1001, 1439] {
            assert!(kept.contains(&i), "{i} dropped");
        }
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn events_beyond_budget_all_kept() {
        let v = vec![Some(5); 100];
        let must: BTreeSet<usize> = (0..100).step_by(2).collect();
        let kept = pick(&v, &must, 10);
        assert!(must.iter().all(|i| kept.contains(i)));
    }

    #[test]
    fn at_most_keeps_events_peaks_and_ends() {
        let mut v: Vec<Option<u64>> = (0..1000).map(|i| Some(100 + (i % 5) as u64)).collect();
        v[400] = Some(9_000);
        v[401] = Some(2);
        let ev: BTreeSet<usize> = [50, 51, 700].into();
        let rows = pick_at_most(&v, &ev, 20);
        assert!(rows.len() <= 20, "{}", rows.len());
        for i in [0, 50, 51, 400, 401, 700, 999] {
            assert!(rows.contains(&i), "{i} missing from {rows:?}");
        }
        assert_eq!(pick_at_most(&v[..5], &ev, 20), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn at_most_spreads_events_beyond_the_cap() {
        let v = vec![Some(7); 300];
        let many: BTreeSet<usize> = (0..100).map(|i| i * 3).collect();
        for max in [20, 5, 4, 3, 2] {
            let rows = pick_at_most(&v, &many, max);
            assert!(rows.len() <= max, "{max}: {rows:?}");
            assert!(rows.contains(&0) && rows.contains(&299), "{max}: {rows:?}");
            assert!(rows.windows(2).all(|w| w[0] < w[1]));
        }
        let rows = pick_at_most(&v, &many, 20);
        // The kept events span the series, not just its start.
        assert!(rows.iter().any(|&i| i > 250) && rows.iter().any(|&i| i < 50));
    }
}
