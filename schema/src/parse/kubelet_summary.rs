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
    #[serde(default)]
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
}

/// A pod entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStats {
    /// Name, namespace, uid.
    #[serde(default)]
    pub pod_ref: Option<PodRef>,
    /// Containers.
    #[serde(default)]
    pub containers: Vec<ContainerStats>,
    /// Pod memory (from the pod cgroup).
    #[serde(default)]
    pub memory: Option<MemoryStats>,
    /// Volumes.
    #[serde(default, rename = "volume")]
    pub volumes: Vec<VolumeStats>,
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
    /// Container memory.
    #[serde(default)]
    pub memory: Option<MemoryStats>,
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

/// Parses a summary body; a single PodStats object (a fragment) is accepted as one pod.
pub fn parse_summary(text: &str) -> Result<Summary, super::ParseError> {
    let _ = text;
    todo!("parser helper implements")
}
