//! `docs/quote-format.md` carries a worked example of a sealed quote and of the hub's quote
//! head. This test rebuilds every value from its inputs, compares it byte for byte, and opens
//! the documented quote through the chain.

use alloy::primitives::{Address, B256, U256, keccak256};
use solvency_enclave::{
    Purpose, SealedHeader, X25519KeyPair, asset_id,
    market::Class,
    quote::{QuoteEntry, QuoteTerms, next_quote_head, open_chain},
    seal,
};

mod common;

fn documented() -> std::collections::HashMap<String, Vec<u8>> {
    common::documented(include_str!("../../docs/quote-format.md"))
}

#[test]
fn the_documented_quote_is_reproduced_byte_for_byte() {
    let deployment_id = keccak256("self-healing-reserve/devnet");
    let enclave = X25519KeyPair::from_secret_bytes(keccak256("worked-example/enclave").0);
    let maker_key = X25519KeyPair::from_secret_bytes(keccak256("worked-example/maker").0);
    let maker = Address::repeat_byte(0xb1);
    let hub = 909_606_746_561_742_123u64;
    let terms = QuoteTerms {
        class: Class { asset: asset_id("USDC"), decimals: 6 },
        size: U256::from(250_000_000_000u64),
        premium_bps: 35,
        expires_at: 1_750_003_600,
    };
    let plaintext = terms.encode(maker);
    let mut rng = seal::KeccakRng::new(keccak256("worked-example/quote-ephemeral").as_slice());
    let sealed = seal::seal_with_rng(
        Purpose::Quote,
        &deployment_id,
        SealedHeader { chain_selector: hub, counter: 7 },
        &plaintext,
        &maker_key,
        &enclave.public(),
        &mut rng,
    )
    .unwrap();
    let entry = QuoteEntry {
        round: 29_166_666,
        maker,
        maker_key: maker_key.public(),
        sealed: sealed.clone().into(),
    };
    let head = next_quote_head(B256::ZERO, &entry);

    let values: Vec<(&str, Vec<u8>)> = vec![
        ("maker_public_key", B256::from(maker_key.public()).to_vec()),
        ("quote_plaintext", plaintext),
        ("sealed_quote", sealed),
        ("quote_head", head.to_vec()),
    ];
    if std::env::var_os("PRINT_QUOTE_EXAMPLE").is_some() {
        for (key, value) in &values {
            println!("{key}: 0x{}", hex::encode(value));
        }
    }
    let doc = documented();
    for (key, value) in &values {
        let held =
            doc.get(*key).unwrap_or_else(|| panic!("docs/quote-format.md lacks `{key}: 0x…`"));
        assert_eq!(hex::encode(held), hex::encode(value), "{key}");
    }

    let opened =
        open_chain(&deployment_id, Some(hub), &[&enclave], B256::ZERO, &[entry], head).unwrap();
    let quote = &opened.quotes[0];
    assert_eq!((quote.maker, quote.seq, quote.size, quote.premium_bps), (maker, 7, terms.size, 35));
}
