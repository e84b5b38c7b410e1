//! `oom::parse_log` never panics and stays bounded on arbitrary input, including
//! mutations of real OOM lines (cut, spliced, prefixed with every supported form).

use podmem_schema::oom::{parse_log, ParseOptions};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod",
    ",task_memcg=/kubepods.slice/kubepods-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice:cri-containerd:",
    "Memory cgroup out of memory: Killed process 12 (a (b) \"c\") total-vm:",
    "Kill process 3 (x) score 1 or sacrifice child",
    "Task in /a killed as a result of limit of /",
    "Tasks in /x are going to be killed due to memory.oom.group set",
    "memory: usage 99999999999999999999kB, limit ",
    "Memory cgroup stats for /kubepods/burstable/pod",
    "[  pid  ]   uid  tgid total_vm      rss oom_score_adj name",
    "[ 1] 0 1 2 3 -998 name",
    "[ 123.456789] ",
    "[Thu Dec  7 00:05:14 2017] ",
    "Dec  7 00:05:14 host kernel: ",
    "2024-01-02T03:04:05.123456+0000 host kernel: ",
    "6,1234,5678901234,-;",
    "<6>",
    "2023-12-04T10:49:30.127Z In(05) vcpu-5 - Guest: ",
    "{\"MESSAGE\":\"Killed process 1 (a)\",\"__REALTIME_TIMESTAMP\":\"99999999999999999999\"}",
    "#012",
    "\n",
    "\n    ",
    "é",
    "\u{0}",
    ",",
    ")",
    "(",
];

fn assemble(parts: Vec<(usize, String)>) -> String {
    let mut s = String::new();
    for (i, junk) in parts {
        s.push_str(PIECES[i % PIECES.len()]);
        s.push_str(&junk);
    }
    s
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(s in any::<String>()) {
        let _ = parse_log(&s, &ParseOptions::default());
    }

    #[test]
    fn never_panics_on_spliced_oom_lines(
        parts in proptest::collection::vec((any::<usize>(), "[ -~]{0,12}"), 0..60),
        year in proptest::option::of(any::<i16>()),
    ) {
        let text = assemble(parts);
        let opts = ParseOptions {
            year,
            boot_time: Some(jiff::Timestamp::MAX),
            ..ParseOptions::default()
        };
        for e in parse_log(&text, &opts) {
            prop_assert!(e.excerpt.len() <= 400);
        }
    }
}

#[test]
fn linear_on_a_large_input() {
    // 4 000 OOM blocks and noise: must finish quickly (no quadratic scanning).
    let block = podmem_testkit::samples::realworld_text(
        "oom_logs/cadvisor_docker_memcg_v1_4.8_gentoo_two_ooms_kmsg.log",
    );
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(
            &block
                .replace("1381", &format!("{}", 100_000 + i))
                .replace("1667", &format!("{}", 200_000 + i)),
        );
    }
    let start = std::time::Instant::now();
    let ev = parse_log(&text, &ParseOptions::default());
    let took = start.elapsed();
    assert_eq!(ev.len(), 4_000);
    eprintln!(
        "parsed {} bytes, {} events in {took:?}",
        text.len(),
        ev.len()
    );
    assert!(took.as_secs() < 20, "took {took:?}");
}
