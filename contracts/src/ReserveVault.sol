// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IReserveOracle} from "./interfaces/IReserveOracle.sol";
import {IReserveVault} from "./interfaces/IReserveVault.sol";
import {SolvencyAttestation} from "./libraries/SolvencyAttestation.sol";

import {CCIPReceiver} from "@chainlink/contracts-ccip/contracts/applications/CCIPReceiver.sol";
import {IRouterClient} from "@chainlink/contracts-ccip/contracts/interfaces/IRouterClient.sol";
import {Client} from "@chainlink/contracts-ccip/contracts/libraries/Client.sol";

import {IERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts@5.0.2/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts@5.0.2/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts@5.0.2/utils/cryptography/MerkleProof.sol";

/// @title ReserveVault
/// @notice One chain's vault of one collateral token, owned partly by the protocol and partly by
/// market makers; who owns what is the enclave's ledger, committed every epoch. The vault keeps
/// one append-only log of every deposit, executed withdrawal, inflow, exodus claim and lot,
/// whose head travels with the chain's reports so that the enclave can prove it saw every entry
/// (docs/self-healing.md, "Reserve vault log"). It pays out only against authorizations
/// committed in its chain's latest leaf, after a delay and within an outflow limit, or, once the
/// leaves have stopped for `exodusDelay`, against an owner's leaf of the latest ledger root.
/// It sends the lots its chain's latest leaf commits to other chains' vaults over CCIP (a token
/// transfer through the lane's pool, with the lot's id as the message), and logs every lot that
/// arrives from a lane (docs/self-healing.md, "Calendar lots").
/// @dev The vault pulls its chain's leaf from the oracle when it is used; the oracle never calls
/// it while accepting an epoch. It has no owner: every parameter is fixed at deployment.
/// Fee-on-transfer tokens are supported only in that the log records what actually arrived.
contract ReserveVault is IReserveVault, CCIPReceiver, ReentrancyGuard {
  using SafeERC20 for IERC20;

  error ZeroAddress();
  error InvalidWithdrawalDelay(uint64 withdrawalDelay);
  error InvalidOutflowLimit(uint256 outflowLimit, uint64 outflowWindow);
  error InvalidExodusDelay(uint64 exodusDelay);
  error ZeroAmount();
  /// @notice An authorization or ledger leaf for another chain.
  error WrongChain(uint64 localChainSelector, uint64 chainSelector);
  /// @notice An authorization or ledger leaf for another vault.
  error WrongVault(address vault, address named);
  /// @notice The oracle's latest leaf is not this vault's (none has arrived, or the oracle's
  /// vault is another): nothing is authorized here.
  error LeafForAnotherVault(address leafVault);
  error AuthorizationNotCommitted(bytes32 id);
  error WithdrawalAlreadyQueued(bytes32 id);
  error WithdrawalNotQueued(bytes32 id);
  /// @notice The authorization differs from the one queued under its id.
  error AuthorizationChanged(bytes32 id, bytes32 queued, bytes32 presented);
  error WithdrawalAlreadyExecuted(bytes32 id);
  error WithdrawalDelayNotElapsed(bytes32 id, uint64 executableAt);
  error OutflowLimitExceeded(uint256 amount, uint256 available);
  error ExodusNotOpen(uint64 opensAt);
  error NotLeafOwner(address owner, address caller);
  error LedgerLeafNotCommitted(bytes32 leafHash);
  error AlreadyExited(address owner);
  error LotNotCommitted(bytes32 id);
  error LotAlreadySent(bytes32 id);
  /// @notice The lot names no destination vault, or this chain.
  error InvalidLotDestination(uint64 destChainSelector, address destVault);
  /// @notice Less native value than the lane's fee came with the lot.
  error InsufficientFee(uint256 fee, uint256 paid);
  error RefundFailed();
  /// @notice What arrived is not one transfer of this vault's token with a lot id.
  error NotALot();
  /// @notice Exodus is open: the latest leaf is stale, and owners are leaving by ledger proof.
  error ExodusIsOpen(uint64 openedAt);

  /// @notice One entry appended to the log; `index` is the log's count after it (the first
  /// entry is 1), and `head` the running hash after it.
  event Logged(
    uint64 indexed index,
    uint8 indexed kind,
    address indexed account,
    uint256 amount,
    uint64 timestamp,
    bytes32 ref,
    bytes32 head
  );
  event WithdrawalQueued(bytes32 indexed id, address indexed owner, uint256 amount, uint64 executableAt);

  /// @notice A queued withdrawal: when it was queued, whether it was paid, and the hash of the
  /// authorization queued (so that its id cannot later pay a different amount or owner).
  struct Withdrawal {
    uint64 queuedAt; // ─╮ Block timestamp; 0 means not queued.
    bool executed; // ───╯
    bytes32 authLeaf;
  }

  uint8 public constant KIND_DEPOSIT = 1;
  uint8 public constant KIND_WITHDRAWAL = 2;
  uint8 public constant KIND_INFLOW = 3;
  uint8 public constant KIND_EXODUS = 4;
  /// @notice A committed lot left for another chain's vault: `account` is that vault, `ref` the
  /// lot's id.
  uint8 public constant KIND_LOT_SENT = 5;
  /// @notice Tokens arrived over a CCIP lane: `account` is the sender on the source chain,
  /// `ref` is `keccak256(abi.encode(sourceChainSelector, lotId))`.
  uint8 public constant KIND_LOT_RECEIVED = 6;
  /// @notice The gas a lot's delivery may use at the destination vault (one log entry).
  uint32 public constant LOT_GAS_LIMIT = 200_000;

  IERC20 internal immutable i_token;
  IReserveOracle internal immutable i_oracle;
  uint64 internal immutable i_localChainSelector;
  /// @notice How long a queued withdrawal waits before it can be executed.
  uint64 internal immutable i_withdrawalDelay;
  /// @notice At most `i_outflowLimit` is withdrawn per window of `i_outflowWindow` seconds
  /// (windows aligned on multiples of it).
  uint256 internal immutable i_outflowLimit;
  uint64 internal immutable i_outflowWindow;
  /// @notice How long without a new leaf before owners may exit by ledger proof.
  uint64 internal immutable i_exodusDelay;

  uint64 internal s_logCount; // ──────────╮ Entries in the log.
  uint64 internal s_outflowWindowStart; // ╯ The window `s_outflowUsed` counts in.
  bytes32 internal s_logHead;
  uint256 internal s_outflowUsed;
  mapping(bytes32 id => Withdrawal withdrawal) internal s_withdrawals;
  /// @notice What each owner was paid by executed withdrawals, ever.
  mapping(address owner => uint256 amount) internal s_withdrawn;
  mapping(address owner => bool exited) internal s_exited;
  /// @notice The lots sent, by id.
  mapping(bytes32 id => bool sent) internal s_lotsSent;

  /// @param token The collateral token.
  /// @param oracle This chain's oracle (the hub or the spoke): the leaves and ledger roots the
  /// vault pays against, and the chain's selector.
  /// @param withdrawalDelay Seconds between queueing a withdrawal and executing it.
  /// @param outflowLimit The most withdrawals may pay out per window.
  /// @param outflowWindow The window's length in seconds.
  /// @param exodusDelay Seconds without a new leaf after which owners may exit.
  /// @param router The chain's CCIP Router: lots leave through it and arrive from it.
  constructor(
    IERC20 token,
    IReserveOracle oracle,
    uint64 withdrawalDelay,
    uint256 outflowLimit,
    uint64 outflowWindow,
    uint64 exodusDelay,
    address router
  ) CCIPReceiver(router) {
    if (address(token) == address(0) || address(oracle) == address(0)) revert ZeroAddress();
    if (withdrawalDelay == 0) revert InvalidWithdrawalDelay(withdrawalDelay);
    if (outflowLimit == 0 || outflowWindow == 0) revert InvalidOutflowLimit(outflowLimit, outflowWindow);
    if (exodusDelay == 0) revert InvalidExodusDelay(exodusDelay);
    i_token = token;
    i_oracle = oracle;
    i_localChainSelector = oracle.getLocalChainSelector();
    i_withdrawalDelay = withdrawalDelay;
    i_outflowLimit = outflowLimit;
    i_outflowWindow = outflowWindow;
    i_exodusDelay = exodusDelay;
  }

  // ================================================================
  // │                         Inflows                              │
  // ================================================================

  /// @notice Deposits `amount` of the token from the caller, who becomes its owner in the
  /// enclave's ledger (standby collateral of a market maker, or the protocol's).
  function deposit(
    uint256 amount
  ) external nonReentrant {
    _pull(KIND_DEPOSIT, amount);
  }

  /// @notice Brings `amount` of the token in from the caller as the protocol's (a top-up; calendar
  /// lots arrive over CCIP, `_ccipReceive`).
  function inflow(
    uint256 amount
  ) external nonReentrant {
    _pull(KIND_INFLOW, amount);
  }

  // ================================================================
  // │                        Withdrawals                           │
  // ================================================================

  /// @notice Queues a withdrawal the enclave authorized in this chain's latest leaf. Anyone may
  /// queue it; it pays `auth.owner` only.
  /// @param auth The authorization, as committed.
  /// @param proof Its Merkle proof under the latest leaf's `authRoot`.
  function queueWithdrawal(
    SolvencyAttestation.Authorization calldata auth,
    bytes32[] calldata proof
  ) external {
    bytes32 authLeaf = _checkAuthorization(auth, proof);
    Withdrawal storage withdrawal = s_withdrawals[auth.id];
    if (withdrawal.queuedAt != 0) revert WithdrawalAlreadyQueued(auth.id);
    withdrawal.queuedAt = uint64(block.timestamp);
    withdrawal.authLeaf = authLeaf;
    emit WithdrawalQueued(auth.id, auth.owner, auth.amount, uint64(block.timestamp) + i_withdrawalDelay);
  }

  /// @notice Pays a queued withdrawal to its owner, once its delay has passed, if it is still
  /// committed in this chain's latest leaf and within the outflow limit. Anyone may execute it.
  /// @param auth The authorization, as queued.
  /// @param proof Its Merkle proof under the latest leaf's `authRoot`.
  function executeWithdrawal(
    SolvencyAttestation.Authorization calldata auth,
    bytes32[] calldata proof
  ) external nonReentrant {
    bytes32 authLeaf = SolvencyAttestation.authLeaf(auth);
    Withdrawal storage withdrawal = s_withdrawals[auth.id];
    uint64 queuedAt = withdrawal.queuedAt;
    if (queuedAt == 0) revert WithdrawalNotQueued(auth.id);
    if (withdrawal.executed) revert WithdrawalAlreadyExecuted(auth.id);
    if (withdrawal.authLeaf != authLeaf) revert AuthorizationChanged(auth.id, withdrawal.authLeaf, authLeaf);
    uint64 executableAt = queuedAt + i_withdrawalDelay;
    if (block.timestamp < executableAt) revert WithdrawalDelayNotElapsed(auth.id, executableAt);
    // Still committed now: an epoch that dropped the authorization cancels it.
    _checkAuthorization(auth, proof);
    _consumeOutflow(auth.amount);

    withdrawal.executed = true;
    s_withdrawn[auth.owner] += auth.amount;
    _append(KIND_WITHDRAWAL, auth.owner, auth.amount, auth.id);
    i_token.safeTransfer(auth.owner, auth.amount);
  }

  // ================================================================
  // │                           Lots                               │
  // ================================================================

  /// @notice Sends a lot committed in this chain's latest leaf to the destination vault over
  /// CCIP, once: the lane's pool takes the tokens here and the destination's mints them to the
  /// destination vault with the message. Anyone may send it (the chain's treasury agent does);
  /// the caller pays the lane's fee in native value and gets back what it paid over the fee.
  /// @dev Counts against the outflow limit as a withdrawal does: a lot leaves this vault for an
  /// address the enclave names, so the same bound holds. Logged before the send, so that the
  /// log's entry and the CCIP message are in one transaction or in none.
  /// @param lot The lot, as committed.
  /// @param proof Its Merkle proof under the latest leaf's `authRoot`.
  /// @return messageId The CCIP message carrying it.
  function sendLot(
    SolvencyAttestation.Lot calldata lot,
    bytes32[] calldata proof
  ) external payable nonReentrant returns (bytes32 messageId) {
    if (lot.chainSelector != i_localChainSelector) revert WrongChain(i_localChainSelector, lot.chainSelector);
    if (lot.vault != address(this)) revert WrongVault(address(this), lot.vault);
    if (lot.amount == 0) revert ZeroAmount();
    if (lot.destVault == address(0) || lot.destChainSelector == i_localChainSelector) {
      revert InvalidLotDestination(lot.destChainSelector, lot.destVault);
    }
    if (s_lotsSent[lot.id]) revert LotAlreadySent(lot.id);
    // Once the leaves have stopped, owners leave by their last ledger leaf, which counts every
    // lot not yet arrived as its owner's here: no lot may leave then.
    uint64 exodusOpensAt = getExodusOpensAt();
    if (block.timestamp >= exodusOpensAt) revert ExodusIsOpen(exodusOpensAt);
    (SolvencyAttestation.ChainLeaf memory leaf,) = i_oracle.latestLeaf();
    if (leaf.vault != address(this)) revert LeafForAnotherVault(leaf.vault);
    if (!MerkleProof.verifyCalldata(proof, leaf.authRoot, SolvencyAttestation.lotLeaf(lot))) {
      revert LotNotCommitted(lot.id);
    }
    _consumeOutflow(lot.amount);

    s_lotsSent[lot.id] = true;
    _append(KIND_LOT_SENT, lot.destVault, lot.amount, lot.id);
    Client.EVM2AnyMessage memory message = _lotMessage(lot);
    IRouterClient router = IRouterClient(getRouter());
    uint256 fee = router.getFee(lot.destChainSelector, message);
    if (msg.value < fee) revert InsufficientFee(fee, msg.value);
    i_token.forceApprove(address(router), lot.amount);
    messageId = router.ccipSend{value: fee}(lot.destChainSelector, message);
    if (msg.value > fee) {
      (bool refunded,) = msg.sender.call{value: msg.value - fee}("");
      if (!refunded) revert RefundFailed();
    }
  }

  /// @notice What the lane charges, in native value, to send `lot`.
  function getLotFee(
    SolvencyAttestation.Lot calldata lot
  ) external view returns (uint256) {
    return IRouterClient(getRouter()).getFee(lot.destChainSelector, _lotMessage(lot));
  }

  /// @notice Whether the lot `id` was sent.
  function isLotSent(
    bytes32 id
  ) external view returns (bool) {
    return s_lotsSent[id];
  }

  /// @dev Logs tokens that arrived over a lane. Whoever sent them, they are in the vault now;
  /// the enclave credits a lot it sent to its owner, and anything else to the protocol, as an
  /// inflow. What is not one transfer of this vault's token with a 32-byte id reverts: the
  /// lane holds it as a failed delivery.
  function _ccipReceive(
    Client.Any2EVMMessage memory message
  ) internal override nonReentrant {
    if (
      message.destTokenAmounts.length != 1 || message.destTokenAmounts[0].token != address(i_token)
        || message.destTokenAmounts[0].amount == 0 || message.data.length != 32 || message.sender.length != 32
    ) revert NotALot();
    uint256 word = abi.decode(message.sender, (uint256));
    if (word > type(uint160).max) revert NotALot();
    bytes32 ref = keccak256(abi.encode(message.sourceChainSelector, abi.decode(message.data, (bytes32))));
    // casting to 'uint160' is safe because `word` was checked to fit above
    // forge-lint: disable-next-line(unsafe-typecast)
    _append(KIND_LOT_RECEIVED, address(uint160(word)), message.destTokenAmounts[0].amount, ref);
  }

  /// @dev The CCIP message of a lot: the tokens to the destination vault, the id as data.
  function _lotMessage(
    SolvencyAttestation.Lot calldata lot
  ) internal view returns (Client.EVM2AnyMessage memory message) {
    Client.EVMTokenAmount[] memory tokens = new Client.EVMTokenAmount[](1);
    tokens[0] = Client.EVMTokenAmount({token: address(i_token), amount: lot.amount});
    message = Client.EVM2AnyMessage({
      receiver: abi.encode(lot.destVault),
      data: abi.encode(lot.id),
      tokenAmounts: tokens,
      feeToken: address(0),
      extraArgs: Client._argsToBytes(
        Client.GenericExtraArgsV2({gasLimit: LOT_GAS_LIMIT, allowOutOfOrderExecution: true})
      )
    });
  }

  // ================================================================
  // │                          Exodus                              │
  // ================================================================

  /// @notice Once no new leaf has reached the oracle for `exodusDelay`, pays the caller, once,
  /// its balance in the latest ledger root less what it withdrew since that balance was
  /// committed, capped at what the vault holds.
  /// @dev Not subject to the outflow limit: the limit guards against a quorum authorizing too
  /// much, and exodus is what owners have when the quorum is gone; a limit here could keep an
  /// owner's balance out of reach for good.
  /// @param leaf The caller's leaf of the latest ledger root.
  /// @param proof Its Merkle proof under that root.
  /// @return amount What was paid (0 when the owner withdrew its balance already).
  function exodus(
    SolvencyAttestation.LedgerLeaf calldata leaf,
    bytes32[] calldata proof
  ) external nonReentrant returns (uint256 amount) {
    if (leaf.chainSelector != i_localChainSelector) revert WrongChain(i_localChainSelector, leaf.chainSelector);
    if (leaf.vault != address(this)) revert WrongVault(address(this), leaf.vault);
    if (msg.sender != leaf.owner) revert NotLeafOwner(leaf.owner, msg.sender);
    uint64 opensAt = getExodusOpensAt();
    if (block.timestamp < opensAt) revert ExodusNotOpen(opensAt);
    if (s_exited[leaf.owner]) revert AlreadyExited(leaf.owner);
    bytes32 leafHash = SolvencyAttestation.ledgerLeafHash(leaf);
    if (!MerkleProof.verifyCalldata(proof, i_oracle.getLedgerRoot(), leafHash)) {
      revert LedgerLeafNotCommitted(leafHash);
    }

    amount = getExodusAmount(leaf);
    s_exited[leaf.owner] = true;
    _append(KIND_EXODUS, leaf.owner, amount, leafHash);
    if (amount > 0) i_token.safeTransfer(leaf.owner, amount);
  }

  // ================================================================
  // │                           Views                              │
  // ================================================================

  /// @inheritdoc IReserveVault
  function getLogHead() external view returns (uint64 logCount, bytes32 logHead) {
    return (s_logCount, s_logHead);
  }

  /// @inheritdoc IReserveVault
  function getOracle() external view returns (address) {
    return address(i_oracle);
  }

  /// @notice The collateral token.
  function getToken() external view returns (IERC20) {
    return i_token;
  }

  /// @notice The CCIP selector of this vault's chain (its oracle's).
  function getLocalChainSelector() external view returns (uint64) {
    return i_localChainSelector;
  }

  /// @notice Seconds between queueing a withdrawal and executing it.
  function getWithdrawalDelay() external view returns (uint64) {
    return i_withdrawalDelay;
  }

  /// @notice The most withdrawals may pay out per window, and the window in seconds.
  function getOutflowLimit() external view returns (uint256 limit, uint64 window) {
    return (i_outflowLimit, i_outflowWindow);
  }

  /// @notice What withdrawals may still pay out in the current window.
  function getAvailableOutflow() public view returns (uint256) {
    uint64 windowStart = uint64(block.timestamp - (block.timestamp % i_outflowWindow));
    return s_outflowWindowStart == windowStart ? i_outflowLimit - s_outflowUsed : i_outflowLimit;
  }

  /// @notice Seconds without a new leaf after which owners may exit.
  function getExodusDelay() external view returns (uint64) {
    return i_exodusDelay;
  }

  /// @notice When exodus opens if no new leaf arrives (chain time): the latest leaf's arrival
  /// plus `exodusDelay`.
  function getExodusOpensAt() public view returns (uint64) {
    (, uint64 receivedAt) = i_oracle.latestLeaf();
    return receivedAt + i_exodusDelay;
  }

  /// @notice Whether exodus is open now.
  function isExodusOpen() external view returns (bool) {
    return block.timestamp >= getExodusOpensAt();
  }

  /// @notice What `exodus` would pay for `leaf` now, assuming it is committed and its owner has
  /// not exited: its balance less what the owner withdrew since (`withdrawn - withdrawnTotal`),
  /// zero if that is negative, capped at what the vault holds.
  function getExodusAmount(
    SolvencyAttestation.LedgerLeaf calldata leaf
  ) public view returns (uint256 amount) {
    uint256 withdrawn = s_withdrawn[leaf.owner];
    uint256 withdrawnSince = withdrawn > leaf.withdrawnTotal ? withdrawn - leaf.withdrawnTotal : 0;
    amount = leaf.balance > withdrawnSince ? leaf.balance - withdrawnSince : 0;
    uint256 held = i_token.balanceOf(address(this));
    if (amount > held) amount = held;
  }

  /// @notice A withdrawal's queue state (`queuedAt == 0`: never queued).
  function getWithdrawal(
    bytes32 id
  ) external view returns (Withdrawal memory) {
    return s_withdrawals[id];
  }

  /// @notice What `owner` was paid by executed withdrawals, ever.
  function getWithdrawn(
    address owner
  ) external view returns (uint256) {
    return s_withdrawn[owner];
  }

  /// @notice Whether `owner` has claimed its exodus.
  function hasExited(
    address owner
  ) external view returns (bool) {
    return s_exited[owner];
  }

  // ================================================================
  // │                         Internal                             │
  // ================================================================

  /// @dev Takes `amount` from the caller and logs what actually arrived.
  function _pull(
    uint8 kind,
    uint256 amount
  ) internal {
    if (amount == 0) revert ZeroAmount();
    uint256 before = i_token.balanceOf(address(this));
    i_token.safeTransferFrom(msg.sender, address(this), amount);
    uint256 received = i_token.balanceOf(address(this)) - before;
    if (received == 0) revert ZeroAmount();
    _append(kind, msg.sender, received, bytes32(0));
  }

  /// @dev Refuses an authorization that is not for this chain and vault, or not committed under
  /// the `authRoot` of the oracle's latest leaf, which must be this vault's.
  /// @return authLeaf The authorization's leaf hash.
  function _checkAuthorization(
    SolvencyAttestation.Authorization calldata auth,
    bytes32[] calldata proof
  ) internal view returns (bytes32 authLeaf) {
    if (auth.chainSelector != i_localChainSelector) revert WrongChain(i_localChainSelector, auth.chainSelector);
    if (auth.vault != address(this)) revert WrongVault(address(this), auth.vault);
    if (auth.amount == 0) revert ZeroAmount();
    (SolvencyAttestation.ChainLeaf memory leaf,) = i_oracle.latestLeaf();
    if (leaf.vault != address(this)) revert LeafForAnotherVault(leaf.vault);
    authLeaf = SolvencyAttestation.authLeaf(auth);
    if (!MerkleProof.verifyCalldata(proof, leaf.authRoot, authLeaf)) revert AuthorizationNotCommitted(auth.id);
  }

  /// @dev Counts `amount` against the current window's outflow, refusing what exceeds it.
  function _consumeOutflow(
    uint256 amount
  ) internal {
    uint256 available = getAvailableOutflow();
    if (amount > available) revert OutflowLimitExceeded(amount, available);
    s_outflowWindowStart = uint64(block.timestamp - (block.timestamp % i_outflowWindow));
    s_outflowUsed = i_outflowLimit - available + amount;
  }

  /// @dev Appends one entry: `head' = keccak256(abi.encode(head, count', kind, account, amount,
  /// timestamp, ref))`.
  function _append(
    uint8 kind,
    address account,
    uint256 amount,
    bytes32 ref
  ) internal {
    uint64 index = s_logCount + 1;
    uint64 timestamp = uint64(block.timestamp);
    bytes32 head = keccak256(abi.encode(s_logHead, index, kind, account, amount, timestamp, ref));
    s_logCount = index;
    s_logHead = head;
    emit Logged(index, kind, account, amount, timestamp, ref, head);
  }
}
