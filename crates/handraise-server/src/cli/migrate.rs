//! `migrate --from sqlite:DIR --to postgres://…`: a district's data moved
//! from a SQLite data directory into an empty PostgreSQL database
//! (`store::transfer`), with the row counts of both sides.

use anyhow::{Context, bail};
use handraise_server::config::DatabaseUrl;
use handraise_server::store::transfer::{self, TableCount, TransferError};
use std::io::Write;
use std::path::Path;

pub(super) fn migrate(from: &str, to: &str) -> anyhow::Result<()> {
    let Some(dir) = from.strip_prefix("sqlite:").filter(|d| !d.is_empty()) else {
        bail!("--from is sqlite:DIR, the data directory whose SQLite database is to move");
    };
    let dir = Path::new(dir);
    let to: DatabaseUrl = to.parse().context("--to")?;
    if !to.is_postgres() {
        bail!("--to is the postgres://USER:PASSWORD@HOST/DATABASE URL to move the data to");
    }
    let file = handraise_server::database_path(dir);
    if !file.is_file() {
        bail!(
            "no database at {} (is {} a data directory?)",
            file.display(),
            dir.display()
        );
    }
    // The source at this binary's schema, as `serve` would first make it.
    drop(
        handraise_server::open_data_dir(dir)
            .with_context(|| format!("opening {}", file.display()))?,
    );
    // Refused before the schema is applied to it.
    transfer::check_empty(&to).with_context(|| format!("checking {to}"))?;
    drop(handraise_server::open_database(dir, &to).with_context(|| format!("preparing {to}"))?);
    let mut out = std::io::stdout().lock();
    writeln!(out, "moving {} to {to}", file.display())?;
    let counts = match transfer::copy(&file, &to) {
        Ok(counts) => counts,
        Err(TransferError::CountsDiffer(counts)) => {
            print_counts(&mut out, &counts)?;
            bail!("the row counts differ: nothing was written to {to}");
        }
        Err(e) => return Err(e).context(format!("moving the data to {to}")),
    };
    print_counts(&mut out, &counts)?;
    let rows: u64 = counts.iter().map(|c| c.target).sum();
    writeln!(
        out,
        "{} tables, {rows} rows copied in one transaction, ids and sequences kept: agents carry \
         on from their cursors",
        counts.len()
    )?;
    writeln!(
        out,
        "next: database_url = \"postgres://…\" in the configuration (or --database), then serve"
    )?;
    out.flush()?;
    Ok(())
}

fn print_counts(out: &mut impl Write, counts: &[TableCount]) -> std::io::Result<()> {
    writeln!(out, "{:<20} {:>10} {:>10}", "table", "sqlite", "postgresql")?;
    for c in counts {
        let mark = if c.source == c.target {
            ""
        } else {
            "  DIFFERS"
        };
        writeln!(
            out,
            "{:<20} {:>10} {:>10}{mark}",
            c.table, c.source, c.target
        )?;
    }
    Ok(())
}
