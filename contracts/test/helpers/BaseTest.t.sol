// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SolvencyHub} from "../../src/SolvencyHub.sol";
import {SolvencySpoke} from "../../src/SolvencySpoke.sol";
import {SolvencyOracleBase} from "../../src/SolvencyOracleBase.sol";
import {SolvencyAttestation} from "../../src/libraries/SolvencyAttestation.sol";

import {MockCCIPRouter} from "@chainlink/local/src/vendor/chainlink-ccip/test/mocks/MockRouter.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Shared set-up: one MockCCIPRouter, a hub, spokes and a set of enclave signers, and the
/// v2 attestation helpers: chain leaves, their Merkle tree and the EIP-712 digest, each computed
/// here from the documented formats rather than with the contracts' library.
/// @dev MockCCIPRouter delivers `ccipSend` on the same chain with the source selector hard-coded
/// to Sepolia. The tests use that as a loopback: spokes that should receive the hub's messages
/// are configured with the hub on SEPOLIA, and the hub registers the reporting spoke on SEPOLIA.
/// Unless a test says otherwise, attestations commit to the standard chains (the hub, SPOKE_A,
/// SPOKE_B, all without a vault) and a spoke under test lives on SPOKE_A.
abstract contract BaseTest is Test {
  uint64 internal constant HUB_SELECTOR = 909_606_746_561_742_123; // test chain 90000001
  uint64 internal constant SPOKE_A = 5_548_718_428_018_410_741; // test chain 90000002
  uint64 internal constant SPOKE_B = 789_068_866_484_373_046; // test chain 90000003
  uint64 internal constant SPOKE_C = 5_721_565_186_521_185_178; // test chain 90000004
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

  /// @dev A spoke on `localSelector` that takes attestations from `hubSelector`/`hub` (SEPOLIA
  /// for loopback).
  function _deploySpoke(
    uint64 localSelector,
    uint64 hubSelector,
    address hub
  ) internal returns (SolvencySpoke spoke) {
    vm.startPrank(s_owner);
    spoke = new SolvencySpoke(address(s_router), localSelector, hubSelector, hub, DEPLOYMENT_ID, REPORT_GAS_LIMIT);
    spoke.setReporter(s_reporter);
    spoke.setPolicyDigest(POLICY_DIGEST);
    vm.stopPrank();
  }

  /// @dev An attestation over the standard chains, with a ledger root of its own epoch and no
  /// parent (hub tests set the parent to the root the hub holds).
  function _attestation(
    uint64 epoch,
    bool solvent
  ) internal view returns (SolvencyAttestation.Attestation memory a) {
    (bytes32 chainsRoot,) = _tree(_standardLeaves());
    return SolvencyAttestation.Attestation({
      deploymentId: DEPLOYMENT_ID,
      epoch: epoch,
      solvent: solvent,
      issuedAt: uint64(block.timestamp),
      validUntil: uint64(block.timestamp + VALIDITY),
      reportsDigest: keccak256(abi.encode("reports", epoch)),
      chainsRoot: chainsRoot,
      ledgerRoot: _ledgerRoot(epoch),
      parentLedgerRoot: bytes32(0),
      policyDigest: POLICY_DIGEST,
      quoteRound: 0,
      quoteHead: bytes32(0)
    });
  }

  function _ledgerRoot(
    uint64 epoch
  ) internal pure returns (bytes32) {
    return keccak256(abi.encode("ledger", epoch));
  }

  /// @dev The EIP-712 digest, computed here from the literal type strings rather than with the
  /// library, so that a wrong type hash in the contracts fails the tests.
  function _digest(
    SolvencyAttestation.Attestation memory a
  ) internal pure returns (bytes32) {
    bytes32 domain = keccak256(
      abi.encode(keccak256("EIP712Domain(string name,string version)"), keccak256("SelfHealingReserve"), keccak256("2"))
    );
    bytes32 structHash = keccak256(
      bytes.concat(
        abi.encode(
          keccak256(
            "SolvencyAttestation(bytes32 deploymentId,uint64 epoch,bool solvent,uint64 issuedAt,uint64 validUntil,bytes32 reportsDigest,bytes32 chainsRoot,bytes32 ledgerRoot,bytes32 parentLedgerRoot,bytes32 policyDigest,uint64 quoteRound,bytes32 quoteHead)"
          ),
          a.deploymentId,
          a.epoch,
          a.solvent,
          a.issuedAt,
          a.validUntil
        ),
        abi.encode(a.reportsDigest, a.chainsRoot, a.ledgerRoot, a.parentLedgerRoot, a.policyDigest),
        abi.encode(a.quoteRound, a.quoteHead)
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

  // ================================================================
  // │                  Chain leaves and their tree                 │
  // ================================================================

  /// @dev A chain's sealed instruction (its content does not matter to the contracts).
  function _instruction(
    uint64 selector
  ) internal pure returns (bytes memory) {
    return abi.encodePacked("sealed-instruction-", selector);
  }

  /// @dev A chain's leaf with no report and no authorizations, over its standard instruction.
  function _chainLeaf(
    uint64 selector,
    address vault
  ) internal pure returns (SolvencyAttestation.ChainLeaf memory) {
    return SolvencyAttestation.ChainLeaf({
      chainSelector: selector,
      vault: vault,
      instructionHash: keccak256(_instruction(selector)),
      reportSeq: 0,
      logCount: 0,
      logHead: bytes32(0),
      authRoot: bytes32(0)
    });
  }

  /// @dev Vault-less leaves for `selectors`, sorted ascending as the tree requires.
  function _leaves(
    uint64[] memory selectors
  ) internal pure returns (SolvencyAttestation.ChainLeaf[] memory leaves) {
    uint256 n = selectors.length;
    for (uint256 i = 1; i < n; ++i) {
      for (uint256 j = i; j > 0 && selectors[j - 1] > selectors[j]; --j) {
        (selectors[j - 1], selectors[j]) = (selectors[j], selectors[j - 1]);
      }
    }
    leaves = new SolvencyAttestation.ChainLeaf[](n);
    for (uint256 i = 0; i < n; ++i) {
      leaves[i] = _chainLeaf(selectors[i], address(0));
    }
  }

  /// @dev The standard chains: the hub, SPOKE_A and SPOKE_B, ascending (SPOKE_B, hub, SPOKE_A).
  function _standardLeaves() internal pure returns (SolvencyAttestation.ChainLeaf[] memory) {
    uint64[] memory selectors = new uint64[](3);
    (selectors[0], selectors[1], selectors[2]) = (HUB_SELECTOR, SPOKE_A, SPOKE_B);
    return _leaves(selectors);
  }

  /// @dev The leaf hash of the documented format: keccak256(bytes.concat(keccak256(abi.encode(
  /// leaf fields)))), spelled field by field so that a struct reordering in the library fails.
  function _leafHash(
    SolvencyAttestation.ChainLeaf memory leaf
  ) internal pure returns (bytes32) {
    return keccak256(
      bytes.concat(
        keccak256(
          abi.encode(
            leaf.chainSelector,
            leaf.vault,
            leaf.instructionHash,
            leaf.reportSeq,
            leaf.logCount,
            leaf.logHead,
            leaf.authRoot
          )
        )
      )
    );
  }

  /// @dev The `chainsRoot` of ascending leaves, and one message per leaf (its proof and the
  /// standard instruction of its chain).
  function _tree(
    SolvencyAttestation.ChainLeaf[] memory leaves
  ) internal pure returns (bytes32 root, SolvencyAttestation.ChainMessage[] memory messages) {
    bytes[] memory instructions = new bytes[](leaves.length);
    for (uint256 i = 0; i < leaves.length; ++i) {
      instructions[i] = _instruction(leaves[i].chainSelector);
    }
    return _tree(leaves, instructions);
  }

  /// @dev The same with the given instructions: each leaf's `instructionHash` is set to its
  /// instruction's hash.
  function _tree(
    SolvencyAttestation.ChainLeaf[] memory leaves,
    bytes[] memory instructions
  ) internal pure returns (bytes32 root, SolvencyAttestation.ChainMessage[] memory messages) {
    bytes32[] memory hashes = new bytes32[](leaves.length);
    for (uint256 i = 0; i < leaves.length; ++i) {
      leaves[i].instructionHash = keccak256(instructions[i]);
      hashes[i] = _leafHash(leaves[i]);
    }
    root = _merkleRoot(hashes);
    messages = new SolvencyAttestation.ChainMessage[](leaves.length);
    for (uint256 i = 0; i < leaves.length; ++i) {
      messages[i] = SolvencyAttestation.ChainMessage({
        leaf: leaves[i], proof: _merkleProof(hashes, i), instruction: instructions[i]
      });
    }
  }

  /// @dev Vault-less messages for `selectors` (sorted ascending), and `a.chainsRoot` set to their
  /// root.
  function _commitChains(
    SolvencyAttestation.Attestation memory a,
    uint64[] memory selectors
  ) internal pure returns (SolvencyAttestation.ChainMessage[] memory messages) {
    (a.chainsRoot, messages) = _tree(_leaves(selectors));
  }

  /// @dev The message for `selector` among `messages`.
  function _messageFor(
    SolvencyAttestation.ChainMessage[] memory messages,
    uint64 selector
  ) internal pure returns (SolvencyAttestation.ChainMessage memory) {
    for (uint256 i = 0; i < messages.length; ++i) {
      if (messages[i].leaf.chainSelector == selector) return messages[i];
    }
    revert("no message for selector");
  }

  /// @dev The documented tree: leaves in the given order, each level hashing sorted pairs, an
  /// odd node carried up unchanged.
  function _merkleRoot(
    bytes32[] memory hashes
  ) internal pure returns (bytes32) {
    if (hashes.length == 0) return bytes32(0);
    bytes32[] memory level = _copy(hashes);
    for (uint256 n = level.length; n > 1; n = (n + 1) / 2) {
      _nextLevel(level, n);
    }
    return level[0];
  }

  function _merkleProof(
    bytes32[] memory hashes,
    uint256 index
  ) internal pure returns (bytes32[] memory proof) {
    bytes32[] memory level = _copy(hashes);
    proof = new bytes32[](hashes.length);
    uint256 depth;
    for (uint256 n = level.length; n > 1; n = (n + 1) / 2) {
      uint256 sibling = index ^ 1;
      if (sibling < n) proof[depth++] = level[sibling];
      _nextLevel(level, n);
      index /= 2;
    }
    assembly {
      mstore(proof, depth)
    }
  }

  function _nextLevel(
    bytes32[] memory level,
    uint256 n
  ) private pure {
    for (uint256 i = 0; 2 * i < n; ++i) {
      level[i] = 2 * i + 1 < n ? _hashPair(level[2 * i], level[2 * i + 1]) : level[2 * i];
    }
  }

  function _hashPair(
    bytes32 a,
    bytes32 b
  ) internal pure returns (bytes32) {
    return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
  }

  function _copy(
    bytes32[] memory hashes
  ) private pure returns (bytes32[] memory out) {
    out = new bytes32[](hashes.length);
    for (uint256 i = 0; i < hashes.length; ++i) {
      out[i] = hashes[i];
    }
  }

  // ================================================================
  // │                        CCIP messages                         │
  // ================================================================

  /// @dev The CCIP message the hub sends the spoke on SPOKE_A for the standard chains, as the
  /// spoke's router would deliver it.
  function _attestationMessage(
    uint64 sourceSelector,
    address sender,
    SolvencyAttestation.Attestation memory a,
    bytes[] memory signatures
  ) internal pure returns (Client.Any2EVMMessage memory) {
    (, SolvencyAttestation.ChainMessage[] memory messages) = _tree(_standardLeaves());
    return _deliveryMessage(sourceSelector, sender, a, signatures, _messageFor(messages, SPOKE_A));
  }

  /// @dev The CCIP message that carries `a` with one chain's leaf, proof and instruction.
  function _deliveryMessage(
    uint64 sourceSelector,
    address sender,
    SolvencyAttestation.Attestation memory a,
    bytes[] memory signatures,
    SolvencyAttestation.ChainMessage memory m
  ) internal pure returns (Client.Any2EVMMessage memory) {
    return Client.Any2EVMMessage({
      messageId: keccak256(abi.encode(a.epoch, sender)),
      sourceChainSelector: sourceSelector,
      sender: abi.encode(sender),
      data: abi.encode(a, signatures, m.leaf, m.proof, m.instruction),
      destTokenAmounts: new Client.EVMTokenAmount[](0)
    });
  }

  // ================================================================
  // │                             Gas                              │
  // ================================================================

  /// @dev Records the execution gas of the last call: its gas in isolation (the test runs with
  /// `isolate = true`, so the call was a transaction of its own, with cold storage and slots
  /// priced from their value before it) less the 21,000 and the calldata every transaction
  /// pays. A caller's transaction costs this plus 21,000 plus the calldata; a CCIP receiver's
  /// figure is what its message's gas limit must cover.
  function _snapshotExecutionGas(
    string memory group,
    string memory name,
    bytes memory callData
  ) internal returns (uint256 gas) {
    gas = vm.lastCallGas().gasTotalUsed - 21_000 - _calldataGas(callData);
    vm.snapshotValue(group, name, gas);
  }

  /// @dev EIP-2028 calldata gas: 4 per zero byte, 16 per other byte.
  function _calldataGas(
    bytes memory data
  ) internal pure returns (uint256 gas) {
    for (uint256 i = 0; i < data.length; ++i) {
      gas += data[i] == 0 ? 4 : 16;
    }
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
