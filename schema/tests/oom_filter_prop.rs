//! The collector's kernel-log filter ([`LogFilter`]) keeps exactly what the parser
//! needs: for any mixture of real OOM log text (every sample in `fixtures/realworld`,
//! cut anywhere, shuffled, interleaved line by line, with garbage between), the kept
//! lines parse to the same events as the whole text. Plus bad input: NUL bytes, huge
//! lines, random text stay linear and never panic.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use podmem_schema::oom::{parse_log, LogFilter, OomEvent, ParseOptions};
use proptest::prelude::*;

/// The lines of every real OOM log.
fn samples() -> &'static Vec<Vec<String>> {
    static S: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    S.get_or_init(|| {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/realworld/oom_logs"
        );
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("real-world samples in fixtures/realworld")
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .collect()
    })
}

/// Runs the filter over `text` the way the collector does: raw lines with their `\n`,
/// each call's output in a fresh buffer appended to what was kept.
fn filtered(text: &[u8]) -> Vec<u8> {
    let mut f = LogFilter::default();
    let mut kept = Vec::new();
    let mut scratch = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        scratch.clear();
        f.push(line, &mut scratch);
        kept.extend_from_slice(&scratch);
    }
    scratch.clear();
    f.finish(&mut scratch);
    kept.extend_from_slice(&scratch);
    kept
}

fn parse(text: &[u8]) -> Vec<OomEvent> {
    let opts = ParseOptions {
        year: Some(2024),
        ..ParseOptions::default()
    };
    parse_log(&String::from_utf8_lossy(text), &opts)
}

/// A piece of a real log: lines `[start, start+len)` of sample `file` (fractions of its
/// length, so any cut point is reachable).
#[derive(Debug, Clone)]
struct Cut {
    file: usize,
    start: f64,
    len: usize,
}

fn lines_of(c: &Cut) -> Vec<String> {
    let s = samples();
    let lines = &s[c.file % s.len()];
    if lines.is_empty() {
        return Vec::new();
    }
    let a = ((c.start * lines.len() as f64) as usize).min(lines.len() - 1);
    let b = (a + c.len).min(lines.len());
    lines[a..b].to_vec()
}

fn cut() -> impl Strategy<Value = Cut> {
    (any::<usize>(), 0.0..1.0f64, 1usize..400).prop_map(|(file, start, len)| Cut {
        file,
        start,
        len,
    })
}

const NOISE: &[&str] = &[
    "",
    "   ",
    "Jun  1 00:00:00 node dockerd[1]: Killed process 5 (x) quoted by another program",
    "Jun  1 00:00:00 node kernel: eth0: link up",
    "[ 1.000000] eth0: link up",
    "random words without a prefix",
    "    indented continuation",
    "\u{0}\u{0}binary\u{0}",
    "{\"MESSAGE\":\"hello\",\"_TRANSPORT\":\"journal\"}",
    "6,1,2,-;kmsg record",
    " SUBSYSTEM=cpu",
];

fn mixture() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(cut(), 1..6),
        proptest::collection::vec(any::<(bool, usize)>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(cuts, picks, interleave)| {
            let pieces: Vec<Vec<String>> = cuts.iter().map(lines_of).collect();
            let mut out: Vec<String> = Vec::new();
            if interleave {
                // Lines of all pieces merged in a random but order-keeping way.
                let mut at = vec![0usize; pieces.len()];
                let mut k = 0;
                while out.len() < 2000 {
                    let live: Vec<usize> = (0..pieces.len())
                        .filter(|&i| at[i] < pieces[i].len())
                        .collect();
                    if live.is_empty() {
                        break;
                    }
                    let (noise, r) = picks
                        .get(k % picks.len().max(1))
                        .copied()
                        .unwrap_or((false, k));
                    k += 1;
                    if noise && r % 5 == 0 {
                        out.push(NOISE[r % NOISE.len()].to_string());
                    }
                    let i = live[(r / 7 + k) % live.len()];
                    out.push(pieces[i][at[i]].clone());
                    at[i] += 1;
                }
            } else {
                for (n, p) in pieces.iter().enumerate() {
                    out.extend(p.iter().cloned());
                    if let Some((true, r)) = picks.get(n) {
                        out.push(NOISE[r % NOISE.len()].to_string());
                    }
                }
            }
            let mut s = out.join("\n").into_bytes();
            s.push(b'\n');
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn filtered_mixtures_of_real_logs_parse_to_the_same_events(text in mixture()) {
        let whole = parse(&text);
        let kept = filtered(&text);
        prop_assert!(kept.len() <= text.len() + text.len() / 2 + 1);
        let again = parse(&kept);
        prop_assert_eq!(whole, again, "kept:\n{}", String::from_utf8_lossy(&kept));
    }

    #[test]
    fn filtered_arbitrary_bytes_parse_to_the_same_events(
        text in proptest::collection::vec(any::<u8>(), 0..4000)
    ) {
        prop_assert_eq!(parse(&text), parse(&filtered(&text)));
    }
}

/// Every real log as a whole: the filter keeps what gives its events.
#[test]
fn every_real_log_filtered_gives_the_same_events() {
    let mut events = 0;
    for lines in samples() {
        let mut text = lines.join("\n").into_bytes();
        text.push(b'\n');
        let whole = parse(&text);
        events += whole.len();
        assert_eq!(whole, parse(&filtered(&text)));
    }
    assert!(events >= 60, "{events} events in the samples");
}

/// The shortest of three runs (a loaded machine slows some runs, never speeds one).
fn fastest(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// A 10 MB line (of prefix-looking text, NUL bytes and kernel keywords) and a large
/// random log: events or nothing, and time that grows with the size, not its square.
#[test]
fn huge_lines_and_large_random_logs_stay_linear() {
    let unit = "[ 1.5] <6>Jan  1 \u{0}kernel: oom_reaper: Killed process 1 (x) invoked oom-killer Task in / ";
    let line = |n: usize| -> String { unit.repeat(n / unit.len()) };
    let small = line(1 << 20);
    let big = line(10 << 20);
    // Whatever it finds, it must return; the big line is ten small ones.
    let t_small = fastest(|| {
        let _ = parse_log(&small, &ParseOptions::default());
        let _ = filtered(small.as_bytes());
    });
    let t_big = fastest(|| {
        let _ = parse_log(&big, &ParseOptions::default());
        let _ = filtered(big.as_bytes());
    });
    eprintln!("1 MB line {t_small:?}, 10 MB line {t_big:?}");
    // Linear is 10x; quadratic would be 100x.
    assert!(
        t_big <= t_small * 40 + Duration::from_millis(200),
        "10 MB line {t_big:?} vs 1 MB {t_small:?}"
    );

    // A large log of real lines in a shuffled order with garbage: 1x vs 8x.
    let all: Vec<&String> = samples().iter().flatten().collect();
    let log = |copies: usize| -> String {
        let mut s = String::new();
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..copies {
            for _ in 0..all.len() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(all[(x as usize) % all.len()]);
                s.push('\n');
                if x.is_multiple_of(11) {
                    s.push_str(NOISE[(x as usize / 11) % NOISE.len()]);
                    s.push('\n');
                }
            }
        }
        s
    };
    let (one, eight) = (log(2), log(16));
    let t1 = fastest(|| {
        let _ = parse_log(&one, &ParseOptions::default());
    });
    let t8 = fastest(|| {
        let _ = parse_log(&eight, &ParseOptions::default());
    });
    eprintln!("{} bytes {t1:?}, {} bytes {t8:?}", one.len(), eight.len());
    assert!(
        t8 <= t1 * 32 + Duration::from_millis(200),
        "8x input took {t8:?} vs {t1:?}"
    );
}

#[test]
fn nul_bytes_and_cut_blocks_give_events_or_nothing() {
    let lines = &samples()[0];
    for cut in [
        1,
        lines.len() / 3,
        lines.len() / 2,
        lines.len().saturating_sub(1),
    ] {
        let text: String = lines[..cut.min(lines.len())]
            .iter()
            .map(|l| format!("{}\u{0}\n", l.replace(' ', " \u{0}")))
            .collect();
        let _ = parse_log(&text, &ParseOptions::default());
        assert_eq!(parse(text.as_bytes()), parse(&filtered(text.as_bytes())));
    }
}
