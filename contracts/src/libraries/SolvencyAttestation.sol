// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts@5.0.2/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts@5.0.2/utils/cryptography/MessageHashUtils.sol";

/// @title SolvencyAttestation
/// @notice The EIP-712 statement an enclave signs at the end of an epoch, and the helpers every
/// chain uses to hash it. The domain carries no chainId on purpose: one set of signatures is
/// checked on every chain, and the struct binds the deployment id instead.
library SolvencyAttestation {
  /// @notice The signed statement. Amounts never appear here: only the boolean and digests.
  struct Attestation {
    bytes32 deploymentId; // ─╮ Which deployment (set of chains and contracts) this speaks for.
    uint64 epoch; //          │ Strictly increasing on every chain.
    bool solvent; //          │ The one public outcome.
    uint64 issuedAt; //       │ Unix seconds, enclave clock.
    uint64 validUntil; // ────╯ Consumers fail closed after this instant.
    bytes32 reportsDigest; // Digest of the sealed reports the enclave used.
    bytes32 instructionsDigest; // keccak256(abi.encode(Instruction[])) of the instructions sent.
    bytes32 policyDigest; // The policy the enclave judged by (chains, keys, assets, prices, ratio).
  }

  /// @notice One sealed bridging instruction for one chain. Every chain gets one every epoch,
  /// padded to one size, so an empty instruction looks like a real one.
  struct Instruction {
    uint64 chainSelector;
    bytes payload;
  }

  bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version)");
  bytes32 internal constant DOMAIN_SEPARATOR =
    keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("SelfHealingReserve"), keccak256("1")));
  bytes32 internal constant TYPEHASH = keccak256(
    "SolvencyAttestation(bytes32 deploymentId,uint64 epoch,bool solvent,uint64 issuedAt,uint64 validUntil,bytes32 reportsDigest,bytes32 instructionsDigest,bytes32 policyDigest)"
  );

  /// @notice The EIP-712 struct hash of an attestation.
  function hashStruct(
    Attestation memory attestation
  ) internal pure returns (bytes32) {
    return keccak256(
      abi.encode(
        TYPEHASH,
        attestation.deploymentId,
        attestation.epoch,
        attestation.solvent,
        attestation.issuedAt,
        attestation.validUntil,
        attestation.reportsDigest,
        attestation.instructionsDigest,
        attestation.policyDigest
      )
    );
  }

  /// @notice The EIP-712 digest the enclave signers sign.
  function digest(
    Attestation memory attestation
  ) internal pure returns (bytes32) {
    return MessageHashUtils.toTypedDataHash(DOMAIN_SEPARATOR, hashStruct(attestation));
  }

  /// @notice The digest of the instructions an attestation commits to.
  function instructionsDigest(
    Instruction[] memory instructions
  ) internal pure returns (bytes32) {
    return keccak256(abi.encode(instructions));
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
