//! How the crate starts Python: which interpreter, and the walls around it.
//!
//! Every Python process (bridge workers and verifiers) starts with an empty environment (no inherited secrets),
//! in isolated mode (`-I`: no user site, no `PYTHON*` variables), in its own process group, killed if we die,
//! under resource limits, and, where the kernel allows unprivileged user namespaces, in a network namespace of
//! its own (no interface but a down loopback: our pipes are its only link). Inside, an audit hook
//! (PEP 578) refuses sockets, subprocesses and native code loading; the verifier prelude also refuses writes.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Resource limits for one process.
#[derive(Debug, Clone, Copy)]
pub struct ProcessLimits {
    /// Address space (bytes).
    pub address_space: u64,
    /// CPU seconds (SIGXCPU, then SIGKILL).
    pub cpu_seconds: Option<u64>,
    /// Largest file it may write (bytes); 0 forbids growing any file.
    pub file_size: Option<u64>,
    pub open_files: u64,
}

impl ProcessLimits {
    /// A bridge worker: hosts many apps and episodes for a long time.
    pub const WORKER: ProcessLimits =
        ProcessLimits { address_space: 4 << 30, cpu_seconds: None, file_size: Some(256 << 20), open_files: 1024 };
    /// One verifier run.
    pub const VERIFIER: ProcessLimits =
        ProcessLimits { address_space: 1 << 30, cpu_seconds: Some(20), file_size: Some(0), open_files: 64 };
}

/// The interpreter for the bridge and verifiers: `$AW_PYTHON`, else the venv that
/// `scripts/python-deps.sh` makes (`~/.cache/agentworld/pyenv`), else `python3` on the `PATH`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("AW_PYTHON") {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let venv = PathBuf::from(home).join(".cache/agentworld/pyenv/bin/python");
        if venv.exists() {
            return venv;
        }
    }
    PathBuf::from("python3")
}

/// Whether new processes can get their own network namespace here (probed once, in a child process).
pub fn network_isolation_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "exit 0"]);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.status().is_ok_and(|s| s.success())
    })
}

/// A `Command` for `python -I <args>` with the walls described in the module docs.
pub fn python_command(python: &std::path::Path, limits: ProcessLimits, isolate_network: bool) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg("-I");
    cmd.env_clear();
    cmd.env("PATH", "/usr/bin:/bin");
    cmd.env("LANG", "C.UTF-8");
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    cmd.env("PYTHONHASHSEED", "0");
    let isolate = isolate_network && network_isolation_available();
    // SAFETY: only async-signal-safe calls (setrlimit, prctl, setpgid, unshare) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let set = |resource, value: u64| {
                let lim = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
                if libc::setrlimit(resource, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            set(libc::RLIMIT_AS, limits.address_space)?;
            set(libc::RLIMIT_NOFILE, limits.open_files)?;
            set(libc::RLIMIT_CORE, 0)?;
            if let Some(cpu) = limits.cpu_seconds {
                set(libc::RLIMIT_CPU, cpu)?;
            }
            if let Some(size) = limits.file_size {
                set(libc::RLIMIT_FSIZE, size)?;
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::setpgid(0, 0);
            if isolate && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}
