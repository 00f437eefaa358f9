//! Lambda's CPU share, reproduced with the Linux CPU controller.
//!
//! Lambda gives a function CPU in proportion to its memory, one vCPU at
//! 1,769 MB, and enforces it in 20 ms periods: at 128 MB a function runs for
//! about 1.45 ms of each 20 ms, then waits for the next period (measured on
//! AWS by pwrdrvr/lambda-throttling: its pauses come in multiples of 20 ms).
//! A CPU-controller group with a period of 20,000 µs and a quota of
//! 20,000 × memory / 1,769 µs throttles a process the same way: on cgroup v2
//! (the unified hierarchy of current distributions) `cpu.max` =
//! "QUOTA 20000"; on cgroup v1 `cpu.cfs_period_us` and `cpu.cfs_quota_us`. (With a 100 ms period the same share hides the problem: a cold path
//! under 7 ms of CPU fits in one period.)
//!
//! A subject under a quota runs on one CPU, the machine's last: the quota is
//! a share of one vCPU, and unpinned, a hello-world function (1.7 ms of
//! CPU) was throttled in up to 7 periods at 128 MB (our reading: CFS hands a
//! group's quota to each CPU's run queue in slices, and a process woken on
//! the other CPU finds part of its budget held there).
//!
//! Moving a running process into a group cost ~8–20 ms (cgroup v1, a 2-core
//! x86_64 Linux VM), so nothing timed ever moves: under "init throttled" the
//! subject execs inside the group from a launcher that moved itself there
//! beforehand (`bench/src/bin/cpu-quota-exec.rs`), and under "init
//! unthrottled" the subject is moved while it waits for its first event,
//! between the two timed phases.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Lambda's enforcement period.
pub const PERIOD_US: u64 = 20_000;
/// The memory size that gets one full vCPU.
pub const FULL_VCPU_MB: u32 = 1769;
/// Prefix of the groups this benchmark makes (one parent per run).
const GROUP_PREFIX: &str = "employee-api-bench-";
/// What to do where no quota can be set, in one line.
const INSTEAD: &str = "run the benchmark as root (sudo -E ./scripts/bench.sh …), or pass \
    --sizes none to run it without a CPU quota";

/// The quota of `memory_mb` in one period: its share of one vCPU.
pub fn quota_us(memory_mb: u32) -> u64 {
    (PERIOD_US as f64 * f64::from(memory_mb) / f64::from(FULL_VCPU_MB)).round() as u64
}

/// The line that says why no quota can be set, and what to run instead.
fn unavailable(why: String) -> String {
    format!("no CPU quota can be set: {why}; {INSTEAD}")
}

/// Where the CPU controller is, and which interface it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// cgroup v1: the mount of the `cpu` controller (`/sys/fs/cgroup/cpu`,
    /// or `cpu,cpuacct` mounted together).
    V1(PathBuf),
    /// cgroup v2: the unified hierarchy's mount (`/sys/fs/cgroup`).
    V2(PathBuf),
}

impl Hierarchy {
    /// The host's, from `/proc/self/mounts`.
    pub fn of_this_host() -> Result<Self, String> {
        let mounts = std::fs::read_to_string("/proc/self/mounts")
            .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
        Self::find(&mounts)
    }

    /// The CPU controller's hierarchy in a mount table (`/proc/self/mounts`'
    /// format). A hybrid host mounts both: the controller is on the v1 side
    /// there (a controller is in one hierarchy at a time), so v1's `cpu`
    /// mount wins.
    pub fn find(mounts: &str) -> Result<Self, String> {
        let mut unified = None;
        for line in mounts.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, dir, kind, options, ..] = fields.as_slice() else { continue };
            match *kind {
                "cgroup" if options.split(',').any(|o| o == "cpu") => {
                    return Ok(Self::V1(PathBuf::from(dir)));
                }
                "cgroup2" => unified = unified.or(Some(PathBuf::from(dir))),
                _ => {}
            }
        }
        unified.map(Self::V2).ok_or_else(|| {
            "no cgroup CPU controller is mounted (neither cgroup2 nor a cgroup v1 cpu mount)"
                .to_owned()
        })
    }

    fn root(&self) -> &Path {
        match self {
            Self::V1(root) | Self::V2(root) => root,
        }
    }

    /// Makes `dir` a group whose children can have a CPU quota.
    fn make_parent(&self, dir: &Path) -> std::io::Result<()> {
        match self {
            Self::V1(_) => std::fs::create_dir_all(dir),
            Self::V2(root) => {
                // A v2 group's files exist only for the controllers its
                // parent enables for its children: the root enables `cpu`
                // for the run's parent, which enables it for its own.
                enable_cpu(root)?;
                std::fs::create_dir_all(dir)?;
                enable_cpu(dir)
            }
        }
    }

    /// Sets the quota of `memory_mb` on the group `dir`.
    fn set_quota(&self, dir: &Path, memory_mb: u32) -> std::io::Result<()> {
        let quota = quota_us(memory_mb);
        match self {
            Self::V1(_) => {
                std::fs::write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
                std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())
            }
            Self::V2(_) => std::fs::write(dir.join("cpu.max"), format!("{quota} {PERIOD_US}")),
        }
    }

    /// Whether this hierarchy has a CPU controller to give quotas with.
    fn check(&self) -> Result<(), String> {
        match self {
            Self::V1(root) => {
                let quota = root.join("cpu.cfs_quota_us");
                if quota.is_file() {
                    Ok(())
                } else {
                    Err(format!("the cgroup v1 cpu controller has no {}", quota.display()))
                }
            }
            Self::V2(root) => {
                let listed = root.join("cgroup.controllers");
                let controllers = std::fs::read_to_string(&listed)
                    .map_err(|e| format!("cannot read {}: {e}", listed.display()))?;
                if controllers.split_whitespace().any(|c| c == "cpu") {
                    Ok(())
                } else {
                    Err(format!(
                        "the cgroup v2 hierarchy has no cpu controller ({})",
                        listed.display()
                    ))
                }
            }
        }
    }
}

/// Enables the `cpu` controller for the children of the v2 group `dir`.
fn enable_cpu(dir: &Path) -> std::io::Result<()> {
    let control = dir.join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&control).unwrap_or_default();
    if enabled.split_whitespace().any(|c| c == "cpu") {
        return Ok(());
    }
    std::fs::write(control, "+cpu")
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
    hierarchy: Hierarchy,
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
    /// Groups with the quotas of `sizes` on this host, or the one line that
    /// says why there are none and what to run instead.
    pub fn create(sizes: &[u32]) -> Result<Self, String> {
        Hierarchy::of_this_host()
            .and_then(|hierarchy| Self::create_in(hierarchy, sizes))
            .map_err(unavailable)
    }

    /// Groups under `hierarchy`, one of each size made and removed to check
    /// that the quotas can be set.
    pub fn create_in(hierarchy: Hierarchy, sizes: &[u32]) -> Result<Self, String> {
        hierarchy.check()?;
        remove_stale_groups(hierarchy.root());
        let parent = hierarchy.root().join(format!("{GROUP_PREFIX}{}", std::process::id()));
        hierarchy
            .make_parent(&parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        let quotas = sizes
            .iter()
            .map(|&memory_mb| CpuQuota {
                memory_mb,
                hierarchy: hierarchy.clone(),
                parent: parent.clone(),
            })
            .collect();
        let made = Self { parent, quotas };
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
        self.hierarchy.set_quota(&group.dir, self.memory_mb)?;
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

    /// How many periods the group was throttled in so far (`nr_throttled`
    /// in `cpu.stat`, in both hierarchies).
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

    const UNIFIED: &str =
        "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n";

    #[test]
    fn the_unified_hierarchy_is_found_where_it_is_the_only_one() {
        let mounts = format!("proc /proc proc rw 0 0\n{UNIFIED}");
        assert_eq!(Hierarchy::find(&mounts), Ok(Hierarchy::V2("/sys/fs/cgroup".into())));
    }

    #[test]
    fn a_v1_cpu_controller_wins_on_a_hybrid_host() {
        let mounts = "tmpfs /sys/fs/cgroup tmpfs rw 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nsdelegate 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0
";
        assert_eq!(Hierarchy::find(mounts), Ok(Hierarchy::V1("/sys/fs/cgroup/cpu,cpuacct".into())));
        // `cpuacct` and `cpuset` alone are not the cpu controller.
        let without_cpu = "cgroup /sys/fs/cgroup/cpuacct cgroup rw,cpuacct 0 0
cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0
";
        assert!(Hierarchy::find(without_cpu).is_err());
    }

    /// An empty directory standing for a hierarchy's mount.
    fn fake_tree(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cpu-quota-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn read(path: PathBuf) -> String {
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn on_cgroup_v2_each_group_gets_cpu_max_with_the_20_ms_period() {
        let root = fake_tree("v2");
        std::fs::write(root.join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "memory pids\n").unwrap();
        let groups = CpuGroups::create_in(Hierarchy::V2(root.clone()), &[128, 1024]).unwrap();
        let parent = root.join(format!("{GROUP_PREFIX}{}", std::process::id()));
        assert_eq!(read(root.join("cgroup.subtree_control")), "+cpu");
        assert_eq!(read(parent.join("cgroup.subtree_control")), "+cpu");
        let group = groups.quota(128).unwrap().group().unwrap();
        assert_eq!(read(group.dir().join("cpu.max")), "1447 20000");
        let group = groups.quota(1024).unwrap().group().unwrap();
        assert_eq!(read(group.dir().join("cpu.max")), "11577 20000");
        assert!(!group.dir().join("cpu.cfs_quota_us").exists());
        std::fs::write(
            group.dir().join("cpu.stat"),
            "usage_usec 1\nnr_periods 9\nnr_throttled 4\nthrottled_usec 80000\n",
        )
        .unwrap();
        assert_eq!(group.throttled_periods(), 4);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn on_cgroup_v2_a_controller_already_enabled_is_left_as_it_is() {
        let root = fake_tree("v2-enabled");
        std::fs::write(root.join("cgroup.controllers"), "cpu memory\n").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "cpu memory\n").unwrap();
        CpuGroups::create_in(Hierarchy::V2(root.clone()), &[256]).unwrap();
        assert_eq!(read(root.join("cgroup.subtree_control")), "cpu memory\n");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn on_cgroup_v2_without_the_cpu_controller_no_group_is_made() {
        let root = fake_tree("v2-no-cpu");
        std::fs::write(root.join("cgroup.controllers"), "memory pids\n").unwrap();
        let why = CpuGroups::create_in(Hierarchy::V2(root.clone()), &[128]).err().unwrap();
        assert!(why.contains("no cpu controller"), "{why}");
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn on_cgroup_v1_each_group_gets_the_period_and_the_quota() {
        let root = fake_tree("v1");
        std::fs::write(root.join("cpu.cfs_quota_us"), "-1\n").unwrap();
        let groups = CpuGroups::create_in(Hierarchy::V1(root.clone()), &[512]).unwrap();
        let group = groups.quota(512).unwrap().group().unwrap();
        assert_eq!(read(group.dir().join("cpu.cfs_period_us")), "20000");
        assert_eq!(read(group.dir().join("cpu.cfs_quota_us")), "5789");
        assert!(!group.dir().join("cpu.max").exists());
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn where_no_quota_can_be_set_the_line_says_what_to_run() {
        let root = fake_tree("v1-missing");
        let why = CpuGroups::create_in(Hierarchy::V1(root.clone()), &[128]).err().unwrap();
        assert!(why.contains("cpu.cfs_quota_us"), "{why}");
        // What the benchmark prints, from a host with neither.
        let line = Hierarchy::find("proc /proc proc rw 0 0\n")
            .and_then(|h| CpuGroups::create_in(h, &[128]))
            .map_err(unavailable)
            .err()
            .unwrap();
        assert!(line.contains("as root") && line.contains("--sizes none"), "{line}");
        let _ = std::fs::remove_dir_all(root);
    }
}
