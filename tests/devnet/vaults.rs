//! Reserve vaults in the running round: a deposit's log head, as the enclave recomputes it from
//! the vault's `Logged` event, is the vault's; the next report carries it; the enclave puts it in
//! the chain's leaf; the hub checks it against what it received, and every chain keeps its leaf.

use alloy::primitives::U256;
use solvency_ccip::bindings::{devnet_token::DevnetToken, hub::SolvencyHub, vault::ReserveVault};
use solvency_devnet::DevAccount;
use solvency_enclave::{
    VaultHead,
    ownership::{EntryKind, VaultEntry, next_head},
};
use solvency_registry::schema::PolicySection;
use solvency_tests::{
    as_account, reader,
    round::{Round, healthy},
};

#[tokio::test]
async fn a_deposit_reaches_the_chain_leaf_through_the_report_and_the_hubs_check() {
    let mut round = Round::start(3, PolicySection::default()).await;
    round.honest_round(1, |_| healthy()).await;
    let chain = round.devnet.chain(1).clone();
    assert!(!chain.vault.is_zero(), "the devnet deploys a vault on every chain");

    // A market maker deposits standby collateral into the spoke's vault.
    let maker = DevAccount::user(3);
    let wallet = as_account(&chain, &maker);
    let amount = U256::from(5_000_000_000u64);
    let token = DevnetToken::new(chain.collateral, &wallet);
    token.mint(maker.address, amount).send().await.unwrap().get_receipt().await.unwrap();
    token.approve(chain.vault, amount).send().await.unwrap().get_receipt().await.unwrap();
    let vault = ReserveVault::new(chain.vault, &wallet);
    let receipt = vault.deposit(amount).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());

    // The enclave's recomputation of the head from the event is the vault's head.
    let logged = receipt
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<ReserveVault::Logged>().ok())
        .expect("the deposit is logged")
        .inner
        .data;
    let entry = VaultEntry {
        index: logged.index,
        kind: EntryKind::from_u8(logged.kind).unwrap(),
        account: logged.account,
        amount: logged.amount,
        timestamp: logged.timestamp,
        reference: logged.r#ref,
    };
    assert_eq!((entry.index, entry.kind, entry.account), (1, EntryKind::Deposit, maker.address));
    let head = ReserveVault::new(chain.vault, reader(&chain)).getLogHead().call().await.unwrap();
    assert_eq!(next_head(Default::default(), &entry), head.logHead);
    assert_eq!(logged.head, head.logHead);

    // The next round's report carries the head; the published leaf has it, and the hub
    // accepted it (it refuses any head other than the one it received).
    let (epoch, solvent) = round.honest_round(2, |_| healthy()).await;
    assert!(solvent);
    let leaf = SolvencyHub::new(chain.oracle(), reader(&chain)).latestLeaf().call().await.unwrap();
    assert_eq!(
        VaultHead { count: leaf.leaf.logCount, head: leaf.leaf.logHead },
        VaultHead { count: 1, head: head.logHead },
        "epoch {epoch}"
    );
    assert_eq!(leaf.leaf.vault, chain.vault);
    let hub = round.devnet.hub().clone();
    let stored = SolvencyHub::new(hub.hub.unwrap(), reader(&hub))
        .getReportHead(chain.selector, leaf.leaf.reportSeq)
        .call()
        .await
        .unwrap();
    assert!(stored.set);
    assert_eq!((stored.logCount, stored.logHead), (1, head.logHead));
    round.stop().await;
}
