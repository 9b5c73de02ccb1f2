//! `solvency check` on the devnet: a wired devnet passes; a wrong chain id, a missing contract,
//! a wrong policy digest, an unregistered signer, a market without the hub's quote board (or
//! another board than the registry's) and an unfunded hub are each named; a window
//! shorter than a lane's CCIP latency is a warning, not an error.

use alloy::primitives::Address;
use solvency_chain_adapters::preflight::{Check, Finding, Severity, has_errors, preflight};
use solvency_registry::{Registry, schema::NetworksFile};
use solvency_tests::round::Round;

fn names(findings: &[Finding], chain: &str, check: Check) -> bool {
    findings.iter().any(|f| f.chain == chain && f.check == check && f.severity == Severity::Error)
}

#[tokio::test]
async fn check_names_each_thing_wrong_with_a_registry() {
    // On MockCCIPRouter: the calendar check below names its missing token pools.
    let round = Round::start_mock(3, Default::default()).await;
    let passed = preflight(&round.registry).await.unwrap();
    assert!(passed.is_empty(), "a wired devnet passes: {passed:#?}");
    let names_of: Vec<String> =
        round.registry.network().unwrap().chains.iter().map(|c| c.name.clone()).collect();
    let edited = |edit: &dyn Fn(&mut NetworksFile)| {
        let mut file = round.registry.source().clone();
        edit(&mut file);
        Registry::from_source(file, &round.registry.path().display().to_string()).unwrap()
    };

    // The second chain's RPC is the third chain's endpoint.
    let registry = edited(&|f| f.chains[1].rpc_url = f.chains[2].rpc_url.clone());
    let found = preflight(&registry).await.unwrap();
    assert!(names(&found, &names_of[1], Check::ChainId), "{found:#?}");
    assert!(
        found
            .iter()
            .find(|f| f.check == Check::ChainId)
            .unwrap()
            .message
            .contains("serves chain id")
    );

    // A fallback endpoint of another network: named, and never used — a client of the chain
    // whose only endpoint serves another chain reads nothing rather than the wrong chain.
    let registry = edited(&|f| f.chains[1].fallback_rpc_urls = vec![f.chains[2].rpc_url.clone()]);
    let found = preflight(&registry).await.unwrap();
    assert!(
        found.iter().any(|f| f.chain == names_of[1]
            && f.check == Check::ChainId
            && f.message.contains("fallback_rpc_urls[0]")),
        "{found:#?}"
    );
    let registry = edited(&|f| f.chains[1].rpc_url = f.chains[2].rpc_url.clone());
    let wrong = solvency_chain_adapters::ChainClient::new(
        &registry.network().unwrap().chains[1],
        solvency_chain_adapters::Backoff { attempts: 1, ..Default::default() },
    );
    let refused = wrong.head().await.unwrap_err().to_string();
    assert!(refused.contains("serves another chain"), "{refused}");

    // A spoke address with no contract.
    let nowhere = Address::repeat_byte(0x5a);
    let registry = edited(&|f| f.chains[2].spoke = Some(nowhere.to_string()));
    let found = preflight(&registry).await.unwrap();
    assert!(names(&found, &names_of[2], Check::Contract), "{found:#?}");
    assert!(
        found
            .iter()
            .any(|f| f.check == Check::Contract && f.message.contains(&nowhere.to_string()))
    );
    assert!(names(&found, &names_of[0], Check::Wiring), "the hub sends elsewhere: {found:#?}");

    // An edited policy: every chain holds another digest.
    let registry = edited(&|f| f.policy.solvency_ratio_bps = 1);
    let found = preflight(&registry).await.unwrap();
    for name in &names_of {
        assert!(names(&found, name, Check::PolicyDigest), "{name}: {found:#?}");
    }

    // A signer nobody registered.
    let stranger = Address::repeat_byte(0x77);
    let registry = edited(&|f| f.enclave.as_mut().unwrap().signers.push(stranger.to_string()));
    let found = preflight(&registry).await.unwrap();
    assert!(names(&found, &names_of[1], Check::Signers), "{found:#?}");
    assert!(found.iter().any(|f| f.message.contains(&stranger.to_string())));

    // A market in the policy, but no quote board on the hub (nothing would be drawable); a
    // board the registry names that the hub does not hold.
    let registry = edited(&|f| {
        f.policy.market = Some(solvency_registry::schema::MarketSection {
            start_bps: 50,
            step_bps: 25,
            max_bps: 150,
            timeout_epochs: 4,
        })
    });
    let found = preflight(&registry).await.unwrap();
    assert!(
        found.iter().any(|f| f.chain == names_of[0]
            && f.check == Check::Wiring
            && f.message.contains("no quote board")),
        "{found:#?}"
    );
    let registry = edited(&|f| f.chains[0].quote_board = Some(nowhere.to_string()));
    let found = preflight(&registry).await.unwrap();
    assert!(
        found.iter().any(|f| f.check == Check::Wiring
            && f.message
                .contains(&format!("the hub's quote board is none, the registry's {nowhere}"))),
        "{found:#?}"
    );

    // Calendar lots on the default devnet, whose MockCCIPRouter carries no token: every
    // vault's lanes are named.
    let registry = edited(&|f| {
        f.policy.calendar = Some(solvency_registry::schema::CalendarSection {
            period_epochs: 4,
            lot: 100,
            lots_per_lane: 1,
        })
    });
    let found = preflight(&registry).await.unwrap();
    let lanes: Vec<_> = found.iter().filter(|f| f.check == Check::Lanes).collect();
    assert!(!lanes.is_empty(), "{found:#?}");
    assert!(lanes.iter().all(|f| f.message.contains("no token pool")), "{found:#?}");
    assert_eq!(lanes.len(), 3 * 2, "every ordered pair of the three vaults: {found:#?}");

    // Lanes slower than the windows: warnings only.
    let registry = edited(&|f| f.chains[0].ccip_latency_secs = Some(100_000));
    let found = preflight(&registry).await.unwrap();
    assert!(!has_errors(&found), "{found:#?}");
    assert!(
        found.iter().any(|f| f.check == Check::Timing && f.message.contains("expire on arrival"))
    );

    // The hub's fees withdrawn.
    solvency_tests::drain_hub(round.devnet.hub()).await;
    let found = preflight(&round.registry).await.unwrap();
    assert!(names(&found, &names_of[0], Check::Fees), "{found:#?}");
    assert!(found.iter().any(|f| f.check == Check::Fees && f.message.contains("fund it")));
    round.stop().await;
}
