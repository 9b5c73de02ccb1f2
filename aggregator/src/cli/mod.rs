//! The `solvency` command line: one module per command, each with its arguments type and its
//! `run`; option groups shared between commands live in [`args`].

pub mod admin;
pub mod args;
pub mod attestation;
pub mod check;
pub mod dashboard;
pub mod demo;
pub mod deploy;
pub mod devnet;
pub mod enclave;
pub mod keys;
pub mod maker;
pub mod report;
pub mod reporter;
pub mod run;
pub mod status;
pub mod treasury;

use clap::{Parser, Subcommand};

/// Self-Healing Reserve: confidential, cross-chain proof of solvency.
///
/// Reporters seal each chain's reserves and liabilities to an enclave, which signs one boolean
/// (solvent or not) that every chain's `isSolvent()` serves. Start with `solvency demo`, or
/// `solvency devnet up --detach` and the README's "Running a round by hand".
#[derive(Debug, Parser)]
#[command(name = "solvency", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Logging options, for every command.
    #[command(flatten)]
    pub log: args::LogArgs,
}

impl Cli {
    /// The log level without `-v`/`-q`: long-running commands say what they do (each accepted
    /// report, attestation and delivery, and why they are not attesting); one-shot commands print
    /// their result and log only what went wrong.
    pub fn default_log_level(&self) -> tracing::Level {
        match &self.command {
            Command::Run(_)
            | Command::Dashboard(_)
            | Command::Devnet(devnet::DevnetCommand::Up(_) | devnet::DevnetCommand::Relay(_))
            | Command::Enclave(enclave::EnclaveCommand::Serve(_))
            | Command::Reporter(reporter::ReporterCommand::Run(_))
            | Command::Maker(maker::MakerCommand::Run(_))
            | Command::Treasury(treasury::TreasuryCommand::Run(_)) => tracing::Level::INFO,
            _ => tracing::Level::WARN,
        }
    }
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
    /// The contracts' owner: deploy a registry's contracts and wire them (idempotent,
    /// resumable; addresses written back into the registry in place).
    ///
    /// Example: `solvency deploy --config networks.toml --owner-keystore owner.json`
    Deploy(deploy::DeployArgs),
    /// The contracts' owner: every owner operation, sent or written as Safe batches.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Check a registry against its chains before running: each RPC's chain id, the contracts
    /// and their wiring, the policy digest, the enclave's signers, the hub's fee balance, and
    /// the freshness windows against each lane's CCIP latency. Exits 1 on an error.
    ///
    /// Example: `solvency check --config .devnet/networks.toml`
    Check(check::CheckArgs),
    /// A read-only web dashboard, HTTP API and metrics from chain reads alone (no keys): anyone
    /// can watch a deployment's solvency without trusting its operator.
    ///
    /// Example: `solvency dashboard --config .devnet/networks.toml`
    Dashboard(dashboard::DashboardArgs),
    /// Per chain: isSolvent(), epoch, age and staleness, read from every chain of the registry.
    ///
    /// Example: `solvency status --config .devnet/networks.toml`
    Status(status::StatusArgs),
    /// Reporters: seal a chain's figures and send them, or seal offline.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Market makers and the protocol: deposit into, withdraw from and read statements of the
    /// reserve vaults.
    #[command(subcommand)]
    Maker(maker::MakerCommand),
    /// A chain's treasury: open and check its instruction every epoch.
    #[command(subcommand)]
    Treasury(treasury::TreasuryCommand),
    /// A chain's reporter as a daemon: figures from their sources, on a heartbeat and on
    /// deviation.
    #[command(subcommand)]
    Reporter(reporter::ReporterCommand),
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
        Command::Check(args) => check::run(args).await,
        Command::Deploy(args) => deploy::run(args).await,
        Command::Admin(command) => command.run().await,
        Command::Dashboard(args) => dashboard::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Report(command) => command.run().await,
        Command::Maker(command) => command.run().await,
        Command::Treasury(command) => command.run().await,
        Command::Reporter(command) => command.run().await,
        Command::Enclave(command) => command.run().await,
        Command::Keys(command) => command.run(),
        Command::Attestation(command) => command.run(),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use tracing::level_filters::LevelFilter;

    use super::Cli;

    #[test]
    fn every_command_line_definition_is_consistent() {
        // Clap checks names, shorts and conflicts across every subcommand (global `-v`/`-q`
        // included) only when asked.
        Cli::command().debug_assert();
    }

    #[test]
    fn long_running_commands_log_at_info_and_flags_move_the_level() {
        let level = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).expect("parses");
            cli.log.level(cli.default_log_level())
        };
        assert_eq!(level(&["solvency", "run"]), LevelFilter::INFO);
        assert_eq!(level(&["solvency", "dashboard"]), LevelFilter::INFO);
        assert_eq!(level(&["solvency", "devnet", "up"]), LevelFilter::INFO);
        assert_eq!(level(&["solvency", "status"]), LevelFilter::WARN);
        assert_eq!(level(&["solvency", "run", "-v"]), LevelFilter::DEBUG);
        assert_eq!(level(&["solvency", "-vv", "run"]), LevelFilter::TRACE);
        assert_eq!(level(&["solvency", "run", "-vvvv"]), LevelFilter::TRACE);
        assert_eq!(level(&["solvency", "run", "-q"]), LevelFilter::WARN);
        assert_eq!(level(&["solvency", "status", "-qq"]), LevelFilter::OFF);
        assert_eq!(level(&["solvency", "status", "-qqqq"]), LevelFilter::OFF);
        assert!(
            Cli::try_parse_from(["solvency", "status", "-v", "-q"]).is_err(),
            "-v and -q conflict"
        );
    }
}
