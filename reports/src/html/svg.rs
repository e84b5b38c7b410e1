//! Server-side SVG sparklines: the chart that needs no script. Shown in the pod index and
//! the node overview, in print, and with JavaScript off. The markup is built from
//! numbers only — no string from an archive ever reaches it — which is why the renderer
//! may pass it to the template as a safe string.

use std::fmt::Write;

const W: f64 = 160.0;
const H: f64 = 32.0;

/// A sparkline of up to three series sharing one y scale: `area` filled, `line` stroked,
/// `cap` (a limit) dashed. Returns an empty string when there is nothing to draw.
pub fn sparkline(area: &[Option<u64>], line: &[Option<u64>], cap: &[Option<u64>]) -> String {
    let n = area.len().max(line.len()).max(cap.len());
    let max = area
        .iter()
        .chain(line)
        .chain(cap)
        .flatten()
        .copied()
        .max()
        .unwrap_or(0);
    if n == 0 || max == 0 {
        return String::new();
    }
    let x = |i: usize| {
        if n == 1 {
            W / 2.0
        } else {
            i as f64 * W / (n - 1) as f64
        }
    };
    let y = |v: u64| H - 1.0 - (v as f64 / max as f64) * (H - 2.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="spark" viewBox="0 0 {W} {H}" width="{W}" height="{H}" preserveAspectRatio="none" aria-hidden="true">"#
    );
    if area.iter().any(Option::is_some) {
        let mut d = String::new();
        let mut open = false;
        let mut last_x = 0.0;
        for (i, v) in area.iter().enumerate() {
            match v {
                Some(v) => {
                    if !open {
                        let _ = write!(d, "M{:.1},{H} ", x(i));
                        open = true;
                    }
                    let _ = write!(d, "L{:.0},{:.1} ", x(i), y(*v));
                    last_x = x(i);
                }
                None if open => {
                    let _ = write!(d, "L{last_x:.1},{H} Z ");
                    open = false;
                }
                None => {}
            }
        }
        if open {
            let _ = write!(d, "L{last_x:.1},{H} Z");
        }
        let _ = write!(out, r#"<path class="spark-area" d="{}"/>"#, d.trim_end());
    }
    for (series, class) in [(line, "spark-line"), (cap, "spark-cap")] {
        let pts: Vec<String> = series
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.0},{:.1}", x(i), y(v))))
            .collect();
        if !pts.is_empty() {
            let _ = write!(
                out,
                r#"<polyline class="{class}" points="{}"/>"#,
                pts.join(" ")
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Evenly thins a series to at most `n` points, keeping each stride's maximum so a spike
/// is not lost in a 160-pixel sparkline.
pub fn thin(values: &[Option<u64>], n: usize) -> Vec<Option<u64>> {
    if values.len() <= n || n == 0 {
        return values.to_vec();
    }
    let size = values.len().div_ceil(n);
    values
        .chunks(size)
        .map(|c| c.iter().flatten().copied().max())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_numbers_only() {
        let s = sparkline(&[Some(1), None, Some(3)], &[Some(2), Some(2)], &[Some(4)]);
        assert!(s.starts_with("<svg"));
        assert!(s.contains("spark-area") && s.contains("spark-line") && s.contains("spark-cap"));
        assert_eq!(sparkline(&[], &[], &[]), "");
        assert_eq!(sparkline(&[Some(0)], &[], &[]), "");
    }

    #[test]
    fn thinning_keeps_spikes() {
        let mut v = vec![Some(1); 1000];
        v[513] = Some(99);
        let t = thin(&v, 100);
        assert!(t.len() <= 100);
        assert!(t.contains(&Some(99)));
    }
}
