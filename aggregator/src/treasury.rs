//! A chain's treasury agent (`solvency treasury run`): every epoch the chain's oracle delivers a
//! sealed instruction for it; the agent opens it with the chain's treasury key and checks that
//! it is this chain's, for that epoch, sealed by the enclave. An empty instruction — every
//! epoch, in this build — needs no transaction, and the agent sends none. Instructions that
//! move collateral between chains (calendar transfers) are the bridging issue's: an instruction
//! with transfers is reported, never half-executed. Logs name epochs and counts, never amounts.

use solvency_chain_adapters::instructions::{Delivered, InstructionReader};
use solvency_enclave::{
    X25519KeyPair, X25519Public,
    instruction::{SEALED_INSTRUCTION_LEN, open_instruction},
};
use solvency_registry::{ChainConfig, Registry};

/// What the agent made of one delivered instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Checked {
    /// Opened and checked; nothing to do (no transaction sent).
    Empty {
        /// The epoch.
        epoch: u64,
    },
    /// Opened and checked; it carries transfers this build does not execute.
    Transfers {
        /// The epoch.
        epoch: u64,
        /// How many.
        count: usize,
    },
    /// It does not open with this treasury key, or is not this chain's instruction for its
    /// epoch: nothing is done, and the operator should look.
    Refused {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: String,
    },
}

/// One chain's treasury.
pub struct Treasury {
    chain: ChainConfig,
    key: X25519KeyPair,
    enclave: X25519Public,
    deployment_id: alloy::primitives::B256,
    reader: InstructionReader,
}

impl Treasury {
    /// The treasury of `chain`, reading instructions delivered from `from_block` on. Refuses a
    /// key that is not the chain's registered treasury key.
    pub fn new(
        registry: &Registry,
        chain: &str,
        key: X25519KeyPair,
        from_block: u64,
    ) -> anyhow::Result<Self> {
        let network = registry.network()?;
        let chain = network.chain(registry, chain)?.clone();
        if key.public() != chain.treasury {
            anyhow::bail!(
                "this key is not {}'s treasury key in {}: its instructions would not open",
                chain.name,
                registry.path().display()
            );
        }
        let reader = InstructionReader::new(&chain, from_block);
        Ok(Self {
            chain,
            key,
            enclave: network.enclave.hpke_public_key,
            deployment_id: registry.deployment_id,
            reader,
        })
    }

    /// The chain.
    pub fn chain(&self) -> &ChainConfig {
        &self.chain
    }

    /// Opens and checks every instruction delivered since the last call.
    pub async fn check_new(&mut self) -> anyhow::Result<Vec<Checked>> {
        Ok(self.reader.read().await?.iter().map(|d| self.check(d)).collect())
    }

    fn check(&self, delivered: &Delivered) -> Checked {
        let epoch = delivered.epoch;
        let refused = |reason: &str| Checked::Refused { epoch, reason: reason.into() };
        if delivered.payload.len() != SEALED_INSTRUCTION_LEN {
            return refused("not the fixed instruction size");
        }
        let Ok(instruction) =
            open_instruction(&self.deployment_id, &delivered.payload, &self.key, &self.enclave)
        else {
            return refused(
                "does not open with this treasury key and the registry's enclave key (rotated?)",
            );
        };
        if instruction.chainSelector != self.chain.selector || instruction.epoch != epoch {
            return refused("sealed for another chain or epoch");
        }
        match instruction.transfers.len() {
            0 => Checked::Empty { epoch },
            count => Checked::Transfers { epoch, count },
        }
    }
}
