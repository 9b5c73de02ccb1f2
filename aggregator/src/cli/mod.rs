//! The `solvency` command line: one module per command, each with its arguments type and its
//! `run`; option groups shared between commands live in [`args`].

pub mod args;
pub mod attestation;
pub mod demo;
pub mod devnet;
pub mod enclave;
pub mod keys;
pub mod report;
pub mod run;
pub mod status;

use clap::{Parser, Subcommand};

/// Self-Healing Reserve: confidential, cross-chain proof of solvency.
///
/// Reporters seal each chain's reserves and liabilities to an enclave, which signs one boolean
/// (solvent or not) that every chain's `isSolvent()` serves. Start with `solvency demo`, or
/// `solvency devnet up --detach` and the README's "Running a round by hand". Set `RUST_LOG=info`
/// to see what a long-running command does.
#[derive(Debug, Parser)]
#[command(name = "solvency", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job for a newcomer: on a fresh devnet, reports sealed on every chain, the
    /// enclave's one boolean on every chain — healthy, insolvent, restored.
    ///
    /// Example: `solvency demo`
    Demo(demo::DemoArgs),
    /// A local multi-chain CCIP devnet.
    #[command(subcommand)]
    Devnet(devnet::DevnetCommand),
    /// Run the aggregator against a registry until Ctrl-C or SIGTERM.
    ///
    /// Example: `solvency run --config .devnet/networks.toml`
    Run(run::RunArgs),
    /// Per chain: isSolvent(), epoch, age and staleness, read from every chain of the registry.
    ///
    /// Example: `solvency status --config .devnet/networks.toml`
    Status(status::StatusArgs),
    /// Reporters: seal a chain's figures and send them, or seal offline.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Enclave tools: serve an instance, evidence, registration, rotation.
    #[command(subcommand)]
    Enclave(enclave::EnclaveCommand),
    /// Key management.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Attestation tools.
    #[command(subcommand)]
    Attestation(attestation::AttestationCommand),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Devnet(command) => command.run().await,
        Command::Run(args) => run::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Report(command) => command.run().await,
        Command::Enclave(command) => command.run().await,
        Command::Keys(command) => command.run(),
        Command::Attestation(command) => command.run(),
    }
}
