// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyAttestation} from "../src/libraries/SolvencyAttestation.sol";
import {BaseTest} from "./helpers/BaseTest.t.sol";

import {console2} from "forge-std/console2.sol";

/// @notice How much the CCIP message data grew from v1 to v2, measured on the encodings the
/// contracts send (`forge test --match-contract SolvencyHub_messageSizes -vv` prints them).
/// @dev Sizes are those of production: k = 3 signatures of 65 bytes, and sealed instructions and
/// reports of 1,089 bytes (HPKE prefix 49 + 1,024 padded plaintext + tag 16). The growth does not
/// depend on them: v2 adds two attestation words, the 7-word leaf, and the proof (offset, length,
/// one word per level).
contract SolvencyHub_messageSizes is BaseTest {
  uint256 internal constant SEALED_LEN = 1089;

  /// v1's attestation, for the comparison only.
  struct AttestationV1 {
    bytes32 deploymentId;
    uint64 epoch;
    bool solvent;
    uint64 issuedAt;
    uint64 validUntil;
    bytes32 reportsDigest;
    bytes32 instructionsDigest;
    bytes32 policyDigest;
  }

  function _signatures() internal pure returns (bytes[] memory sigs) {
    sigs = new bytes[](3);
    for (uint256 i = 0; i < 3; ++i) {
      sigs[i] = new bytes(65);
    }
  }

  /// Each spoke message grows by 32 × (13 + proof depth) bytes, and the depth is fixed per chain
  /// by its position among the deployment's selectors (an odd node carried up has a shorter
  /// proof), so a chain's message length does not change between epochs.
  function test_attestationMessage_GrowthPerChain() public view {
    SolvencyAttestation.Attestation memory a = _attestation(1, true);
    AttestationV1 memory v1;
    bytes[] memory sigs = _signatures();
    bytes memory instruction = new bytes(SEALED_LEN);
    uint256 v1Length = abi.encode(v1, sigs, instruction).length;
    console2.log("v1 attestation message data (k=3, sealed instruction 1089 B):", v1Length);

    uint8[5] memory chainCounts = [2, 3, 4, 5, 8];
    for (uint256 c = 0; c < chainCounts.length; ++c) {
      uint64[] memory selectors = new uint64[](chainCounts[c]);
      for (uint64 i = 0; i < selectors.length; ++i) {
        selectors[i] = 1000 + i;
      }
      (, SolvencyAttestation.ChainMessage[] memory ms) = _tree(_leaves(selectors));
      for (uint256 i = 0; i < ms.length; ++i) {
        uint256 v2Length = abi.encode(a, sigs, ms[i].leaf, ms[i].proof, instruction).length;
        uint256 growth = v2Length - v1Length;
        assertEq(growth, 32 * (13 + ms[i].proof.length), "growth is 4 + 7 + 2 + depth words");
        console2.log(
          string.concat(
            "  chains=",
            vm.toString(chainCounts[c]),
            " position=",
            vm.toString(i),
            " depth=",
            vm.toString(ms[i].proof.length),
            ": v2 bytes=",
            vm.toString(v2Length),
            " growth=",
            vm.toString(growth)
          )
        );
      }
    }
  }

  /// A report grows by two words: the vault's log count and head.
  function test_reportMessage_Growth() public pure {
    bytes memory payload = new bytes(SEALED_LEN);
    uint256 v1Length = abi.encode(uint64(7), payload).length;
    uint256 v2Length = abi.encode(uint64(7), payload, uint64(3), bytes32(0)).length;
    console2.log("report message data v1 (sealed report 1089 B):", v1Length);
    console2.log("report message data v2:", v2Length);
    assertEq(v2Length - v1Length, 64);
  }
}
