//! Shared by the end-to-end tests: a real `agentworld serve` on a free loopback port, and JSON requests to it.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentworld_server::loadgen::Conn;
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `agentworld serve`, killed when dropped.
pub struct Served {
    pub child: Child,
    pub addr: String,
    log: PathBuf,
}

impl Served {
    pub fn start(dir: &Path, extra: &[&str]) -> Served {
        let log = dir.join(format!("serve-{}.log", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentworld"))
            .args(["serve", "--port", "0", "--envs"])
            .arg(root().join("envspecs"))
            .args(extra)
            .args(if extra.contains(&"--jobs-dir") {
                vec![]
            } else {
                vec!["--jobs-dir".into(), dir.join("jobs").to_string_lossy().into_owned()]
            })
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                panic!("serve exited before listening:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            };
            let line = line.unwrap();
            if let Some(a) = line.strip_prefix("listening on http://") {
                break a.trim().to_string();
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Served { child, addr, log }
    }

    pub fn conn(&self) -> Conn {
        Conn::new(&self.addr, Duration::from_secs(20))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig} failed");
    }

    /// Waits for the process to exit; returns whether it exited successfully.
    pub fn wait(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(start.elapsed() < limit, "serve did not exit within {limit:?}; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn req(conn: &mut Conn, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let r = conn.request(method, path, &[("Content-Type", "application/json")], bytes.as_bytes()).await.unwrap();
    let v = serde_json::from_slice(&r.body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into()));
    (r.status, v)
}
