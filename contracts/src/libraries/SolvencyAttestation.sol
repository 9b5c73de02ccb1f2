// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts@5.0.2/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts@5.0.2/utils/cryptography/MessageHashUtils.sol";

/// @title SolvencyAttestation
/// @notice The EIP-712 statement an enclave signs at the end of an epoch, the Merkle leaves it
/// commits to, and the helpers every chain uses to hash them (docs/self-healing.md, "Attestation
/// v2"). The domain carries no chainId on purpose: one set of signatures is checked on every
/// chain, and the struct binds the deployment id instead.
/// @dev Every Merkle tree here follows OpenZeppelin's `MerkleProof` convention: a leaf is
/// `keccak256(bytes.concat(keccak256(abi.encode(x))))` (hashed twice, so that no leaf can pass
/// for an inner node of 64 bytes), and each level hashes sorted pairs.
library SolvencyAttestation {
  /// @notice The signed statement. Amounts never appear here: only the boolean and roots.
  struct Attestation {
    bytes32 deploymentId; // ─╮ Which deployment (set of chains and contracts) this speaks for.
    uint64 epoch; //          │ Strictly increasing on every chain.
    bool solvent; //          │ The one public outcome.
    uint64 issuedAt; //       │ Unix seconds, enclave clock.
    uint64 validUntil; // ────╯ Consumers fail closed after this instant.
    bytes32 reportsDigest; // Digest of the sealed reports the enclave used.
    bytes32 chainsRoot; // Merkle root of one ChainLeaf per registered chain, ascending selectors.
    bytes32 ledgerRoot; // Merkle root of the ownership ledger (LedgerLeaf) after this epoch.
    bytes32 parentLedgerRoot; // The ledgerRoot before this epoch (zero before the first).
    bytes32 policyDigest; // The policy the enclave judged by (chains, keys, assets, prices, ratio).
    uint64 quoteRound; // The last closed round of the hub's QuoteBoard the enclave read (0: none),
    bytes32 quoteHead; // and the board's head after it: the hub checks both at publish.
  }

  /// @notice What an epoch commits for one chain: its sealed instruction, the report (and the
  /// vault head it carried) the enclave used, and the withdrawals authorized from its vault.
  struct ChainLeaf {
    uint64 chainSelector; // ─╮ The chain this leaf is for.
    address vault; // ────────╯ Its ReserveVault (zero when the chain has none).
    bytes32 instructionHash; // keccak256 of the chain's sealed, fixed-size instruction.
    uint64 reportSeq; // ─╮ The report used (0: none), and the head of the vault's log it carried.
    uint64 logCount; // ──╯
    bytes32 logHead;
    bytes32 authRoot; // Merkle root of the Authorizations for this chain's vault (zero: none).
  }

  /// @notice One chain's part of a publish: its leaf, the leaf's proof under `chainsRoot`, and
  /// the sealed instruction whose hash the leaf commits to.
  struct ChainMessage {
    ChainLeaf leaf;
    bytes32[] proof;
    bytes instruction;
  }

  /// @notice A withdrawal the enclave authorizes from one vault, paid once (by `id`) to `owner`.
  struct Authorization {
    uint64 chainSelector;
    address vault;
    address owner;
    uint256 amount;
    bytes32 id;
  }

  /// @notice A fixed lot of collateral the enclave tells one vault to send to another chain's
  /// vault over CCIP (a calendar-slot transfer), sent once (by `id`); committed under the source
  /// chain leaf's `authRoot` beside the withdrawals. Six words where an `Authorization` has five,
  /// so that no lot's leaf can pass for a withdrawal's or the reverse.
  struct Lot {
    uint64 chainSelector;
    address vault;
    uint64 destChainSelector;
    address destVault;
    uint256 amount;
    bytes32 id;
  }

  /// @notice One owner's balance in one vault, as the enclave's ledger holds it after an epoch;
  /// the exodus claim's evidence. `salt` is fresh every epoch, so a root reveals nothing.
  struct LedgerLeaf {
    address owner;
    uint64 chainSelector;
    address vault;
    uint256 balance;
    uint256 withdrawnTotal; // What the vault had paid the owner by withdrawal when committed.
    bytes32 salt;
  }

  bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version)");
  bytes32 internal constant DOMAIN_SEPARATOR =
    keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("SelfHealingReserve"), keccak256("2")));
  bytes32 internal constant TYPEHASH = keccak256(
    "SolvencyAttestation(bytes32 deploymentId,uint64 epoch,bool solvent,uint64 issuedAt,uint64 validUntil,bytes32 reportsDigest,bytes32 chainsRoot,bytes32 ledgerRoot,bytes32 parentLedgerRoot,bytes32 policyDigest,uint64 quoteRound,bytes32 quoteHead)"
  );

  /// @notice The EIP-712 struct hash of an attestation.
  /// @dev Every field is one static word, so `abi.encode(TYPEHASH, attestation)` is exactly the
  /// EIP-712 encoding `TYPEHASH ‖ field_1 ‖ … ‖ field_12`.
  function hashStruct(
    Attestation memory attestation
  ) internal pure returns (bytes32) {
    return keccak256(abi.encode(TYPEHASH, attestation));
  }

  /// @notice The EIP-712 digest the enclave signers sign.
  function digest(
    Attestation memory attestation
  ) internal pure returns (bytes32) {
    return MessageHashUtils.toTypedDataHash(DOMAIN_SEPARATOR, hashStruct(attestation));
  }

  /// @notice A chain leaf's hash in the `chainsRoot` tree.
  function leafHash(
    ChainLeaf memory leaf
  ) internal pure returns (bytes32) {
    return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
  }

  /// @notice An authorization's hash in a chain leaf's `authRoot` tree.
  function authLeaf(
    Authorization memory authorization
  ) internal pure returns (bytes32) {
    return keccak256(bytes.concat(keccak256(abi.encode(authorization))));
  }

  /// @notice A lot's hash in a chain leaf's `authRoot` tree.
  function lotLeaf(
    Lot memory lot
  ) internal pure returns (bytes32) {
    return keccak256(bytes.concat(keccak256(abi.encode(lot))));
  }

  /// @notice A ledger leaf's hash in the `ledgerRoot` tree.
  function ledgerLeafHash(
    LedgerLeaf memory leaf
  ) internal pure returns (bytes32) {
    return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
  }

  /// @notice Recovers the signer of a 65-byte signature over `hash`, rejecting malformed and
  /// malleable (high-s) signatures. Returns address(0) when the signature is invalid.
  function recover(
    bytes32 hash,
    bytes memory signature
  ) internal pure returns (address) {
    (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
    return err == ECDSA.RecoverError.NoError ? signer : address(0);
  }
}
