//! Lambda's CPU share, reproduced with the Linux CPU controller.
//!
//! Lambda gives a function CPU in proportion to its memory, one vCPU at
//! 1,769 MB, and enforces it in 20 ms periods: at 128 MB a function runs for
//! about 1.45 ms of each 20 ms, then waits for the next period (measured on
//! AWS by pwrdrvr/lambda-throttling: its pauses come in multiples of 20 ms).
//! A cgroup v1 `cpu` group with `cpu.cfs_period_us` = 20,000 and
//! `cpu.cfs_quota_us` = 20,000 × memory / 1,769 throttles a process the same
//! way. (With a 100 ms period the same share hides the problem: a cold path
//! under 7 ms of CPU fits in one period.)
//!
//! A subject under a quota runs on one CPU, the machine's last: the quota is
//! a share of one vCPU, and unpinned, a hello-world function (1.7 ms of
//! CPU) was throttled in up to 7 periods at 128 MB (our reading: CFS hands a
//! group's quota to each CPU's run queue in slices, and a process woken on
//! the other CPU finds part of its budget held there).
//!
//! Moving a running process into a group costs ~8–20 ms on this kernel, so
//! nothing timed ever moves: under "init throttled" the subject execs inside
//! the group from a launcher that moved itself there beforehand
//! (`bench/src/bin/cpu-quota-exec.rs`), and under "init unthrottled" the
//! subject is moved while it waits for its first event, between the two
//! timed phases.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Where cgroup v1 mounts the `cpu` controller.
const CPU_CONTROLLER: &str = "/sys/fs/cgroup/cpu";
/// Lambda's enforcement period.
pub const PERIOD_US: u64 = 20_000;
/// The memory size that gets one full vCPU.
pub const FULL_VCPU_MB: u32 = 1769;
/// Prefix of the groups this benchmark makes (one parent per run).
const GROUP_PREFIX: &str = "employee-api-bench-";

/// The quota of `memory_mb` in one period: its share of one vCPU.
pub fn quota_us(memory_mb: u32) -> u64 {
    (PERIOD_US as f64 * f64::from(memory_mb) / f64::from(FULL_VCPU_MB)).round() as u64
}

/// The memory sizes whose quota this run can apply, under a parent group
/// made for this run (removed when dropped).
pub struct CpuGroups {
    parent: PathBuf,
    quotas: Vec<CpuQuota>,
}

/// A memory size's quota, from which each process gets a group of its own
/// ([`CpuQuota::group`]): a group's per-CPU run queue keeps the runtime a
/// process overran before it was throttled, and a process that inherited
/// that debt would start throttled.
#[derive(Debug)]
pub struct CpuQuota {
    pub memory_mb: u32,
    parent: PathBuf,
}

/// One process's group, removed when dropped (after its process ended: a
/// group that still holds one cannot be removed, and stays until a later
/// run cleans up the stale parent).
#[derive(Debug)]
pub struct CpuGroup {
    dir: PathBuf,
}

/// Numbers the groups made for single processes.
static GROUPS_MADE: AtomicUsize = AtomicUsize::new(0);

impl CpuGroups {
    /// Checks that groups can be made here, with a quota, or says why not
    /// (no cgroup v1 `cpu` controller, not writable, not root…).
    pub fn create(sizes: &[u32]) -> Result<Self, String> {
        let controller = Path::new(CPU_CONTROLLER);
        if !controller.join("cpu.cfs_quota_us").is_file() {
            return Err(format!(
                "no cgroup v1 cpu controller at {CPU_CONTROLLER} (cpu.cfs_quota_us); cgroup v2 is not supported"
            ));
        }
        remove_stale_groups(controller);
        let parent = controller.join(format!("{GROUP_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        let quotas =
            sizes.iter().map(|&memory_mb| CpuQuota { memory_mb, parent: parent.clone() }).collect();
        let made = Self { parent, quotas };
        // One group of each size, made and removed: the quotas can be set.
        for quota in &made.quotas {
            quota
                .group()
                .map_err(|e| format!("cannot set a CPU quota in {}: {e}", made.parent.display()))?;
        }
        Ok(made)
    }

    pub fn quota(&self, memory_mb: u32) -> Option<&CpuQuota> {
        self.quotas.iter().find(|q| q.memory_mb == memory_mb)
    }
}

impl CpuQuota {
    /// A new group with this size's quota, for one process.
    pub fn group(&self) -> std::io::Result<CpuGroup> {
        let n = GROUPS_MADE.fetch_add(1, Ordering::Relaxed);
        let group = CpuGroup { dir: self.parent.join(format!("{}mb-{n}", self.memory_mb)) };
        std::fs::create_dir(&group.dir)?;
        std::fs::write(group.dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
        std::fs::write(group.dir.join("cpu.cfs_quota_us"), quota_us(self.memory_mb).to_string())?;
        Ok(group)
    }
}

impl CpuGroup {
    /// The group's directory, where `cpu-quota-exec` moves itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves every thread of `pid` into the group, on the subjects' CPU
    /// (slow: never timed).
    pub fn admit(&self, pid: u32) -> std::io::Result<()> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())?;
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
            let tid = task?.file_name().to_string_lossy().parse().unwrap_or(0);
            pin(Pid::from_raw(tid), subject_cpu())?;
        }
        Ok(())
    }

    /// How many periods the group was throttled in so far.
    pub fn throttled_periods(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("cpu.stat"))
            .ok()
            .and_then(|stat| {
                stat.lines().find_map(|l| l.strip_prefix("nr_throttled ")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The CPU the subjects under a quota run on: the last one this process
/// may use.
pub fn subject_cpu() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get() - 1)
}

/// Pins thread `tid` (0: the caller) to `cpu`; the threads it starts later
/// inherit it.
pub fn pin(tid: Pid, cpu: usize) -> std::io::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu).and_then(|()| sched_setaffinity(tid, &set)).map_err(std::io::Error::from)
}

impl Drop for CpuGroups {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.parent);
    }
}

/// Removes the groups of earlier runs whose process is gone (a run ended by
/// a signal cannot remove its own); a group that still holds a process
/// cannot be removed and stays.
fn remove_stale_groups(controller: &Path) {
    let Ok(entries) = std::fs::read_dir(controller) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(GROUP_PREFIX) else { continue };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        if let Ok(children) = std::fs::read_dir(entry.path()) {
            for child in children.filter_map(Result::ok) {
                if child.path().is_dir() {
                    let _ = std::fs::remove_dir(child.path());
                }
            }
        }
        let _ = std::fs::remove_dir(entry.path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_the_memory_share_of_one_vcpu_per_20_ms() {
        assert_eq!(quota_us(128), 1447);
        assert_eq!(quota_us(256), 2894);
        assert_eq!(quota_us(512), 5789);
        assert_eq!(quota_us(1024), 11577);
        assert_eq!(quota_us(1769), 20_000);
    }
}
