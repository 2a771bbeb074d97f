//! nhomthu: a mailing-list manager with registration by email.
//!
//! The flow, one module per step: `source` (IMAP, Maildir) → `pipeline` (record,
//! `classify`, `actions`, one transaction in `store`) → `source` ack; `delivery` drains
//! the outbound queue through its sink. See ARCHITECTURE.md.

#![forbid(unsafe_code)]

mod actions;
mod address;
mod classify;
mod cli;
mod compose;
mod config;
mod daemon;
mod delivery;
mod message;
mod pipeline;
mod shutdown;
mod source;
mod store;
mod templates;
mod text;
mod tls;
mod token;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli::dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
