// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../../src/SolvencyHub.sol";
import {SolvencySpoke} from "../../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../../src/libraries/SolvencyAttestation.sol";

import {MockCCIPRouter} from "@chainlink/local/src/vendor/chainlink-ccip/test/mocks/MockRouter.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Shared set-up: one MockCCIPRouter, a hub, spokes and a set of enclave signers.
/// @dev MockCCIPRouter delivers `ccipSend` on the same chain with the source selector hard-coded
/// to Sepolia. The tests use that as a loopback: spokes that should receive the hub's messages
/// are configured with the hub on SEPOLIA, and the hub registers the reporting spoke on SEPOLIA.
abstract contract BaseTest is Test {
  uint64 internal constant HUB_SELECTOR = 909_606_746_561_742_123; // test chain 90000001
  uint64 internal constant SEPOLIA = 16_015_286_601_757_825_753; // what MockCCIPRouter stamps
  bytes32 internal constant DEPLOYMENT_ID = keccak256("self-healing-reserve/test");
  bytes32 internal constant POLICY_DIGEST = keccak256("self-healing-reserve/test-policy");
  uint32 internal constant ATTESTATION_GAS_LIMIT = 400_000;
  uint32 internal constant REPORT_GAS_LIMIT = 200_000;
  uint64 internal constant VALIDITY = 1 hours;
  uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

  MockCCIPRouter internal s_router;
  SolvencyHub internal s_hub;
  address internal s_owner = makeAddr("owner");
  address internal s_reporter = makeAddr("reporter");
  uint256[] internal s_signerKeys;
  address[] internal s_signerAddrs;

  function setUp() public virtual {
    vm.warp(1_750_000_000);
    s_router = new MockCCIPRouter();
    vm.startPrank(s_owner);
    s_hub = new SolvencyHub(address(s_router), HUB_SELECTOR, DEPLOYMENT_ID, ATTESTATION_GAS_LIMIT);
    s_hub.setReporter(s_reporter);
    s_hub.setPolicyDigest(POLICY_DIGEST);
    vm.stopPrank();
    vm.deal(address(s_hub), 10 ether);
    for (uint256 i = 0; i < 5; ++i) {
      (address signer, uint256 key) = makeAddrAndKey(string.concat("enclave-", vm.toString(i)));
      s_signerKeys.push(key);
      s_signerAddrs.push(signer);
    }
  }

  /// @dev Registers the first `n` signers with a threshold of `k` on an oracle.
  function _configureSigners(
    SolvencyOracleBase oracle,
    uint256 n,
    uint8 k
  ) internal {
    vm.startPrank(s_owner);
    for (uint256 i = 0; i < n; ++i) {
      oracle.setSigner(s_signerAddrs[i], uint64(block.timestamp + 30 days), keccak256(abi.encode("evidence", i)));
    }
    oracle.setThreshold(k);
    vm.stopPrank();
  }

  /// @dev A spoke that takes attestations from `hubSelector`/`hub` (SEPOLIA for loopback).
  function _deploySpoke(
    uint64 hubSelector,
    address hub
  ) internal returns (SolvencySpoke spoke) {
    vm.startPrank(s_owner);
    spoke = new SolvencySpoke(address(s_router), hubSelector, hub, DEPLOYMENT_ID, REPORT_GAS_LIMIT);
    spoke.setReporter(s_reporter);
    spoke.setPolicyDigest(POLICY_DIGEST);
    vm.stopPrank();
  }

  function _attestation(
    uint64 epoch,
    bool solvent
  ) internal view returns (SolvencyAttestation.Attestation memory) {
    return SolvencyAttestation.Attestation({
      deploymentId: DEPLOYMENT_ID,
      epoch: epoch,
      solvent: solvent,
      issuedAt: uint64(block.timestamp),
      validUntil: uint64(block.timestamp + VALIDITY),
      reportsDigest: keccak256(abi.encode("reports", epoch)),
      instructionsDigest: bytes32(0),
      policyDigest: POLICY_DIGEST
    });
  }

  /// @dev The EIP-712 digest, computed here from the literal type strings rather than with the
  /// library, so that a wrong type hash in the contracts fails the tests.
  function _digest(
    SolvencyAttestation.Attestation memory a
  ) internal pure returns (bytes32) {
    bytes32 domain = keccak256(
      abi.encode(keccak256("EIP712Domain(string name,string version)"), keccak256("SelfHealingReserve"), keccak256("1"))
    );
    bytes32 structHash = keccak256(
      abi.encode(
        keccak256(
          "SolvencyAttestation(bytes32 deploymentId,uint64 epoch,bool solvent,uint64 issuedAt,uint64 validUntil,bytes32 reportsDigest,bytes32 instructionsDigest,bytes32 policyDigest)"
        ),
        a.deploymentId,
        a.epoch,
        a.solvent,
        a.issuedAt,
        a.validUntil,
        a.reportsDigest,
        a.instructionsDigest,
        a.policyDigest
      )
    );
    return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
  }

  function _sign(
    uint256 key,
    bytes32 digest
  ) internal pure returns (bytes memory) {
    (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
    return abi.encodePacked(r, s, v);
  }

  /// @dev Signatures of the given signer indices, sorted by signer address as the contracts require.
  function _signSorted(
    SolvencyAttestation.Attestation memory a,
    uint256[] memory signerIndices
  ) internal view returns (bytes[] memory signatures) {
    bytes32 digest = _digest(a);
    uint256 n = signerIndices.length;
    address[] memory addrs = new address[](n);
    uint256[] memory keys = new uint256[](n);
    for (uint256 i = 0; i < n; ++i) {
      addrs[i] = s_signerAddrs[signerIndices[i]];
      keys[i] = s_signerKeys[signerIndices[i]];
    }
    for (uint256 i = 1; i < n; ++i) {
      for (uint256 j = i; j > 0 && addrs[j - 1] > addrs[j]; --j) {
        (addrs[j - 1], addrs[j]) = (addrs[j], addrs[j - 1]);
        (keys[j - 1], keys[j]) = (keys[j], keys[j - 1]);
      }
    }
    signatures = new bytes[](n);
    for (uint256 i = 0; i < n; ++i) {
      signatures[i] = _sign(keys[i], digest);
    }
  }

  function _firstSigners(
    uint256 n
  ) internal pure returns (uint256[] memory indices) {
    indices = new uint256[](n);
    for (uint256 i = 0; i < n; ++i) {
      indices[i] = i;
    }
  }

  /// @dev One instruction per chain, ascending by selector, and the attestation's digest set.
  function _instructions(
    SolvencyAttestation.Attestation memory a,
    uint64[] memory selectors
  ) internal pure returns (SolvencyAttestation.Instruction[] memory instructions) {
    uint256 n = selectors.length;
    for (uint256 i = 1; i < n; ++i) {
      for (uint256 j = i; j > 0 && selectors[j - 1] > selectors[j]; --j) {
        (selectors[j - 1], selectors[j]) = (selectors[j], selectors[j - 1]);
      }
    }
    instructions = new SolvencyAttestation.Instruction[](n);
    for (uint256 i = 0; i < n; ++i) {
      instructions[i] = SolvencyAttestation.Instruction({
        chainSelector: selectors[i], payload: abi.encodePacked("sealed-", selectors[i])
      });
    }
    a.instructionsDigest = keccak256(abi.encode(instructions));
  }

  /// @dev The CCIP message the hub sends a spoke, as the spoke's router would deliver it.
  function _attestationMessage(
    uint64 sourceSelector,
    address sender,
    SolvencyAttestation.Attestation memory a,
    bytes[] memory signatures
  ) internal pure returns (Client.Any2EVMMessage memory) {
    return Client.Any2EVMMessage({
      messageId: keccak256(abi.encode(a.epoch, sender)),
      sourceChainSelector: sourceSelector,
      sender: abi.encode(sender),
      data: abi.encode(a, signatures, bytes("sealed-instruction")),
      destTokenAmounts: new Client.EVMTokenAmount[](0)
    });
  }

  /// @dev Flips a signature to its malleable twin (s' = n - s, v' = 55 - v): ecrecover accepts
  /// it and returns the same signer, so the contracts must refuse it.
  function _malleate(
    bytes memory signature
  ) internal pure returns (bytes memory) {
    bytes32 r;
    bytes32 s;
    uint8 v;
    assembly {
      r := mload(add(signature, 32))
      s := mload(add(signature, 64))
      v := byte(0, mload(add(signature, 96)))
    }
    return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
  }
}
