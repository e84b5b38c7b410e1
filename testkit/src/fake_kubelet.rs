//! A plain-HTTP stand-in for the kubelet on 127.0.0.1 that answers every request the
//! same way (a status and a body, or nothing at all) and keeps the request heads it saw,
//! so tests can check what the collector sent.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the fake answers.
#[derive(Clone)]
pub enum Answer {
    /// `HTTP/1.1 <status>` with this body.
    Reply(&'static str, Vec<u8>),
    /// Accepts, reads the request, and never answers (holds the connection open).
    Silent,
}

/// A running fake; stops on drop.
pub struct FakeKubelet {
    /// Base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeKubelet {
    /// Starts a fake answering `answer` to every request.
    pub fn start(answer: Answer) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (heads.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let head = read_head(&conn);
                        h.lock().unwrap().push(head);
                        match &answer {
                            Answer::Reply(status, body) => {
                                let mut c = conn;
                                let _ = write!(
                                    c,
                                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                    body.len()
                                );
                                let _ = c.write_all(body);
                            }
                            Answer::Silent => held.push(conn),
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeKubelet {
            url,
            heads,
            stop,
            thread: Some(thread),
        }
    }

    /// The request heads seen so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads an HTTP request head from `conn`, up to the blank line (or EOF or an error).
pub fn read_head(conn: &TcpStream) -> String {
    let mut r = BufReader::new(conn);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push_str(&line),
        }
    }
    head
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
