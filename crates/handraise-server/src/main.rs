//! `handraise-server`: a thin shell over the library.

mod cli;

use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let args = cli::Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = handraise_server::logging::subscriber(
        args.log_format(),
        filter,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
    tracing::subscriber::set_global_default(subscriber)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(cli::run(args));
    // Do not wait on stray blocking tasks: the process is exiting anyway.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
