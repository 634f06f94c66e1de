//! HandRaise beside Request Tracker 5 under the same ticket-creation load, and the
//! criterion micro-benchmarks of every crate.

use super::results::{Line, find, lines_of, ms, run_bounded};
use super::{LOAD_ENV, Opts, Report, Target};
use crate::benchmarks::loadavg;
use crate::cargo;
use anyhow::Result;
use handraise_testkit::is_root;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub fn rt(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let title = "## Side by side with Request Tracker 5";
    let available = o.rt_script.exists();
    let wanted = match o.rt {
        Some(w) => w,
        None => available && is_root(),
    };
    if !wanted {
        let why = if o.rt == Some(false) {
            "`--no-rt` was given".to_owned()
        } else if !available {
            "no Request Tracker start script (tests/peers/rt/start-rt.sh, or HANDRAISE_RT_START)"
                .to_owned()
        } else {
            "not running as root (the script installs Debian packages); pass `--rt` to try anyway"
                .to_owned()
        };
        r.section(format!("{title}\n\nSkipped: {why}.\n"));
        return Ok(());
    }
    let crate::rtpeer::Rt {
        url: rt_url,
        token: rt_token,
    } = crate::rtpeer::start(&o.rt_script)?;
    let secs = if o.quick { "10" } else { "30" };
    let concurrency = "4";
    let server = Target::start(server_bin, LOAD_ENV)?;
    let load_hr = loadavg();
    let hr = run_bounded(
        server.bench(bench_bin, "intake").args([
            "--concurrency",
            concurrency,
            "--tickets",
            "1000000",
            "--duration",
            secs,
            "--label",
            "rt-compare",
        ]),
        Duration::from_secs(300),
    )?;
    drop(server);
    let load_rt = loadavg();
    let rtout = run_bounded(
        Command::new(bench_bin).args([
            "rt",
            "--url",
            &rt_url,
            "--token",
            &rt_token,
            "--concurrency",
            concurrency,
            "--tickets",
            "100000",
            "--duration",
            secs,
        ]),
        Duration::from_secs(600),
    )?;
    let h = lines_of(&hr);
    let t = lines_of(&rtout);
    let h = find(&h, "intake")?.clone();
    let t = find(&t, "rt")?.clone();
    r.raw.push(h.0.clone());
    r.raw.push(t.0.clone());
    let ratio = h.num("per_sec") / t.num("per_sec");
    let row = |system: &str, l: &Line, load: &str| {
        format!(
            "| {system} | {:.1} | {} | {} | {:.0} | {:.0} | {} |",
            l.num("per_sec"),
            ms(l.num("p50_ms")),
            ms(l.num("p99_ms")),
            l.num("tickets"),
            l.num("errors"),
            load.split_whitespace().next().unwrap_or("?"),
        )
    };
    r.section(format!(
        "{title}\n\n\
         The same ticket-creation load — {concurrency} concurrent clients creating tickets back \
         to back for {secs} s, each ticket carrying a summary, details, the reporter and this \
         machine's device snapshot — against `handraise-server` (release, SQLite) and against \
         Request Tracker 5 from Debian's packages (SQLite backend, its standalone server with \
         4 workers, started by `tests/peers/rt/start-rt.sh` or the script `HANDRAISE_RT_START` names, REST2 `POST /REST/2.0/ticket` with an API token; RT \
         checks the token with bcrypt on every request, as shipped), one after the other in \
         one run on the same machine.\n\n\
         | system | tickets/s | p50 | p99 | tickets | errors | load (1 min) at start |\n\
         |---|---:|---:|---:|---:|---:|---:|\n\
         {}\n\
         {}\n\n\
         **HandRaise creates tickets {ratio:.0}× as fast as Request Tracker under this load.**\n",
        row("HandRaise", &h, &load_hr),
        row("Request Tracker 5", &t, &load_rt),
    ));
    Ok(())
}

pub fn criterion(o: &Opts, r: &mut Report) -> Result<()> {
    let load = loadavg();
    let (warm, measure) = if o.quick { ("0.5", "1") } else { ("1", "3") };
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "-p",
        "handraise-wire",
        "-p",
        "handraise-agent",
        "-p",
        "handraise-server",
        "--bench",
        "*",
        "--",
        "--warm-up-time",
        warm,
        "--measurement-time",
        measure,
        "--noplot",
    ]);
    let out = run_bounded(&mut cmd, Duration::from_secs(1800))?;
    let rows = criterion_rows(&out);
    r.section(format!(
        "## Micro-benchmarks (criterion)\n\n\
         `cargo bench -p handraise-wire -p handraise-agent -p handraise-server` (benches in each \
         crate's `benches/`), warm-up {warm} s, measurement {measure} s; the median estimate per \
         iteration. Load (1 min) at start: {}.\n\n\
         | benchmark | time |\n|---|---:|\n{}\n",
        load.split_whitespace().next().unwrap_or("?"),
        rows.join("\n")
    ));
    Ok(())
}

/// `| name | median |` rows from criterion's output. A "change:" block after
/// an estimate repeats `time:` with percentages; only the first `time:` of
/// each benchmark counts.
fn criterion_rows(out: &str) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    let mut name = String::new();
    for line in out.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(i) = t.find("time:") {
            let head = t[..i].trim();
            if !head.is_empty() {
                name = head.to_owned();
            }
            let inner = t[i + 5..].trim().trim_start_matches('[');
            // [low unit mid unit high unit]
            let parts: Vec<&str> = inner.split_whitespace().take(4).collect();
            let row_start = format!("| `{name}` |");
            if parts.len() == 4
                && !parts.iter().any(|p| p.contains('%'))
                && !rows.iter().any(|r| r.starts_with(&row_start))
            {
                rows.push(format!("{row_start} {} {} |", parts[2], parts[3]));
            }
        } else if !line.starts_with(' ') && !t.contains(':') {
            name = t.to_owned();
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    #[test]
    fn criterion_medians_without_the_change_block() {
        let out = "agent/sync plan\n                        time:   [25.681 µs 28.634 µs 33.113 µs]\n\
                   Found 11 outliers among 100 measurements (11.00%)\n\
                   wire/parse NewTicket\n                        time:   [7.6 µs 9.2 µs 11.0 µs]\n\
                   \x20                       thrpt:  [221.37 MiB/s 265.88 MiB/s 319.09 MiB/s]\n\
                   \x20                change:\n\
                   \x20                       time:   [−3.4% −1.9163% +0.1%] (p = 0.08 > 0.05)\n";
        let rows = super::criterion_rows(out);
        assert_eq!(
            rows,
            vec![
                "| `agent/sync plan` | 28.634 µs |".to_owned(),
                "| `wire/parse NewTicket` | 9.2 µs |".to_owned()
            ]
        );
    }
}
