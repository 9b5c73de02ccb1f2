//! The dark pool over the devnet: makers registered on the hub's quote board submit sealed
//! quotes; once their round closes, the aggregator hands them to the enclave, the attestation
//! commits to the board's closed round and head (the hub checks it), and a shortfall clears
//! against the cheapest quote under the reserve price.

use alloy::primitives::{U256, keccak256};
use solvency_ccip::bindings::{hub::SolvencyHub, quote_board::QuoteBoard};
use solvency_devnet::DevAccount;
use solvency_enclave::{Position, X25519KeyPair};
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
    let secrets = [keccak256("maker 2's quote key").0, keccak256("maker 3's quote key").0];
    let keys = secrets.map(X25519KeyPair::from_secret_bytes);
    for (maker, key) in makers.iter().zip(&keys) {
        deposit(&spoke, maker, U256::from(1_000_000_000u64)).await;
        let register = board.setMaker(maker.address, key.public().into());
        assert!(register.send().await.unwrap().get_receipt().await.unwrap().status());
    }
    assert_eq!(round.honest_round(1, |_| healthy()).await, (1, true));
    // What `maker run --quote` reads to quote once per round.
    let (current, _, seconds) =
        solvency_aggregator::maker::board_round(&round.registry).await.unwrap();
    assert_eq!(seconds, ROUND_SECONDS);
    assert_eq!(current, board.currentRound().call().await.unwrap());

    // Quiet epoch or not, every maker quotes (`solvency maker quote`): the first under the
    // 50 bps reserve price, the second above it. A key the board does not hold is refused
    // before anything is sent.
    let now = solvency_tests::chain_time(&hub).await;
    let offer = |premium_bps| solvency_aggregator::maker::QuoteOffer {
        asset: "USDC".into(),
        size: U256::from(1_000_000_000u64),
        premium_bps,
        expires_at: now + 3_600,
        seq: 1,
    };
    let submit = |i: usize, secret: [u8; 32], premium_bps: u32| {
        let (registry, signer, offer) =
            (round.registry.clone(), makers[i].signer(), offer(premium_bps));
        let key = X25519KeyPair::from_secret_bytes(secret);
        async move { solvency_aggregator::maker::submit_quote(&registry, signer, &key, &offer).await }
    };
    let err = submit(0, keccak256("not registered").0, 30).await.unwrap_err().to_string();
    assert!(err.contains("does not hold this quote key"), "{err}");
    for (i, premium_bps) in [(0, 30), (1, 150)] {
        submit(i, secrets[i], premium_bps).await.expect("the quote is taken");
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
