//! CPU time per process from `/proc` (user + system, in the kernel's 100 Hz ticks), so a
//! bench can say where the CPU of each request goes: its own child processes by pid, shared
//! servers (nats-server, PostgreSQL with its backends) by process name.

use std::collections::BTreeMap;

/// The kernel reports `/proc/<pid>/stat` times in USER_HZ ticks, 100 a second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// Seconds of CPU one process has used, if it is alive.
fn seconds_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name may hold spaces and parentheses: the fields start after the last ')'
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// What to measure: labelled pids, and labelled process names (every process of that name).
pub struct Watched {
    pub pids: Vec<(String, u32)>,
    pub names: Vec<(String, String)>,
}

/// CPU seconds per label at one moment.
pub struct Snapshot(BTreeMap<String, f64>);

impl Watched {
    pub fn snapshot(&self) -> Snapshot {
        let mut seconds = BTreeMap::new();
        for (label, pid) in &self.pids {
            *seconds.entry(label.clone()).or_insert(0.0) += seconds_of(*pid).unwrap_or(0.0);
        }
        for (label, name) in &self.names {
            let total: f64 = pids_named(name).into_iter().filter_map(seconds_of).sum();
            *seconds.entry(label.clone()).or_insert(0.0) += total;
        }
        Snapshot(seconds)
    }
}

impl Snapshot {
    /// Microseconds of CPU per unit of work between `self` and `later`, per label. (A
    /// PostgreSQL backend that ended meanwhile takes its time with it: a floor, not a ceiling.)
    pub fn per_unit_micros(&self, later: &Snapshot, units: u64) -> BTreeMap<String, f64> {
        later
            .0
            .iter()
            .map(|(label, after)| {
                let before = self.0.get(label).copied().unwrap_or(0.0);
                let micros = (after - before).max(0.0) * 1e6 / units.max(1) as f64;
                (label.clone(), (micros * 10.0).round() / 10.0)
            })
            .collect()
    }
}
