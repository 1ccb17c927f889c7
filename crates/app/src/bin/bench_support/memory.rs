//! The resident memory of a process and of its child processes (the sandbox workers of a
//! server), read from `/proc`.

#![allow(dead_code)]

/// Resident set sizes in bytes: the process's own, and its children's with their count; and
/// the proportional set size of both (shared pages, such as the program's text mapped by
/// every worker, counted once across the processes that share them).
pub struct Resident {
    pub own: u64,
    pub children: u64,
    pub child_count: usize,
    pub own_pss: u64,
    pub children_pss: u64,
}

/// The figure in KiB after `key` in the `/proc` file at `path`, in bytes (0 when the process
/// is gone).
fn kib_field(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// `Pss` of `pid` in bytes, from `/proc/PID/smaps_rollup`.
fn pss(pid: u32) -> u64 {
    kib_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

/// `VmRSS` of `pid` in bytes, from `/proc/PID/status`.
fn rss(pid: u32) -> u64 {
    kib_field(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// The parent pid of `pid`, from `/proc/PID/stat` (the field after the command's `)`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The memory of `pid` and its direct children.
pub fn resident(pid: u32) -> Resident {
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
                .filter(|child| parent_of(*child) == Some(pid))
                .collect()
        })
        .unwrap_or_default();
    Resident {
        own: rss(pid),
        children: children.iter().map(|child| rss(*child)).sum(),
        child_count: children.len(),
        own_pss: pss(pid),
        children_pss: children.iter().map(|child| pss(*child)).sum(),
    }
}
