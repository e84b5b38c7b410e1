//! The analyzer's floor: inflates every `.tar.gz` under the given directories on all
//! cores (one file at a time per thread, as the analyzer reads them) and discards the
//! bytes: `cargo run --release -p podmem-analyzer --example gunzip_floor -- DIR...`.
//! `scripts/bench.sh` times the analyzer against it.

use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use flate2::read::MultiGzDecoder;

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::env::args().skip(1) {
        for e in walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
        {
            if e.file_type().is_file() && e.file_name().to_string_lossy().ends_with(".tar.gz") {
                files.push(e.into_path());
            }
        }
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut buf = vec![0u8; 256 << 10];
                while let Some(f) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let file = std::fs::File::open(f).expect("open");
                    let mut gz = MultiGzDecoder::new(BufReader::with_capacity(64 << 10, file));
                    loop {
                        match gz.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                total.fetch_add(n as u64, Ordering::Relaxed);
                            }
                            Err(e) => panic!("{}: {e}", f.display()),
                        }
                    }
                }
            });
        }
    });
    eprintln!(
        "{} files, {} bytes inflated on {workers} threads",
        files.len(),
        total.into_inner()
    );
}
