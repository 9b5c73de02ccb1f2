//! `${VAR}` and `${VAR:-default}` in every string of the file, as foundry's `[rpc_endpoints]`
//! does: an RPC URL can carry an API key without the file holding it.

use crate::ConfigError;

/// Expands every string of `value` in place; `key` is where `value` sits, for messages.
pub(crate) fn interpolate(
    value: &mut toml::Value,
    path: &str,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) => *s = expand(s, path, key, env)?,
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, path, &format!("{key}[{i}]"), env)?;
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let child = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                interpolate(v, path, &child, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands one string. A variable set to the empty string counts as unset.
pub(crate) fn expand(
    s: &str,
    path: &str,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| ConfigError::Unterminated { path: path.into(), key: key.into() })?;
        let inner = &after[..end];
        let (var, default) = match inner.split_once(":-") {
            Some((var, default)) => (var, Some(default)),
            None => (inner, None),
        };
        match (env(var).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(ConfigError::MissingVar {
                    path: path.into(),
                    key: key.into(),
                    var: var.into(),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
