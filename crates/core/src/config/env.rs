//! `UTILCONNECT_…` environment variables as a configuration layer.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::layers::{Layered, Source};
use super::{ENV_NOT_KEYS, ENV_PREFIX};

/// The variable that names another configuration file.
const CONFIG_VARIABLE: &str = "UTILCONNECT_CONFIG";

/// `UTILCONNECT_…` environment variables as a configuration layer, values kept as the exact
/// strings given.
///
/// The result does not depend on the order of the variables: they are placed sorted by
/// name, and a variable that cannot be placed (an empty or dotted level, a key that is both a
/// value and a table, the same key twice) is an error naming the variables, never ignored.
pub(super) struct VerbatimEnv {
    vars: Vec<(String, std::result::Result<String, ()>)>,
    /// `UTILCONNECT_CONFIG`, kept as the OS gave it (a path need not be UTF-8).
    config_file: Option<PathBuf>,
}

impl VerbatimEnv {
    pub(super) fn from_process() -> Self {
        let mut env = Self::from_vars(std::env::vars_os().map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.into_string().map_err(drop),
            )
        }));
        env.config_file = std::env::var_os(CONFIG_VARIABLE).map(PathBuf::from);
        env
    }

    /// The variables among `vars` that start with [`ENV_PREFIX`] (in any case).
    pub(super) fn from_vars(
        vars: impl Iterator<Item = (String, std::result::Result<String, ()>)>,
    ) -> Self {
        let mut vars: Vec<_> = vars
            .filter(|(name, _)| {
                name.get(..ENV_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
            })
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let config_file = vars
            .iter()
            .find(|(name, _)| name == CONFIG_VARIABLE)
            .and_then(|(_, value)| value.as_ref().ok())
            .map(PathBuf::from);
        Self { vars, config_file }
    }

    /// The file `UTILCONNECT_CONFIG` names, if it is set.
    pub(super) fn config_file(&self) -> Option<PathBuf> {
        self.config_file.clone()
    }

    /// The variables as one layer, each value's source its variable.
    pub(super) fn place(&self) -> std::result::Result<Layered, String> {
        let mut layered = Layered::default();
        // Which variable set each path, to name both sides of a conflict.
        let mut origins: BTreeMap<Vec<String>, &str> = BTreeMap::new();
        for (name, value) in &self.vars {
            let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            if ENV_NOT_KEYS.contains(&rest.as_str()) {
                continue;
            }
            let shown = crate::redact::sanitize(name, 128);
            let path: Vec<String> = rest.split("__").map(str::to_owned).collect();
            if let Some(bad) = path.iter().find(|level| !is_env_level(level)) {
                let why = if bad.is_empty() {
                    "it has an empty level (a trailing, leading or doubled `__`)".to_owned()
                } else {
                    "a level may hold only letters, digits and single `_` (use `__` between levels)"
                        .to_owned()
                };
                return Err(format!(
                    "environment variable `{shown}` cannot be placed: {why}"
                ));
            }
            let Ok(value) = value else {
                return Err(format!("environment variable `{shown}` is not valid UTF-8"));
            };
            for depth in 1..=path.len() {
                let prefix = &path[..depth];
                if let Some(other) = origins.get(prefix) {
                    let clash = if depth == path.len() {
                        "sets the same key as"
                    } else {
                        "sets a value where a table is needed by"
                    };
                    return Err(format!(
                        "environment variables `{}` and `{shown}` conflict: one {clash} the other",
                        crate::redact::sanitize(other, 128)
                    ));
                }
            }
            if origins.keys().any(|set| set.starts_with(&path)) {
                return Err(format!(
                    "environment variable `{shown}` sets a value where other variables set a table"
                ));
            }
            let nested = path
                .iter()
                .rev()
                .fold(Value::String(value.clone()), |inner, key| {
                    Value::Object([(key.clone(), inner)].into_iter().collect())
                });
            layered.merge(Layered::new(nested, Source::Env(name.clone()))?);
            origins.insert(path, name);
        }
        Ok(layered)
    }
}

/// One `__`-separated level of a variable name: what a config key can be.
fn is_env_level(level: &str) -> bool {
    !level.is_empty()
        && !level.starts_with('_')
        && !level.ends_with('_')
        && level
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
