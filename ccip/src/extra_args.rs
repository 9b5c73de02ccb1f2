//! CCIP `extraArgs`: the gas limit a destination receiver gets.
//!
//! Encoded as in chainlink-ccip's `Client.sol`: empty means the router's default, otherwise a
//! 4-byte tag followed by the ABI-encoded struct.

use alloy::{
    primitives::{Bytes, FixedBytes, U256},
    sol_types::SolValue,
};

/// The gas limit CCIP (and `MockCCIPRouter`) applies when `extraArgs` is empty.
pub const DEFAULT_GAS_LIMIT: u64 = 200_000;

/// `bytes4(keccak256("CCIP EVMExtraArgsV1"))`.
pub const EVM_EXTRA_ARGS_V1_TAG: FixedBytes<4> = FixedBytes([0x97, 0xa6, 0x57, 0xc9]);
/// `bytes4(keccak256("CCIP EVMExtraArgsV2"))`, the generic V2 tag.
pub const GENERIC_EXTRA_ARGS_V2_TAG: FixedBytes<4> = FixedBytes([0x18, 0x1d, 0xcf, 0x10]);

/// Decoded `extraArgs` of an EVM-bound message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtraArgs {
    /// Gas the receiver's `ccipReceive` gets.
    pub gas_limit: U256,
    /// Whether the message may execute out of order (V2 only; V1 and empty mean false).
    pub allow_out_of_order_execution: bool,
}

/// Why `extraArgs` could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtraArgsError {
    /// The tag is neither V1 nor generic V2 (the router reverts with `InvalidExtraArgsTag`).
    #[error("extraArgs tag 0x{0} is not EVMExtraArgsV1 or GenericExtraArgsV2")]
    UnknownTag(String),
    /// The bytes after the tag do not decode as the tagged struct.
    #[error("extraArgs body does not decode as its tag's struct")]
    Malformed,
}

impl ExtraArgs {
    /// Generic V2 args with out-of-order execution allowed.
    pub fn v2(gas_limit: u64) -> Self {
        Self { gas_limit: U256::from(gas_limit), allow_out_of_order_execution: true }
    }

    /// Decodes `extraArgs` as `MockCCIPRouter._fromBytes` does.
    pub fn decode(bytes: &[u8]) -> Result<Self, ExtraArgsError> {
        if bytes.is_empty() {
            return Ok(Self {
                gas_limit: U256::from(DEFAULT_GAS_LIMIT),
                allow_out_of_order_execution: false,
            });
        }
        if bytes.len() < 4 {
            return Err(ExtraArgsError::UnknownTag(alloy::hex::encode(bytes)));
        }
        let (tag, body) = bytes.split_at(4);
        if tag == GENERIC_EXTRA_ARGS_V2_TAG.as_slice() {
            let (gas_limit, allow_out_of_order_execution) =
                <(U256, bool)>::abi_decode_params(body).map_err(|_| ExtraArgsError::Malformed)?;
            Ok(Self { gas_limit, allow_out_of_order_execution })
        } else if tag == EVM_EXTRA_ARGS_V1_TAG.as_slice() {
            let gas_limit = U256::abi_decode(body).map_err(|_| ExtraArgsError::Malformed)?;
            Ok(Self { gas_limit, allow_out_of_order_execution: false })
        } else {
            Err(ExtraArgsError::UnknownTag(alloy::hex::encode(tag)))
        }
    }

    /// Encodes as generic V2 (`Client._argsToBytes(GenericExtraArgsV2)`).
    pub fn encode(&self) -> Bytes {
        let mut out = GENERIC_EXTRA_ARGS_V2_TAG.to_vec();
        out.extend((self.gas_limit, self.allow_out_of_order_execution).abi_encode_params());
        out.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;

    #[test]
    fn tags_are_the_ccip_ones() {
        assert_eq!(keccak256("CCIP EVMExtraArgsV1")[..4], EVM_EXTRA_ARGS_V1_TAG[..]);
        assert_eq!(keccak256("CCIP EVMExtraArgsV2")[..4], GENERIC_EXTRA_ARGS_V2_TAG[..]);
    }

    #[test]
    fn decodes_every_form() {
        assert_eq!(ExtraArgs::decode(&[]).unwrap().gas_limit, U256::from(DEFAULT_GAS_LIMIT));
        assert_eq!(
            ExtraArgs::decode(&ExtraArgs::v2(321_000).encode()).unwrap(),
            ExtraArgs::v2(321_000)
        );
        let mut v1 = EVM_EXTRA_ARGS_V1_TAG.to_vec();
        v1.extend(U256::from(77u64).abi_encode());
        assert_eq!(ExtraArgs::decode(&v1).unwrap().gas_limit, U256::from(77u64));
    }

    #[test]
    fn refuses_unknown_tags_and_bodies() {
        assert!(matches!(ExtraArgs::decode(&[1, 2, 3, 4]), Err(ExtraArgsError::UnknownTag(_))));
        assert!(matches!(ExtraArgs::decode(&[1, 2]), Err(ExtraArgsError::UnknownTag(_))));
        assert_eq!(
            ExtraArgs::decode(&GENERIC_EXTRA_ARGS_V2_TAG[..]),
            Err(ExtraArgsError::Malformed)
        );
    }
}
