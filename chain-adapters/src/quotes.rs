//! The hub's quote board (the dark pool), read for the enclave: the quotes it took, from its
//! `QuoteSubmitted` events past the hub chain's confirmations, and the last closed round and
//! head an attestation must commit to. Public data: quotes are sealed to the enclave, and the
//! hub checks the committed head at publish, so nothing read here needs trusting.

use alloy::{
    primitives::{Address, B256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use solvency_ccip::bindings::{hub::SolvencyHub, quote_board::QuoteBoard};
use solvency_enclave::quote::QuoteEntry;
use solvency_registry::ChainConfig;

use crate::{ChainClient, Error, follow::LogFollower};

/// The hub's quote board, if its owner set one.
pub async fn quote_board(client: &ChainClient, hub: Address) -> Result<Option<Address>, Error> {
    let hub = SolvencyHub::new(hub, client.provider());
    let board =
        client.call("call getQuoteBoard()", || async { hub.getQuoteBoard().call().await }).await?;
    Ok((!board.is_zero()).then_some(board))
}

/// A board's last closed round with quotes and the head after it: what an attestation
/// published now must commit to.
pub async fn closed_quotes(client: &ChainClient, board: Address) -> Result<(u64, B256), Error> {
    let board = QuoteBoard::new(board, client.provider());
    let closed = client
        .call("call getClosedQuotes()", || async { board.getClosedQuotes().call().await })
        .await?;
    Ok((closed.round, closed.head))
}

/// Reads a board's quotes onwards from where it left off.
pub struct QuoteReader {
    follower: LogFollower,
    board: Address,
}

impl QuoteReader {
    /// A reader of `board` on the hub chain, from the chain's `from_block`.
    pub fn new(hub: &ChainConfig, board: Address) -> Self {
        Self {
            follower: LogFollower::new(
                hub,
                board,
                QuoteBoard::QuoteSubmitted::SIGNATURE_HASH,
                hub.from_block,
            ),
            board,
        }
    }

    /// The board.
    pub fn board(&self) -> Address {
        self.board
    }

    /// The quotes taken since the last read, in the board's order, up to the confirmed head. A
    /// failed read returns nothing and moves nothing.
    pub async fn read(&mut self) -> Result<Vec<QuoteEntry>, Error> {
        let logs = self.follower.read("read the quote board").await?;
        let entries = logs.iter().map(|log| self.entry(log)).collect::<Result<_, _>>()?;
        self.follower.commit();
        Ok(entries)
    }

    /// The board's last closed round with quotes and the head after it: what an attestation
    /// published now must commit to.
    pub async fn closed(&self) -> Result<(u64, B256), Error> {
        closed_quotes(&self.follower.client, self.board).await
    }

    fn entry(&self, log: &Log) -> Result<QuoteEntry, Error> {
        let e = log
            .log_decode::<QuoteBoard::QuoteSubmitted>()
            .map_err(|_| Error::BadLog {
                chain: self.follower.client.name().to_owned(),
                event: "QuoteSubmitted",
                tx_hash: log.transaction_hash,
                log_index: log.log_index,
            })?
            .inner
            .data;
        Ok(QuoteEntry {
            round: e.round,
            maker: e.maker,
            maker_key: e.quoteKey.into(),
            sealed: e.quote,
        })
    }
}
