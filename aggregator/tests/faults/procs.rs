//! The processes of a run: each `solvency` command as a child process, killed with SIGKILL,
//! paused with SIGSTOP, restarted; every child dies with the suite (PR_SET_PDEATHSIG), so even a
//! killed suite leaves nothing behind.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Sends `signal` to `pid`; false if there is no such process.
pub(crate) fn signal(pid: u32, signal: i32) -> bool {
    // SAFETY: a plain kill(2) on a pid this suite started (or an anvil its devnet started).
    unsafe { libc::kill(pid as libc::pid_t, signal) == 0 }
}

/// True while `pid` exists and is not a zombie.
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the command name in parentheses.
        Ok(stat) => {
            stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z")
        }
        Err(_) => false,
    }
}

/// One supervised `solvency` command.
pub(crate) struct Proc {
    pub(crate) name: String,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    pub(crate) starts: u32,
}

impl Proc {
    pub(crate) fn new(name: &str, args: &[&str], dir: &Path) -> Self {
        Self {
            name: name.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            log: dir.join(format!("{name}.log")),
            child: None,
            starts: 0,
        }
    }

    pub(crate) fn start(&mut self) {
        assert!(self.child.is_none(), "{} already runs", self.name);
        let log = File::options().create(true).append(true).open(&self.log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_solvency"));
        command
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl only changes the child's own attributes.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self.child = Some(command.spawn().unwrap());
        self.starts += 1;
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9`, and reap it.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub(crate) fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), libc::SIGTERM);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// True if the process has exited (it is then reaped and can be started again).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}
