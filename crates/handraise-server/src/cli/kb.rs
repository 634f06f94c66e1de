//! `kb list|export|import`: the knowledge base as documents (Markdown with front matter).

use super::open;
use anyhow::{Context, bail};
use clap::Subcommand;
use handraise_server::config::Location;
use handraise_server::store::{KbStore, now_utc};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub(super) enum KbCommand {
    /// List every article (published or not).
    List {
        /// Print a JSON array of {slug, title, categories, keywords, published, version}.
        #[arg(long)]
        json: bool,
    },
    /// Write one Markdown file per article (SLUG.md) into FOLDER.
    Export {
        #[arg(long, value_name = "FOLDER")]
        out: PathBuf,
    },
    /// Create or update articles (by slug) from the *.md files of FOLDER. A
    /// malformed file is reported by name and line and the others are still
    /// imported; the exit status is 1 when any file failed.
    Import {
        #[arg(value_name = "FOLDER")]
        folder: PathBuf,
    },
}

/// One article in `kb list --json`.
#[derive(Debug, Serialize)]
struct ArticleLine {
    slug: String,
    title: String,
    categories: Vec<handraise_wire::Category>,
    keywords: Vec<String>,
    published: bool,
    version: i64,
}

pub(super) fn kb_list(location: &Location, json: bool) -> anyhow::Result<()> {
    let store = open(location)?;
    let (_, mut articles) = store.kb_changes(0)?;
    articles.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = std::io::stdout().lock();
    if json {
        let lines: Vec<ArticleLine> = articles
            .into_iter()
            .map(|a| ArticleLine {
                slug: a.slug,
                title: a.title,
                categories: a.categories,
                keywords: a.keywords,
                published: a.published,
                version: a.version,
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &lines)?;
        writeln!(out)?;
    } else {
        for a in &articles {
            let cats: Vec<&str> = a.categories.iter().map(|c| c.as_str()).collect();
            writeln!(
                out,
                "{:<40} {:<11} {:<24} {}",
                a.slug,
                if a.published {
                    "published"
                } else {
                    "unpublished"
                },
                cats.join(","),
                a.title
            )?;
        }
        writeln!(out, "{} article(s)", articles.len())?;
    }
    out.flush()?;
    Ok(())
}

pub(super) fn kb_export(location: &Location, folder: &Path) -> anyhow::Result<()> {
    let store = open(location)?;
    let (_, articles) = store.kb_changes(0)?;
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    for a in &articles {
        let doc = handraise_server::service::article_input(a.clone());
        let path = folder.join(format!("{}.md", a.slug));
        std::fs::write(&path, handraise_server::kb::format(&doc))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "{} article(s) written to {}",
        articles.len(),
        folder.display()
    );
    Ok(())
}

pub(super) fn kb_import(location: &Location, folder: &Path) -> anyhow::Result<()> {
    let store = open(location)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot read {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
        .collect();
    files.sort();
    let (mut created, mut updated, mut unchanged, mut failed) = (0, 0, 0, 0);
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = std::fs::read_to_string(path)
            .map_err(|e| format!("{name}: cannot read: {e}"))
            .and_then(|text| {
                handraise_server::kb::parse(&text)
                    .map_err(|e| format!("{name}:{}: {}", e.line, e.message))
            })
            .and_then(|doc| {
                handraise_server::service::article_record(doc).map_err(|e| format!("{name}:1: {e}"))
            });
        let input = match outcome {
            Ok(input) => input,
            Err(message) => {
                eprintln!("error: {message}");
                failed += 1;
                continue;
            }
        };
        let existing = store.article(&input.slug)?;
        let same = existing.as_ref().is_some_and(|a| {
            a.title == input.title
                && a.body == input.body
                && a.categories == input.categories
                && a.keywords == input.keywords
                && a.published == input.published
        });
        if same {
            unchanged += 1;
            continue;
        }
        store.put_article(&input, now_utc())?;
        if existing.is_some() {
            updated += 1;
        } else {
            created += 1;
        }
    }
    println!(
        "{created} created, {updated} updated, {unchanged} unchanged, {failed} failed ({} file(s))",
        files.len()
    );
    if failed > 0 {
        bail!("{failed} file(s) could not be imported (the others were)");
    }
    Ok(())
}
