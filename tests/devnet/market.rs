//! The dark pool over the devnet: makers registered on the hub's quote board submit sealed
//! quotes; once their round closes, the aggregator hands them to the enclave, the attestation
//! commits to the board's closed round and head (the hub checks it), and a shortfall clears
//! against the cheapest quote under the reserve price.

use alloy::primitives::U256;
use solvency_ccip::bindings::{hub::SolvencyHub, quote_board::QuoteBoard};
use solvency_devnet::DevAccount;
use solvency_enclave::{
    Position, X25519KeyPair, asset_id,
    market::Class,
    quote::{QuoteTerms, seal_quote},
};
use solvency_registry::schema::{MarketSection, PolicySection};
use solvency_tests::{
    as_account, deposit, reader,
    round::{Round, healthy},
};

/// 1,000 USDC held and 1,200 owed on every chain: short by 200 per chain.
fn short() -> Vec<Position> {
    vec![Position::new("USDC", U256::from(1_000_000_000u64), U256::from(1_200_000_000u64))]
}

const ROUND_SECONDS: u64 = 30;

#[tokio::test]
async fn a_shortfall_clears_against_the_quotes_of_the_hubs_closed_round() {
    let policy = PolicySection {
        market: Some(MarketSection {
            start_bps: 50,
            step_bps: 50,
            max_bps: 200,
            timeout_epochs: 4,
        }),
        ..PolicySection::default()
    };
    let mut round = Round::start(2, policy).await;
    let hub = round.devnet.hub().clone();
    let spoke = round.devnet.chain(1).clone();

    // The hub's owner deploys a board and sets it on the hub (no timelock on a devnet).
    let owner = as_account(&hub, &hub.deployer);
    let board = QuoteBoard::deploy(&owner, ROUND_SECONDS).await.unwrap();
    let hub_as_owner = SolvencyHub::new(hub.oracle(), &owner);
    let set = hub_as_owner.setQuoteBoard(*board.address()).send().await.unwrap();
    assert!(set.get_receipt().await.unwrap().status());

    // Two makers park 1,000 USDC each in the spoke's vault and register their quote keys.
    let makers = [DevAccount::user(2), DevAccount::user(3)];
    let keys = [X25519KeyPair::generate(), X25519KeyPair::generate()];
    for (maker, key) in makers.iter().zip(&keys) {
        deposit(&spoke, maker, U256::from(1_000_000_000u64)).await;
        let register = board.setMaker(maker.address, key.public().into());
        assert!(register.send().await.unwrap().get_receipt().await.unwrap().status());
    }
    assert_eq!(round.honest_round(1, |_| healthy()).await, (1, true));

    // Quiet epoch or not, every maker quotes: the first under the 50 bps reserve price, the
    // second above it.
    let now = solvency_tests::chain_time(&hub).await;
    let deployment_id = round.registry.network().unwrap().policy.deployment_id;
    for ((maker, key), premium_bps) in makers.iter().zip(&keys).zip([30, 150]) {
        let terms = QuoteTerms {
            class: Class { asset: asset_id("USDC"), decimals: 6 },
            size: U256::from(1_000_000_000u64),
            premium_bps,
            expires_at: now + 3_600,
        };
        let sealed =
            seal_quote(&deployment_id, hub.selector, 1, &terms, key, &round.enclave_public)
                .unwrap();
        let quoting = QuoteBoard::new(*board.address(), as_account(&hub, maker));
        let sent = quoting.submitQuote(sealed.into()).send().await.unwrap();
        assert!(sent.get_receipt().await.unwrap().status());
    }
    // The round closes.
    round.advance_chains(ROUND_SECONDS + 1).await;
    let closed =
        QuoteBoard::new(*board.address(), reader(&hub)).getClosedQuotes().call().await.unwrap();
    assert_ne!(closed.head, alloy::primitives::B256::ZERO);

    // Short by 400 in all: the cheap maker's quote is drawn, and the boolean never turns.
    let (epoch, solvent) = round.honest_round(2, |_| short()).await;
    assert!(solvent, "epoch {epoch}: healed through the market");
    let latest =
        SolvencyHub::new(hub.oracle(), reader(&hub)).latestAttestation().call().await.unwrap();
    assert_eq!((latest.quoteRound, latest.quoteHead), (closed.round, closed.head));
    round.stop().await;
}
