//! A reporter's on-chain sources: ERC-20 balances and supplies, and Chainlink
//! `AggregatorV3Interface` feeds, read at one block. The figures come back to the reporter's
//! process only; errors never carry one.

use alloy::{
    primitives::{Address, I256, U256},
    rpc::types::BlockId,
};

use crate::{ChainClient, Error};

alloy::sol! {
    /// The ERC-20 reads a reporter needs.
    #[sol(rpc)]
    interface IERC20Figures {
        function balanceOf(address holder) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function decimals() external view returns (uint8);
    }

    /// Chainlink's `AggregatorV3Interface`, the reads a reporter needs.
    #[sol(rpc)]
    interface IAggregatorV3 {
        function decimals() external view returns (uint8);
        function latestRoundData()
            external
            view
            returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    }
}

/// A token figure and the token's decimals.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenFigure {
    /// In the token's smallest unit.
    pub value: U256,
    /// The token's `decimals()`.
    pub decimals: u8,
}

/// A feed's latest round.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FeedRound {
    /// The answer, in the feed's decimals (it may be negative: the caller refuses that).
    pub answer: I256,
    /// The feed's `decimals()`.
    pub decimals: u8,
    /// When the answer was last updated (Unix seconds; 0 if never).
    pub updated_at: u64,
    /// The round.
    pub round_id: u128,
    /// The round the answer was computed in.
    pub answered_in_round: u128,
}

// No figure in Debug: these values are the reporter's secrets until sealed.
impl std::fmt::Debug for TokenFigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFigure").field("decimals", &self.decimals).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for FeedRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedRound")
            .field("decimals", &self.decimals)
            .field("updated_at", &self.updated_at)
            .field("round_id", &self.round_id)
            .finish_non_exhaustive()
    }
}

/// The latest block, so that every read of one report sees the same state.
pub async fn pinned_block(client: &ChainClient) -> Result<BlockId, Error> {
    Ok(BlockId::number(client.head().await?))
}

/// The sum of `token.balanceOf(holder)` over `holders`, at `block`.
pub async fn erc20_balances(
    client: &ChainClient,
    token: Address,
    holders: &[Address],
    block: BlockId,
) -> Result<TokenFigure, Error> {
    let erc20 = IERC20Figures::new(token, client.provider());
    let decimals = client
        .call("call decimals() of a reserve token", || async {
            erc20.decimals().block(block).call().await
        })
        .await?;
    let mut value = U256::ZERO;
    for holder in holders {
        let balance = client
            .call("call balanceOf() of a reserve token", || async {
                erc20.balanceOf(*holder).block(block).call().await
            })
            .await?;
        value = value.checked_add(balance).ok_or_else(|| Error::Missing {
            chain: client.name().to_owned(),
            what: "a sum of balances that fits in 256 bits",
        })?;
    }
    Ok(TokenFigure { value, decimals })
}

/// `token.totalSupply()` at `block`.
pub async fn erc20_supply(
    client: &ChainClient,
    token: Address,
    block: BlockId,
) -> Result<TokenFigure, Error> {
    let erc20 = IERC20Figures::new(token, client.provider());
    let decimals = client
        .call("call decimals() of a token", || async { erc20.decimals().block(block).call().await })
        .await?;
    let value = client
        .call("call totalSupply() of a token", || async {
            erc20.totalSupply().block(block).call().await
        })
        .await?;
    Ok(TokenFigure { value, decimals })
}

/// A feed's latest round at `block`.
pub async fn feed_round(
    client: &ChainClient,
    feed: Address,
    block: BlockId,
) -> Result<FeedRound, Error> {
    let aggregator = IAggregatorV3::new(feed, client.provider());
    let decimals = client
        .call("call decimals() of a feed", || async {
            aggregator.decimals().block(block).call().await
        })
        .await?;
    let round = client
        .call("call latestRoundData() of a feed", || async {
            aggregator.latestRoundData().block(block).call().await
        })
        .await?;
    Ok(FeedRound {
        answer: round.answer,
        decimals,
        updated_at: u64::try_from(round.updatedAt).unwrap_or(u64::MAX),
        round_id: round.roundId.to::<u128>(),
        answered_in_round: round.answeredInRound.to::<u128>(),
    })
}
