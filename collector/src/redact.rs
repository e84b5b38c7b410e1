//! `--redact KEYFILE`: replaces pod, namespace, container and volume names, the node
//! name and the hostname with stable keyed hashes everywhere they appear in a snapshot,
//! so an archive can leave the customer without naming their workloads.
//!
//! A name becomes `r-<12 hex>`: the first 6 bytes of HMAC-SHA256(key, name). The hash
//! does not depend on where the name was found (summary, `/var/log/pods`, mountinfo,
//! journal line), so every place still agrees and the analyzer's cross-checks work; the
//! same key gives the same hashes across snapshots and nodes. Pod UIDs, container ids,
//! cgroup paths, numbers and process names (`comm`, needed to say what was killed) are
//! kept. The key (32 random bytes, hex, mode 0600, created when missing) and the mapping
//! file (`<KEYFILE>.map.json`, hash → original) stay on the node: neither is ever read
//! into an archive.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use podmem_schema::parse::mountinfo::pod_volume;
use podmem_schema::snapshot::{
    Manifest, TmpfsUsage, LOG_PODS_ENTRY, MOUNTINFO_ENTRY, SUMMARY_ENTRY, TMPFS_ENTRY,
};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::kernel_log::{JOURNAL_ENTRY, KMSG_ENTRY, NODE_EVENTS_ENTRY, SYSLOG_ENTRY};

/// Prefix of every redacted name.
pub const PREFIX: &str = "r-";

/// Key length in bytes.
const KEY_LEN: usize = 32;

/// A key file or mapping file problem, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The key file could not be read or created.
    #[error("{}: redaction key: {source}", path.display())]
    Io {
        /// Key or mapping file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The key file holds something other than 64 hex digits.
    #[error("{}: redaction key must be {} hex digits on one line ({reason})", path.display(), KEY_LEN * 2)]
    BadKey {
        /// Key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: HexError,
    },
    /// The mapping file exists but is not a JSON object of strings (it is never
    /// overwritten then, so no mapping is lost).
    #[error("{}: redaction mapping is not a JSON object of strings: {reason}", path.display())]
    BadMapping {
        /// Mapping file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
}

/// What is wrong with a key file's text.
#[derive(Debug, thiserror::Error)]
pub enum HexError {
    /// Not 64 characters.
    #[error("found {0} characters")]
    Length(usize),
    /// A character that is not a hex digit (1-based position of its pair).
    #[error("not hex at character {0}")]
    NotHex(usize),
}

/// Why an archive entry cannot be redacted, so is not kept.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The kubelet summary is not JSON.
    #[error("not JSON ({0}), so its names cannot be redacted: not kept (--redact)")]
    SummaryNotJson(#[source] serde_json::Error),
    /// The tmpfs list is not the collector's JSON.
    #[error("tmpfs list unreadable ({0}): not kept (--redact)")]
    TmpfsUnreadable(#[source] serde_json::Error),
    /// Writing the redacted JSON back failed.
    #[error("{0}")]
    Serialize(#[source] serde_json::Error),
}

/// The loaded redaction key and where its mapping file goes.
#[derive(Clone)]
pub struct RedactKey {
    key: hmac::Key,
    /// The key file.
    pub path: PathBuf,
    /// Whether this run created the key file.
    pub created: bool,
    /// Why the key file is at risk (readable by group or others), when it is.
    pub warning: Option<String>,
}

impl std::fmt::Debug for RedactKey {
    // The key bytes never reach a log line or a panic message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedactKey {
    /// A key from raw bytes (tests and tools).
    pub fn from_bytes(bytes: &[u8], path: PathBuf) -> Self {
        RedactKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            path,
            created: false,
            warning: None,
        }
    }

    /// The mapping file next to the key: `<KEYFILE>.map.json`.
    pub fn mapping_path(&self) -> PathBuf {
        mapping_path(&self.path)
    }

    /// `r-<12 hex>` of a name under this key.
    pub fn hash(&self, name: &str) -> String {
        let tag = hmac::sign(&self.key, name.as_bytes());
        let mut s = String::with_capacity(PREFIX.len() + 12);
        s.push_str(PREFIX);
        for b in &tag.as_ref()[..6] {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// The mapping file of a key file: `<KEYFILE>.map.json`.
pub fn mapping_path(key_file: &Path) -> PathBuf {
    let mut s = key_file.as_os_str().to_owned();
    s.push(".map.json");
    PathBuf::from(s)
}

/// Reads the key file, or creates it (32 random bytes as hex, mode 0600) when missing.
pub fn load_or_create_key(path: &Path) -> Result<RedactKey, RedactError> {
    let io_err = |source| RedactError::Io {
        path: path.to_path_buf(),
        source,
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            let bytes = decode_hex(text.trim()).map_err(|reason| RedactError::BadKey {
                path: path.to_path_buf(),
                reason,
            })?;
            let mut k = RedactKey::from_bytes(&bytes, path.to_path_buf());
            k.warning = loose_mode(path);
            Ok(k)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut bytes = [0u8; KEY_LEN];
            SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| io_err(io::Error::other("no system randomness")))?;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            // create_new: two runs racing to create the key both end up with the winner's.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(mut f) => {
                    f.write_all(format!("{hex}\n").as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(io_err)?;
                    let mut k = RedactKey::from_bytes(&bytes, path.to_path_buf());
                    k.created = true;
                    Ok(k)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load_or_create_key(path),
                Err(e) => Err(io_err(e)),
            }
        }
        Err(e) => Err(io_err(e)),
    }
}

/// A warning when the key file can be read by group or others: whoever reads it can
/// check guessed names against the hashes.
fn loose_mode(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then(|| {
        format!(
            "redaction key {} is readable by others (mode {mode:04o}): whoever can read it can check guessed names against the hashes; chmod 600 it",
            path.display()
        )
    })
}

fn decode_hex(s: &str) -> Result<Vec<u8>, HexError> {
    if s.len() != KEY_LEN * 2 {
        return Err(HexError::Length(s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(HexError::NotHex(i + 1))
        })
        .collect()
}

/// Reads a mapping file (hash → original); an absent file is an empty mapping.
pub fn read_mapping(path: &Path) -> Result<BTreeMap<String, String>, RedactError> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| RedactError::BadMapping {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(RedactError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Adds `names` to the mapping file (mode 0600, replaced atomically); returns how many
/// hashes were new.
pub fn merge_mapping(path: &Path, names: &BTreeMap<String, String>) -> Result<usize, RedactError> {
    let mut map = read_mapping(path)?;
    let before = map.len();
    for (h, n) in names {
        map.entry(h.clone()).or_insert_with(|| n.clone());
    }
    let added = map.len() - before;
    if added == 0 && path.exists() {
        return Ok(0);
    }
    let io_err = |source| RedactError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let json = serde_json::to_vec_pretty(&map).map_err(|e| io_err(io::Error::other(e)))?;
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(e)
    })?;
    Ok(added)
}

/// Markers of an object dump (a pod or container spec printed by a verbose kubelet or
/// runtime), which can hold environment values, commands and arguments.
const SPEC_DUMP_MARKERS: &[&str] = &[
    "Env:[",
    "EnvFrom:[",
    "Command:[",
    "Args:[",
    "\"env\":",
    "\"command\":",
    "\"args\":",
    "&Container{",
    "PodSpec{",
];

/// Longest node-event line kept: real event lines are far shorter; longer ones are
/// object dumps.
const MAX_EVENT_LINE: usize = 2048;

/// Node-event journal lines without the ones that could carry environment values or
/// command lines (spec dumps, over-long lines); returns the kept text and how many
/// lines were dropped. Applied with and without `--redact`: nothing of the environment
/// is ever kept.
pub fn drop_spec_dumps(data: &[u8]) -> (Vec<u8>, usize) {
    let text = String::from_utf8_lossy(data);
    let mut out = String::with_capacity(text.len());
    let mut dropped = 0;
    for line in text.split_inclusive('\n') {
        if line.len() > MAX_EVENT_LINE || SPEC_DUMP_MARKERS.iter().any(|m| line.contains(m)) {
            dropped += 1;
        } else {
            out.push_str(line);
        }
    }
    (out.into_bytes(), dropped)
}

/// A URL without `user:password@`, for the manifest and messages.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The mountinfo escaping of a path: space, tab, newline and backslash as octal.
fn encode_octal(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => o.push_str("\\040"),
            '\t' => o.push_str("\\011"),
            '\n' => o.push_str("\\012"),
            '\\' => o.push_str("\\134"),
            c => o.push(c),
        }
    }
    o
}

/// Redacts one snapshot: hashes names as it meets them and remembers them for the
/// mapping file.
#[derive(Debug)]
pub struct Redactor {
    key: RedactKey,
    /// hash → original, for the mapping file.
    names: BTreeMap<String, String>,
    /// original → hash of every name met, for free text (node events).
    known: HashMap<String, String>,
    /// Node name and hostname (short and long), replaced in kernel-log lines.
    hosts: HashSet<String>,
}

impl Redactor {
    /// A redactor with `key`.
    pub fn new(key: RedactKey) -> Self {
        Redactor {
            key,
            names: BTreeMap::new(),
            known: HashMap::new(),
            hosts: HashSet::new(),
        }
    }

    /// Names hashed so far: hash → original.
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }

    /// The hash of `name`, remembered. Empty names stay empty.
    pub fn name(&mut self, name: &str) -> String {
        if name.is_empty() {
            return String::new();
        }
        if let Some(h) = self.known.get(name) {
            return h.clone();
        }
        // Already one of our hashes (the node name is hashed first thing): kept, so
        // no name is ever hashed twice.
        if self.names.contains_key(name) {
            return name.to_string();
        }
        let h = self.key.hash(name);
        self.names.insert(h.clone(), name.to_string());
        self.known.insert(name.to_string(), h.clone());
        h
    }

    /// The hash of a node or host name, also remembered as a host to replace in kernel
    /// lines (with its first label, the short hostname).
    pub fn host(&mut self, name: &str) -> String {
        if name.is_empty() {
            return String::new();
        }
        self.hosts.insert(name.to_string());
        if let Some((short, _)) = name.split_once('.') {
            if !short.is_empty() {
                self.hosts.insert(short.to_string());
                self.name(short);
            }
        }
        self.name(name)
    }

    /// Redacts one archive entry by its name; entries that hold no names pass through.
    /// Err (with why) when the entry cannot be redacted and must not be kept.
    pub fn entry(&mut self, entry: &str, data: Vec<u8>) -> Result<Vec<u8>, EntryError> {
        match entry {
            SUMMARY_ENTRY => self.summary(&data),
            TMPFS_ENTRY => self.tmpfs(&data),
            LOG_PODS_ENTRY => Ok(self.log_pods(&String::from_utf8_lossy(&data)).into_bytes()),
            MOUNTINFO_ENTRY => Ok(self.lines(&data, |r, l| r.mountinfo_line(l))),
            KMSG_ENTRY | JOURNAL_ENTRY | SYSLOG_ENTRY => {
                Ok(self.lines(&data, |r, l| r.kernel_line(l)))
            }
            NODE_EVENTS_ENTRY => {
                // Every line first, so a name learned from a later line's klog value is
                // also replaced in the lines before it.
                let learned = self.lines(&data, |r, l| r.event_line_structured(l));
                Ok(self.lines(&learned, |r, l| r.words(l, true)))
            }
            _ => Ok(data),
        }
    }

    fn lines(&mut self, data: &[u8], mut f: impl FnMut(&mut Self, &str) -> String) -> Vec<u8> {
        let text = String::from_utf8_lossy(data);
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, nl) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            out.push_str(&f(self, body));
            out.push_str(nl);
        }
        out.into_bytes()
    }

    /// The kubelet summary with node, pod, namespace, container, volume and PVC names
    /// hashed; everything else as the kubelet sent it (re-serialized).
    pub fn summary(&mut self, data: &[u8]) -> Result<Vec<u8>, EntryError> {
        let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
        let mut v: serde_json::Value =
            serde_json::from_slice(data).map_err(EntryError::SummaryNotJson)?;
        let mut hash = |v: Option<&mut serde_json::Value>, host: bool| {
            if let Some(serde_json::Value::String(s)) = v {
                *s = if host { self.host(s) } else { self.name(s) };
            }
        };
        hash(v.pointer_mut("/node/nodeName"), true);
        // A full summary's pods, or a saved fragment that is one pod entry.
        let pods: Vec<&mut serde_json::Value> = if v.get("podRef").is_some() {
            vec![&mut v]
        } else {
            v.get_mut("pods")
                .and_then(|p| p.as_array_mut())
                .map(|p| p.iter_mut().collect())
                .unwrap_or_default()
        };
        for pod in pods {
            hash(pod.pointer_mut("/podRef/name"), false);
            hash(pod.pointer_mut("/podRef/namespace"), false);
            for key in ["containers", "volume"] {
                for c in pod
                    .get_mut(key)
                    .and_then(|c| c.as_array_mut())
                    .into_iter()
                    .flatten()
                {
                    hash(c.get_mut("name"), false);
                    hash(c.pointer_mut("/pvcRef/name"), false);
                    hash(c.pointer_mut("/pvcRef/namespace"), false);
                }
            }
        }
        serde_json::to_vec_pretty(&v).map_err(EntryError::Serialize)
    }

    /// `tmpfs.json` with pod volume names hashed (in `volume` and the mount point).
    pub fn tmpfs(&mut self, data: &[u8]) -> Result<Vec<u8>, EntryError> {
        let mut list: Vec<TmpfsUsage> =
            serde_json::from_slice(data).map_err(EntryError::TmpfsUnreadable)?;
        for t in &mut list {
            if pod_volume(&t.mount_point).is_some() {
                t.volume = self.name(&t.volume);
            }
            // One path, decoded: a name holding a space or `=` is hashed whole.
            let mp = self.pod_path(&t.mount_point);
            t.mount_point = self.words(&mp, false);
            if let Some(e) = t.error.take() {
                t.error = Some(self.paths_and_hosts(&e));
            }
        }
        serde_json::to_vec_pretty(&list).map_err(EntryError::Serialize)
    }

    /// `logs/pods.txt`: `<ns>_<name>_<uid>/<container>/<n>.log` with namespace, pod and
    /// container hashed; the UID and the restart-count file name kept.
    pub fn log_pods(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            let parts: Vec<String> = line
                .split('/')
                .enumerate()
                .map(|(i, p)| match i {
                    0 => match (p.find('_'), p.rfind('_')) {
                        (Some(a), Some(b)) if a < b => format!(
                            "{}_{}_{}",
                            self.name(&p[..a]),
                            self.name(&p[a + 1..b]),
                            &p[b + 1..]
                        ),
                        _ => self.name(p),
                    },
                    1 => self.name(p),
                    // Log files are `<restart count>.log[.<date>[.gz]]`: kept.
                    _ if p.starts_with(|c: char| c.is_ascii_digit()) => p.to_string(),
                    _ => self.name(p),
                })
                .collect();
            out.push_str(&parts.join("/"));
            out.push('\n');
        }
        out
    }

    /// A `/proc/<pid>/mountinfo` line: fields are separated by single spaces and a
    /// space, tab, newline or backslash inside a path is an octal escape (`\040`), so
    /// each field holding a kubelet pod path is decoded, its names hashed whole (a
    /// volume called `my data=1` is one name), and encoded again; then host names.
    pub fn mountinfo_line(&mut self, line: &str) -> String {
        let fields: Vec<String> = line
            .split(' ')
            .map(|f| {
                if !f.contains("pods/") {
                    return f.to_string();
                }
                let decoded = podmem_schema::parse::mountinfo::decode_octal(f);
                encode_octal(&self.pod_path(&decoded))
            })
            .collect();
        self.words(&fields.join(" "), false)
    }

    /// A line of free text that may hold host paths: names in kubelet pod directories
    /// (`pods/<uid>/volumes/<plugin>/<name>`, `volume-subpaths/<name>/<container>`,
    /// `containers/<name>`) and the node and host names as whole words are hashed.
    pub fn paths_and_hosts(&mut self, line: &str) -> String {
        let line = self.pod_paths(line);
        self.words(&line, false)
    }

    fn pod_paths(&mut self, line: &str) -> String {
        if !line.contains("pods/") {
            return line.to_string();
        }
        // Paths end at blanks, option separators and quotes.
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while !rest.is_empty() {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '=' | '"' | '\''))
                .unwrap_or(rest.len());
            let (tok, tail) = rest.split_at(end);
            if tok.contains("pods/") {
                out.push_str(&self.pod_path(tok));
            } else {
                out.push_str(tok);
            }
            let sep_len = tail.chars().next().map_or(0, char::len_utf8);
            out.push_str(&tail[..sep_len]);
            rest = &tail[sep_len..];
        }
        out
    }

    fn pod_path(&mut self, path: &str) -> String {
        let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
        let mut i = 0;
        while i + 2 < parts.len() {
            if parts[i] != "pods" {
                i += 1;
                continue;
            }
            // parts[i + 1] is the pod UID (kept).
            let j = i + 2;
            match parts[j].as_str() {
                "volumes" if j + 2 < parts.len() => {
                    parts[j + 2] = self.name(&parts[j + 2].clone());
                }
                "volume-subpaths" => {
                    for k in [j + 1, j + 2] {
                        if k < parts.len() {
                            parts[k] = self.name(&parts[k].clone());
                        }
                    }
                }
                "containers" if j + 1 < parts.len() => {
                    parts[j + 1] = self.name(&parts[j + 1].clone());
                }
                _ => {}
            }
            i = j;
        }
        parts.join("/")
    }

    /// Whole words (runs of letters, digits, `.`, `-`) equal to a host name, or with
    /// `all`, to any name met so far, replaced by their hash.
    fn words(&mut self, line: &str, all: bool) -> String {
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while !rest.is_empty() {
            let start = rest.find(is_word).unwrap_or(rest.len());
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            let word = &rest[..end];
            // A sentence's full stop is not part of the name.
            let core = word.trim_end_matches('.');
            let hit = if all {
                self.known.get(core).cloned()
            } else {
                self.hosts.contains(core).then(|| self.name(core))
            };
            match hit {
                Some(h) if !core.is_empty() => {
                    out.push_str(&h);
                    out.push_str(&word[core.len()..]);
                }
                _ => out.push_str(word),
            }
            rest = &rest[end..];
        }
        out
    }

    /// The host field of a syslog (`Mmm dd hh:mm:ss HOST ident:`) or journal
    /// (`<ISO time> HOST ident:`) line, by position, whatever it holds.
    fn host_field(&mut self, line: &str) -> Option<String> {
        let toks: Vec<(usize, &str)> = line
            .split(' ')
            .scan(0usize, |pos, t| {
                let at = *pos;
                *pos += t.len() + 1;
                Some((at, t))
            })
            .filter(|(_, t)| !t.is_empty())
            .take(6)
            .collect();
        let bsd = toks.len() >= 5
            && toks[0].1.len() == 3
            && toks[0].1.chars().all(|c| c.is_ascii_alphabetic())
            && toks[1].1.chars().all(|c| c.is_ascii_digit())
            && toks[2].1.len() >= 8
            && toks[2].1.as_bytes()[2] == b':';
        let iso = toks.len() >= 3
            && toks[0].1.len() >= 19
            && toks[0].1.as_bytes()[4] == b'-'
            && toks[0].1.as_bytes()[10] == b'T';
        let idx = if bsd {
            3
        } else if iso {
            1
        } else {
            return None;
        };
        let (at, host) = *toks.get(idx)?;
        let ident = toks.get(idx + 1)?.1;
        if !ident.ends_with(':') || host.starts_with(PREFIX) && host.len() == PREFIX.len() + 12 {
            return None;
        }
        let h = self.host(host);
        Some(format!("{}{h}{}", &line[..at], &line[at + host.len()..]))
    }

    /// A kernel-log line: the host field and the node and host names hashed; process
    /// names and memcg paths kept (they are what the analyzer explains).
    pub fn kernel_line(&mut self, line: &str) -> String {
        let line = self.host_field(line).unwrap_or_else(|| line.to_string());
        self.words(&line, false)
    }

    /// A kubelet or runtime journal line: the host field, klog values naming pods,
    /// namespaces, containers and volumes, pod paths, then every name met so far.
    pub fn event_line(&mut self, line: &str) -> String {
        let line = self.event_line_structured(line);
        self.words(&line, true)
    }

    /// The structured part of [`Redactor::event_line`], which learns names.
    fn event_line_structured(&mut self, line: &str) -> String {
        let line = self.host_field(line).unwrap_or_else(|| line.to_string());
        let line = self.klog_values(&line);
        let line = self.pod_paths(&line);
        self.words(&line, false)
    }

    /// klog structured values: `pod="ns/name"`, `pods=["ns/a" "ns/b"]`, `podName="x"`,
    /// `namespace="x"`, `containerName="x"`, `volumeName="x"`, `node="x"`.
    fn klog_values(&mut self, line: &str) -> String {
        const KEYS: [&str; 9] = [
            "pod=",
            "pods=",
            "podName=",
            "namespace=",
            "containerName=",
            "container=",
            "volumeName=",
            "volume=",
            "node=",
        ];
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some((at, key)) = KEYS
            .iter()
            .filter_map(|k| {
                // A key starts the line or follows a blank.
                let mut from = 0;
                while let Some(p) = rest[from..].find(k) {
                    let p = from + p;
                    if p == 0 || rest[..p].ends_with([' ', '\t', '{', ',']) {
                        return Some((p, *k));
                    }
                    from = p + 1;
                }
                None
            })
            .min()
        {
            let vstart = at + key.len();
            out.push_str(&rest[..vstart]);
            rest = &rest[vstart..];
            // The value: a quoted string, a bracketed list of them, or a bare word.
            let end = if rest.starts_with('[') {
                rest.find(']').map_or(rest.len(), |e| e + 1)
            } else if let Some(q) = rest.strip_prefix('"') {
                q.find('"').map_or(rest.len(), |e| e + 2)
            } else {
                rest.find(char::is_whitespace).unwrap_or(rest.len())
            };
            let value = &rest[..end];
            let mut v = String::with_capacity(value.len());
            let mut word = String::new();
            for c in value.chars() {
                if matches!(c, '"' | '[' | ']' | '/' | ' ' | ',') {
                    if !word.is_empty() {
                        v.push_str(&self.name(&word));
                        word.clear();
                    }
                    v.push(c);
                } else {
                    word.push(c);
                }
            }
            if !word.is_empty() {
                v.push_str(&self.name(&word));
            }
            out.push_str(&v);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    /// The manifest: node and hostname hashed, host and pod paths in origins, messages
    /// and options redacted, and `redacted: true`. Call after every entry went through
    /// [`Redactor::entry`], so the names they held are known.
    pub fn manifest(&mut self, m: &mut Manifest) {
        m.node = self.host(&m.node);
        m.hostname = self.host(&m.hostname);
        for s in &mut m.sources {
            s.origin = self.paths_and_hosts(&s.origin);
            if let Some(msg) = s.message.take() {
                s.message = Some(self.paths_and_hosts(&msg));
            }
        }
        for v in m.options.values_mut() {
            *v = self.paths_and_hosts(v);
        }
        m.cgroup.root = self.paths_and_hosts(&m.cgroup.root);
        m.redacted = Some(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red() -> Redactor {
        Redactor::new(RedactKey::from_bytes(&[7u8; 32], PathBuf::from("k")))
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let k = RedactKey::from_bytes(b"Jefe", PathBuf::new());
        assert_eq!(k.hash("what do ya want for nothing?"), "r-5bdcc146bf60");
    }

    #[test]
    fn same_name_same_hash_everywhere() {
        let mut r = red();
        let a = r.name("cache-7d9f8b6c5-x2x4q");
        assert!(a.starts_with("r-") && a.len() == 14, "{a}");
        assert_eq!(r.name("cache-7d9f8b6c5-x2x4q"), a);
        assert_ne!(r.name("cache-7d9f8b6c5-x2x4r"), a);
        assert_eq!(r.name(""), "");
        assert_eq!(r.name(&a), a, "a hash is never hashed again");
        assert_eq!(r.names()[&a], "cache-7d9f8b6c5-x2x4q");
    }

    #[test]
    fn log_pods_keep_uid_and_restart_files() {
        let mut r = red();
        let out = r.log_pods(
            "shop_cache-1_8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02/app/1.log\nshop_cache-1_8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02/app/0.log.20261128-040000.gz\n",
        );
        let (shop, cache, app) = (r.name("shop"), r.name("cache-1"), r.name("app"));
        assert_eq!(
            out,
            format!("{shop}_{cache}_8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02/{app}/1.log\n{shop}_{cache}_8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02/{app}/0.log.20261128-040000.gz\n")
        );
        let parsed = podmem_schema::parse::log_pods::parse_log_pods(&out);
        assert_eq!(parsed[0].name, cache);
        assert_eq!(parsed[0].namespace, shop);
    }

    #[test]
    fn mountinfo_volume_names_hashed_uid_kept() {
        let mut r = red();
        let uid = "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02";
        let line = format!("612 29 0:77 / /var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/cache rw,relatime - tmpfs tmpfs rw,size=65536k");
        let out = r.paths_and_hosts(&line);
        let cache = r.name("cache");
        assert!(
            out.contains(&format!(
                "/pods/{uid}/volumes/kubernetes.io~empty-dir/{cache} rw"
            )),
            "{out}"
        );
        let (m, _) = podmem_schema::parse::mountinfo::parse_mountinfo(&out);
        let v = pod_volume(&m[0].mount_point).unwrap();
        assert_eq!((v.pod_uid.as_str(), v.name.as_str()), (uid, cache.as_str()));
        let sub = r.paths_and_hosts(&format!("/var/lib/kubelet/pods/{uid}/volume-subpaths/conf/web/0 /var/lib/kubelet/pods/{uid}/containers/web/abc"));
        let (conf, web) = (r.name("conf"), r.name("web"));
        assert_eq!(
            sub,
            format!("/var/lib/kubelet/pods/{uid}/volume-subpaths/{conf}/{web}/0 /var/lib/kubelet/pods/{uid}/containers/{web}/abc")
        );
    }

    /// Issue 13, hole 6: only the part of a name before a space or `=` was hashed in
    /// mountinfo (where the space is `\040`) and in tmpfs.json.
    #[test]
    fn names_with_spaces_and_equals_are_hashed_whole() {
        let mut r = red();
        let uid = "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02";
        for name in ["my data", "key=value", "a b=c\\d"] {
            let enc = encode_octal(name);
            let line = format!("612 29 0:77 / /var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/{enc} rw,relatime - tmpfs tmpfs rw,size=65536k");
            let out = r.mountinfo_line(&line);
            let h = r.name(name);
            assert!(
                out.contains(&format!("kubernetes.io~empty-dir/{h} rw,relatime")),
                "{name}: {out}"
            );
            for part in name.split([' ', '=', '\\']) {
                assert!(
                    !out.contains(part) || part.len() < 2,
                    "{name}: {part} left in {out}"
                );
            }
            let (m, _) = podmem_schema::parse::mountinfo::parse_mountinfo(&out);
            assert_eq!(pod_volume(&m[0].mount_point).unwrap().name, h);

            let tmpfs = serde_json::to_vec(&vec![TmpfsUsage {
                pod_uid: uid.into(),
                volume: name.into(),
                plugin: "kubernetes.io~empty-dir".into(),
                mount_point: format!(
                    "/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/{name}"
                ),
                size_option: None,
                total_bytes: Some(1),
                used_bytes: Some(1),
                error: None,
            }])
            .unwrap();
            let out = String::from_utf8(r.tmpfs(&tmpfs).unwrap()).unwrap();
            assert!(out.contains(&format!("empty-dir/{h}\"")), "{out}");
            for part in name.split([' ', '=', '\\']).filter(|p| p.len() >= 2) {
                assert!(!out.contains(part), "{name}: {part} left in {out}");
            }
        }
    }

    #[test]
    fn kernel_lines_hash_the_host_field_only() {
        let mut r = red();
        r.host("node-v2.example.internal");
        let h = r.name("node-v2");
        let line = "Nov 28 04:10:02 node-v2 kernel: [776543.100001] java invoked oom-killer: gfp_mask=0xcc0";
        assert_eq!(
            r.kernel_line(line),
            format!("Nov 28 04:10:02 {h} kernel: [776543.100001] java invoked oom-killer: gfp_mask=0xcc0")
        );
        let other = r.kernel_line("2026-11-28T04:10:02.123456+0000 ip-10-1-2-3 kernel: Memory cgroup out of memory: Killed process 1 (java)");
        let ip = r.name("ip-10-1-2-3");
        assert!(other.starts_with(&format!("2026-11-28T04:10:02.123456+0000 {ip} kernel: Memory cgroup out of memory: Killed process 1 (java)")), "{other}");
        // kmsg records and lines without a host field are left alone.
        let k = "6,1234,776543100001,-;java invoked oom-killer: gfp_mask=0xcc0";
        assert_eq!(r.kernel_line(k), k);
    }

    #[test]
    fn node_events_hash_klog_values_and_known_names() {
        let mut r = red();
        r.name("cache-1");
        let line = r#"2026-11-28T04:10:03.000000+0000 node-v2 kubelet[901]: I1128 "Killing container" pod="shop/web-0" podUID="8a2b" containerName="app" cache-1 restarted"#;
        let out = r.event_line(line);
        for n in ["node-v2", "shop", "web-0", "app", "cache-1"] {
            assert!(
                !out.contains(&format!("{n} ")) && !out.contains(&format!("{n}\"")),
                "{n}: {out}"
            );
        }
        assert!(
            out.contains("podUID=\"8a2b\"") && out.contains("\"Killing container\""),
            "{out}"
        );
        let list = r.event_line(r#"kubelet: SyncLoop DELETE pods=["shop/web-0" "shop/web-1"]"#);
        assert_eq!(
            list,
            format!(
                "kubelet: SyncLoop DELETE pods=[\"{}/{}\" \"{}/{}\"]",
                r.name("shop"),
                r.name("web-0"),
                r.name("shop"),
                r.name("web-1")
            )
        );
    }

    #[test]
    fn summary_names_hashed_numbers_kept() {
        let mut r = red();
        let s = br#"{"node":{"nodeName":"n1","systemContainers":[{"name":"kubelet"}]},"pods":[{"podRef":{"name":"p","namespace":"ns","uid":"u-1"},"containers":[{"name":"c","memory":{"workingSetBytes":5}}],"volume":[{"name":"v","usedBytes":3,"pvcRef":{"name":"claim","namespace":"ns"}}]}]}"#;
        let out = r.summary(s).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["node"]["nodeName"], r.name("n1"));
        assert_eq!(v["node"]["systemContainers"][0]["name"], "kubelet");
        let p = &v["pods"][0];
        assert_eq!(p["podRef"]["name"], r.name("p"));
        assert_eq!(p["podRef"]["namespace"], r.name("ns"));
        assert_eq!(p["podRef"]["uid"], "u-1");
        assert_eq!(p["containers"][0]["name"], r.name("c"));
        assert_eq!(p["containers"][0]["memory"]["workingSetBytes"], 5);
        assert_eq!(p["volume"][0]["name"], r.name("v"));
        assert_eq!(p["volume"][0]["pvcRef"]["name"], r.name("claim"));
        assert!(r.summary(b"<html>").is_err());
        assert!(
            r.summary(b"\xef\xbb\xbf{\"pods\":[]}").is_ok(),
            "a BOM is skipped"
        );
        let frag = r
            .summary(br#"{"podRef":{"name":"p","namespace":"ns"},"containers":[{"name":"c"}]}"#)
            .unwrap();
        let f: serde_json::Value = serde_json::from_slice(&frag).unwrap();
        assert_eq!(f["podRef"]["name"], r.name("p"));
        assert_eq!(f["containers"][0]["name"], r.name("c"));
    }

    #[test]
    fn spec_dumps_and_userinfo_are_dropped() {
        let text = "a kubelet: OOMKilled pod=\"x\"\nb kubelet: oom podSpec=&Container{Env:[{Name:PW Value:hunter2}]}\nc kubelet: evicted\n";
        let (kept, dropped) = drop_spec_dumps(text.as_bytes());
        assert_eq!(dropped, 1);
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            "a kubelet: OOMKilled pod=\"x\"\nc kubelet: evicted\n"
        );
        let long = format!("oom {}\n", "x".repeat(3000));
        assert_eq!(drop_spec_dumps(long.as_bytes()).1, 1);
        assert_eq!(
            strip_userinfo("https://u:p@127.0.0.1:10250/stats/summary"),
            "https://127.0.0.1:10250/stats/summary"
        );
        assert_eq!(
            strip_userinfo("http://127.0.0.1:10255"),
            "http://127.0.0.1:10255"
        );
        assert_eq!(strip_userinfo("auto"), "auto");
    }

    proptest::proptest! {
        /// Any text, in any entry: no panic, the line structure kept, and a second pass
        /// with the same key changes nothing (a hash is never hashed again).
        #[test]
        fn any_text_keeps_its_lines_and_redacts_once(
            lines in proptest::collection::vec(
                proptest::string::string_regex(
                    "([a-z0-9_./~ :=\"\\[\\]-]|pods/|volumes/|kubernetes.io~empty-dir/|pod=|node-v2|é){0,40}"
                ).unwrap(),
                0..8,
            )
        ) {
            let text = lines.join("\n");
            for entry in [MOUNTINFO_ENTRY, SYSLOG_ENTRY, KMSG_ENTRY, JOURNAL_ENTRY, NODE_EVENTS_ENTRY] {
                let mut r = red();
                r.host("node-v2");
                let once = r.entry(entry, text.clone().into_bytes()).unwrap();
                proptest::prop_assert_eq!(
                    once.iter().filter(|&&b| b == b'\n').count(),
                    text.matches('\n').count()
                );
                let twice = r.entry(entry, once.clone()).unwrap();
                proptest::prop_assert_eq!(&twice, &once, "{}", entry);
                proptest::prop_assert!(!String::from_utf8_lossy(&once).contains(" node-v2 "));
            }
            let mut r = red();
            let pods = r.log_pods(&text);
            proptest::prop_assert_eq!(pods.lines().count(), text.lines().count());
        }
    }

    #[test]
    fn key_is_created_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("key");
        let a = load_or_create_key(&p).unwrap();
        assert!(a.created);
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = load_or_create_key(&p).unwrap();
        assert!(!b.created && b.warning.is_none());
        assert_eq!(a.hash("x"), b.hash("x"));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let w = load_or_create_key(&p).unwrap().warning.unwrap();
        assert!(
            w.contains("readable by others") && w.contains("0644"),
            "{w}"
        );
        fs::write(&p, "zz\n").unwrap();
        let e = load_or_create_key(&p).unwrap_err().to_string();
        assert!(e.contains("key") && e.contains("64 hex"), "{e}");
    }

    #[test]
    fn mapping_merges_and_refuses_to_clobber_garbage() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("key.map.json");
        let one: BTreeMap<String, String> = [("r-1".to_string(), "a".to_string())].into();
        let two: BTreeMap<String, String> = [("r-2".to_string(), "b".to_string())].into();
        assert_eq!(merge_mapping(&p, &one).unwrap(), 1);
        assert_eq!(merge_mapping(&p, &two).unwrap(), 1);
        assert_eq!(merge_mapping(&p, &two).unwrap(), 0);
        let m = read_mapping(&p).unwrap();
        assert_eq!((m["r-1"].as_str(), m["r-2"].as_str()), ("a", "b"));
        fs::write(&p, "garbage").unwrap();
        assert!(merge_mapping(&p, &one).is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "garbage");
    }
}
