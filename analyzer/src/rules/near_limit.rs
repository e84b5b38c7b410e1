//! `near-limit`: a pod's working set close to its limit, with its trend.

use podmem_schema::report::{Finding, NodeReport, Severity};
use podmem_schema::units::fmt_bytes;

use super::thresholds::*;
use super::util::*;
use super::RuleId;
use crate::timeline::PodTimeline;

/// Least-squares slope (bytes per second) of (seconds, bytes) points.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let s = sxy / sxx;
    (sxx > 0.0 && s.is_finite()).then_some(s)
}

pub(super) fn near_limit(pt: &PodTimeline, node: Option<&NodeReport>, out: &mut Vec<Finding>) {
    let r = &pt.report;
    let range = last_segment(pt);
    let Some(last_i) = range.clone().last() else {
        return;
    };
    let last = &r.samples[last_i];
    let (Some(ws), Some(limit)) = (last.pod.working_set, last.limit) else {
        return;
    };
    if limit == 0 {
        return;
    }
    let ratio = ws as f64 / limit as f64;
    if ratio < NEAR_LIMIT_WARNING {
        return;
    }
    let t0 = last.time.map(|t| t.as_millisecond()).unwrap_or(0);
    let points: Vec<(f64, f64)> = pt
        .trend
        .iter()
        .filter_map(|(t, ws)| {
            Some((
                (t.as_ref()?.as_millisecond() - t0) as f64 / 1000.0,
                (*ws)? as f64,
            ))
        })
        .collect();
    let trend = slope(&points);
    let (trend_text, eta) = match trend {
        Some(s) if s > 0.0 && ws < limit => {
            let secs = (limit - ws) as f64 / s;
            let eta = last.time.and_then(|t| {
                t.checked_add(jiff::SignedDuration::from_secs_f64(secs.min(1e12)))
                    .ok()
            });
            (
                format!(
                    "growing {}/min over the last {} captures; at that rate the limit is reached around {}",
                    fmt_bytes((s * 60.0) as u64),
                    points.len(),
                    eta.map(ts).unwrap_or_else(|| "much later".to_string())
                ),
                eta,
            )
        }
        Some(_) => (
            format!("not growing over the last {} captures", points.len()),
            None,
        ),
        None => ("too few captures for a trend".to_string(), None),
    };
    let critical = ratio >= NEAR_LIMIT_CRITICAL;
    let mut evidence = vec![
        ev(
            "pod working set / limit",
            format!(
                "{} / {} ({:.0}%)",
                fmt_bytes(ws),
                fmt_bytes(limit),
                ratio * 100.0
            ),
            entry(archive(node, last), &pt.pod_paths[last_i], "memory.stat"),
        ),
        ev(
            "unattributed working set",
            opt_bytes(last.unattributed.working_set),
            None,
        ),
    ];
    if let Some(e) = eta {
        evidence.push(ev("limit reached at (linear fit)", ts(e), None));
    }
    out.push(Finding {
        id: RuleId::NearLimit.into(),
        severity: if critical { Severity::Critical } else { Severity::Warning },
        node: r.node.clone(),
        pod_uid: Some(r.uid.clone()),
        bytes: Some(ws),
        container_ids: Vec::new(),
        title: format!(
            "{}: working set at {:.0}% of the pod limit",
            pod_label(pt),
            ratio * 100.0
        ),
        detail: format!(
            "The pod cgroup's working set is {} of its {} limit ({:.0}%); {}. `kubectl top` shows {}. Fired because the working set is ≥ {:.0}% of the limit (critical from {:.0}%).",
            fmt_bytes(ws),
            fmt_bytes(limit),
            ratio * 100.0,
            trend_text,
            opt_bytes(last.kubectl_top),
            NEAR_LIMIT_WARNING * 100.0,
            NEAR_LIMIT_CRITICAL * 100.0
        ),
        recommendation: "Raise the pod's memory limit or reduce its use; if much of it is unattributed or shmem, free the tmpfs files rather than restart the container.".to_string(),
        evidence,
        time: last.time,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_fits_a_line() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64 * 60.0, 1000.0 + i as f64 * 600.0))
            .collect();
        assert!((slope(&pts).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(slope(&[(0.0, 1.0)]), None);
        assert_eq!(slope(&[(5.0, 1.0), (5.0, 2.0)]), None);
    }
}
