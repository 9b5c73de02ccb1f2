//! The official CCIP chain selector table: EVM chain id → selector and name, as Chainlink
//! publishes it (`data/`, built into the binary).
//!
//! The two files are YAML of one fixed layout — a `selectors:` map from chain id to `selector`,
//! `name` and other keys, one per line. This module reads exactly that layout rather than pull
//! a YAML library into every binary for two files that ship with it; a test checks that every
//! entry of both files is read.

use std::{collections::BTreeMap, sync::OnceLock};

const MAINNETS_AND_TESTNETS: &str = include_str!("../data/ccip-chain-selectors.yml");
const TEST_CHAINS: &str = include_str!("../data/ccip-test-chain-selectors.yml");

/// One chain of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfficialChain {
    /// The EVM chain id.
    pub chain_id: u64,
    /// Its CCIP chain selector.
    pub selector: u64,
    /// Its name in the table (empty for test chains that have none).
    pub name: &'static str,
    /// A test chain (the test table, or a local devnet chain id such as anvil's 31337).
    pub test: bool,
}

/// Chain ids of local devnets the main table lists (anvil, hardhat, geth dev).
const LOCAL_DEVNET_IDS: [u64; 2] = [31337, 1337];

fn table() -> &'static BTreeMap<u64, OfficialChain> {
    static TABLE: OnceLock<BTreeMap<u64, OfficialChain>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = BTreeMap::new();
        for (text, test) in [(MAINNETS_AND_TESTNETS, false), (TEST_CHAINS, true)] {
            for mut chain in parse(text) {
                chain.test = test || LOCAL_DEVNET_IDS.contains(&chain.chain_id);
                table.insert(chain.chain_id, chain);
            }
        }
        table
    })
}

/// Reads the entries of one file (see the module docs for the layout).
fn parse(text: &'static str) -> Vec<OfficialChain> {
    let mut out: Vec<OfficialChain> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 2
            && let Some(id) = trimmed.strip_suffix(':')
            && let Ok(chain_id) = id.parse()
        {
            out.push(OfficialChain { chain_id, selector: 0, name: "", test: false });
        } else if indent == 4
            && let Some(last) = out.last_mut()
        {
            if let Some(value) = trimmed.strip_prefix("selector:") {
                last.selector = value.trim().parse().unwrap_or(0);
            } else if let Some(value) = trimmed.strip_prefix("name:") {
                last.name = value.trim().trim_matches('"');
            }
        }
    }
    out.retain(|c| c.selector != 0);
    out
}

/// The official entry of an EVM chain id, if the table has it.
pub fn by_chain_id(chain_id: u64) -> Option<OfficialChain> {
    table().get(&chain_id).copied()
}

/// The official entry with this selector, if any.
pub fn by_selector(selector: u64) -> Option<OfficialChain> {
    table().values().find(|c| c.selector == selector).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_of_both_files_is_read() {
        for text in [MAINNETS_AND_TESTNETS, TEST_CHAINS] {
            let selectors = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#') && l.trim().starts_with("selector:"))
                .count();
            assert_eq!(parse(text).len(), selectors);
        }
        assert!(table().len() > 350, "{} chains", table().len());
    }

    #[test]
    fn known_chains_have_their_official_selectors() {
        let mainnet = by_chain_id(1).unwrap();
        assert_eq!((mainnet.selector, mainnet.name), (5009297550715157269, "ethereum-mainnet"));
        assert_eq!(by_chain_id(31337).unwrap().selector, 7759470850252068959);
        assert_eq!(by_chain_id(90000001).unwrap().selector, 909606746561742123);
        assert_eq!(by_selector(5009297550715157269).unwrap().chain_id, 1);
        assert_eq!(by_chain_id(424242424242), None);
    }
}
