//! Stage 4 of the pipeline, attribution: the quantity every memory finding rests on.
//! Per sample, what the pod cgroup holds beyond its live children, stat by stat
//! ([`unattributed`]), and where the kernel keeps what no live child holds: in removed
//! ("dying") cgroups or moved to the pod cgroup itself ([`where_held`]).

use podmem_schema::report::MemStats;
use podmem_schema::units::fmt_bytes;

use crate::timeline::PodTimeline;

/// Sum of known values (saturating); None when none is known.
pub fn sum_opt(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    let mut total: Option<u64> = None;
    for v in values.flatten() {
        total = Some(total.unwrap_or(0).saturating_add(v));
    }
    total
}

/// Pod − Σ children per stat, floored at 0; unknown when the pod's figure is unknown or
/// any child lacks it (a partial sum would overstate what no one holds).
pub fn unattributed<'a>(
    pod: &MemStats,
    children: impl Iterator<Item = &'a MemStats> + Clone,
) -> MemStats {
    let diff = |get: fn(&MemStats) -> Option<u64>| -> Option<u64> {
        let p = get(pod)?;
        let mut sum = 0u64;
        for c in children.clone() {
            sum = sum.saturating_add(get(c)?);
        }
        Some(p.saturating_sub(sum))
    };
    MemStats {
        usage: diff(|s| s.usage),
        working_set: diff(|s| s.working_set),
        shmem: diff(|s| s.shmem),
        cache: diff(|s| s.cache),
        rss: diff(|s| s.rss),
        inactive_file: diff(|s| s.inactive_file),
    }
}

/// Where the pod's unattributed shmem sits, as far as the capture shows.
pub enum Held {
    /// In removed ("dying") descendants the kernel still keeps.
    Dying,
    /// Moved to the pod cgroup itself when its children were removed (Linux 7.1+, or
    /// whatever kernel the pod's own figures show doing so); the text says what shows it.
    Moved(String),
    /// The capture does not tell.
    Unknown,
}

/// Kernels from this release on move a removed cgroup's pages to its parent ("eliminate
/// the dying memory cgroup", Linux 7.1).
pub const REPARENT_FROM: (u32, u32) = (7, 1);

/// (major, minor) of a kernel release such as `7.2.0-1-amd64`.
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Decides from the snapshot itself (never from a non-zero dying count alone): v1's
/// own-vs-total shmem of the pod cgroup shows it directly; v2's `nr_dying_descendants`
/// says whether any removed cgroup is still there to hold it; the kernel release backs
/// this up when the count was not captured.
pub fn where_held(pt: &PodTimeline, i: usize, orphan: u64) -> Held {
    if let Some(own) = pt.own_shmem.get(i).copied().flatten() {
        return if own.saturating_mul(2) >= orphan {
            Held::Moved(format!(
                "its own memory.stat shows {} of shmem outside any child",
                fmt_bytes(own)
            ))
        } else {
            Held::Dying
        };
    }
    let kernel = pt.kernel.as_deref().and_then(kernel_version);
    let reparents = kernel.is_some_and(|k| k >= REPARENT_FROM);
    match pt.dying.get(i).copied().flatten() {
        Some(d) if d > 0 => Held::Dying,
        Some(_) => Held::Moved(format!(
            "its cgroup.stat shows no dying descendant{}",
            if reparents {
                ", as kernels from 7.1 on move a removed cgroup's pages to its parent"
            } else {
                ""
            }
        )),
        None if reparents => Held::Moved(format!(
            "kernel {} moves a removed cgroup's pages to its parent",
            pt.kernel.as_deref().unwrap_or_default().trim()
        )),
        None => Held::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(usage: u64, shmem: u64) -> MemStats {
        MemStats {
            usage: Some(usage),
            working_set: Some(usage),
            shmem: Some(shmem),
            cache: Some(shmem),
            rss: Some(usage - shmem),
            inactive_file: Some(0),
        }
    }

    #[test]
    fn unattributed_per_stat_floors_and_saturates() {
        let pod = ms(100, 64);
        let kids = [ms(30, 0), ms(10, 0)];
        let u = unattributed(&pod, kids.iter());
        assert_eq!((u.usage, u.shmem, u.rss), (Some(60), Some(64), Some(0)));
        let huge = [ms(u64::MAX, 0), ms(u64::MAX, 0)];
        assert_eq!(unattributed(&pod, huge.iter()).usage, Some(0));
        let unknown = [MemStats::default()];
        assert_eq!(unattributed(&pod, unknown.iter()).usage, None);
        assert_eq!(
            sum_opt([None, Some(1), Some(u64::MAX)].into_iter()),
            Some(u64::MAX)
        );
        assert_eq!(sum_opt([None, None].into_iter()), None);
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("7.2.0-1-amd64"), Some((7, 2)));
        assert_eq!(kernel_version("6.18.44-fc-v669\n"), Some((6, 18)));
        assert_eq!(kernel_version("7.1"), Some((7, 1)));
        assert_eq!(kernel_version("10.0.1"), Some((10, 0)));
        assert!(kernel_version("6.12.48+deb13-amd64") < Some(REPARENT_FROM));
        assert_eq!(kernel_version("7"), None);
        assert_eq!(kernel_version("v7.2"), None);
        assert_eq!(kernel_version(""), None);
    }
}
