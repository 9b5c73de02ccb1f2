//! `solvency`: parse, set up tracing, run, map the error to an exit code.

use std::io::IsTerminal;

use clap::Parser;
use solvency_aggregator::cli::args::LogFormat;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `solvency … | head` ends quietly when the reader goes away, as other command-line tools
    // do, instead of panicking on a broken pipe.
    // SAFETY: restoring the default disposition of one signal, before any thread writes.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = solvency_aggregator::Cli::parse();
    init_logging(&cli);
    match solvency_aggregator::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<solvency_aggregator::cli::status::AlertsRaised>() {
            // `status --check`: the alerts are printed; the code says which is the most urgent.
            Some(raised) => std::process::ExitCode::from(raised.code),
            None => {
                eprintln!("error: {}", message(&e));
                std::process::ExitCode::FAILURE
            }
        },
    }
}

/// The error and its causes, each cause once: many errors already say their cause in their
/// own message.
fn message(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Logs to standard error at the command's level (`RUST_LOG` wins when set), as text (colour
/// only on a terminal) or JSON lines.
fn init_logging(cli: &solvency_aggregator::Cli) {
    let level = cli.log.level(cli.default_log_level());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The HTTP stacks underneath are chatty at debug; their lines are for `RUST_LOG`.
        EnvFilter::new(format!(
            "{level},hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,tower=warn,alloy_transport_http=info,alloy_transport_ws=info,alloy_pubsub=info,alloy_rpc_client=info"
        ))
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => {
            builder.json().with_ansi(false).flatten_event(true).with_current_span(false).init()
        }
    }
}
