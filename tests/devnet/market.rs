//! The dark pool over the devnet: makers registered on the hub's quote board submit sealed
//! quotes; once their round closes, the aggregator hands them to the enclave, the attestation
//! commits to the board's closed round and head (the hub checks it), and a shortfall clears
//! against the cheapest live quote under the reserve price.

use alloy::primitives::{Address, U256, keccak256};
use solvency_ccip::bindings::{hub::SolvencyHub, quote_board::QuoteBoard};
use solvency_devnet::DevAccount;
use solvency_enclave::{Position, X25519KeyPair};
use solvency_registry::schema::{MarketSection, PolicySection};
use solvency_tests::{
    as_account, deposit, reader,
    round::{Member, Round, healthy},
};

/// 1,000 USDC held and 1,200 owed on every chain: short by 200 per chain.
fn short() -> Vec<Position> {
    vec![Position::new("USDC", U256::from(1_000_000_000u64), U256::from(1_200_000_000u64))]
}

/// The devnet's quote rounds (`[devnet] quote_round_secs`' default).
const ROUND_SECONDS: u64 = 2;

/// A 2-chain round with the market on (so the devnet deploys the hub's board), and two makers with 1,000 USDC
/// of standby each in the spoke's vault and their quote keys registered; one healthy epoch in.
struct Market {
    round: Round,
    board: Address,
    makers: [DevAccount; 2],
    secrets: [[u8; 32]; 2],
}

impl Market {
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// The same, with these served enclave instances (one signature needed) instead of one
    /// in-process enclave.
    async fn start_with(members: &[Member]) -> Self {
        let market = MarketSection { start_bps: 50, step_bps: 50, max_bps: 200, timeout_epochs: 4 };
        let policy = PolicySection { market: Some(market), ..PolicySection::default() };
        let mut round = Round::start_quorum(2, policy, members, 1).await;
        let hub = round.devnet.hub().clone();
        let spoke = round.devnet.chain(1).clone();
        // The devnet deployed the board and set it on the hub; its owner registers makers.
        let address = hub.quote_board.expect("a market's devnet has a quote board");
        let set = SolvencyHub::new(hub.oracle(), reader(&hub)).getQuoteBoard().call().await;
        assert_eq!(set.unwrap(), address);
        let board = QuoteBoard::new(address, as_account(&hub, &hub.deployer));
        let makers = [DevAccount::user(2), DevAccount::user(3)];
        let secrets = [keccak256("maker 2's quote key").0, keccak256("maker 3's quote key").0];
        for (maker, secret) in makers.iter().zip(secrets) {
            deposit(&spoke, maker, U256::from(1_000_000_000u64)).await;
            let key = X25519KeyPair::from_secret_bytes(secret);
            let register = board.setMaker(maker.address, key.public().into());
            assert!(register.send().await.unwrap().get_receipt().await.unwrap().status());
        }
        assert_eq!(round.honest_round(1, |_| healthy()).await, (1, true));
        Self { round, board: address, makers, secrets }
    }

    /// Maker `i` quotes all its standby at `premium_bps` until `expires_at`, as
    /// `solvency maker quote` does.
    async fn quote(&self, i: usize, secret: [u8; 32], premium_bps: u32, expires_at: u64, seq: u64) {
        self.try_quote(i, secret, premium_bps, expires_at, seq).await.expect("the quote is taken");
    }

    async fn try_quote(
        &self,
        i: usize,
        secret: [u8; 32],
        premium_bps: u32,
        expires_at: u64,
        seq: u64,
    ) -> anyhow::Result<solvency_aggregator::maker::SubmittedQuote> {
        self.submit(i, secret, U256::from(1_000_000_000u64), premium_bps, expires_at, seq).await
    }

    /// Maker `i` withdraws its offer: a null quote (size zero).
    async fn null_quote(&self, i: usize, seq: u64) {
        self.submit(i, self.secrets[i], U256::ZERO, 0, 0, seq).await.expect("the quote is taken");
    }

    async fn submit(
        &self,
        i: usize,
        secret: [u8; 32],
        size: U256,
        premium_bps: u32,
        expires_at: u64,
        seq: u64,
    ) -> anyhow::Result<solvency_aggregator::maker::SubmittedQuote> {
        let offer = solvency_aggregator::maker::QuoteOffer {
            asset: "USDC".into(),
            size,
            premium_bps,
            expires_at,
            seq,
        };
        let key = X25519KeyPair::from_secret_bytes(secret);
        solvency_aggregator::maker::submit_quote(
            &self.round.registry,
            self.makers[i].signer(),
            &key,
            &offer,
        )
        .await
    }

    /// Closes the board's round; returns what the next attestation must commit to.
    async fn close_round(&self) -> (u64, alloy::primitives::B256) {
        self.round.advance_chains(ROUND_SECONDS + 1).await;
        let hub = self.round.devnet.hub();
        let closed =
            QuoteBoard::new(self.board, reader(hub)).getClosedQuotes().call().await.unwrap();
        (closed.round, closed.head)
    }
}

#[tokio::test]
async fn a_shortfall_clears_against_the_quotes_of_the_hubs_closed_round() {
    let mut market = Market::start().await;
    let hub = market.round.devnet.hub().clone();
    // What `maker run --quote` reads to quote once per round.
    let (current, _, seconds) =
        solvency_aggregator::maker::board_round(&market.round.registry).await.unwrap();
    assert_eq!(seconds, ROUND_SECONDS);
    let board = QuoteBoard::new(market.board, reader(&hub));
    assert_eq!(current, board.currentRound().call().await.unwrap());

    // Quiet epoch or not, every maker quotes: the first under the 50 bps reserve price, the
    // second above it. A key the board does not hold is refused before anything is sent.
    let now = solvency_tests::chain_time(&hub).await;
    let err = market.try_quote(0, keccak256("not registered").0, 30, now + 3_600, 1).await;
    assert!(err.unwrap_err().to_string().contains("does not hold this quote key"));
    market.quote(0, market.secrets[0], 30, now + 3_600, 1).await;
    market.quote(1, market.secrets[1], 150, now + 3_600, 1).await;
    let closed = market.close_round().await;
    assert_ne!(closed.1, alloy::primitives::B256::ZERO);

    // Short by 400 in all: the cheap maker's quote is drawn, and the boolean never turns.
    let (epoch, solvent) = market.round.honest_round(2, |_| short()).await;
    assert!(solvent, "epoch {epoch}: healed through the market");
    let latest = SolvencyHub::new(hub.oracle(), reader(&hub)).latestAttestation().call().await;
    let latest = latest.unwrap();
    assert_eq!((latest.quoteRound, latest.quoteHead), closed);
    market.round.stop().await;
}

#[tokio::test]
async fn an_expired_quote_heals_nothing_and_a_live_one_does() {
    let mut market = Market::start().await;
    // The cheap maker's quote counted until a minute ago (epoch time): the board takes it, the
    // enclave does not count it.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    market.quote(0, market.secrets[0], 30, now - 60, 1).await;
    market.close_round().await;
    let (epoch, solvent) = market.round.honest_round(2, |_| short()).await;
    assert!(!solvent, "epoch {epoch}: nothing drawable, the boolean tells the truth");

    // A live quote from the same maker (a higher sequence number) heals the next epoch.
    market.quote(0, market.secrets[0], 30, now + 3_600, 2).await;
    let closed = market.close_round().await;
    let (epoch, solvent) = market.round.honest_round(3, |_| short()).await;
    assert!(solvent, "epoch {epoch}: healed by the live quote");
    let hub = market.round.devnet.hub().clone();
    let latest = SolvencyHub::new(hub.oracle(), reader(&hub)).latestAttestation().call().await;
    assert_eq!(latest.unwrap().quoteRound, closed.0);
    market.round.stop().await;
}

/// A maker that quotes all its standby and then asks for most of it back: the request is not
/// authorized while the quote is live, so the next shortfall still finds the quoted standby
/// and draws it; once the maker withdraws its offer (a null quote) and the draw is given back,
/// the same request is authorized and queued on the vault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maker_that_quotes_then_asks_to_withdraw_is_drawn_first_and_authorized_after() {
    use solvency_aggregator::orchestrator::WithdrawalState;
    let mut market = Market::start().await;
    let api = market.round.serve_http().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    market.quote(0, market.secrets[0], 30, now + 3_600, 1).await;
    market.close_round().await;

    // It asks for 600 of its 1,000 back (queued on the vault once authorized, not executed).
    let registry = market.round.registry.clone();
    let account = market.makers[0].signer();
    let chain = registry.network().unwrap().chains[1].name.clone();
    let withdrawal = tokio::spawn(async move {
        solvency_aggregator::maker::Withdrawal {
            registry: &registry,
            chain: &chain,
            amount: U256::from(600_000_000u64),
            nonce: 1,
            account,
            aggregator: api,
            queue_only: true,
            // The test's own waits bound it; this only has to outlast them.
            timeout: solvency_tests::WAIT * 8,
            poll: std::time::Duration::from_millis(100),
        }
        .run()
        .await
    });
    let withdrawals = market.round.withdrawals.clone();
    let deadline = tokio::time::Instant::now() + solvency_tests::WAIT;
    let handle = loop {
        if let Some(handle) = withdrawals.handles().into_iter().next() {
            break handle;
        }
        assert!(!withdrawal.is_finished(), "the request failed before reaching the aggregator");
        assert!(tokio::time::Instant::now() < deadline, "the request never reached the aggregator");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let (_, solvent) = market.round.honest_round(2, |_| healthy()).await;
    assert!(solvent);
    assert_eq!(withdrawals.state(&handle), Some(WithdrawalState::Queued), "locked by its quote");

    // 2,000 held against 2,800 owed: the 1,000 it quoted is drawn (had 600 left, 2,400 would
    // not cover 2,800; the other maker quotes nothing, so nothing of its standby counts).
    let deep =
        || vec![Position::new("USDC", U256::from(1_000_000_000u64), U256::from(1_400_000_000u64))];
    let (epoch, solvent) = market.round.honest_round(3, |_| deep()).await;
    assert!(solvent, "epoch {epoch}: healed by the quoted standby");
    assert_eq!(withdrawals.state(&handle), Some(WithdrawalState::Queued), "drawn, not available");

    // It withdraws its offer; reserves recover and the draw goes back: the request is granted.
    market.null_quote(0, 2).await;
    market.close_round().await;
    let mut seq = 4;
    while !matches!(withdrawals.state(&handle), Some(WithdrawalState::Authorized { .. })) {
        assert!(seq < 8, "the request was never authorized: {:?}", withdrawals.state(&handle));
        market.round.honest_round(seq, |_| healthy()).await;
        seq += 1;
    }
    let outcome = tokio::time::timeout(solvency_tests::WAIT, withdrawal)
        .await
        .expect("queued within the wait")
        .unwrap()
        .expect("queued on the vault");
    assert!(outcome.executed_tx.is_none(), "queued only");
    market.round.stop().await;
}

/// Quotes that must not count: bytes a maker submitted, replayed by another registered maker
/// or by the same one after it withdrew the offer, and a quote from an account the board never
/// registered. The board takes the replays (it cannot open them) and the hub's head covers
/// them, but the enclave counts none: the shortfall stays unhealed — and the boolean tells the
/// truth — until a fresh quote offers standby again.
#[tokio::test]
async fn replayed_and_unregistered_quotes_count_for_nothing() {
    use alloy::{providers::Provider, sol_types::SolEvent};
    let mut market = Market::start().await;
    let hub = market.round.devnet.hub().clone();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Maker 0 offers, then withdraws the offer (a null quote, a higher sequence number).
    let offered = market.try_quote(0, market.secrets[0], 30, now + 3_600, 1).await.unwrap();
    market.null_quote(0, 2).await;
    let receipt = reader(&hub).get_transaction_receipt(offered.tx).await.unwrap().unwrap();
    let sealed = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| QuoteBoard::QuoteSubmitted::decode_log_data(log.data()).ok())
        .expect("the offer's QuoteSubmitted event")
        .quote;
    // Its offer's bytes, submitted again by itself and by the other maker: both taken.
    for maker in &market.makers {
        let board = QuoteBoard::new(market.board, as_account(&hub, maker));
        let sent = board.submitQuote(sealed.clone()).send().await.unwrap();
        assert!(sent.get_receipt().await.unwrap().status(), "the board cannot tell a replay");
    }
    // An account the board never registered is refused.
    let stranger = DevAccount::user(0);
    let board = QuoteBoard::new(market.board, as_account(&hub, &stranger));
    let refused = board.submitQuote(sealed.clone()).call().await.unwrap_err();
    let refused = refused.as_decoded_error::<QuoteBoard::NotAMaker>().expect("NotAMaker");
    assert_eq!(refused.sender, stranger.address);
    let closed = market.close_round().await;

    // Short by 400: none of the replays offers anything, so nothing is drawn.
    let (epoch, solvent) = market.round.honest_round(2, |_| short()).await;
    assert!(!solvent, "epoch {epoch}: a replayed quote healed the reserve");
    let latest = SolvencyHub::new(hub.oracle(), reader(&hub)).latestAttestation().call().await;
    assert_eq!((latest.as_ref().unwrap().quoteRound, latest.unwrap().quoteHead), closed);

    // A fresh quote from maker 0 (above its last sequence number) heals the next epoch.
    market.quote(0, market.secrets[0], 30, now + 3_600, 3).await;
    market.close_round().await;
    let (epoch, solvent) = market.round.honest_round(3, |_| short()).await;
    assert!(solvent, "epoch {epoch}: healed by the fresh quote");
    market.round.stop().await;
}

/// A host that withholds a maker's quotes cannot get an attestation published: given only the
/// other quotes, the enclave signs only if asked to commit to the head those lead to, and the
/// hub refuses that head (`QuotesMismatch`) because its board took more. Nothing is published,
/// and the boolean the chains hold stays what it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_withholds_a_quote_cannot_publish() {
    use solvency_aggregator::orchestrator::Event;
    let cheap = DevAccount::user(2).address;
    let mut market = Market::start_with(&[Member::Withholding(cheap)]).await;
    assert_eq!(market.makers[0].address, cheap);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // The cheap maker (withheld) and the other one, both under the 50 bps reserve price.
    market.quote(0, market.secrets[0], 30, now + 3_600, 1).await;
    market.quote(1, market.secrets[1], 40, now + 3_600, 1).await;
    market.close_round().await;
    let before = market.round.hub_epoch().await;

    market.round.submit_all(2, |_| short()).await;
    let Event::PublishFailed { error } =
        market.round.next_event(|e| matches!(e, Event::PublishFailed { .. })).await
    else {
        unreachable!()
    };
    assert!(error.to_string().contains("QuotesMismatch"), "{error}");
    assert_eq!(market.round.hub_epoch().await, before, "nothing was published");
    for state in market.round.oracles().await {
        assert_eq!(state.attestation.epoch, before);
        assert!(state.solvent, "the last honest answer stands");
    }
    market.round.stop().await;
}
