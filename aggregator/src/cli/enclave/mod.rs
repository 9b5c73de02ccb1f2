//! `solvency enclave …`: host an instance, show and check evidence, register, rotate.

pub mod evidence;
pub mod open;
pub mod register;
pub mod rotate;
pub mod serve;

use std::path::PathBuf;

use alloy::primitives::Bytes;
use anyhow::bail;
use clap::{Args, Subcommand};
use solvency_enclave::EnclaveKeys;
use solvency_enclave_host::EnclaveClient;

/// `solvency enclave …`
#[derive(Debug, Subcommand)]
pub enum EnclaveCommand {
    /// Host one enclave instance behind a Unix socket, for a k-of-n quorum (list the socket in
    /// `[enclave] instances`).
    ///
    /// Example: `solvency enclave serve --config .devnet/networks.toml --key keys/enclave-0.key
    /// --socket enclave-0.sock`
    Serve(serve::ServeArgs),
    /// Print evidence binding an enclave's keys and a nonce (JSON). Outside AWS Nitro this is
    /// insecure dev evidence, and it says so.
    ///
    /// Example: `solvency enclave attest --key .devnet/keys/enclave.key --nonce 0x1234`
    Attest(evidence::AttestArgs),
    /// Verify evidence and print the verified facts as JSON, or a clear error (exit code 1).
    ///
    /// Example: `solvency enclave verify --evidence doc.bin --at 2024-02-26T07:30:00Z
    /// --expect-pcr 0=17bf8f04…`
    Verify(evidence::VerifyArgs),
    /// Verify an enclave's evidence (fresh nonce) against `[enclave.evidence]` and register its
    /// signer on the hub and every spoke, with the evidence digest and an expiry.
    ///
    /// Example: `solvency enclave register --config .devnet/networks.toml --instance
    /// enclave-0.sock --devnet .devnet --every 3600`
    Register(register::RegisterArgs),
    /// Rotate the HPKE key of every served instance (`[enclave] instances`): they derive the
    /// same new key; reports sealed to the old one are accepted for `--grace` seconds.
    ///
    /// Example: `solvency enclave rotate --config .devnet/networks.toml --grace 3600
    /// --write-config`
    Rotate(rotate::RotateArgs),
    /// DEV ONLY: open a sealed report with an enclave key file and print its figures.
    Open(open::OpenArgs),
}

impl EnclaveCommand {
    pub(in crate::cli) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Serve(args) => serve::run(args).await,
            Self::Attest(args) => evidence::attest(args).await,
            Self::Verify(args) => evidence::verify(args),
            Self::Register(args) => register::run(args).await,
            Self::Rotate(args) => rotate::run(args).await,
            Self::Open(args) => open::run(args),
        }
    }
}

/// Which enclave to ask for evidence: a key file (this process) or a served instance.
#[derive(Debug, Clone, Args)]
pub struct EnclaveSource {
    /// The enclave key file (or use --instance).
    #[arg(long, conflicts_with = "instance")]
    key: Option<PathBuf>,
    /// A served instance's socket.
    #[arg(long)]
    instance: Option<PathBuf>,
}

impl EnclaveSource {
    /// Evidence binding the enclave's keys and `nonce`.
    async fn evidence(&self, nonce: &Bytes) -> anyhow::Result<solvency_enclave::Evidence> {
        match (&self.key, &self.instance) {
            (Some(key), _) => {
                let keys = EnclaveKeys::load(key)?;
                let attestor = solvency_enclave::DevAttestor::from_current_exe()?;
                Ok(solvency_enclave::Attestor::attest(&attestor, &keys, nonce, crate::unix_now())?)
            }
            (None, Some(socket)) => {
                Ok(EnclaveClient::remote(socket).evidence(nonce.clone()).await?)
            }
            (None, None) => bail!("give --key FILE or --instance SOCKET"),
        }
    }
}
