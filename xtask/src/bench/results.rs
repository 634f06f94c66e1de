//! Reading what the load generator and the server report: `handraise-bench`'s result lines,
//! the server's memory and CPU from /proc, and a bounded run of a command.

use anyhow::{Context, Result, bail};
use handraise_testkit::process::wait_or_kill;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A result line of `handraise-bench`: a flat JSON object.
#[derive(Debug, Clone)]
pub struct Line(pub String);

impl Line {
    fn raw(&self, key: &str) -> Option<&str> {
        let pat = format!("\"{key}\":");
        let start = self.0.find(&pat)? + pat.len();
        let rest = &self.0[start..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].trim().trim_matches('"'))
    }
    pub fn num(&self, key: &str) -> f64 {
        self.raw(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }
    pub fn str(&self, key: &str) -> &str {
        self.raw(key).unwrap_or("")
    }
}

pub fn lines_of(stdout: &str) -> Vec<Line> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| Line(l.to_owned()))
        .collect()
}

pub fn find<'a>(lines: &'a [Line], bench: &str) -> Result<&'a Line> {
    lines
        .iter()
        .find(|l| l.str("bench") == bench)
        .with_context(|| format!("no {bench} result"))
}

/// Resident set size of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

pub fn status_field(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds used by `pid` (assumes the usual 100 clock ticks/s).
pub fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return f64::NAN;
    };
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15 (1-based).
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `cmd`, stdout captured, stderr shown; killed after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let Some(status) = wait_or_kill(&mut child, limit)? else {
        bail!("{shown} took longer than {} s; killed", limit.as_secs());
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    print!("{out}");
    Ok(out)
}

pub fn ms(x: f64) -> String {
    if x.is_nan() {
        "?".into()
    } else if x >= 100.0 {
        format!("{x:.0} ms")
    } else if x >= 10.0 {
        format!("{x:.1} ms")
    } else {
        format!("{x:.2} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::Line;

    #[test]
    fn reads_flat_json() {
        let l = Line(r#"{"bench":"intake","per_sec":1013.866,"p50_ms":6.5,"label":"x"}"#.into());
        assert_eq!(l.str("bench"), "intake");
        assert_eq!(l.num("per_sec"), 1013.866);
        assert_eq!(l.num("p50_ms"), 6.5);
        assert_eq!(l.str("label"), "x");
        assert!(l.num("missing").is_nan());
    }
}
