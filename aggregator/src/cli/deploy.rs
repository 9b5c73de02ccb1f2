//! `solvency deploy`: deploys the contracts a registry marks `"deploy"` — the hub (and its quote
//! board), then every spoke (each needs the hub's address), then vaults — on the chains' own
//! CCIP routers as the registry lists them, writes each address back into the registry in place as soon as it is mined, then wires
//! everything as `solvency admin sync` does. Idempotent and resumable: run again, it deploys
//! only what still says `"deploy"` and sends only what still differs (nothing, once done).

use alloy::primitives::Address;
use anyhow::{Context, bail};
use clap::Args;
use solvency_ccip::bindings::{hub::SolvencyHub, spoke::SolvencySpoke};
use solvency_chain_adapters::{Backoff, ChainClient, admin};
use solvency_registry::{DEPLOY, RpcUrl, edit::RegistryEdit, schema::ChainSection};

use crate::cli::{admin::OwnerAccount, args::ConfigArgs};

/// `solvency deploy`
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    account: OwnerAccount,
    /// The gas each spoke's `ccipReceive` gets for an attestation.
    #[arg(long, default_value_t = 400_000)]
    attestation_gas_limit: u32,
    /// The gas the hub's `ccipReceive` gets for a report.
    #[arg(long, default_value_t = 200_000)]
    report_gas_limit: u32,
    /// A deployed vault's withdrawal delay, in seconds (`vault = "deploy"`).
    #[arg(long, default_value_t = 86_400)]
    vault_withdrawal_delay: u64,
    /// The most a deployed vault pays out per window, in the collateral's smallest unit
    /// (needed when a vault is deployed: no default fits every collateral).
    #[arg(long, value_name = "UNITS")]
    vault_outflow_limit: Option<alloy::primitives::U256>,
    /// A deployed vault's outflow window, in seconds.
    #[arg(long, default_value_t = 86_400)]
    vault_outflow_window: u64,
    /// How long without a new leaf before a deployed vault's owners may exit by ledger proof,
    /// in seconds.
    #[arg(long, default_value_t = 14 * 86_400)]
    vault_exodus_delay: u64,
    /// A deployed quote board's round, in seconds of hub time (`quote_board = "deploy"`): the
    /// dark pool's quotes count once their round has closed.
    #[arg(long, default_value_t = 60)]
    quote_round_secs: u64,
}

fn marked(value: &Option<String>) -> bool {
    value.as_deref().map(str::trim) == Some(DEPLOY)
}

/// A client for a chain of the file, its chain id and router checked before anything is sent.
async fn client(section: &ChainSection) -> anyhow::Result<ChainClient> {
    let url = RpcUrl::parse(&section.rpc_url)
        .map_err(|problem| anyhow::anyhow!("chain {}: rpc_url {problem}", section.name))?;
    let client = ChainClient::from_url(
        &section.name,
        section.selector,
        url.expose().as_str(),
        Backoff::default(),
    )?;
    client.check_chain_id(section.chain_id).await?;
    let router: Address = section
        .router
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("chain {}: router is not an address", section.name))?;
    if let Some(e) =
        solvency_chain_adapters::oracle::no_contract(&client, router, "CCIP router").await
    {
        return Err(e.into());
    }
    Ok(client)
}

pub(super) async fn run(args: DeployArgs) -> anyhow::Result<()> {
    let path = args.config.config.clone();
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {shown}"))?;
    let file = solvency_registry::read_source(&text, &shown, &|var| std::env::var(var).ok())?;
    let deployment_id = crate::cli::args::deployment_id(&file.deployment_id);
    let hub = file.chains.iter().find(|c| c.hub.is_some()).ok_or_else(|| {
        anyhow::anyhow!("{shown}: no chain is the hub (`hub = \"deploy\"` or its address)")
    })?;
    let mut deployed = 0;
    let hub_client = client(hub).await?;
    let hub_owner = args.account.signer_for(&hub.name)?;
    let hub_router: Address = hub.router.trim().parse()?;
    let hub_sender = hub_client.sender(hub_owner.clone());
    let hub_address = ensure(
        &path,
        hub,
        "hub",
        &hub.hub,
        &hub_client,
        &hub_owner,
        &hub_sender,
        &mut deployed,
        |sender| {
            SolvencyHub::deploy_builder(
                sender,
                hub_router,
                hub.selector,
                deployment_id,
                args.attestation_gas_limit,
            )
        },
    )
    .await?;
    if hub.quote_board.is_some() {
        if args.quote_round_secs == 0 {
            bail!("--quote-round-secs must be at least 1");
        }
        let round = args.quote_round_secs;
        ensure(
            &path,
            hub,
            "quote_board",
            &hub.quote_board,
            &hub_client,
            &hub_owner,
            &hub_sender,
            &mut deployed,
            |sender| {
                solvency_ccip::bindings::quote_board::QuoteBoard::deploy_builder(sender, round)
            },
        )
        .await?;
    }
    let mut oracles = vec![(hub, hub_address)];
    for spoke in file.chains.iter().filter(|c| c.spoke.is_some()) {
        let client = client(spoke).await?;
        let owner = args.account.signer_for(&spoke.name)?;
        let router: Address = spoke.router.trim().parse()?;
        let sender = client.sender(owner.clone());
        let address = ensure(
            &path,
            spoke,
            "spoke",
            &spoke.spoke,
            &client,
            &owner,
            &sender,
            &mut deployed,
            |sender| {
                SolvencySpoke::deploy_builder(
                    sender,
                    router,
                    spoke.selector,
                    hub.selector,
                    hub_address,
                    deployment_id,
                    args.report_gas_limit,
                )
            },
        )
        .await?;
        oracles.push((spoke, address));
    }
    // Vaults, each over its chain's oracle (set on the oracle by the wiring below).
    for (section, oracle) in oracles.into_iter().filter(|(c, _)| c.vault.is_some()) {
        let client = client(section).await?;
        let owner = args.account.signer_for(&section.name)?;
        let sender = client.sender(owner.clone());
        let token: Address = match (&section.vault_token, marked(&section.vault)) {
            (Some(token), _) => token.trim().parse().map_err(|_| {
                anyhow::anyhow!("chain {}: vault_token is not an address", section.name)
            })?,
            (None, true) => bail!(
                "chain {}: vault = \"deploy\" needs vault_token, the collateral's ERC-20 address",
                section.name
            ),
            (None, false) => continue,
        };
        let limit = match (args.vault_outflow_limit, marked(&section.vault)) {
            (Some(limit), _) => limit,
            (None, true) => bail!(
                "chain {}: deploying a vault needs --vault-outflow-limit UNITS (the most it pays out per window)",
                section.name
            ),
            // Only a vault still to be sent again (resumed) needs it; one with code does not.
            (None, false) => alloy::primitives::U256::ZERO,
        };
        // Lots leave and arrive through the chain's CCIP router (checked by `client`).
        let router: Address = section.router.trim().parse()?;
        let (delay, window, exodus) =
            (args.vault_withdrawal_delay, args.vault_outflow_window, args.vault_exodus_delay);
        ensure(
            &path,
            section,
            "vault",
            &section.vault,
            &client,
            &owner,
            &sender,
            &mut deployed,
            |sender| {
                solvency_ccip::bindings::vault::ReserveVault::deploy_builder(
                    sender, token, oracle, delay, limit, window, exodus, router,
                )
            },
        )
        .await?;
    }
    // Everything has an address now: wire it as the registry says.
    let registry = args.config.load()?;
    let network = registry.network()?;
    let (calls, notes) =
        admin::sync_plan(network, registry.policy.attestation_validity.as_secs(), &[]).await?;
    if deployed == 0 && calls.is_empty() {
        for note in &notes {
            println!("{}: {}", note.chain, note.message);
        }
        println!("nothing to do: every contract is deployed and wired as {shown} says");
        return Ok(());
    }
    crate::cli::admin::execute(&registry, &args.account, None, calls, notes).await
}

/// The address of the chain's `key` contract, deployed if the registry says `"deploy"`.
///
/// The address a deployment will have — the owner's next CREATE address — is written into the
/// registry *before* the transaction is sent: a run stopped at any point finds it there. If it
/// has no code yet and is still the owner's next CREATE address (the transaction never landed),
/// the same deployment is sent again with the same nonce, so it can only ever land once.
#[allow(clippy::too_many_arguments)]
async fn ensure<'p, F>(
    path: &std::path::Path,
    section: &ChainSection,
    key: &str,
    value: &Option<String>,
    client: &ChainClient,
    owner: &alloy::signers::local::PrivateKeySigner,
    sender: &'p alloy::providers::DynProvider,
    deployed: &mut usize,
    builder: F,
) -> anyhow::Result<Address>
where
    F: FnOnce(
        &'p alloy::providers::DynProvider,
    ) -> alloy::contract::RawCallBuilder<&'p alloy::providers::DynProvider>,
{
    use alloy::providers::Provider;
    let name = &section.name;
    let next = client
        .provider()
        .get_transaction_count(owner.address())
        .pending()
        .await
        .with_context(|| format!("{name}: reading the owner's nonce"))?;
    let predicted = owner.address().create(next);
    let address = if marked(value) {
        predicted
    } else {
        let address: Address =
            value.as_deref().unwrap_or_default().trim().parse().map_err(|_| {
                anyhow::anyhow!("chain {name}: {key} is neither \"deploy\" nor an address")
            })?;
        let code = client
            .provider()
            .get_code_at(address)
            .await
            .with_context(|| format!("{name}: reading the code at {address}"))?;
        if !code.is_empty() {
            return Ok(address);
        }
        if address != predicted {
            bail!(
                "chain {name}: no contract at {address} (the registry's {key}), and it is not where the owner's next deployment would land: set {key} = \"deploy\" to deploy it"
            );
        }
        address
    };
    write_back(path, name, key, address)?;
    let pending = builder(sender)
        .nonce(next)
        .send()
        .await
        .with_context(|| format!("{name}: deploying the {key}"))?;
    let receipt = solvency_chain_adapters::rpc::confirm(pending)
        .await
        .with_context(|| format!("{name}: deploying the {key}"))?;
    if receipt.contract_address != Some(address) {
        bail!("chain {name}: the {key} landed at {:?}, not {address}", receipt.contract_address);
    }
    println!("{name}: {key} deployed at {address}");
    *deployed += 1;
    Ok(address)
}

/// Writes an address into the registry at once, so that a run stopped later resumes from it
/// rather than deploying again.
fn write_back(
    path: &std::path::Path,
    chain: &str,
    key: &str,
    address: Address,
) -> anyhow::Result<()> {
    let mut edit = RegistryEdit::open(path)?;
    edit.set_chain(chain, key, address.to_string())?;
    edit.save_partial()?;
    Ok(())
}
