//! The EIP-712 `SolvencyAttestation` that enclaves sign and every chain verifies.
//!
//! The domain is `{name: "SelfHealingReserve", version: "2"}` with no chain id, so one set of
//! signatures is checked on every chain; the struct binds the deployment id instead. The
//! contracts (`SolvencyAttestation.sol`) compute the same digest, and signatures must be 65 bytes
//! with a low `s`, which is what `k256` produces. Version 2 commits to one leaf per chain
//! (`chainsRoot`) and to the ownership ledger (`ledgerRoot`, `parentLedgerRoot`); the formats
//! are in docs/self-healing.md.

use std::fmt;

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol,
    sol_types::{Eip712Domain, SolStruct, SolValue, eip712_domain},
};

sol! {
    /// The signed statement: one boolean and digests, never an amount.
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct SolvencyAttestation {
        /// Which deployment (set of chains and contracts) this speaks for.
        bytes32 deploymentId;
        /// Strictly increasing on every chain.
        uint64 epoch;
        /// The one public outcome.
        bool solvent;
        /// Unix seconds, enclave clock.
        uint64 issuedAt;
        /// Consumers fail closed after this instant (Unix seconds).
        uint64 validUntil;
        /// Digest of the sealed reports the enclave used.
        bytes32 reportsDigest;
        /// Merkle root of one [`ChainLeaf`] per registered chain.
        bytes32 chainsRoot;
        /// Root of the enclave's ownership ledger after this epoch.
        bytes32 ledgerRoot;
        /// The ledger root before this epoch: the one the hub holds (zero before the first).
        bytes32 parentLedgerRoot;
        /// The policy the enclave judged by.
        bytes32 policyDigest;
        /// The last closed round of the hub's quote board the enclave read (0: none).
        uint64 quoteRound;
        /// The board's quote head after that round (zero: none); the hub checks both.
        bytes32 quoteHead;
    }

    /// One chain's part of an epoch, committed under `chainsRoot`.
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct ChainLeaf {
        /// The chain.
        uint64 chainSelector;
        /// Its reserve vault (zero: none).
        address vault;
        /// keccak256 of its sealed instruction.
        bytes32 instructionHash;
        /// The seq of its report the enclave used (0: none).
        uint64 reportSeq;
        /// The vault log head that report carried.
        uint64 logCount;
        /// ″
        bytes32 logHead;
        /// Root of the withdrawal authorizations committed for its vault (zero: none).
        bytes32 authRoot;
    }

    /// What the hub sends one chain: its leaf, the leaf's proof, its instruction.
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct ChainMessage {
        /// The leaf.
        ChainLeaf leaf;
        /// Its Merkle proof under `chainsRoot`.
        bytes32[] proof;
        /// The sealed, fixed-size instruction.
        bytes instruction;
    }

    /// A withdrawal a vault may pay, committed under a chain leaf's `authRoot`.
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Authorization {
        /// The vault's chain.
        uint64 chainSelector;
        /// The vault.
        address vault;
        /// Who is paid.
        address owner;
        /// How much, in the collateral's smallest unit.
        uint256 amount;
        /// Unique: paid at most once.
        bytes32 id;
    }

    /// A calendar lot a vault may send to another chain's vault, once, committed under the
    /// source chain leaf's `authRoot` (six words: it cannot pass for an `Authorization`).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Lot {
        /// The source vault's chain.
        uint64 chainSelector;
        /// The source vault.
        address vault;
        /// The destination chain.
        uint64 destChainSelector;
        /// The destination vault.
        address destVault;
        /// One lot, in the collateral's smallest unit.
        uint256 amount;
        /// Unique: sent at most once.
        bytes32 id;
    }

    /// One owner's balance in one vault, a leaf of `ledgerRoot` (exodus claims prove it).
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct LedgerLeaf {
        /// The owner (the protocol, or a market maker).
        address owner;
        /// The vault's chain.
        uint64 chainSelector;
        /// The vault.
        address vault;
        /// The owner's balance.
        uint256 balance;
        /// What the owner had withdrawn from the vault when the balance was struck.
        uint256 withdrawnTotal;
        /// Fresh every epoch: the root says nothing about unchanged balances.
        bytes32 salt;
    }
}

/// The EIP-712 domain of every attestation.
pub const ATTESTATION_DOMAIN: Eip712Domain = eip712_domain! {
    name: "SelfHealingReserve",
    version: "2",
};

impl SolvencyAttestation {
    /// The EIP-712 digest signers sign and every chain recovers them from.
    pub fn digest(&self) -> B256 {
        self.eip712_signing_hash(&ATTESTATION_DOMAIN)
    }
}

/// `keccak256(bytes.concat(keccak256(abi.encode(value))))`: OpenZeppelin's leaf convention
/// (hashed twice, so that no leaf can pass for an inner node).
fn double_hash<T: SolValue>(value: &T) -> B256 {
    keccak256(keccak256(value.abi_encode()))
}

impl ChainLeaf {
    /// Its leaf hash under `chainsRoot`.
    pub fn hash(&self) -> B256 {
        double_hash(self)
    }
}

impl Authorization {
    /// Its leaf hash under a chain leaf's `authRoot`.
    pub fn hash(&self) -> B256 {
        double_hash(self)
    }
}

impl Lot {
    /// Its leaf hash under a chain leaf's `authRoot`.
    pub fn hash(&self) -> B256 {
        double_hash(self)
    }
}

impl LedgerLeaf {
    /// Its leaf hash under `ledgerRoot`.
    pub fn hash(&self) -> B256 {
        double_hash(self)
    }
}

/// An enclave's secp256k1 attestation key.
///
/// `Debug` prints only the address; the key is zeroized on drop by `k256`.
pub struct AttestationSigner {
    inner: PrivateKeySigner,
}

impl AttestationSigner {
    /// A fresh random key.
    pub fn random() -> Self {
        Self { inner: PrivateKeySigner::random() }
    }

    /// A signer from a 32-byte secret.
    pub fn from_bytes(secret: &B256) -> Result<Self, alloy::signers::k256::ecdsa::Error> {
        Ok(Self { inner: PrivateKeySigner::from_bytes(secret)? })
    }

    /// The secret scalar, for saving the key; wiped when dropped.
    pub(crate) fn secret_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.inner.to_bytes().0)
    }

    /// The address the contracts register and recover.
    pub fn address(&self) -> Address {
        self.inner.address()
    }

    /// Signs an attestation: 65 bytes `r || s || v`, `v` in {27, 28}, low `s`.
    pub fn sign(&self, attestation: &SolvencyAttestation) -> Bytes {
        let signature = self
            .inner
            .sign_hash_sync(&attestation.digest())
            .expect("signing a 32-byte digest with a valid key cannot fail");
        Bytes::copy_from_slice(&signature.as_bytes())
    }

    /// Signs with every signer and orders the signatures by signer address, ascending, as the
    /// contracts require.
    pub fn sign_all(signers: &[&Self], attestation: &SolvencyAttestation) -> Vec<Bytes> {
        let mut signed: Vec<(Address, Bytes)> =
            signers.iter().map(|s| (s.address(), s.sign(attestation))).collect();
        signed.sort_by_key(|(address, _)| *address);
        signed.into_iter().map(|(_, signature)| signature).collect()
    }
}

impl fmt::Debug for AttestationSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestationSigner").field("address", &self.address()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{U256, b256};
    use alloy::signers::Signature;

    fn sample() -> SolvencyAttestation {
        SolvencyAttestation {
            deploymentId: keccak256("self-healing-reserve/test"),
            epoch: 7,
            solvent: true,
            issuedAt: 1_750_000_000,
            validUntil: 1_750_003_600,
            reportsDigest: keccak256("reports"),
            chainsRoot: keccak256("chains"),
            ledgerRoot: keccak256("ledger"),
            parentLedgerRoot: keccak256("parent"),
            policyDigest: keccak256("policy"),
            quoteRound: 29_166_666,
            quoteHead: keccak256("quotes"),
        }
    }

    #[test]
    fn digest_follows_eip712_by_hand() {
        let a = sample();
        let domain = keccak256(
            (
                keccak256("EIP712Domain(string name,string version)"),
                keccak256("SelfHealingReserve"),
                keccak256("2"),
            )
                .abi_encode(),
        );
        let type_hash = keccak256(
            "SolvencyAttestation(bytes32 deploymentId,uint64 epoch,bool solvent,uint64 issuedAt,\
             uint64 validUntil,bytes32 reportsDigest,bytes32 chainsRoot,bytes32 ledgerRoot,\
             bytes32 parentLedgerRoot,bytes32 policyDigest,uint64 quoteRound,bytes32 quoteHead)",
        );
        let struct_hash = keccak256(
            (
                type_hash,
                a.deploymentId,
                a.epoch,
                a.solvent,
                a.issuedAt,
                a.validUntil,
                a.reportsDigest,
                a.chainsRoot,
                a.ledgerRoot,
                a.parentLedgerRoot,
                a.policyDigest,
                a.quoteRound,
                a.quoteHead,
            )
                .abi_encode(),
        );
        let mut preimage = vec![0x19, 0x01];
        preimage.extend_from_slice(domain.as_slice());
        preimage.extend_from_slice(struct_hash.as_slice());
        assert_eq!(a.digest(), keccak256(preimage));
        // The value contracts/test/SolvencyAttestation.hashes.t.sol holds.
        assert_eq!(
            a.digest(),
            b256!("735fbdaa4979fe31a83d9745fd99da434a83f9d6165e36d6fb6f9c80cb124c71")
        );
    }

    #[test]
    fn signature_recovers_and_has_low_s() {
        let half_order = U256::from_be_bytes(
            b256!("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0").0,
        );
        for _ in 0..32 {
            let signer = AttestationSigner::random();
            let a = sample();
            let bytes = signer.sign(&a);
            assert_eq!(bytes.len(), 65);
            assert!(bytes[64] == 27 || bytes[64] == 28);
            let signature = Signature::try_from(bytes.as_ref()).unwrap();
            assert!(signature.s() <= half_order, "high s would be refused on-chain");
            assert_eq!(
                signature.recover_address_from_prehash(&a.digest()).unwrap(),
                signer.address()
            );
        }
    }

    #[test]
    fn sign_all_orders_by_signer_address() {
        let signers: Vec<AttestationSigner> = (0..5).map(|_| AttestationSigner::random()).collect();
        let refs: Vec<&AttestationSigner> = signers.iter().collect();
        let a = sample();
        let recovered: Vec<Address> = AttestationSigner::sign_all(&refs, &a)
            .iter()
            .map(|s| {
                Signature::try_from(s.as_ref())
                    .unwrap()
                    .recover_address_from_prehash(&a.digest())
                    .unwrap()
            })
            .collect();
        let mut sorted = recovered.clone();
        sorted.sort();
        assert_eq!(recovered, sorted);
        assert_eq!(recovered.len(), 5);
    }

    #[test]
    fn debug_shows_only_the_address() {
        let secret = B256::repeat_byte(0x42);
        let signer = AttestationSigner::from_bytes(&secret).unwrap();
        let shown = format!("{signer:?}");
        assert!(shown.contains(&format!("{:?}", signer.address())));
        assert!(!shown.to_lowercase().contains("4242424242"));
    }
}
