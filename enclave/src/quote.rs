//! Sealed quotes: what a market maker submits on the hub, how the hub chains them, and how the
//! enclave opens a chain of them (`docs/quote-format.md`).
//!
//! A quote is sealed from the maker's registered X25519 key to the enclave's (HPKE Auth, the
//! same suite and layout as reports, `info = "self-healing-reserve/quote/v1" || deployment
//! id`), always [`SEALED_QUOTE_LEN`] bytes — a null quote (size zero) included — so the hub and
//! everyone watching it see one size and one cadence whatever a maker offers. The header's
//! selector is the hub chain's and its counter the maker's sequence number.
//!
//! The hub chains every quote it takes into a head, `keccak256(abi.encode(previous head, round,
//! maker, maker's registered key, keccak256(sealed)))`, and the attestation commits to the head
//! of the last closed round, which the hub checks at publish. [`open_chain`] recomputes the head
//! over the entries a host hands over: a withheld, reordered, replayed or altered entry — or a
//! key the hub did not register — gives another head, and the attestation built on it is
//! refused.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    sol_types::SolValue,
};

alloy::sol! {
    /// A quote's plaintext, every field static: `abi.encode` of it is six words.
    struct QuoteV1 {
        uint8 version;
        address maker;
        bytes32 assetId;
        uint8 decimals;
        uint256 size;
        uint32 premiumBps;
        uint64 expiresAt;
    }
}

use crate::{
    X25519KeyPair, X25519Public,
    market::{Class, Quote},
    seal::{self, PREFIX_LEN, Purpose, SealedHeader, TAG_LEN},
};

/// The plaintext's version.
pub const QUOTE_VERSION: u8 = 1;
/// The plaintext: `abi.encode(uint8 version, address maker, bytes32 assetId, uint8 decimals,
/// uint256 size, uint32 premiumBps, uint64 expiresAt)`, seven words. The maker's account is in
/// it so that sealed bytes submitted by anyone else — under a key registered for them — open
/// to nothing.
pub const QUOTE_PLAINTEXT_LEN: usize = 7 * 32;
/// Every sealed quote's length: header and `enc`, the plaintext, the tag.
pub const SEALED_QUOTE_LEN: usize = PREFIX_LEN + QUOTE_PLAINTEXT_LEN + TAG_LEN;

/// What a maker offers, before sealing. `Debug` leaves size and premium out.
#[derive(Clone, PartialEq, Eq)]
pub struct QuoteTerms {
    /// The collateral it quotes for.
    pub class: Class,
    /// The most it may be drawn for, in the class's smallest unit (zero: a null quote).
    pub size: U256,
    /// The premium it asks, in basis points.
    pub premium_bps: u32,
    /// Hub time from which the quote no longer counts.
    pub expires_at: u64,
}

impl std::fmt::Debug for QuoteTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteTerms")
            .field("class", &self.class)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl QuoteTerms {
    /// A null quote: it withdraws the maker's offer for the class and says nothing else.
    pub fn null(class: Class, expires_at: u64) -> Self {
        Self { class, size: U256::ZERO, premium_bps: 0, expires_at }
    }

    /// The plaintext of `maker`'s quote, [`QUOTE_PLAINTEXT_LEN`] bytes.
    pub fn encode(&self, maker: Address) -> Vec<u8> {
        QuoteV1 {
            version: QUOTE_VERSION,
            maker,
            assetId: self.class.asset,
            decimals: self.class.decimals,
            size: self.size,
            premiumBps: self.premium_bps,
            expiresAt: self.expires_at,
        }
        .abi_encode()
    }

    /// Reads a plaintext: the maker it names and its terms; `None` if it is not a version-1
    /// quote of the right length.
    pub fn decode(plaintext: &[u8]) -> Option<(Address, Self)> {
        if plaintext.len() != QUOTE_PLAINTEXT_LEN {
            return None;
        }
        let quote = QuoteV1::abi_decode_validate(plaintext).ok()?;
        (quote.version == QUOTE_VERSION).then_some((
            quote.maker,
            Self {
                class: Class { asset: quote.assetId, decimals: quote.decimals },
                size: quote.size,
                premium_bps: quote.premiumBps,
                expires_at: quote.expiresAt,
            },
        ))
    }
}

/// Seals `maker`'s quote to the enclave.
pub fn seal_quote(
    deployment_id: &B256,
    hub_selector: u64,
    maker: Address,
    seq: u64,
    terms: &QuoteTerms,
    maker_key: &X25519KeyPair,
    enclave: &X25519Public,
) -> Result<Vec<u8>, seal::SealError> {
    seal::seal(
        Purpose::Quote,
        deployment_id,
        SealedHeader { chain_selector: hub_selector, counter: seq },
        &terms.encode(maker),
        maker_key,
        enclave,
    )
}

/// One quote as the hub took it: its round, its maker, the key the hub had registered for the
/// maker then, and the sealed bytes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuoteEntry {
    /// The round it was submitted in (hub time / round length).
    pub round: u64,
    /// Who submitted it (the hub's `msg.sender`).
    pub maker: Address,
    /// The maker's registered X25519 key when it was submitted.
    pub maker_key: X25519Public,
    /// The sealed quote.
    pub sealed: Bytes,
}

/// The head after `entry`: `keccak256(abi.encode(head, round, maker, makerKey,
/// keccak256(sealed)))`, as the hub computes it.
pub fn next_quote_head(head: B256, entry: &QuoteEntry) -> B256 {
    let key: B256 = entry.maker_key.into();
    keccak256((head, entry.round, entry.maker, key, keccak256(&entry.sealed)).abi_encode())
}

/// Why an entry of a chain gave no quote. The chain itself stays valid: the hub took the bytes,
/// and the maker's offer is what opened before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuoteRefusal {
    /// Not [`SEALED_QUOTE_LEN`] bytes.
    #[error("a sealed quote is {SEALED_QUOTE_LEN} bytes")]
    Length,
    /// Did not open with the maker's registered key (sealed by someone else, or to another
    /// enclave).
    #[error("does not open with the maker's registered key")]
    Open,
    /// Its header names another chain than the hub.
    #[error("its header names another chain than the hub")]
    WrongChain,
    /// It names another maker than the account that submitted it (bytes resubmitted under a
    /// key registered for someone else).
    #[error("it names another maker than the account that submitted it")]
    WrongMaker,
    /// Not a version-1 quote.
    #[error("not a version-1 quote")]
    Malformed,
}

/// The chain of quotes does not lead where the hub says it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the quotes given do not chain from {from} to {expected} (they give {got}): one was withheld, reordered, replayed or altered"
)]
pub struct QuoteChainError {
    /// Where the chain started.
    pub from: B256,
    /// Where the hub says it ends.
    pub expected: B256,
    /// Where the entries given lead.
    pub got: B256,
}

/// Why a host's quote entries were not taken.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
pub enum QuoteFeedError {
    /// The entries start after the last one taken: some are missing.
    #[error("quote entries from {from} leave a gap: {have} are held; give them from {have}")]
    Gap {
        /// Where the entries given start (0-based, in the board's order).
        from: u64,
        /// How many are held.
        have: u64,
    },
    /// An entry given again differs from the one taken before.
    #[error("quote entry {index} differs from the one given before")]
    Rewritten {
        /// Its index.
        index: u64,
    },
}

/// The board's entries as a host gave them: public, kept in memory, given again after a
/// restart. Append-only: each entry's head is chained once when it is taken, and it is opened
/// once, the first time an attestation counts it (an HPKE open costs about 88 µs against 1.3 µs
/// for a head: `cargo bench -p solvency-enclave --bench quotes`), so an attestation costs what
/// the board took since the last one, not its whole history.
#[derive(Clone, Debug, Default)]
pub struct QuoteLog {
    entries: Vec<QuoteEntry>,
    /// The head after each entry.
    heads: Vec<B256>,
    /// What each of the first entries opened to, with `opened_with`.
    opened: Vec<Result<Quote, QuoteRefusal>>,
    /// The enclave keys `opened` is valid for (opened again when they change: a rotation's
    /// previous key stops opening once its grace period ends).
    opened_with: Vec<X25519Public>,
}

impl QuoteLog {
    /// Takes entries `from..` in the board's order; entries held already are checked to be the
    /// same. Returns how many are held now.
    pub fn feed(&mut self, from: u64, entries: &[QuoteEntry]) -> Result<u64, QuoteFeedError> {
        let have = self.entries.len() as u64;
        if from > have {
            return Err(QuoteFeedError::Gap { from, have });
        }
        for (i, entry) in entries.iter().enumerate() {
            let index = from + i as u64;
            match self.entries.get(index as usize) {
                Some(held) if held != entry => return Err(QuoteFeedError::Rewritten { index }),
                Some(_) => {}
                None => {
                    let head =
                        next_quote_head(self.heads.last().copied().unwrap_or_default(), entry);
                    self.heads.push(head);
                    self.entries.push(entry.clone());
                }
            }
        }
        Ok(self.entries.len() as u64)
    }

    /// How many entries are held.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries of every round up to `round`, in order.
    pub fn through(&self, round: u64) -> &[QuoteEntry] {
        &self.entries[..self.end_of(round)]
    }

    /// Where the entries of rounds after `round` start (the board's rounds never go back; a host
    /// that gives them out of order gets a head the hub does not hold).
    fn end_of(&self, round: u64) -> usize {
        self.entries.partition_point(|e| e.round <= round)
    }

    /// What [`open_chain`] gives over the entries of every round up to `round` from the board's
    /// start — refused whole unless they lead to `expected` — with each entry opened once.
    pub fn open_through(
        &mut self,
        round: u64,
        deployment_id: &B256,
        enclave: &[&X25519KeyPair],
        expected: B256,
    ) -> Result<OpenedQuotes, QuoteChainError> {
        let end = self.end_of(round);
        let got = end.checked_sub(1).map_or(B256::ZERO, |last| self.heads[last]);
        if got != expected {
            return Err(QuoteChainError { from: B256::ZERO, expected, got });
        }
        let keys: Vec<X25519Public> = enclave.iter().map(|k| k.public()).collect();
        if keys != self.opened_with {
            self.opened.clear();
            self.opened_with = keys;
        }
        for entry in &self.entries[self.opened.len().min(end)..end] {
            self.opened.push(open_entry(deployment_id, None, enclave, entry));
        }
        let mut opened = OpenedQuotes::default();
        for (index, result) in self.opened[..end].iter().enumerate() {
            match result {
                Ok(quote) => opened.quotes.push(quote.clone()),
                Err(refusal) => opened.refused.push((index, *refusal)),
            }
        }
        Ok(opened)
    }
}

/// What a chain of entries opened to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenedQuotes {
    /// The quotes that opened, in chain order (their sequence numbers decide which counts).
    pub quotes: Vec<Quote>,
    /// The entries that did not, by index in the chain, with why.
    pub refused: Vec<(usize, QuoteRefusal)>,
}

/// Opens the entries that lead from `from` to `expected` (the head the hub holds); refuses the
/// whole chain if they do not lead there. An entry opens with any of `enclave`'s keys (the key in
/// force and, through a rotation's grace period, the previous one). With `hub_selector`, an
/// entry whose header names another chain gives no quote (the deployment id in `info` is what
/// binds a quote to the deployment; an enclave that does not know the hub passes `None`).
pub fn open_chain(
    deployment_id: &B256,
    hub_selector: Option<u64>,
    enclave: &[&X25519KeyPair],
    from: B256,
    entries: &[QuoteEntry],
    expected: B256,
) -> Result<OpenedQuotes, QuoteChainError> {
    let got = entries.iter().fold(from, next_quote_head);
    if got != expected {
        return Err(QuoteChainError { from, expected, got });
    }
    let mut opened = OpenedQuotes::default();
    for (index, entry) in entries.iter().enumerate() {
        match open_entry(deployment_id, hub_selector, enclave, entry) {
            Ok(quote) => opened.quotes.push(quote),
            Err(refusal) => opened.refused.push((index, refusal)),
        }
    }
    Ok(opened)
}

fn open_entry(
    deployment_id: &B256,
    hub_selector: Option<u64>,
    enclave: &[&X25519KeyPair],
    entry: &QuoteEntry,
) -> Result<Quote, QuoteRefusal> {
    if entry.sealed.len() != SEALED_QUOTE_LEN {
        return Err(QuoteRefusal::Length);
    }
    let (header, plaintext) = enclave
        .iter()
        .find_map(|key| {
            seal::open(Purpose::Quote, deployment_id, &entry.sealed, key, &entry.maker_key).ok()
        })
        .ok_or(QuoteRefusal::Open)?;
    if hub_selector.is_some_and(|hub| header.chain_selector != hub) {
        return Err(QuoteRefusal::WrongChain);
    }
    let (maker, terms) = QuoteTerms::decode(&plaintext).ok_or(QuoteRefusal::Malformed)?;
    if maker != entry.maker {
        return Err(QuoteRefusal::WrongMaker);
    }
    Ok(Quote {
        maker: entry.maker,
        class: terms.class,
        size: terms.size,
        premium_bps: terms.premium_bps,
        seq: header.counter,
        expires_at: terms.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset_id;

    const HUB: u64 = 909_606_746_561_742_123;

    fn usdc() -> Class {
        Class { asset: asset_id("USDC"), decimals: 6 }
    }

    fn entry(round: u64, maker: Address, key: &X25519KeyPair, sealed: Vec<u8>) -> QuoteEntry {
        QuoteEntry { round, maker, maker_key: key.public(), sealed: sealed.into() }
    }

    #[test]
    fn quotes_of_every_kind_are_one_size_and_open_to_what_was_sealed() {
        let deployment = B256::repeat_byte(0x11);
        let (enclave, maker_key) = (X25519KeyPair::generate(), X25519KeyPair::generate());
        let maker = Address::repeat_byte(0xb1);
        let offer = QuoteTerms {
            class: usdc(),
            size: U256::from(250_000_000_000u64),
            premium_bps: 35,
            expires_at: 1_750_003_600,
        };
        let null = QuoteTerms::null(usdc(), 1_750_003_600);
        let sealed_offer =
            seal_quote(&deployment, HUB, maker, 7, &offer, &maker_key, &enclave.public()).unwrap();
        let sealed_null =
            seal_quote(&deployment, HUB, maker, 8, &null, &maker_key, &enclave.public()).unwrap();
        assert_eq!(sealed_offer.len(), SEALED_QUOTE_LEN);
        assert_eq!(sealed_null.len(), SEALED_QUOTE_LEN, "a null quote looks like any other");

        let entries =
            [entry(1, maker, &maker_key, sealed_offer), entry(2, maker, &maker_key, sealed_null)];
        let head = entries.iter().fold(B256::ZERO, next_quote_head);
        let opened =
            open_chain(&deployment, Some(HUB), &[&enclave], B256::ZERO, &entries, head).unwrap();
        assert!(opened.refused.is_empty());
        assert_eq!(opened.quotes.len(), 2);
        let first = &opened.quotes[0];
        assert_eq!((first.maker, first.seq, first.size), (maker, 7, offer.size));
        assert_eq!((first.premium_bps, first.expires_at, first.class), (35, 1_750_003_600, usdc()));
        assert!(opened.quotes[1].size.is_zero());
        // Latest wins: the null quote withdraws the offer.
        assert!(crate::market::live(&opened.quotes, 1_750_000_000).is_empty());
    }

    #[test]
    fn a_withheld_replayed_or_altered_entry_breaks_the_chain_and_a_foreign_seal_is_refused() {
        let deployment = B256::repeat_byte(0x11);
        let (enclave, key_a, key_b) =
            (X25519KeyPair::generate(), X25519KeyPair::generate(), X25519KeyPair::generate());
        let (a, b) = (Address::repeat_byte(0xa), Address::repeat_byte(0xb));
        let terms = QuoteTerms {
            class: usdc(),
            size: U256::from(1_000u64),
            premium_bps: 20,
            expires_at: 10_000,
        };
        let seal = |maker, seq, key: &X25519KeyPair| {
            seal_quote(&deployment, HUB, maker, seq, &terms, key, &enclave.public()).unwrap()
        };
        let entries = vec![
            entry(5, a, &key_a, seal(a, 1, &key_a)),
            entry(5, b, &key_b, seal(b, 1, &key_b)),
            entry(6, a, &key_a, seal(a, 2, &key_a)),
        ];
        let head = entries.iter().fold(B256::ZERO, next_quote_head);
        let open = |given: &[QuoteEntry]| {
            open_chain(&deployment, Some(HUB), &[&enclave], B256::ZERO, given, head)
        };
        assert!(open(&entries).is_ok());
        // Withheld.
        assert!(open(&[entries[0].clone(), entries[2].clone()]).is_err());
        // Replayed: an old entry again, in place of the newest.
        assert!(open(&[entries[0].clone(), entries[1].clone(), entries[0].clone()]).is_err());
        // Reordered.
        assert!(open(&[entries[1].clone(), entries[0].clone(), entries[2].clone()]).is_err());
        // Another key than the one the hub registered.
        let mut rekeyed = entries.clone();
        rekeyed[1].maker_key = key_a.public();
        let err = open(&rekeyed).unwrap_err();
        assert_eq!((err.expected, err.from), (head, B256::ZERO));

        // In the chain, but sealed with another maker's key, to another chain, cut short, or
        // maker a's bytes resubmitted by b under a's key registered for b: the hub took the
        // bytes, the enclave takes no quote from them.
        let chained = vec![
            entry(7, b, &key_b, seal(b, 2, &key_a)),
            entry(7, b, &key_b, {
                let other = QuoteTerms { ..terms.clone() };
                seal_quote(&deployment, HUB + 1, b, 3, &other, &key_b, &enclave.public()).unwrap()
            }),
            entry(7, b, &key_b, seal(b, 4, &key_b)[..SEALED_QUOTE_LEN - 1].to_vec()),
            entry(7, b, &key_a, seal(a, 5, &key_a)),
        ];
        let head = chained.iter().fold(B256::ZERO, next_quote_head);
        let opened =
            open_chain(&deployment, Some(HUB), &[&enclave], B256::ZERO, &chained, head).unwrap();
        assert!(opened.quotes.is_empty());
        assert_eq!(
            opened.refused,
            [
                (0, QuoteRefusal::Open),
                (1, QuoteRefusal::WrongChain),
                (2, QuoteRefusal::Length),
                (3, QuoteRefusal::WrongMaker)
            ]
        );
    }

    /// The log opens each entry once and gives, round after round, exactly what opening the
    /// whole chain again would; a change of keys opens everything again with the new ones.
    #[test]
    fn the_log_opens_each_entry_once_and_agrees_with_the_whole_chain() {
        let deployment = B256::repeat_byte(0x11);
        let (old, new) = (X25519KeyPair::generate(), X25519KeyPair::generate());
        let makers: Vec<(Address, X25519KeyPair)> =
            (1..=3u8).map(|i| (Address::repeat_byte(i), X25519KeyPair::generate())).collect();
        let sealed_to = |enclave: &X25519KeyPair, i: usize, seq: u64, round: u64| {
            let (maker, key) = &makers[i % 3];
            let terms = QuoteTerms {
                class: usdc(),
                size: U256::from(100 * seq),
                premium_bps: 10 + seq as u32,
                expires_at: 10_000,
            };
            let sealed =
                seal_quote(&deployment, HUB, *maker, seq, &terms, key, &enclave.public()).unwrap();
            entry(round, *maker, key, sealed)
        };
        // Rounds 1..=4, three quotes each; round 3's second quote sealed to the new key.
        let entries: Vec<QuoteEntry> = (0..12)
            .map(|i| {
                let round = 1 + i as u64 / 3;
                sealed_to(if i == 7 { &new } else { &old }, i, i as u64 + 1, round)
            })
            .collect();
        let mut log = QuoteLog::default();
        for round in 1..=4u64 {
            log.feed(0, &entries[..round as usize * 3]).unwrap();
            let through = log.through(round).to_vec();
            let head = through.iter().fold(B256::ZERO, next_quote_head);
            let whole = open_chain(&deployment, None, &[&old], B256::ZERO, &through, head).unwrap();
            assert_eq!(log.open_through(round, &deployment, &[&old], head).unwrap(), whole);
            // An earlier round again: the prefix, as the chain up to it gives.
            let earlier = log.through(round - 1).to_vec();
            let earlier_head = earlier.iter().fold(B256::ZERO, next_quote_head);
            let again = log.open_through(round - 1, &deployment, &[&old], earlier_head).unwrap();
            assert_eq!(again.quotes.len(), earlier.len() - usize::from(round > 3));
            // A head the entries do not lead to: refused whole.
            let wrong = log.open_through(round, &deployment, &[&old], B256::repeat_byte(9));
            assert!(wrong.is_err());
        }
        // Sealed to the new key, entry 7 was refused; with both keys every entry opens.
        let head = entries.iter().fold(B256::ZERO, next_quote_head);
        let before = log.open_through(4, &deployment, &[&old], head).unwrap();
        assert_eq!(before.refused.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [7]);
        let after = log.open_through(4, &deployment, &[&new, &old], head).unwrap();
        assert!(after.refused.is_empty());
        assert_eq!(after.quotes.len(), 12);
    }

    #[test]
    fn debug_leaves_size_and_premium_out() {
        let terms = QuoteTerms {
            class: usdc(),
            size: U256::from(987_654_321u64),
            premium_bps: 4_321,
            expires_at: 1,
        };
        let shown = format!("{terms:?}");
        assert!(!shown.contains("987654321") && !shown.contains("4321"), "{shown}");
    }
}
