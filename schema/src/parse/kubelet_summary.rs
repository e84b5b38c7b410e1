//! Kubelet `/stats/summary` JSON (`stats/v1alpha1`), every field optional so partial
//! and old (k8s 1.4) summaries parse.

use serde::{Deserialize, Serialize};

/// Top level of the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Node stats.
    #[serde(default)]
    pub node: Option<NodeStats>,
    /// Pod stats.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub pods: Vec<PodStats>,
}

/// Node section (only what podmem uses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    /// Node name.
    #[serde(default)]
    pub node_name: Option<String>,
    /// Node memory.
    #[serde(default)]
    pub memory: Option<MemoryStats>,
    /// System containers (`kubelet`, `runtime`, `pods`, `misc`...); the `pods` entry is
    /// the kubepods cgroup.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub system_containers: Vec<ContainerStats>,
}

/// A pod entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStats {
    /// Name, namespace, uid.
    #[serde(default)]
    pub pod_ref: Option<PodRef>,
    /// Pod start time (RFC 3339; `null` on old kubelets for stopped pods).
    #[serde(default)]
    pub start_time: Option<String>,
    /// Containers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub containers: Vec<ContainerStats>,
    /// Pod memory (from the pod cgroup).
    #[serde(default)]
    pub memory: Option<MemoryStats>,
    /// Volumes.
    #[serde(default, rename = "volume", deserialize_with = "null_as_empty")]
    pub volumes: Vec<VolumeStats>,
    /// Pod swap (k8s ≥ 1.30).
    #[serde(default)]
    pub swap: Option<SwapStats>,
}

/// Pod reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRef {
    /// Pod name.
    #[serde(default)]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// UID.
    #[serde(default)]
    pub uid: Option<String>,
}

/// A container entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStats {
    /// Container name.
    #[serde(default)]
    pub name: Option<String>,
    /// Start time of this container instance (changes on restart).
    #[serde(default)]
    pub start_time: Option<String>,
    /// Container memory.
    #[serde(default)]
    pub memory: Option<MemoryStats>,
    /// Container swap (k8s ≥ 1.30).
    #[serde(default)]
    pub swap: Option<SwapStats>,
}

/// A swap stats block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwapStats {
    /// Sample time.
    #[serde(default)]
    pub time: Option<String>,
    /// swapAvailableBytes (absent when swap is unlimited or unknown).
    #[serde(default)]
    pub swap_available_bytes: Option<u64>,
    /// swapUsageBytes.
    #[serde(default)]
    pub swap_usage_bytes: Option<u64>,
}

/// Memory stats block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    /// Sample time.
    #[serde(default)]
    pub time: Option<String>,
    /// availableBytes.
    #[serde(default)]
    pub available_bytes: Option<u64>,
    /// usageBytes.
    #[serde(default)]
    pub usage_bytes: Option<u64>,
    /// workingSetBytes.
    #[serde(default)]
    pub working_set_bytes: Option<u64>,
    /// rssBytes.
    #[serde(default)]
    pub rss_bytes: Option<u64>,
    /// pageFaults.
    #[serde(default)]
    pub page_faults: Option<u64>,
    /// majorPageFaults.
    #[serde(default)]
    pub major_page_faults: Option<u64>,
}

/// A volume entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeStats {
    /// Volume name.
    #[serde(default)]
    pub name: Option<String>,
    /// usedBytes.
    #[serde(default)]
    pub used_bytes: Option<u64>,
    /// capacityBytes.
    #[serde(default)]
    pub capacity_bytes: Option<u64>,
    /// availableBytes.
    #[serde(default)]
    pub available_bytes: Option<u64>,
}

/// Go encodes a nil slice as `null` (`"containers": null` for a pod whose containers
/// are all gone): read it as empty rather than rejecting the whole summary.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Keys that make a top-level object a bare memory block (`jq .node.memory`).
const MEMORY_KEYS: [&str; 4] = [
    "workingSetBytes",
    "usageBytes",
    "availableBytes",
    "rssBytes",
];

/// Parses a summary body; a single PodStats object (a fragment) is accepted as one pod.
///
/// Three shapes are accepted: a full summary (top-level `node` or `pods`), one pod entry
/// (top-level `podRef`) as a summary with that pod, and a bare memory block (top-level
/// `workingSetBytes`/`usageBytes`/`availableBytes`/`rssBytes`, as `jq .node.memory`
/// prints) as a node-only summary. Anything else, and any number that is negative,
/// fractional or beyond `u64`, is a [`super::ParseError::BadFile`] with the position.
pub fn parse_summary(text: &str) -> Result<Summary, super::ParseError> {
    let bad = |reason: String| super::ParseError::BadFile {
        file: "stats/summary".to_string(),
        reason,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Fastest path, one pass: a summary whose `node` or `pods` decode, as the typed
    // decode below would give it. Anything else takes the paths below unchanged.
    if let Ok(seen) = serde_json::from_str::<Seen>(text) {
        if seen.node.is_some() || seen.pods.is_some() {
            return Ok(Summary {
                node: seen.node.flatten(),
                pods: seen.pods.unwrap_or_default(),
            });
        }
    }
    // Fast path: the top-level keys alone, skipping the values without building them
    // (a tree of a 110-pod summary cost as much as the typed decode). Anything odd
    // (not an object, duplicate keys) takes the path below, whose messages users see.
    if let Ok(shape) = serde_json::from_str::<Shape>(text) {
        if shape.node || shape.pods {
            return serde_json::from_str::<Summary>(text).map_err(|e| bad(format!("summary: {e}")));
        }
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(top) = value.as_object() else {
        return Err(bad(format!(
            "expected a JSON object, found {}",
            json_kind(&value)
        )));
    };
    // Decoding from the text (not the Value) keeps line/column in type errors.
    let typed = |what: &str, e: serde_json::Error| bad(format!("{what}: {e}"));
    if top.contains_key("node") || top.contains_key("pods") {
        serde_json::from_str::<Summary>(text).map_err(|e| typed("summary", e))
    } else if top.contains_key("podRef") {
        let pod = serde_json::from_str::<PodStats>(text).map_err(|e| typed("pod entry", e))?;
        Ok(Summary {
            node: None,
            pods: vec![pod],
        })
    } else if MEMORY_KEYS.iter().any(|k| top.contains_key(*k)) {
        let memory =
            serde_json::from_str::<MemoryStats>(text).map_err(|e| typed("memory block", e))?;
        Ok(Summary {
            node: Some(NodeStats {
                memory: Some(memory),
                ..NodeStats::default()
            }),
            pods: Vec::new(),
        })
    } else {
        Err(bad(
            "neither a summary (node/pods), a pod entry (podRef) nor a memory block \
             (workingSetBytes/usageBytes)"
                .to_string(),
        ))
    }
}

/// Which summary keys a JSON object has, values skipped.
#[derive(Deserialize)]
struct Shape {
    #[serde(default, deserialize_with = "present")]
    node: bool,
    #[serde(default, deserialize_with = "present")]
    pods: bool,
}

/// [`Summary`] as it decodes, and whether each of its keys was there at all.
#[derive(Deserialize)]
struct Seen {
    #[serde(default, deserialize_with = "node_seen")]
    node: Option<Option<NodeStats>>,
    #[serde(default, deserialize_with = "pods_seen")]
    pods: Option<Vec<PodStats>>,
}

fn node_seen<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<NodeStats>>, D::Error> {
    Option::<NodeStats>::deserialize(d).map(Some)
}

fn pods_seen<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<PodStats>>, D::Error> {
    null_as_empty(d).map(Some)
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let s = parse_summary(
            r#"{"pods":[{"podRef":{"uid":"u"},"volume":[{"name":"v","usedBytes":1}]}]}"#,
        )
        .unwrap();
        assert_eq!(s.pods[0].volumes[0].used_bytes, Some(1));
        let s = parse_summary("\u{feff}{\"podRef\":{},\"startTime\":null}\r\n").unwrap();
        assert_eq!(s.pods.len(), 1);
        let s = parse_summary(
            r#"{"node":{"systemContainers":null},"pods":[{"podRef":{},"containers":null,"volume":null}]}"#,
        )
        .unwrap();
        assert!(s.pods[0].containers.is_empty() && s.pods[0].volumes.is_empty());
        assert_eq!(
            parse_summary(r#"{"pods":null}"#).unwrap(),
            Summary::default()
        );
        let s = parse_summary(r#"{"usageBytes":18446744073709551615}"#).unwrap();
        assert_eq!(s.node.unwrap().memory.unwrap().usage_bytes, Some(u64::MAX));
    }

    #[test]
    fn pod_ref_fields_stand_alone() {
        let s = parse_summary(r#"{"pods":[{"podRef":{"namespace":"shop","uid":"u"}}]}"#).unwrap();
        let r = s.pods[0].pod_ref.as_ref().unwrap();
        assert_eq!(r.namespace.as_deref(), Some("shop"));
        assert_eq!((r.name.as_deref(), r.uid.as_deref()), (None, Some("u")));
    }

    #[test]
    fn bad_numbers_and_shapes_are_errors() {
        // Nesting beyond serde_json's recursion limit is an error, not a stack overflow.
        let deep = format!(
            "{{\"pods\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        for text in [
            r#"{"usageBytes":18446744073709551616}"#,
            r#"{"usageBytes":-1}"#,
            r#"{"usageBytes":1.5}"#,
            r#"{"usageBytes":NaN}"#,
            r#"{"pods":[{"memory":{"workingSetBytes":-5}}]}"#,
            r#"{"pods":{}}"#,
            "{}",
            "[]",
            "",
            "null",
            &deep,
        ] {
            let err = parse_summary(text).unwrap_err();
            assert!(
                matches!(err, super::super::ParseError::BadFile { .. }),
                "{text}: {err}"
            );
        }
    }
}
