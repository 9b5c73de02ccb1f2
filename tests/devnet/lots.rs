//! Calendar lots over the devnet: forks of a local upstream whose chains carry a burn/mint
//! "USDC" through CCIP's real `Router` and `BurnMintTokenPool`, the vaults holding that token. A
//! location swap leaves a market maker's standby on the wrong chain; at the calendar's slots
//! the enclave lists fixed lots in the source chain's sealed instruction; the treasury sends
//! them from the vault (`sendLot`), the relayer has the lane carry them, the destination vault
//! logs their arrival, and the ledger credits them to the maker there — never more than the
//! lane's lots per slot, a slot missed is caught up at the next under the same id, nothing is
//! sent twice, and the two chains' supplies add up throughout.

use alloy::primitives::{U256, keccak256};
use solvency_aggregator::treasury::{Checked, LotOutcome, Treasury};
use solvency_ccip::bindings::{token_pool::BurnMintERC20, vault::ReserveVault};
use solvency_devnet::{
    ChainDeployment, DevAccount,
    upstream::{Upstream, UpstreamConfig},
};
use solvency_enclave::{Position, instruction::LotOrder, ownership::EntryKind};
use solvency_registry::schema::{CalendarSection, PolicySection};
use solvency_tests::{as_account, reader, round::Round};

/// Whole USDC in the lane token's 6-decimal units.
fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

/// Held and owed per chain: 200 short on chain `short`, even on the other.
fn figures(short: usize) -> impl Fn(usize) -> Vec<Position> + Copy {
    move |i| {
        let owed = if i == short { usdc(1_200) } else { usdc(1_000) };
        vec![Position::new("USDC", usdc(1_000), owed)]
    }
}

async fn deposit(chain: &ChainDeployment, account: &DevAccount, amount: U256) {
    let wallet = as_account(chain, account);
    let token = BurnMintERC20::new(chain.collateral, &wallet);
    assert!(
        token
            .approve(chain.vault, amount)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
            .status()
    );
    let vault = ReserveVault::new(chain.vault, &wallet);
    assert!(vault.deposit(amount).send().await.unwrap().get_receipt().await.unwrap().status());
}

async fn supply(chain: &ChainDeployment) -> U256 {
    BurnMintERC20::new(chain.collateral, reader(chain)).totalSupply().call().await.unwrap()
}

async fn held(chain: &ChainDeployment) -> U256 {
    BurnMintERC20::new(chain.collateral, reader(chain)).balanceOf(chain.vault).call().await.unwrap()
}

/// The kinds of the vault's log entries, in order.
async fn log_kinds(chain: &ChainDeployment) -> Vec<EntryKind> {
    use alloy::{providers::Provider, rpc::types::Filter, sol_types::SolEvent};
    let filter = Filter::new()
        .address(chain.vault)
        .event_signature(ReserveVault::Logged::SIGNATURE_HASH)
        .from_block(0);
    reader(chain)
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            let logged = l.log_decode::<ReserveVault::Logged>().unwrap().inner.data;
            EntryKind::from_u8(logged.kind).unwrap()
        })
        .collect()
}

/// The lots of every slot instruction the treasury has not read yet.
async fn slots(treasury: &mut Treasury) -> Vec<(u64, Vec<LotOrder>)> {
    treasury
        .check_new()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| match c {
            Checked::Lots { epoch, lots } => Some((epoch, lots)),
            Checked::Empty { .. } => None,
            Checked::Refused { epoch, reason } => panic!("epoch {epoch} refused: {reason}"),
        })
        .collect()
}

#[tokio::test]
async fn calendar_lots_from_the_hub_put_a_makers_standby_back_once_and_catch_up_a_missed_slot() {
    lots_back_to(1, Chains::Forks).await;
}

#[tokio::test]
async fn calendar_lots_from_a_spoke_put_a_makers_standby_back_once_and_catch_up_a_missed_slot() {
    lots_back_to(0, Chains::Forks).await;
}

#[tokio::test]
async fn calendar_lots_cross_the_devnets_own_token_lanes() {
    lots_back_to(1, Chains::Lanes).await;
}

/// Where the lanes run: forks of a local upstream, or a devnet with token lanes of its own
/// (`[devnet] lanes`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chains {
    Forks,
    Lanes,
}

/// A maker parks 300 on each of two chains, the protocol 500 on the other than `short`; chain
/// `short` falls 200 short and a location swap covers it from the maker's standby there. The
/// calendar's lots then move the maker's standby back from the other chain (the source `a`)
/// to `short` (the destination `b`).
async fn lots_back_to(short: usize, chains: Chains) {
    let figures = figures(short);
    let maker = DevAccount::user(3);
    let protocol = DevAccount::protocol();
    let minted = usdc(10_000);
    let calendar = CalendarSection { period_epochs: 3, lot: 100, lots_per_lane: 1 };
    let policy = PolicySection { calendar: Some(calendar.clone()), ..PolicySection::default() };
    let (upstream, mut round) = match chains {
        Chains::Forks => {
            let upstream = Upstream::start(UpstreamConfig {
                chains: 2,
                token_holders: vec![maker.address, protocol.address],
                minted,
                ..Default::default()
            })
            .await
            .expect("the upstream starts");
            let round = Round::start_forked(upstream.forks(), policy).await;
            (Some(upstream), round)
        }
        Chains::Lanes => {
            // `[devnet] lanes` is on by default.
            let round = Round::start(2, policy).await;
            assert!(round.devnet.chain(0).ramps_from_block.is_some(), "a devnet with lanes");
            // The devnet's users and the protocol may mint its lane token, as they may a
            // DevnetToken.
            for chain in &round.devnet.deployment().chains {
                for account in [&maker, &protocol] {
                    let wallet = as_account(chain, account);
                    let token = BurnMintERC20::new(chain.collateral, &wallet);
                    let mint = token.mint(account.address, minted).send().await.unwrap();
                    assert!(mint.get_receipt().await.unwrap().status());
                }
            }
            (None, round)
        }
    };
    let api = round.serve_http().await;
    // `solvency check` finds each lane carrying the vaults' token with room for a slot's lots,
    // and names a calendar whose lots would not fit a lane's bucket, in both directions.
    use solvency_chain_adapters::preflight::{Check, preflight};
    let lanes = |findings: Vec<solvency_chain_adapters::preflight::Finding>| {
        findings.into_iter().filter(|f| f.check == Check::Lanes).collect::<Vec<_>>()
    };
    assert_eq!(lanes(preflight(&round.registry).await.unwrap()), []);
    let mut too_many = round.registry.source().clone();
    too_many.policy.calendar = Some(CalendarSection { lots_per_lane: 20_000, ..calendar });
    let too_many = solvency_registry::Registry::from_source(too_many, "too-many.toml").unwrap();
    let findings = lanes(preflight(&too_many).await.unwrap());
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings.iter().all(|f| f.message.contains("outbound capacity")), "{findings:?}");
    let source = 1 - short;
    let (a, b) = (round.devnet.chain(source).clone(), round.devnet.chain(short).clone());
    let total = minted * U256::from(2u64) * U256::from(2u64);
    let conserved = |what: &'static str| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            assert_eq!(supply(&a).await + supply(&b).await, total, "{what}: supplies add up");
        }
    };

    // The protocol parks 500 on the source chain; the maker 300 on each.
    deposit(&a, &protocol, usdc(500)).await;
    deposit(&a, &maker, usdc(300)).await;
    deposit(&b, &maker, usdc(300)).await;
    let names: Vec<String> =
        round.registry.network().unwrap().chains.iter().map(|c| c.name.clone()).collect();
    let mut treasury = Treasury::new(
        &round.registry,
        &names[source],
        solvency_enclave::X25519KeyPair::load(
            &solvency_aggregator::keyfiles::treasury_key_file(
                &round.wired.keys.dir,
                &names[source],
            ),
            "treasury",
        )
        .unwrap(),
        0,
        Some(DevAccount::user(2).signer()),
    )
    .unwrap();

    // The maker subscribes to its statements: its balance per chain, as the ledger has it.
    let secret = keccak256("statement key").0;
    let key = solvency_enclave::X25519KeyPair::from_secret_bytes(secret);
    let subscription = round.subscribe(&api, &maker, secret).await;
    let standby = |round: &Round| {
        let (registry, api, key) = (round.registry.clone(), api.clone(), &key);
        let (a, b) = (a.selector, b.selector);
        async move {
            let (statement, _) =
                solvency_aggregator::maker::statement(&registry, maker.address, key, &api)
                    .await
                    .unwrap();
            let balance = |selector| {
                let e = statement.entries.iter().find(|e| e.chainSelector == selector).unwrap();
                (e.balance, e.available)
            };
            (balance(a), balance(b))
        }
    };

    // The destination is 200 short while the protocol has 500 spare on the source: a location
    // swap (the maker's 200 at the destination for 200 of the protocol's at the source). The
    // maker's standby is now 500 at the source and 100 at the destination; two lots of 100 put
    // it back.
    let mut seq = 1;
    let mut epoch = 0;
    let mut listed = Vec::new();
    while listed.is_empty() {
        (epoch, _) = round.honest_round(seq, figures).await;
        seq += 1;
        listed = slots(&mut treasury).await;
        assert!(epoch < 12, "no slot listed a lot by epoch {epoch}");
    }
    subscription.await.unwrap().expect("subscribed");
    // The swap: 500 of the maker's at the source (100 of them leaving), 100 at the destination.
    assert_eq!(
        standby(&round).await,
        ((usdc(500), usdc(400)), (usdc(100), usdc(100))),
        "epoch {epoch}"
    );
    // Scheduled only at a slot, and only the lane's one lot per slot though two are due.
    let (slot, lots) = listed.pop().unwrap();
    assert_eq!(slot % 3, 0, "epoch {slot} is not a slot");
    assert_eq!(lots.len(), 1, "one lot per lane per slot");
    let first = lots[0].clone();
    assert_eq!((first.destChainSelector, first.destVault), (b.selector, b.vault));
    assert_eq!(first.amount, usdc(100), "a fixed lot");

    // The treasury misses the slot: by the time it sends, the next epoch's leaf is the latest,
    // the slot's proof no longer holds, and nothing is sent.
    (epoch, _) = round.honest_round(seq, figures).await;
    seq += 1;
    assert_eq!(
        treasury.send_lots(slot, &lots).await.unwrap(),
        [LotOutcome::Superseded { id: first.id }]
    );
    let (before_a, before_b) = (held(&a).await, held(&b).await);
    assert!(!epoch.is_multiple_of(3), "epoch {epoch} is not a slot");

    // That epoch lists the same lot again, under the same id, with a proof under its own leaf,
    // and nothing else: the treasury catches up without a second lot.
    let (slot, lots) = slots(&mut treasury).await.pop().expect("listed again");
    assert_eq!(slot, epoch);
    assert_eq!(lots.iter().map(|l| l.id).collect::<Vec<_>>(), [first.id]);
    // The relayer is down while the lot is sent: it stays in flight until it restarts.
    round.devnet.stop_relayer().await;
    let sending = std::time::Instant::now();
    let sent = treasury.send_lots(slot, &lots).await.unwrap();
    let LotOutcome::Sent { fee, gas_used, .. } = sent[0] else { panic!("{sent:?}") };
    let send_ms = sending.elapsed().as_millis();
    // Sent again (a restarted treasury reading the same instruction): skipped, and the vault
    // would refuse it anyway.
    assert_eq!(
        treasury.send_lots(slot, &lots).await.unwrap(),
        [LotOutcome::AlreadySent { id: first.id }]
    );
    assert_eq!(held(&a).await, before_a - usdc(100), "left the source vault");
    assert_eq!(held(&b).await, before_b, "not arrived");
    assert_eq!(
        supply(&a).await + supply(&b).await,
        total - usdc(100),
        "burned at the source, not yet minted: in flight"
    );

    // The restarted relayer executes it: minted to the destination vault, logged there as the
    // arrival.
    round.devnet.start_relayer().await.unwrap();
    let relayer = round.devnet.relayer().unwrap();
    let executed = relayer
        .wait_for("the lot executed", solvency_tests::WAIT, |all| {
            all.iter().any(|m| m.token_transfers == 1 && m.state.is_final())
        })
        .await
        .unwrap();
    // What one slot's lot costs and takes, printed (run with `--nocapture`): the treasury's
    // `sendLot` on the source and the lane's fee, the relayer's execution on the destination,
    // and from the relayer seeing the lot to its execution mined.
    let lot = executed.iter().find(|m| m.token_transfers == 1).unwrap();
    if let solvency_devnet::MessageState::Success { tx_hash, .. } = lot.state {
        use alloy::providers::Provider;
        let execute = reader(&b).get_transaction_receipt(tx_hash).await.unwrap().unwrap();
        println!(
            "one lot: sendLot {gas_used} gas and {fee} wei of CCIP fee on the source (sent in {send_ms} ms), execute {} gas on the destination, seen → executed {} ms",
            execute.gas_used,
            lot.finished_at_ms.unwrap_or_default().saturating_sub(lot.detected_at_ms)
        );
    }
    assert_eq!(held(&b).await, before_b + usdc(100), "arrived in the destination vault");
    assert_eq!(log_kinds(&a).await.last(), Some(&EntryKind::LotSent));
    assert_eq!(log_kinds(&b).await.last(), Some(&EntryKind::LotReceived));
    conserved("after the arrival").await;
    // Once a report vouches for both logs, the ledger has the lot at the destination, the
    // maker's.
    (epoch, _) = round.honest_round(seq, figures).await;
    seq += 1;
    let (on_a, on_b) = standby(&round).await;
    assert_eq!((on_a.0, on_b), (usdc(400), (usdc(200), usdc(200))), "epoch {epoch}");

    // The second lot comes at the following slot, and then nothing more is due: the ledger
    // credited both arrivals to the maker at the destination (else it would list more lots, or
    // none).
    let mut second = Vec::new();
    while second.is_empty() {
        (epoch, _) = round.honest_round(seq, figures).await;
        seq += 1;
        second = slots(&mut treasury).await;
    }
    let (slot, lots) = second.pop().unwrap();
    assert_eq!(lots.len(), 1);
    assert_ne!(lots[0].id, first.id);
    assert!(matches!(
        treasury.send_lots(slot, &lots).await.unwrap()[..],
        [LotOutcome::Sent { .. }]
    ));
    relayer
        .wait_for("both lots executed", solvency_tests::WAIT, |all| {
            all.iter().filter(|m| m.token_transfers == 1 && m.state.is_final()).count() == 2
        })
        .await
        .unwrap();
    assert_eq!(held(&b).await, before_b + usdc(200));
    assert_eq!(held(&a).await, before_a - usdc(200));
    conserved("after both lots").await;
    for _ in 0..4 {
        (epoch, _) = round.honest_round(seq, figures).await;
        seq += 1;
    }
    assert!(slots(&mut treasury).await.is_empty(), "by epoch {epoch}, nothing more is due");
    assert_eq!(
        standby(&round).await,
        ((usdc(300), usdc(300)), (usdc(300), usdc(300))),
        "back where the maker parked it"
    );
    round.stop().await;
    if let Some(upstream) = upstream {
        upstream.shutdown().await;
    }
}
