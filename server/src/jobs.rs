//! Managed jobs: `agentworld train` and `agentworld rollout` runs started, watched and stopped through the
//! service (`/v1/jobs`), surviving restarts of the service.
//!
//! A job is a child process of the `agentworld` binary with its own folder under `jobs_dir`:
//! `job.json` (the record, rewritten atomically on every change), `out/` (the run's `--out`: journal,
//! checkpoints, report), `stdout.log` and `stderr.log`. A job runs in its own process so that a crash of the
//! run cannot take the service down, and the service can stop it with a signal.
//!
//! Restarts: when the service stops (SIGTERM), running jobs are stopped but stay `running` in their records;
//! when it starts again (or after `kill -9`), every job recorded as `running` is started again: a training run
//! continues from its last checkpoint (`--resume`; the journal keeps every acknowledged episode), a rollout runs
//! again into the same folder. A process of a job left over from before (the service was killed while it ran) is
//! stopped first, so one job never runs twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Train,
    Rollout,
}

impl JobKind {
    fn command(self) -> &'static str {
        match self {
            JobKind::Train => "train",
            JobKind::Rollout => "rollout",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Finished,
    Failed,
    Stopped,
}

/// A job's record (`job.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub kind: JobKind,
    /// Arguments after `agentworld train|rollout` (the service adds `--out`, and `--resume` for training).
    pub args: Vec<String>,
    pub state: JobState,
    /// How many times the job's process was started (more than 1 after restarts).
    pub starts: u32,
    pub pid: Option<u32>,
    pub exit_code: Option<i32>,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Why it failed or stopped.
    pub message: Option<String>,
}

/// Why a job request was refused.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job '{0}'")]
    Unknown(String),
    #[error("invalid job: {0}")]
    Invalid(String),
    #[error("job '{id}': {message}")]
    Io { id: String, message: String },
}

/// The job manager: one per service.
pub struct Jobs {
    dir: PathBuf,
    program: PathBuf,
    live: Mutex<HashMap<String, Arc<Mutex<Child>>>>,
    /// Set while the service shuts down: jobs stopped then stay `running`, to be started again.
    closing: AtomicBool,
    /// Serialises record updates (the monitor threads and requests both write them).
    records: Mutex<()>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Jobs {
    /// Manages jobs under `dir`, running `program` (the `agentworld` binary). Jobs recorded as running are
    /// started again.
    pub fn open(dir: PathBuf, program: PathBuf) -> Arc<Jobs> {
        let jobs = Arc::new(Jobs {
            dir,
            program,
            live: Mutex::default(),
            closing: AtomicBool::new(false),
            records: Mutex::new(()),
        });
        for record in jobs.list() {
            if record.state == JobState::Running {
                if let Some(pid) = record.pid {
                    jobs.stop_leftover(&record.id, pid);
                }
                tracing::info!(job = %record.id, "restarting a job that was running when the service stopped");
                if let Err(e) = jobs.spawn(record) {
                    tracing::warn!(error = %e, "a job could not be restarted");
                }
            }
        }
        jobs
    }

    fn job_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Starts a new job.
    pub fn start(self: &Arc<Self>, kind: JobKind, args: Vec<String>) -> Result<JobRecord, JobError> {
        if let Some(a) = args.iter().find(|a| a.starts_with("--out") || a.starts_with("--resume")) {
            return Err(JobError::Invalid(format!("'{a}' is set by the service (each job has its own folder)")));
        }
        if args.len() > 256 || args.iter().any(|a| a.len() > 4096) {
            return Err(JobError::Invalid("too many or too long arguments".into()));
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| JobError::Io { id: "-".into(), message: format!("{}: {e}", self.dir.display()) })?;
        let id = {
            let _guard = self.records.lock().unwrap_or_else(|p| p.into_inner());
            let n = self.list().len() + 1;
            let mut id = format!("job-{n}");
            let mut k = n;
            while self.job_dir(&id).exists() {
                k += 1;
                id = format!("job-{k}");
            }
            std::fs::create_dir_all(self.job_dir(&id))
                .map_err(|e| JobError::Io { id: id.clone(), message: e.to_string() })?;
            id
        };
        let t = now_ms();
        let record = JobRecord {
            id,
            kind,
            args,
            state: JobState::Running,
            starts: 0,
            pid: None,
            exit_code: None,
            created_ms: t,
            updated_ms: t,
            message: None,
        };
        self.spawn(record)
    }

    fn spawn(self: &Arc<Self>, mut record: JobRecord) -> Result<JobRecord, JobError> {
        let dir = self.job_dir(&record.id);
        let io = |e: std::io::Error| JobError::Io { id: record.id.clone(), message: e.to_string() };
        let log = |name: &str| std::fs::OpenOptions::new().create(true).append(true).open(dir.join(name));
        let mut cmd = Command::new(&self.program);
        cmd.arg(record.kind.command()).args(&record.args).arg("--out").arg(dir.join("out"));
        if record.kind == JobKind::Train {
            cmd.arg("--resume");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log("stdout.log").map_err(io)?)
            .stderr(log("stderr.log").map_err(io)?)
            .spawn()
            .map_err(|e| JobError::Io { id: record.id.clone(), message: format!("{}: {e}", self.program.display()) })?;
        record.starts += 1;
        record.pid = Some(child.id());
        record.state = JobState::Running;
        record.exit_code = None;
        record.updated_ms = now_ms();
        self.write(&record)?;
        let child = Arc::new(Mutex::new(child));
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(record.id.clone(), child.clone());
        let jobs = self.clone();
        let id = record.id.clone();
        std::thread::Builder::new()
            .name(format!("job-monitor-{id}"))
            .spawn(move || jobs.monitor(&id, child))
            .map_err(|e| JobError::Io { id: record.id.clone(), message: e.to_string() })?;
        Ok(record)
    }

    /// Waits for a job's process and records how it ended.
    fn monitor(&self, id: &str, child: Arc<Mutex<Child>>) {
        let status = loop {
            let polled = child.lock().unwrap_or_else(|p| p.into_inner()).try_wait();
            match polled {
                Ok(Some(status)) => break Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(_) => break None,
            }
        };
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        if self.closing.load(Ordering::SeqCst) {
            return; // stays `running`: started again with the service
        }
        let _guard = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(mut record) = self.read(id) else { return };
        if record.state == JobState::Running {
            let code = status.and_then(|s| s.code());
            record.exit_code = code;
            if status.is_some_and(|s| s.success()) {
                record.state = JobState::Finished;
            } else {
                record.state = JobState::Failed;
                record.message = Some(format!(
                    "exited with {}; see stderr.log: {}",
                    code.map(|c| c.to_string()).unwrap_or_else(|| "a signal".into()),
                    self.tail(id, "stderr.log", 3).join(" | ")
                ));
            }
        }
        record.pid = None;
        record.updated_ms = now_ms();
        let _ = self.write(&record);
    }

    /// Stops a job (SIGTERM, then SIGKILL after 5 s); it is not started again.
    pub fn stop(&self, id: &str) -> Result<JobRecord, JobError> {
        let mut record = {
            let _guard = self.records.lock().unwrap_or_else(|p| p.into_inner());
            let mut record = self.read(id)?;
            if record.state != JobState::Running {
                return Ok(record);
            }
            record.state = JobState::Stopped;
            record.message = Some("stopped by request".into());
            record.updated_ms = now_ms();
            self.write(&record)?;
            record
        };
        let child = self.live.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned();
        if let Some(child) = child {
            terminate(&child);
        }
        record.pid = None;
        Ok(record)
    }

    /// Stops every running job for a service shutdown; their records stay `running`.
    pub fn shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let children: Vec<_> = self.live.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for child in children {
            terminate(&child);
        }
    }

    /// A process left from before a crash of the service: stop it if it is still this job's.
    fn stop_leftover(&self, id: &str, pid: u32) {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let dir = self.job_dir(id);
        let ours = String::from_utf8_lossy(&cmdline).contains(dir.to_string_lossy().as_ref());
        if ours {
            tracing::info!(job = %id, pid, "stopping the job's process left from before the restart");
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            for _ in 0..100 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn list(&self) -> Vec<JobRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return vec![] };
        let mut jobs: Vec<JobRecord> =
            entries.filter_map(|e| e.ok()).filter_map(|e| self.read(&e.file_name().to_string_lossy()).ok()).collect();
        jobs.sort_by_key(|j| (j.created_ms, j.id.clone()));
        jobs
    }

    /// A job's record with what it has produced so far: the tail of its logs and its report, if written.
    pub fn status(&self, id: &str) -> Result<serde_json::Value, JobError> {
        let record = self.read(id)?;
        let out = self.job_dir(id).join("out");
        let report = ["report.json", "rollout.json"]
            .iter()
            .find_map(|f| std::fs::read(out.join(f)).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        Ok(serde_json::json!({
            "job": record,
            "folder": self.job_dir(id),
            "stdout_tail": self.tail(id, "stdout.log", 5),
            "stderr_tail": self.tail(id, "stderr.log", 5),
            "report": report,
        }))
    }

    fn tail(&self, id: &str, file: &str, lines: usize) -> Vec<String> {
        let text = std::fs::read(self.job_dir(id).join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        // Progress bars redraw with carriage returns: keep the last state of each line.
        let all: Vec<String> = text
            .lines()
            .map(|l| l.rsplit('\r').next().unwrap_or("").trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        all[all.len().saturating_sub(lines)..].to_vec()
    }

    fn read(&self, id: &str) -> Result<JobRecord, JobError> {
        if id.is_empty() || id.contains(['/', '\\', '.']) {
            return Err(JobError::Unknown(id.to_string()));
        }
        let bytes = std::fs::read(self.job_dir(id).join("job.json")).map_err(|_| JobError::Unknown(id.to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| JobError::Io { id: id.to_string(), message: format!("job.json: {e}") })
    }

    /// Writes the record atomically (a crash leaves the old or the new one, never half of one).
    fn write(&self, record: &JobRecord) -> Result<(), JobError> {
        let io = |e: std::io::Error| JobError::Io { id: record.id.clone(), message: e.to_string() };
        let dir = self.job_dir(&record.id);
        let tmp = dir.join("job.json.tmp");
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, dir.join("job.json")).map_err(io)
    }
}

/// SIGTERM, then SIGKILL if the process is still there after 5 s.
fn terminate(child: &Arc<Mutex<Child>>) {
    let pid = child.lock().unwrap_or_else(|p| p.into_inner()).id();
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    for _ in 0..250 {
        if matches!(child.lock().unwrap_or_else(|p| p.into_inner()).try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
}
