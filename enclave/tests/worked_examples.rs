//! The worked examples of docs/self-healing.md, rebuilt byte for byte: a vault log head step
//! and a statement's plaintext. If the encoding changes, this test fails until the page shows
//! the new bytes.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};
use solvency_enclave::{
    ownership::{EntryKind, VaultEntry, next_head},
    statement::{MAX_DEPTH, Statement, StatementEntry},
};

const PAGE: &str = include_str!("../../docs/self-healing.md");

/// The hex in the fenced block that follows `marker` on the page (whitespace removed).
fn block_after(marker: &str) -> String {
    let start = PAGE.find(marker).unwrap_or_else(|| panic!("the page has {marker:?}"));
    let rest = &PAGE[start..];
    let open = rest.find("```").expect("a block follows") + 3;
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let close = body.find("```").expect("the block ends");
    body[..close].split_whitespace().collect()
}

fn head_example() -> (VaultEntry, B256) {
    let entry = VaultEntry {
        index: 1,
        kind: EntryKind::Deposit,
        account: Address::repeat_byte(0xb1),
        amount: U256::from(1_000_000_000u64),
        timestamp: 1_750_000_000,
        reference: B256::ZERO,
    };
    (entry.clone(), next_head(B256::ZERO, &entry))
}

fn statement_example() -> Statement {
    let mut proof = [B256::ZERO; MAX_DEPTH];
    proof[0] = B256::repeat_byte(0x22);
    proof[1] = B256::repeat_byte(0x33);
    Statement {
        epoch: 7,
        owner: Address::repeat_byte(0xb1),
        ledgerRoot: B256::repeat_byte(0x11),
        entries: vec![StatementEntry {
            chainSelector: 16_015_286_601_757_825_753,
            vault: Address::repeat_byte(0xc3),
            held: true,
            balance: U256::from(880_000_000u64),
            withdrawnTotal: U256::ZERO,
            salt: B256::repeat_byte(0x44),
            depth: 2,
            proof,
            available: U256::from(880_000_000u64),
            drawn: U256::from(120_000_000u64),
            owed: U256::from(1_200_000u64),
        }],
    }
}

#[test]
fn the_vault_head_example_is_what_the_page_shows() {
    let (_, head) = head_example();
    assert_eq!(block_after("<!-- example: vault head -->"), format!("{head:x}"));
}

#[test]
fn the_statement_example_is_what_the_page_shows() {
    let encoded = statement_example().abi_encode();
    assert_eq!(encoded.len(), 192 + 1_088, "one vault chain");
    assert_eq!(block_after("<!-- example: statement -->"), alloy::hex::encode(&encoded));
    assert_eq!(
        block_after("<!-- example: statement digest -->"),
        format!("{:x}", keccak256(&encoded))
    );
}
