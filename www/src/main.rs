//! `tokenkeeper-server`: see `www/README.md`, or run it with `--help`.

use std::process::ExitCode;

use clap::Parser;
use tokenkeeper_server::{server, Args};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Logs go to stderr: stdout carries only the "listening on" line the harness parses.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("tokenkeeper_server=info,tower_http=warn")),
        )
        .init();
    match server::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokenkeeper-server: {e}");
            ExitCode::FAILURE
        }
    }
}
