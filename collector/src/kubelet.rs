//! The kubelet `/stats/summary` body, fetched over HTTP(S) from the local kubelet (IP
//! literals only: a static glibc binary must not need NSS), or read from a file saved
//! with `kubectl get --raw`. The bearer token is sent and never recorded: no piece of
//! it appears in the body kept, a manifest field, a message or an error, whatever the
//! server answers. Only a body that can be vouched for is kept: a `200` answer read to
//! its end, within the cap, holding no piece of the token (the JSON check follows in
//! the snapshot). A body cut short or over the cap is never kept: a server echoing the
//! request could have put the token anywhere in it, and a cut may fall inside the token.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use podmem_schema::snapshot::Status;
use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};

use crate::budget::Budget;
use crate::hostpaths::{read_into, read_trimmed, HostPaths};

/// Where the summary comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeletSource {
    /// Not fetched (`--no-kubelet`).
    Disabled,
    /// A saved summary (`--kubelet-summary-file`).
    File(PathBuf),
    /// `https://127.0.0.1:10250` with the service-account token, then
    /// `http://127.0.0.1:10255`.
    Auto,
    /// An explicit base URL or full summary URL.
    Url(String),
}

/// Kubelet access options.
#[derive(Debug, Clone)]
pub struct KubeletOptions {
    /// Source.
    pub source: KubeletSource,
    /// Bearer token file (default: the pod's service-account token).
    pub token_file: Option<PathBuf>,
    /// CA bundle for the kubelet's serving certificate.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (loopback only).
    pub insecure: bool,
    /// The node's IP (downward API `status.hostIP`): `auto` tries its port 10250 first.
    pub node_ip: Option<IpAddr>,
    /// The node name, accepted in the kubelet's certificate when the IP is not.
    pub node_name: Option<String>,
}

/// Outcome of fetching the summary.
#[derive(Debug, Clone)]
pub struct SummaryFetch {
    /// URL or file read (no credentials).
    pub origin: String,
    /// Body, when any was read.
    pub body: Option<Vec<u8>>,
    /// Status.
    pub status: Status,
    /// Why, when not ok; how (TLS mode) when ok.
    pub message: Option<String>,
    /// Something the operator must hear about even when the fetch worked (the token
    /// sent over plain HTTP).
    pub warning: Option<String>,
}

/// Longest wait per kubelet request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Fetches or reads the summary.
pub fn fetch(opts: &KubeletOptions, paths: &HostPaths, budget: &Budget, cap: u64) -> SummaryFetch {
    match &opts.source {
        KubeletSource::Disabled => SummaryFetch {
            warning: None,
            origin: "-".into(),
            body: None,
            status: Status::Missing,
            message: Some("not fetched (--no-kubelet)".into()),
        },
        KubeletSource::File(p) => {
            let mut buf = Vec::new();
            match read_into(p, cap, &mut buf) {
                Ok(true) => SummaryFetch {
                    warning: None,
                    origin: p.display().to_string(),
                    body: None,
                    status: Status::Error,
                    message: Some(format!(
                        "{}: larger than the {cap}-byte cap; not kept (a cut summary is not JSON)",
                        p.display()
                    )),
                },
                Ok(false) => SummaryFetch {
                    warning: None,
                    origin: p.display().to_string(),
                    body: Some(buf),
                    status: Status::Ok,
                    message: None,
                },
                Err(e) => SummaryFetch {
                    warning: None,
                    origin: p.display().to_string(),
                    body: None,
                    status: Status::Error,
                    message: Some(e.to_string()),
                },
            }
        }
        KubeletSource::Url(u) => {
            let url = summary_url(u);
            let token = load_token(opts, paths);
            let mut f = verified_get(&url, token.as_deref(), opts, paths, budget, cap);
            if f.status == Status::Error && token.is_none() && url.starts_with("https:") {
                f.message = f.message.map(|m| format!("{m} (no bearer token: none at --kubelet-token-file or the service-account path)"));
            }
            if token.is_some()
                && url
                    .get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
            {
                f.warning = Some(format!(
                    "{}: the bearer token was sent over plain http:// (readable on the way); use https://",
                    crate::redact::strip_userinfo(&url)
                ));
            }
            f
        }
        KubeletSource::Auto => {
            let token = load_token(opts, paths);
            let mut tried = Vec::new();
            let mut all_refused = true;
            let mut https = vec!["https://127.0.0.1:10250/stats/summary".to_string()];
            match opts.node_ip {
                Some(ip) if ip.is_loopback() => {}
                Some(ip) if opts.insecure => tried.push(format!(
                    "{} not tried: --kubelet-insecure is for loopback only",
                    https_url(ip)
                )),
                Some(ip) => https.insert(0, https_url(ip)),
                None => {}
            }
            if let Some(t) = token.as_deref() {
                for url in &https {
                    let f = verified_get(url, Some(t), opts, paths, budget, cap);
                    if f.body.is_some() {
                        return f;
                    }
                    all_refused &= f.message.as_deref().is_some_and(is_refused);
                    tried.push(f.message.unwrap_or_default());
                }
            } else {
                tried.push(format!(
                    "https port 10250 not tried: no service-account token at {}",
                    opts.token_file
                        .as_ref()
                        .unwrap_or(&paths.sa_token)
                        .display()
                ));
            }
            let f = get(
                "http://127.0.0.1:10255/stats/summary",
                None,
                opts,
                paths,
                budget,
                cap,
                None,
            );
            if f.body.is_some() {
                return f;
            }
            all_refused &= f.message.as_deref().is_some_and(is_refused);
            tried.push(f.message.unwrap_or_default());
            SummaryFetch {
                warning: None,
                origin: match opts.node_ip {
                    Some(ip) if !ip.is_loopback() && !opts.insecure => {
                        format!("auto ({}, 127.0.0.1:10250, 127.0.0.1:10255)", sock(ip, 10250))
                    }
                    _ => "auto (127.0.0.1:10250, 127.0.0.1:10255)".into(),
                },
                body: None,
                status: if all_refused { Status::Missing } else { Status::Error },
                message: Some(format!(
                    "{}; use --kubelet-summary-file with `kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary`, or --no-kubelet",
                    tried.join("; ")
                )),
            }
        }
    }
}

fn is_refused(msg: &str) -> bool {
    msg.contains("refused") || msg.contains("ConnectionRefused")
}

/// `http://h:p` → `http://h:p/stats/summary`; a URL with a path is kept.
pub fn summary_url(base: &str) -> String {
    let t = base.trim_end_matches('/');
    let after_scheme = t.split_once("://").map(|(_, r)| r).unwrap_or(t);
    if after_scheme.contains('/') {
        t.to_string()
    } else {
        format!("{t}/stats/summary")
    }
}

fn load_token(opts: &KubeletOptions, paths: &HostPaths) -> Option<String> {
    let p = opts.token_file.as_ref().unwrap_or(&paths.sa_token);
    read_trimmed(p)
}

fn sock(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

fn https_url(ip: IpAddr) -> String {
    format!("https://{}/stats/summary", sock(ip, 10250))
}

/// Host and port of an `http(s)://` URL (userinfo dropped, IPv6 brackets removed).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let auth = rest.split('/').next()?;
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    if let Some(v6) = auth.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(default), |p| p.parse().ok())?;
        return Some((h.to_string(), port));
    }
    match auth.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((auth.to_string(), default)),
    }
}

/// Whether `url` names a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback_url(url: &str) -> bool {
    host_port(url).is_some_and(|(h, _)| {
        h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

/// Where the kubelet's own self-signed serving certificate lives on a kubeadm node.
pub const KUBELET_SELF_CERT: &str = "/var/lib/kubelet/pki/kubelet.crt";

/// Why the kubelet's certificate cannot be checked as asked.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// `--kubelet-ca` cannot be read.
    #[error("{}: {source}", path.display())]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--kubelet-ca` holds no certificate.
    #[error("{}: no PEM certificate in it", path.display())]
    NoPem {
        /// The file.
        path: PathBuf,
    },
    /// `--kubelet-insecure` for a host other than loopback.
    #[error(
        "--kubelet-insecure is refused for a host other than 127.0.0.1/::1 (anyone on the \
         path could answer); pass --kubelet-ca FILE instead"
    )]
    InsecureNotLoopback,
}

/// The PEM bytes trusted for the kubelet and how they are named in messages: the
/// `--kubelet-ca` file, else the pod's service-account CA (the cluster CA) and the
/// host's self-signed kubelet certificate, whichever exist. `None`: public roots.
fn trusted_pem(
    opts: &KubeletOptions,
    paths: &HostPaths,
) -> Result<Option<(Vec<u8>, String)>, TrustError> {
    if let Some(ca) = &opts.ca_file {
        let pem = std::fs::read(ca).map_err(|source| TrustError::ReadCa {
            path: ca.clone(),
            source,
        })?;
        if crate::kubelet_cert::pem_certs(&pem).is_empty() {
            return Err(TrustError::NoPem { path: ca.clone() });
        }
        return Ok(Some((pem, ca.display().to_string())));
    }
    let mut pem = Vec::new();
    let mut names = Vec::new();
    for p in [paths.sa_ca.clone(), paths.on_host(KUBELET_SELF_CERT)] {
        if let Ok(b) = std::fs::read(&p) {
            if !crate::kubelet_cert::pem_certs(&b).is_empty() {
                pem.extend_from_slice(&b);
                pem.push(b'\n');
                names.push(p.display().to_string());
            }
        }
    }
    Ok((!names.is_empty()).then(|| (pem, names.join(" and "))))
}

fn tls_config(
    url: &str,
    opts: &KubeletOptions,
    paths: &HostPaths,
) -> Result<(TlsConfig, String), TrustError> {
    if opts.insecure {
        if !is_loopback_url(url) {
            return Err(TrustError::InsecureNotLoopback);
        }
        return Ok((
            TlsConfig::builder().disable_verification(true).build(),
            "certificate not verified (--kubelet-insecure)".into(),
        ));
    }
    let Some((pem, name)) = trusted_pem(opts, paths)? else {
        return Ok((
            TlsConfig::builder().build(),
            "verified against public roots".into(),
        ));
    };
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    Ok((
        TlsConfig::builder()
            .root_certs(RootCerts::new_with_certs(&certs))
            .build(),
        format!("verified against {name}"),
    ))
}

/// Resolves every host to one address: the node name checked in the certificate while
/// connecting to the node's IP (no DNS, no NSS).
#[derive(Debug)]
struct Pinned(SocketAddr);

impl ureq::unversioned::resolver::Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut v = self.empty();
        v.push(self.0);
        Ok(v)
    }
}

/// [`get`], and when the certificate is refused: why (self-signed, name mismatch,
/// unknown CA), or a second try naming the node when the certificate is valid for the
/// node name rather than the IP.
fn verified_get(
    url: &str,
    token: Option<&str>,
    opts: &KubeletOptions,
    paths: &HostPaths,
    budget: &Budget,
    cap: u64,
) -> SummaryFetch {
    let mut f = get(url, token, opts, paths, budget, cap, None);
    let cert_refused = f
        .message
        .as_deref()
        .is_some_and(|m| m.contains("certificate"));
    if f.body.is_some() || opts.insecure || !url.starts_with("https:") || !cert_refused {
        return f;
    }
    let Some((ip, port)) =
        host_port(url).and_then(|(h, p)| h.parse::<IpAddr>().ok().map(|ip| (ip, p)))
    else {
        return f;
    };
    let addr = sock(ip, port);
    let (roots, trusted) = match trusted_pem(opts, paths) {
        Ok(Some((pem, name))) => (crate::kubelet_cert::pem_certs(&pem), name),
        _ => return f,
    };
    let timeout = REQUEST_TIMEOUT
        .min(budget.remaining())
        .max(Duration::from_millis(200));
    let chain = match crate::kubelet_cert::presented_chain(addr, timeout) {
        Ok(c) => c,
        Err(_) => return f,
    };
    use crate::kubelet_cert::Verdict;
    let node = opts.node_name.as_deref();
    let fix_names = "set --kubelet-node-ip and --node-name (NODE_IP from status.hostIP, NODE_NAME from spec.nodeName) to names it holds";
    let why = match crate::kubelet_cert::classify(&chain, &roots, ip, node) {
        Verdict::Valid(n) if n != ip.to_string() => {
            let named = url.replacen(&addr.to_string(), &format!("{n}:{port}"), 1);
            let mut g = get(&named, token, opts, paths, budget, cap, Some(addr));
            g.origin = url.to_string();
            g.message = g.message.map(|m| {
                let m = m.replace(&named, url);
                if g.body.is_some() {
                    format!("{m}; certificate checked for the node name {n}")
                } else {
                    m
                }
            });
            return g;
        }
        Verdict::Valid(_) => return f,
        Verdict::SelfSigned => format!(
            "the kubelet's serving certificate is self-signed (its own CA, kubeadm's default without serverTLSBootstrap), not signed by {trusted}; pass --kubelet-ca with the host's {KUBELET_SELF_CERT}, or enable serverTLSBootstrap, or for 127.0.0.1 only --kubelet-insecure"
        ),
        Verdict::NameMismatch(presented) => format!(
            "the kubelet's certificate is signed by {trusted} but issued for {} , not for {ip}{}; {fix_names}",
            if presented.is_empty() { "other names".to_string() } else { presented.join(", ") },
            node.map_or(String::new(), |n| format!(" nor the node name {n}")),
        ),
        Verdict::UnknownCa => format!(
            "the kubelet's certificate is signed by an unknown CA (not {trusted}); pass --kubelet-ca FILE with the CA that signed it"
        ),
        Verdict::Other(e) => format!("the kubelet's certificate was refused: {e}"),
    };
    f.message = Some(format!("{url}: {why}"));
    f
}

fn get(
    url: &str,
    token: Option<&str>,
    opts: &KubeletOptions,
    paths: &HostPaths,
    budget: &Budget,
    cap: u64,
    pin: Option<SocketAddr>,
) -> SummaryFetch {
    let fail = |status, msg: String| SummaryFetch {
        warning: None,
        origin: url.to_string(),
        body: None,
        status,
        message: Some(msg),
    };
    let timeout = REQUEST_TIMEOUT
        .min(budget.remaining())
        .max(Duration::from_millis(200));
    let (tls, how) = match tls_config(url, opts, paths) {
        Ok(t) => t,
        Err(e) => return fail(Status::Error, format!("{url}: {e}")),
    };
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .build();
    let agent = match pin {
        Some(a) => ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            Pinned(a),
        ),
        None => ureq::Agent::new_with_config(config),
    };
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(e) => {
            let mut msg = format!("{url}: {}", scrub(&e.to_string(), token));
            if matches!(e, ureq::Error::StatusCode(401 | 403)) {
                msg.push_str(
                    " (the token needs `get` on nodes/stats, and the kubelet webhook authn/authz)",
                );
            }
            if !opts.insecure && url.starts_with("https:") && e.to_string().contains("certificate")
            {
                msg.push_str(" (pass --kubelet-ca FILE; for 127.0.0.1 only, --kubelet-insecure)");
            }
            return fail(Status::Error, msg);
        }
    };
    let code = resp.status().as_u16();
    if code != 200 {
        // A redirect (not followed) or another non-error status: no summary.
        return fail(
            Status::Error,
            format!("{url}: answered HTTP {code}, not 200 with a summary"),
        );
    }
    let mut body = Vec::new();
    let mut reader = resp.into_body().into_reader().take(cap + 1);
    if let Err(e) = reader.read_to_end(&mut body) {
        let why = scrub(&e.to_string(), token);
        return fail(
            Status::Error,
            format!(
                "{url}: body cut short after {} bytes ({why}); not kept: a partial answer cannot be checked",
                body.len()
            ),
        );
    }
    if body.len() as u64 > cap {
        return fail(
            Status::Error,
            format!("{url}: body larger than the {cap}-byte cap; not kept (raise --max-file-size / --max-snapshot-size)"),
        );
    }
    if let Some(t) = token {
        if holds_piece_of(&body, t.as_bytes()) {
            return fail(
                Status::Error,
                format!(
                    "{url}: the answer ({} bytes) contains the bearer token or a piece of it (a server echoing the request?); not kept",
                    body.len()
                ),
            );
        }
    }
    SummaryFetch {
        warning: opts.insecure.then(|| {
            format!("{url}: the kubelet's certificate was not verified (--kubelet-insecure)")
        }),
        origin: url.to_string(),
        status: Status::Ok,
        message: Some(if url.starts_with("https:") {
            format!("TLS {how}; bearer token used")
        } else {
            "plain HTTP".to_string()
        }),
        body: Some(body),
    }
}

/// Shortest piece of a token that counts as the token: pieces this long of a random
/// token do not occur by chance in a summary, and a cut inside the token still leaves
/// one on either side of any cut of a real (hundreds of bytes) token.
const TOKEN_PIECE: usize = 12;

/// Whether `hay` holds the token or any `TOKEN_PIECE`-byte piece of it (the whole
/// token when shorter).
pub fn holds_piece_of(hay: &[u8], token: &[u8]) -> bool {
    if token.is_empty() {
        return false;
    }
    let w = token.len().min(TOKEN_PIECE);
    if hay.len() < w {
        return false;
    }
    if w < 8 {
        return hay.windows(w).any(|x| x == token);
    }
    // First eight bytes of every piece as a prefilter, then the whole piece.
    let key = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let mut firsts: Vec<u64> = token.windows(w).map(key).collect();
    firsts.sort_unstable();
    firsts.dedup();
    let pieces: std::collections::HashSet<&[u8]> = token.windows(w).collect();
    hay.windows(w)
        .any(|x| firsts.binary_search(&key(x)).is_ok() && pieces.contains(x))
}

/// `msg`, or a fixed text when it holds a piece of the token (error texts of the HTTP
/// stack can quote what the server sent).
fn scrub(msg: &str, token: Option<&str>) -> String {
    match token {
        Some(t) if holds_piece_of(msg.as_bytes(), t.as_bytes()) => {
            "error text withheld: it quoted the bearer token".to_string()
        }
        _ => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    #[test]
    fn summary_urls() {
        assert_eq!(
            summary_url("http://127.0.0.1:10255"),
            "http://127.0.0.1:10255/stats/summary"
        );
        assert_eq!(
            summary_url("http://127.0.0.1:10255/"),
            "http://127.0.0.1:10255/stats/summary"
        );
        assert_eq!(
            summary_url("http://10.0.0.1:1/x/y"),
            "http://10.0.0.1:1/x/y"
        );
    }

    /// A one-shot HTTP server: returns the request head it saw.
    fn serve_once(
        body: &'static str,
        status: &'static str,
    ) -> (String, std::thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            head
        });
        (url, h)
    }

    #[test]
    fn fetches_with_bearer_token_and_never_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let tok = dir.path().join("token");
        std::fs::write(&tok, "s3cr3t-token\n").unwrap();
        let (url, h) = serve_once("{\"pods\":[]}", "200 OK");
        let opts = KubeletOptions {
            source: KubeletSource::Url(url),
            token_file: Some(tok),
            ca_file: None,
            insecure: false,
            node_ip: None,
            node_name: None,
        };
        let f = fetch(
            &opts,
            &HostPaths::new(dir.path()),
            &Budget::new(Duration::from_secs(5), None),
            1 << 20,
        );
        let head = h.join().unwrap();
        assert!(head.contains("GET /stats/summary"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("authorization: bearer s3cr3t-token"),
            "{head}"
        );
        assert_eq!(f.status, Status::Ok);
        assert_eq!(f.body.as_deref(), Some(&b"{\"pods\":[]}"[..]));
        assert!(!format!("{f:?}").contains("s3cr3t"));
    }

    #[test]
    fn unauthorized_is_an_error_without_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let tok = dir.path().join("token");
        std::fs::write(&tok, "s3cr3t-token").unwrap();
        let (url, h) = serve_once("Unauthorized", "401 Unauthorized");
        let opts = KubeletOptions {
            source: KubeletSource::Url(url),
            token_file: Some(tok),
            ca_file: None,
            insecure: false,
            node_ip: None,
            node_name: None,
        };
        let f = fetch(
            &opts,
            &HostPaths::new(dir.path()),
            &Budget::new(Duration::from_secs(5), None),
            1 << 20,
        );
        h.join().unwrap();
        assert_eq!(f.status, Status::Error);
        let m = f.message.unwrap();
        assert!(m.contains("401") && m.contains("nodes/stats"), "{m}");
        assert!(!m.contains("s3cr3t"));
    }

    #[test]
    fn body_over_cap_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (url, h) = serve_once("0123456789", "200 OK");
        let opts = KubeletOptions {
            source: KubeletSource::Url(url),
            token_file: Some(dir.path().join("none")),
            ca_file: None,
            insecure: false,
            node_ip: None,
            node_name: None,
        };
        let f = fetch(
            &opts,
            &HostPaths::new(dir.path()),
            &Budget::new(Duration::from_secs(5), None),
            4,
        );
        h.join().unwrap();
        assert_eq!(f.status, Status::Error);
        assert!(f.body.is_none(), "a body over the cap is not kept");
        assert!(f.message.unwrap().contains("cap"));
    }

    #[test]
    fn hosts_and_loopback() {
        assert_eq!(
            host_port("https://127.0.0.1:10250/stats/summary"),
            Some(("127.0.0.1".into(), 10250))
        );
        assert_eq!(host_port("https://u:p@[::1]:9/x"), Some(("::1".into(), 9)));
        assert_eq!(
            host_port("https://10.0.0.1"),
            Some(("10.0.0.1".into(), 443))
        );
        assert_eq!(host_port("http://10.0.0.1/"), Some(("10.0.0.1".into(), 80)));
        assert!(is_loopback_url("https://127.0.0.2:10250"));
        assert!(is_loopback_url("https://[::1]:10250"));
        assert!(is_loopback_url("https://localhost:10250"));
        assert!(!is_loopback_url("https://10.0.0.1:10250"));
        // Userinfo naming loopback does not make the host loopback.
        assert!(!is_loopback_url("https://127.0.0.1@10.0.0.1:10250"));
        assert!(!is_loopback_url("https://127.0.0.1.example:10250"));
    }

    #[test]
    fn token_pieces_are_found_anywhere() {
        let t = b"eyJhbGciOiJSUzI1NiJ9.payload-part-0123456789.signature_abcdef";
        assert!(holds_piece_of(t, t));
        assert!(
            holds_piece_of(b"xx eyJhbGciOiJS", t),
            "a cut after 12 bytes"
        );
        assert!(
            holds_piece_of(b"0123456789.sig yy", t),
            "a piece from the middle"
        );
        assert!(
            !holds_piece_of(b"eyJhbGciOiJ", t),
            "11 bytes are not a piece"
        );
        assert!(!holds_piece_of(b"{\"pods\":[]}", t));
        assert!(holds_piece_of(b"a s3cr3t b", b"s3cr3t"));
        assert!(!holds_piece_of(b"a s3cr b", b"s3cr3t"));
        assert_eq!(
            scrub(
                "bad chunk: eyJhbGciOiJSUzI1NiJ9",
                Some(std::str::from_utf8(t).unwrap())
            ),
            "error text withheld: it quoted the bearer token"
        );
    }
}
