//! Property tests: no parser panics on arbitrary input, and well-formed input generated
//! from known values parses back to exactly those values.

use std::collections::BTreeMap;

use proptest::prelude::*;

use podmem_schema::parse::kmsg::{escape_text, parse_record, KmsgRecord};
use podmem_schema::parse::kubelet_summary::{
    parse_summary, MemoryStats, PodRef, PodStats, Summary,
};
use podmem_schema::parse::log_pods::{parse_log_pods, LogPod};
use podmem_schema::parse::memory_stat::{
    parse_figure_keys, parse_limit_or_value, parse_memory_stat, v1_stats, v2_stats, FIGURE_KEYS,
};
use podmem_schema::parse::mountinfo::{parse_mountinfo, parse_size_option, pod_volume, Mount};
use podmem_schema::parse::proc_files::{
    parse_flat_keyed, parse_meminfo, parse_pressure, parse_proc_cgroups,
};

/// Text made of the characters these formats are built from, so the generator reaches
/// deep into the parsers more often than uniformly random strings do.
fn shaped_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-f:,;=_ \\-\\\\/.\"%x~{}\\[\\]\n\t]{0,300}",
        "([a-z_]{1,8}[ :=]{1,2}[0-9]{1,21}( kB)?\n){0,12}",
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// `memory.stat` as the format reads: every line of exactly two whitespace-separated
/// fields whose second is a `u64` (the reference the fast line scan is held to).
fn memory_stat_by_fields(text: &str) -> BTreeMap<String, u64> {
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        if let (Some(key), Some(value), None) = (fields.next(), fields.next(), fields.next()) {
            if let Ok(v) = value.parse::<u64>() {
                entries.insert(key.to_string(), v);
            }
        }
    }
    entries
}

/// `memory.stat`-like lines mixing the keys the figures read with others, whitespace of
/// every kind (CR, vertical tab, form feed, no-break and em spaces), non-ASCII keys, bad
/// values, with or without a last line end.
fn stat_lines() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            "[ \t\r\u{b}\u{c}\u{a0}\u{2003}]{0,2}",
            prop::sample::select(vec![
                "rss",
                "total_rss",
                "shmem",
                "anon",
                "file",
                "cache",
                "x",
                "ä",
                "rssä",
                "",
                "inactive_file",
                "total_inactive_file",
                "mapped_file",
            ]),
            "[ \t\r\u{b}\u{c}\u{a0}\u{2003}]{0,2}",
            "[0-9]{0,3}|-1|x",
            "[ \t\u{a0}]{0,2}[0-9]{0,1}\r?",
        ),
        0..12,
    )
    .prop_flat_map(|lines| (Just(lines), any::<bool>()))
    .prop_map(|(lines, last_newline)| {
        let mut text: String = lines
            .iter()
            .map(|(a, k, b, v, c)| format!("{a}{k}{b}{v}{c}\n"))
            .collect();
        if !last_newline {
            text.pop();
        }
        text
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn memory_stat_lines_are_two_whitespace_separated_fields(
        text in prop_oneof![stat_lines(), shaped_text()],
    ) {
        prop_assert_eq!(parse_memory_stat(&text).entries, memory_stat_by_fields(&text));
    }

    #[test]
    fn figure_keys_are_the_full_parse_restricted(
        text in prop_oneof![stat_lines(), shaped_text()],
    ) {
        let full = parse_memory_stat(&text);
        let want: Vec<(&str, u64)> = full
            .entries
            .iter()
            .filter(|(k, _)| FIGURE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        prop_assert_eq!(parse_figure_keys(&text).entries(), want);
    }

    #[test]
    fn no_parser_panics(text in shaped_text()) {
        let stat = parse_memory_stat(&text);
        let usage = parse_limit_or_value(&text).ok().flatten();
        let v1 = v1_stats(&stat, usage);
        let v2 = v2_stats(&stat, usage);
        prop_assert!(v1.working_set <= v1.usage && v2.working_set <= v2.usage);
        let (mounts, _) = parse_mountinfo(&text);
        for m in &mounts {
            let _ = m.super_option("size").as_deref().map(parse_size_option);
            let _ = m.super_option("context");
            let _ = pod_volume(&m.mount_point);
        }
        let _ = pod_volume(&text);
        let _ = parse_size_option(&text);
        let _ = parse_record(&text);
        let _ = parse_meminfo(&text);
        let _ = parse_flat_keyed(&text);
        let _ = parse_pressure(&text);
        let _ = parse_proc_cgroups(&text);
        let _ = parse_log_pods(&text);
        let _ = parse_summary(&text);
    }

    #[test]
    fn memory_stat_round_trips(
        entries in prop::collection::btree_map("[a-z][a-z0-9_]{0,24}", any::<u64>(), 0..40),
        trailing_newline in any::<bool>(),
    ) {
        let mut text = entries
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        if trailing_newline {
            text.push('\n');
        }
        prop_assert_eq!(parse_memory_stat(&text).entries, entries.clone());
        prop_assert_eq!(parse_flat_keyed(&text), entries);
    }

    #[test]
    fn single_values_round_trip(v in any::<u64>()) {
        let parsed = parse_limit_or_value(&format!("{v}\n")).unwrap();
        prop_assert_eq!(parsed, (v < 9_223_372_036_854_771_712).then_some(v));
    }

    #[test]
    fn kmsg_round_trips(
        prio in any::<u32>(),
        seq in any::<u64>(),
        usec in any::<u64>(),
        flags in prop_oneof![Just("-"), Just("c"), Just("+")],
        extra in prop::option::of("caller=[TC][0-9]{1,5}"),
        text in any::<String>(),
        continuation in prop::collection::vec("[A-Z]{1,10}=[a-z0-9+:]{0,12}", 0..3),
        trailing_newline in any::<bool>(),
    ) {
        let mut record = format!("{prio},{seq},{usec},{flags}");
        if let Some(extra) = &extra {
            record.push(',');
            record.push_str(extra);
        }
        record.push(';');
        record.push_str(&escape_text(&text));
        for c in &continuation {
            record.push_str("\n ");
            record.push_str(c);
        }
        if trailing_newline {
            record.push('\n');
        }
        let expected = KmsgRecord { prio, seq, usec, flags: flags.to_string(), text };
        prop_assert_eq!(parse_record(&record), Some(expected));
    }

    #[test]
    fn mountinfo_round_trips(mounts in prop::collection::vec(mount(), 1..8)) {
        let text = mounts.iter().map(render).collect::<Vec<_>>().join("\n");
        let (parsed, errors) = parse_mountinfo(&text);
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(parsed, mounts);
    }

    #[test]
    fn size_options_round_trip(n in 0u64..(1 << 20), suffix in 0usize..5, upper in any::<bool>()) {
        let letters = ["", "k", "m", "g", "t"];
        let s = format!("{n}{}", if upper { letters[suffix].to_uppercase() } else { letters[suffix].to_string() });
        prop_assert_eq!(parse_size_option(&s), Some(n << (10 * suffix)));
        prop_assert_eq!(parse_size_option(&format!("{n}%")), None);
    }

    #[test]
    fn pod_volumes_found_under_any_kubelet_root(
        root in "(/[a-z0-9_.-]{1,12}){0,4}",
        uid in uuid(),
        plugin in "[a-z-]{1,12}",
        name in "[a-z0-9.-]{1,20}",
        slash in any::<bool>(),
    ) {
        let path = format!(
            "{root}/pods/{}/volumes/kubernetes.io~{plugin}/{name}{}",
            uid.to_uppercase().replace('-', "_"),
            if slash { "/" } else { "" }
        );
        let v = pod_volume(&path).unwrap();
        prop_assert_eq!((v.pod_uid, v.plugin, v.name), (uid, plugin, name.clone()));
        let deeper = format!("{path}/{name}");
        prop_assert_eq!(pod_volume(&deeper), None);
    }

    #[test]
    fn log_pods_round_trip(pods in prop::collection::btree_map(uuid(), log_pod(), 0..6)) {
        let mut lines = Vec::new();
        for (uid, (ns, name, containers)) in &pods {
            lines.push(format!("{ns}_{name}_{uid}"));
            for (c, restarts) in containers {
                lines.push(format!("{ns}_{name}_{uid}/{c}"));
                for r in 0..=restarts.unwrap_or(0) {
                    if restarts.is_some() {
                        lines.push(format!("{ns}_{name}_{uid}/{c}/{r}.log"));
                    }
                }
            }
        }
        lines.reverse();
        let expected: Vec<LogPod> = pods
            .into_iter()
            .map(|(uid, (namespace, name, containers))| LogPod {
                namespace,
                name,
                uid,
                containers: containers.into_iter().collect(),
            })
            .collect();
        prop_assert_eq!(parse_log_pods(&lines.join("\n")), expected);
    }

    #[test]
    fn summaries_round_trip(
        pods in prop::collection::vec((uuid(), prop::option::of(any::<u64>()), prop::option::of(any::<u64>())), 0..5),
        node_ws in prop::option::of(any::<u64>()),
    ) {
        let summary = Summary {
            node: Some(podmem_schema::parse::kubelet_summary::NodeStats {
                node_name: Some("n".into()),
                memory: Some(MemoryStats { working_set_bytes: node_ws, ..Default::default() }),
                ..Default::default()
            }),
            pods: pods
                .into_iter()
                .map(|(uid, usage, ws)| PodStats {
                    pod_ref: Some(PodRef { uid: Some(uid), ..Default::default() }),
                    memory: Some(MemoryStats { usage_bytes: usage, working_set_bytes: ws, ..Default::default() }),
                    ..Default::default()
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&summary).unwrap();
        prop_assert_eq!(parse_summary(&text).unwrap(), summary);
    }

    #[test]
    fn summary_numbers_outside_u64_are_errors(number in json_number()) {
        let text = format!(r#"{{"pods":[{{"podRef":{{}},"memory":{{"usageBytes":{number}}}}}]}}"#);
        let parsed = parse_summary(&text);
        match number.parse::<u64>() {
            Ok(v) => prop_assert_eq!(
                parsed.unwrap().pods[0].memory.as_ref().unwrap().usage_bytes,
                Some(v)
            ),
            Err(_) => prop_assert!(parsed.is_err(), "{} accepted", number),
        }
    }
}

fn uuid() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[0-9a-f]{32}",
    ]
}

type LogPodParts = (String, String, BTreeMap<String, Option<u32>>);

fn log_pod() -> impl Strategy<Value = LogPodParts> {
    (
        "[a-z0-9][a-z0-9-]{0,15}",
        "[a-z0-9][a-z0-9.-]{0,30}",
        prop::collection::btree_map("[a-z][a-z0-9-]{0,12}", prop::option::of(0u32..4), 0..4),
    )
}

fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        "[1-9][0-9]{19,25}",
        any::<f64>()
            .prop_filter("JSON has no NaN/inf", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        Just("18446744073709551616".to_string()),
        Just("-0".to_string()),
    ]
}

/// A path component set including the characters the kernel escapes.
fn path() -> impl Strategy<Value = String> {
    "(/[a-zA-Z0-9 \t\n\\\\~._-]{1,12}){0,4}".prop_map(|p| if p.is_empty() { "/".into() } else { p })
}

fn mount() -> impl Strategy<Value = Mount> {
    (
        (any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>()),
        (path(), path(), "[a-z,=0-9]{1,30}"),
        prop::collection::vec("(shared|master|propagate_from):[0-9]{1,4}|unbindable", 0..3),
        ("[a-z][a-z0-9._]{0,12}", "[a-zA-Z0-9 \t\\\\/:._-]{0,20}"),
        "[a-z0-9=,\"\\\\ :_-]{1,60}",
    )
        .prop_map(
            |((id, parent, major, minor), (root, mp, opts), optional, (fs, source), sup)| Mount {
                mount_id: id,
                parent_id: parent,
                major_minor: format!("{major}:{minor}"),
                root,
                mount_point: mp,
                mount_options: opts,
                optional,
                fs_type: fs,
                source,
                super_options: sup,
            },
        )
}

/// Writes a mount the way `show_mountinfo` does: octal escapes in paths and source,
/// super options raw.
fn render(m: &Mount) -> String {
    let esc = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
                c => out.push(c),
            }
        }
        out
    };
    let mut fields = vec![
        m.mount_id.to_string(),
        m.parent_id.to_string(),
        m.major_minor.clone(),
        esc(&m.root),
        esc(&m.mount_point),
        m.mount_options.clone(),
    ];
    fields.extend(m.optional.iter().cloned());
    fields.push("-".into());
    fields.push(m.fs_type.clone());
    fields.push(esc(&m.source));
    fields.push(m.super_options.clone());
    fields.join(" ")
}
