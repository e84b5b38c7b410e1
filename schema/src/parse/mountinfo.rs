//! `/proc/<pid>/mountinfo` → mounts, with octal-escape decoding, and the Kubernetes
//! volume a mount point belongs to.

use super::ParseError;

/// One mountinfo line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount id.
    pub mount_id: u64,
    /// Parent mount id.
    pub parent_id: u64,
    /// `major:minor`.
    pub major_minor: String,
    /// Root of the mount within its filesystem (decoded).
    pub root: String,
    /// Mount point (decoded).
    pub mount_point: String,
    /// Per-mount options.
    pub mount_options: String,
    /// Optional fields (`shared:N`, `master:N`...).
    pub optional: Vec<String>,
    /// Filesystem type.
    pub fs_type: String,
    /// Mount source (decoded).
    pub source: String,
    /// Per-superblock options (may contain commas inside quotes).
    pub super_options: String,
}

impl Mount {
    /// A super option's value (`size` → `Some("65536k")`), honouring quotes.
    ///
    /// Commas inside double quotes do not split options (SELinux `context="a,b"`); the
    /// returned value has its surrounding quotes removed. A flag option without `=`
    /// (`rw`, `forceuid`) gives `Some("")`. The first occurrence wins.
    pub fn super_option(&self, key: &str) -> Option<String> {
        split_options(&self.super_options).find_map(|opt| {
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            (k == key).then(|| unquote(v).to_string())
        })
    }
}

/// Splits a comma-separated option list, keeping commas inside double quotes.
fn split_options(options: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(options);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut in_quotes = false;
        for (i, c) in s.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
    .filter(|o| !o.is_empty())
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// A Kubernetes pod volume a path names: `.../pods/<uid>/volumes/<plugin>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodVolume {
    /// Canonical pod UID.
    pub pod_uid: String,
    /// Plugin without the `kubernetes.io~` prefix (`empty-dir`, `secret`, `projected`).
    pub plugin: String,
    /// Volume name.
    pub name: String,
}

/// Parses a mountinfo file; returns the mounts and one error per malformed line.
///
/// Fields are separated by single spaces up to the ` - ` separator; the kernel escapes
/// spaces, tabs, newlines and backslashes in paths (`\040`...), but not in the
/// super options, which may hold raw spaces (CIFS `unc=\\srv\A B`): everything after
/// the source is the super options. Blank lines are ignored.
pub fn parse_mountinfo(text: &str) -> (Vec<Mount>, Vec<ParseError>) {
    let mut mounts = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, i + 1) {
            Ok(m) => mounts.push(m),
            Err(e) => errors.push(e),
        }
    }
    (mounts, errors)
}

/// One mountinfo line (`number` counts from 1, for the error).
fn parse_line(line: &str, number: usize) -> Result<Mount, ParseError> {
    let bad = |reason: String| ParseError::BadLine {
        file: "mountinfo".to_string(),
        line: number,
        reason,
    };
    let fields: Vec<&str> = line.split(' ').collect();
    if fields.len() < 10 {
        return Err(bad(format!(
            "{} fields, a mount has at least 10",
            fields.len()
        )));
    }
    let id = |s: &str, what: &str| {
        s.parse::<u64>().map_err(|_| {
            bad(format!(
                "{what} {:?} is not a number",
                super::memory_stat::truncate(s, 40)
            ))
        })
    };
    let mount_id = id(fields[0], "mount id")?;
    let parent_id = id(fields[1], "parent id")?;
    let major_minor = fields[2];
    let valid_dev = major_minor.split_once(':').is_some_and(|(ma, mi)| {
        [ma, mi]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if !valid_dev {
        return Err(bad(format!(
            "major:minor {:?} is not two numbers",
            super::memory_stat::truncate(major_minor, 40)
        )));
    }
    let sep = fields[6..]
        .iter()
        .position(|f| *f == "-")
        .map(|p| p + 6)
        .ok_or_else(|| bad("no ` - ` separator before the filesystem type".to_string()))?;
    if fields.len() < sep + 3 {
        return Err(bad(
            "filesystem type or source missing after ` - `".to_string()
        ));
    }
    let fs_type = fields[sep + 1];
    if fs_type.is_empty() {
        return Err(bad("empty filesystem type".to_string()));
    }
    Ok(Mount {
        mount_id,
        parent_id,
        major_minor: major_minor.to_string(),
        root: decode_octal(fields[3]),
        mount_point: decode_octal(fields[4]),
        mount_options: fields[5].to_string(),
        optional: fields[6..sep].iter().map(|s| s.to_string()).collect(),
        fs_type: fs_type.to_string(),
        source: decode_octal(fields[sep + 2]),
        super_options: fields[sep + 3..].join(" "),
    })
}

/// Decodes the kernel's `\ooo` escapes (`\040` space, `\011` tab, `\012` newline,
/// `\134` backslash); anything else is kept as is.
pub fn decode_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pod volume a mount point belongs to, whatever the kubelet root dir.
///
/// Only the volume directory itself matches (`.../volumes/kubernetes.io~<plugin>/<name>`,
/// trailing slash allowed), plus CSI's `.../kubernetes.io~csi/<name>/mount`; deeper
/// paths and `volume-subpaths` bind mounts do not. The UID must be a UUID (dashes or
/// underscores) or a 32-hex static-pod hash.
pub fn pod_volume(mount_point: &str) -> Option<PodVolume> {
    let mut parts: Vec<&str> = mount_point.split('/').filter(|p| !p.is_empty()).collect();
    if parts.last() == Some(&"mount")
        && parts.len() >= 3
        && parts[parts.len() - 3] == "kubernetes.io~csi"
    {
        parts.pop();
    }
    let [.., pods, uid, volumes, plugin, name] = parts.as_slice() else {
        return None;
    };
    if *pods != "pods" || *volumes != "volumes" {
        return None;
    }
    let plugin = plugin.strip_prefix("kubernetes.io~")?;
    if plugin.is_empty() {
        return None;
    }
    Some(PodVolume {
        pod_uid: super::canonical_pod_uid(uid)?,
        plugin: plugin.to_string(),
        name: name.to_string(),
    })
}

/// Parses a tmpfs `size=` value (`65536k`, `1g`, `104857600`, `50%` → None) into bytes.
///
/// Suffixes are binary and case-insensitive (`k m g t p e`, as the kernel's `memparse`);
/// overflow or anything else is `None`.
pub fn parse_size_option(value: &str) -> Option<u64> {
    let value = value.trim();
    let digits_end = value
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(value.len());
    if digits_end == 0 {
        return None;
    }
    let n: u64 = value[..digits_end].parse().ok()?;
    let shift = match value[digits_end..].to_ascii_lowercase().as_str() {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        "e" => 60,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes() {
        assert_eq!(decode_octal(r"a\040b\011c\012d\134e"), "a b\tc\nd\\e");
        assert_eq!(decode_octal(r"\\foo\BLA"), r"\\foo\BLA");
        assert_eq!(decode_octal(r"end\04"), r"end\04");
        assert_eq!(decode_octal(r"\777x"), r"\777x");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size_option("65536k"), Some(65536 * 1024));
        assert_eq!(parse_size_option("1G"), Some(1 << 30));
        assert_eq!(parse_size_option("104857600"), Some(104_857_600));
        assert_eq!(parse_size_option("50%"), None);
        assert_eq!(parse_size_option("k"), None);
        assert_eq!(parse_size_option("1kb"), None);
        assert_eq!(parse_size_option("99999999999e"), None);
    }

    #[test]
    fn volumes() {
        let v = pod_volume(
            "/var/lib/k0s/kubelet/pods/22697648_cc63_47d6_ba97_FE420988dfc1/volumes/kubernetes.io~empty-dir/cache/",
        )
        .unwrap();
        assert_eq!(v.pod_uid, "22697648-cc63-47d6-ba97-fe420988dfc1");
        assert_eq!((v.plugin.as_str(), v.name.as_str()), ("empty-dir", "cache"));
        let csi = pod_volume(
            "/var/lib/kubelet/pods/22697648-cc63-47d6-ba97-fe420988dfc1/volumes/kubernetes.io~csi/secrets/mount",
        )
        .unwrap();
        assert_eq!((csi.plugin.as_str(), csi.name.as_str()), ("csi", "secrets"));
        assert!(pod_volume(
            "/var/lib/kubelet/pods/22697648-cc63-47d6-ba97-fe420988dfc1/volumes/kubernetes.io~empty-dir/cache/sub"
        )
        .is_none());
        assert!(pod_volume(
            "/var/lib/kubelet/pods/22697648-cc63-47d6-ba97-fe420988dfc1/volumes/empty-dir/cache"
        )
        .is_none());
    }

    #[test]
    fn quoted_options() {
        let (m, e) = parse_mountinfo(
            "1 0 0:1 / /x rw - tmpfs tmpfs rw,context=\"a:b:s0:c1,c2\",size=1g,mode=755,rw2",
        );
        assert!(e.is_empty());
        assert_eq!(
            m[0].super_option("context").as_deref(),
            Some("a:b:s0:c1,c2")
        );
        assert_eq!(m[0].super_option("size").as_deref(), Some("1g"));
        assert_eq!(m[0].super_option("rw").as_deref(), Some(""));
        assert_eq!(m[0].super_option("c2"), None);
    }
}
