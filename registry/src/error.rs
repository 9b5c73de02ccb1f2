//! Why `networks.toml` cannot be used.

/// Why `networks.toml` cannot be used. Every message names the file and the key, and says what
/// to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, which names the line or key.
        message: String,
    },
    /// A `${VAR}` is not set and has no default.
    #[error(
        "{path}: {key}: ${{{var}}} is not set — export it or give a default with ${{{var}:-…}}"
    )]
    MissingVar {
        /// The file.
        path: String,
        /// The key whose value uses it.
        key: String,
        /// The variable.
        var: String,
    },
    /// A `${` without its closing `}`.
    #[error("{path}: {key}: unterminated ${{…}}")]
    Unterminated {
        /// The file.
        path: String,
        /// The key.
        key: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{path}: {key}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// The key.
        key: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A command needs the chains of a deployment and the file registers none.
    #[error(
        "{path} registers no [[chains]]: use a deployment's registry, such as the one \
         `solvency devnet up` writes to its state directory (--config .devnet/networks.toml)"
    )]
    NoChains {
        /// The file.
        path: String,
    },
    /// A chain name that the registry does not have.
    #[error("{path}: no chain {name:?} (chains: {known})")]
    UnknownChain {
        /// The file.
        path: String,
        /// The name asked for.
        name: String,
        /// The names it has.
        known: String,
    },
    /// Writing the file (an edit, or a generated registry) failed; the file is unchanged.
    #[error("{0}")]
    Write(#[from] solvency_durable::Error),
}
