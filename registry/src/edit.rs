//! Editing `networks.toml` in place: only the keys a command means to change are touched;
//! comments, layout, every other value and every `${VAR}` template stay as the user wrote them,
//! so an expanded secret (an API key in an RPC URL, a key in the environment) is never written.
//!
//! The edited text is validated as a whole before it replaces the file, and the replacement is
//! atomic: a failed or refused edit leaves the file as it was.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use crate::{ConfigError, Registry};

/// An open edit of a registry file.
#[derive(Debug)]
pub struct RegistryEdit {
    path: PathBuf,
    doc: DocumentMut,
}

impl RegistryEdit {
    /// Reads the file for editing.
    pub fn open(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|e| ConfigError::Parse { path: shown, message: e.to_string() })?;
        Ok(Self { path: path.to_owned(), doc })
    }

    /// Sets `table.key` (a dotted table path such as `["enclave"]`) to `value`, keeping the
    /// comment and spacing around the old value. The table must exist: an edit never invents
    /// a section.
    pub fn set(
        &mut self,
        table: &[&str],
        key: &str,
        value: impl Into<Value>,
    ) -> Result<(), ConfigError> {
        let shown = || format!("{}.{key}", table.join("."));
        let mut item: &mut Item = self.doc.as_item_mut();
        for name in table {
            item = item.get_mut(name).filter(|i| i.is_table_like()).ok_or_else(|| {
                ConfigError::Invalid {
                    path: self.path.display().to_string(),
                    key: table.join("."),
                    problem: "this section is missing; add it first".into(),
                }
            })?;
        }
        let table_like = item.as_table_like_mut().expect("checked: a table");
        let mut value = value.into();
        let is_value = table_like.get(key).map(Item::is_value);
        match is_value {
            Some(true) => {
                let old = table_like.get_mut(key).and_then(Item::as_value_mut).expect("a value");
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            Some(false) => {
                return Err(ConfigError::Invalid {
                    path: self.path.display().to_string(),
                    key: shown(),
                    problem: "is a table, not a value".into(),
                });
            }
            None => {
                table_like.insert(key, Item::Value(value));
            }
        }
        Ok(())
    }

    /// Sets `key` of the `[[chains]]` entry named `chain`, as [`RegistryEdit::set`] does.
    pub fn set_chain(
        &mut self,
        chain: &str,
        key: &str,
        value: impl Into<Value>,
    ) -> Result<(), ConfigError> {
        let path = self.path.display().to_string();
        let missing = || ConfigError::Invalid {
            path: path.clone(),
            key: "chains".into(),
            problem: format!("no [[chains]] entry is named {chain:?}"),
        };
        let tables = self
            .doc
            .get_mut("chains")
            .and_then(Item::as_array_of_tables_mut)
            .ok_or_else(missing)?;
        let table = tables
            .iter_mut()
            .find(|t| t.get("name").and_then(Item::as_str) == Some(chain))
            .ok_or_else(missing)?;
        let mut value = value.into();
        match table.get_mut(key).and_then(Item::as_value_mut) {
            Some(old) => {
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            None => {
                table.insert(key, Item::Value(value));
            }
        }
        Ok(())
    }

    /// Replaces the file atomically after checking only that it still reads as a registry file
    /// (not that it is complete: `solvency deploy` writes addresses one by one).
    pub fn save_partial(self) -> Result<(), ConfigError> {
        let text = self.text();
        let shown = self.path.display().to_string();
        crate::read_source(&text, &shown, &|var| std::env::var(var).ok())?;
        self.write(&text)
    }

    fn write(&self, text: &str) -> Result<(), ConfigError> {
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&self.path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644)
        };
        solvency_durable::write_atomic(&self.path, text.as_bytes(), mode)?;
        Ok(())
    }

    /// The edited text.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Validates the edited file (with the process environment, as `load` would) and replaces
    /// the file atomically, keeping its permissions.
    pub fn save(self) -> Result<(), ConfigError> {
        let text = self.text();
        let shown = self.path.display().to_string();
        Registry::parse(&text, &shown, &|var| std::env::var(var).ok())?;
        self.write(&text)
    }
}

/// Publishes a new enclave HPKE key in `[enclave] hpke_public_key` (reporters read it there).
pub fn set_hpke_public_key(
    path: &Path,
    key: &solvency_enclave::X25519Public,
) -> Result<(), ConfigError> {
    let mut edit = RegistryEdit::open(path)?;
    edit.set(&["enclave"], "hpke_public_key", key.to_string())?;
    edit.save()
}
