//! Starts a benchmark subject inside a CPU-quota group, from spawn ("init
//! throttled"), without timing the slow move into the group:
//!
//!     cpu-quota-exec GROUP_DIR CPU LOG PROGRAM [ARGS…]
//!
//! It moves itself into GROUP_DIR (cgroup v1 or v2: writing its pid to
//! `cgroup.procs`, ~15–20 ms under cgroup v1 on a 2-core x86_64 VM) and onto
//! CPU (see `cpu_quota.rs` for why one CPU), prints `ready`, waits for a line
//! on stdin (the benchmark starts its clock and writes it), then replaces itself with PROGRAM: same pid, same
//! environment and working directory, stdin from /dev/null, stdout and
//! stderr appended to LOG. Kept to the standard library so that the exec
//! leaves little behind that the subject would pay for (and `nix` for the
//! affinity, without unsafe code).

use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [group, cpu, log, program, rest @ ..] = args.as_slice() else {
        eprintln!("usage: cpu-quota-exec GROUP_DIR CPU LOG PROGRAM [ARGS…]");
        return ExitCode::from(2);
    };
    let mut set = CpuSet::new();
    let pinned = cpu.parse().map_err(|e| format!("{e}")).and_then(|cpu| {
        set.set(cpu)
            .and_then(|()| sched_setaffinity(Pid::from_raw(0), &set))
            .map_err(|e| format!("{e}"))
    });
    if let Err(e) = pinned {
        eprintln!("cpu-quota-exec: cannot run on CPU {cpu}: {e}");
        return ExitCode::from(1);
    }
    let procs = std::path::Path::new(group).join("cgroup.procs");
    if let Err(e) = std::fs::write(&procs, std::process::id().to_string()) {
        eprintln!("cpu-quota-exec: cannot join {}: {e}", procs.display());
        return ExitCode::from(1);
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "ready").and_then(|()| stdout.flush()).is_err() {
        return ExitCode::from(1);
    }
    let mut go = String::new();
    if std::io::stdin().lock().read_line(&mut go).unwrap_or(0) == 0 {
        // The benchmark went away before starting the clock.
        return ExitCode::from(1);
    }
    let log = match OpenOptions::new().create(true).append(true).open(log) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("cpu-quota-exec: cannot open {log}: {e}");
            return ExitCode::from(1);
        }
    };
    let Ok(stderr) = log.try_clone() else { return ExitCode::from(1) };
    let error =
        Command::new(program).args(rest).stdin(Stdio::null()).stdout(log).stderr(stderr).exec();
    eprintln!("cpu-quota-exec: cannot start {program}: {error}");
    ExitCode::from(127)
}
