//! What `cargo xtask bench` and `cargo xtask bench-app` share: the machine a run was made
//! on, its load, and writing one generated section of BENCHMARKS.md.

use anyhow::{Context, Result};
use std::path::Path;

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The soft open-file limit of this process.
pub fn nofile_soft() -> Option<usize> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// CPUs, model, memory, kernel and open-file limit of this machine, in one line.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("?")
        .to_owned();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    format!(
        "{nproc} CPUs ({model}), {mem_gib:.1} GiB RAM, Linux {kernel}, open-file limit {}",
        nofile_soft().map_or("?".into(), |n| n.to_string())
    )
}

fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    )
}

/// `body` between the `<!-- NAME:start -->` and `<!-- NAME:end -->` markers.
pub fn section(name: &str, body: &str) -> String {
    let (start, end) = markers(name);
    format!("{start}\n{}\n{end}\n", body.trim_end())
}

/// Replaces the section `name` of `text` (markers included) with `section`, keeping every
/// other section; appends it when `text` has none.
pub fn splice(text: &str, name: &str, section: &str) -> String {
    let (start, end) = markers(name);
    match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if b > a => {
            let mut stop = b + end.len();
            if text[stop..].starts_with('\n') {
                stop += 1;
            }
            format!("{}{}{}", &text[..a], section, &text[stop..])
        }
        _ => format!("{}\n\n{}", text.trim_end(), section),
    }
}

/// Writes `section` as the section `name` of the Markdown file at `path`.
pub fn write_section(path: &Path, name: &str, section: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(path, splice(&text, name, section))
        .with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{section, splice};

    #[test]
    fn splices_only_its_own_section() {
        let other = format!("# Benchmarks\n\n{}", section("app", "app"));
        let first = splice(&other, "server", &section("server", "A"));
        assert!(first.contains("app\n") && first.contains("\nA\n"));
        let second = splice(&first, "server", &section("server", "B"));
        assert!(second.contains("app\n") && second.contains("\nB\n") && !second.contains("\nA\n"));
        assert_eq!(second.matches("server:start").count(), 1);
        assert_eq!(second.matches("app:start").count(), 1);
    }
}
