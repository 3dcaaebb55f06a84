//! Configuration sources merged into one tree that remembers where each value came from.
//!
//! A later layer wins key by key: tables merge, anything else replaces. Every value set
//! records its source (the file, or the environment variable), so an error about a key can
//! say where to fix it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::value::{Problem, ValueDeserializer};

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    /// A TOML file.
    File(PathBuf),
    /// One `UTILCONNECT_…` environment variable (its name).
    Env(String),
    /// Built in code: nothing to point a user at.
    Code,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.write_str(&super::file::shown(path)),
            Self::Env(name) => write!(
                f,
                "environment variable {}",
                crate::redact::sanitize(name, 128)
            ),
            Self::Code => f.write_str("code"),
        }
    }
}

/// One problem found reading a tree, at its key path.
#[derive(Debug, Clone)]
pub(super) struct Located {
    /// The keys from the tree's root to the problem (empty: the root itself).
    pub path: Vec<String>,
    pub problem: Problem,
    /// Where the offending value came from, when it was set by a file or a variable.
    pub source: Option<Source>,
}

/// A configuration tree and the source of each value in it.
#[derive(Clone, Default)]
pub(super) struct Layered {
    /// The root table (a focused layer's root may be any value: see [`Layered::focus`]).
    tree: Map<String, Value>,
    /// Set when [`Layered::focus`] landed on a value that is not a table.
    value: Option<Value>,
    /// The source of each value that is not a table, by its key path.
    sources: BTreeMap<Vec<String>, Source>,
}

impl fmt::Debug for Layered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key paths only: any value may be a secret.
        f.debug_struct("Layered")
            .field(
                "keys",
                &self.sources.keys().map(|k| k.join(".")).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Layered {
    /// A tree read from one source; anything but a table at the root is an error.
    pub(super) fn new(tree: Value, source: Source) -> Result<Self, String> {
        let Value::Object(tree) = tree else {
            return Err("the configuration must be a table of keys".to_owned());
        };
        let mut layered = Self::default();
        layered.merge_table(&mut Vec::new(), tree, &source);
        Ok(layered)
    }

    /// A value built in code: a table as a tree; anything else kept whole, so reading it
    /// fails naming its type rather than reading as an empty table.
    pub(super) fn of_code(value: Value) -> Self {
        match value {
            Value::Object(_) => Self::new(value, Source::Code).unwrap_or_default(),
            other => Self {
                value: Some(other),
                ..Self::default()
            },
        }
    }

    /// `overlay`'s values over this tree's, key by key (a value that is not a table replaces
    /// the whole tree).
    pub(super) fn merge(&mut self, overlay: Layered) {
        if overlay.value.is_some() {
            *self = overlay;
            return;
        }
        // Whatever a table of the overlay replaces (a value where it puts a table) loses its
        // source with it.
        let mut tables = Vec::new();
        table_paths(&overlay.tree, &mut Vec::new(), &mut tables);
        for path in &tables {
            self.sources.remove(path);
        }
        for (path, source) in overlay.sources {
            self.forget_under(&path);
            self.sources.insert(path, source);
        }
        self.value = None;
        merge_into(&mut self.tree, overlay.tree);
    }

    fn merge_table(&mut self, path: &mut Vec<String>, table: Map<String, Value>, source: &Source) {
        for (key, value) in table {
            path.push(key.clone());
            match value {
                Value::Object(nested) => self.merge_table(path, nested, source),
                leaf => {
                    self.forget_under(path);
                    self.sources.insert(path.clone(), source.clone());
                    insert_at(&mut self.tree, path, leaf);
                }
            }
            path.pop();
        }
        if path.is_empty() {
            return;
        }
        // An empty table is a value too (`[providers.acme]` with no keys): keep it present.
        if !is_table_at(&self.tree, path) {
            self.forget_under(path);
            insert_at(&mut self.tree, path, Value::Object(Map::new()));
        }
    }

    /// Drops the sources of whatever sat at or under `path`, or at a prefix of it (a value
    /// that a table replaces).
    fn forget_under(&mut self, path: &[String]) {
        self.sources
            .retain(|set, _| !set.starts_with(path) && !path.starts_with(set));
    }

    /// What sits at the dotted `path`: a table, another value, or an empty table when nothing
    /// does (so a table whose keys all have defaults reads from an absent one).
    pub(super) fn focus(&self, path: &str) -> Layered {
        let keys: Vec<String> = path.split('.').map(str::to_owned).collect();
        let mut tree = &self.tree;
        let mut value = None;
        for (depth, key) in keys.iter().enumerate() {
            match tree.get(key) {
                Some(Value::Object(nested)) => tree = nested,
                Some(other) if depth + 1 == keys.len() => value = Some(other.clone()),
                _ => return Layered::default(),
            }
        }
        Layered {
            tree: if value.is_some() {
                Map::new()
            } else {
                tree.clone()
            },
            value,
            sources: self
                .sources
                .iter()
                .filter_map(|(set, source)| {
                    let rest = set.strip_prefix(keys.as_slice())?;
                    Some((rest.to_vec(), source.clone()))
                })
                .collect(),
        }
    }

    /// Reads the tree into `T`, or says what was wrong, where, and from which source.
    pub(super) fn extract<T: DeserializeOwned>(&self) -> Result<T, Located> {
        let root = match &self.value {
            Some(value) => value.clone(),
            None => Value::Object(self.tree.clone()),
        };
        serde_path_to_error::deserialize(ValueDeserializer(&root)).map_err(|err| {
            let mut path: Vec<String> = err
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                    _ => None,
                })
                .collect();
            let problem = err.into_inner();
            // The value's own path finds its source; an unknown key is reported at its table
            // (the path ends in the key, which the message names).
            let source = self.source_of(&path).cloned();
            if matches!(problem, Problem::UnknownKey { .. }) {
                path.pop();
            }
            Located {
                path,
                problem,
                source,
            }
        })
    }

    /// The source of the value at `path`, or of the nearest value set above it.
    fn source_of(&self, path: &[String]) -> Option<&Source> {
        (0..=path.len())
            .rev()
            .find_map(|len| self.sources.get(&path[..len]))
            .filter(|source| **source != Source::Code)
    }
}

/// Every table's path in `tree` (the root excluded).
fn table_paths(tree: &Map<String, Value>, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in tree {
        if let Value::Object(nested) = value {
            at.push(key.clone());
            out.push(at.clone());
            table_paths(nested, at, out);
            at.pop();
        }
    }
}

fn merge_into(base: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(nested)) => merge_into(existing, nested),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn is_table_at(tree: &Map<String, Value>, path: &[String]) -> bool {
    let mut value = None;
    let mut table = tree;
    for key in path {
        value = table.get(key);
        match value {
            Some(Value::Object(nested)) => table = nested,
            _ => return false,
        }
    }
    value.is_some()
}

/// Sets `value` at `path`, making (or replacing values with) tables on the way.
fn insert_at(tree: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = tree;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(nested) = entry else {
            return;
        };
        table = nested;
    }
    table.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn file(json: Value) -> Layered {
        Layered::new(json, Source::File("app.toml".into())).unwrap()
    }

    #[test]
    fn later_layers_win_key_by_key_and_remember_their_source() {
        let mut config = file(serde_json::json!({
            "providers": {"acme": {"client_id": "from-file", "http": {"max_retries": 2}}}
        }));
        config.merge(
            Layered::new(
                serde_json::json!({"providers": {"acme": {"http": {"max_retries": "x"}}}}),
                Source::Env("UTILCONNECT_PROVIDERS__ACME__HTTP__MAX_RETRIES".into()),
            )
            .unwrap(),
        );
        let acme = config.focus("providers.acme");
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Http {
            max_retries: u32,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Acme {
            client_id: String,
            http: Http,
        }
        let err = acme.extract::<Acme>().unwrap_err();
        assert_eq!(err.path, ["http", "max_retries"]);
        assert_eq!(
            err.source,
            Some(Source::Env(
                "UTILCONNECT_PROVIDERS__ACME__HTTP__MAX_RETRIES".into()
            ))
        );
        // The file's key that the variable did not touch is still there, from the file.
        assert_eq!(acme.tree["client_id"], "from-file");
        assert_eq!(
            acme.source_of(&["client_id".into()]),
            Some(&Source::File("app.toml".into()))
        );
    }

    #[test]
    fn an_unknown_key_is_reported_at_its_table_with_its_own_source() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Acme {
            client_id: Option<String>,
        }
        let mut config = file(serde_json::json!({"acme": {"client_id": "x"}}));
        config.merge(
            Layered::new(
                serde_json::json!({"acme": {"client_idd": "y"}}),
                Source::Env("UTILCONNECT_ACME__CLIENT_IDD".into()),
            )
            .unwrap(),
        );
        let err = config.focus("acme").extract::<Acme>().unwrap_err();
        assert!(err.path.is_empty(), "{:?}", err.path);
        assert!(matches!(err.problem, Problem::UnknownKey { ref key, .. } if key == "client_idd"));
        assert_eq!(
            err.source,
            Some(Source::Env("UTILCONNECT_ACME__CLIENT_IDD".into()))
        );
    }

    #[test]
    fn a_table_replacing_a_value_drops_the_old_source() {
        let mut config = file(serde_json::json!({"acme": "flat"}));
        config.merge(file(serde_json::json!({"acme": {"key": 1}})));
        assert_eq!(config.tree["acme"]["key"], 1);
        assert_eq!(config.sources.len(), 1);
        assert!(
            config
                .sources
                .contains_key(&vec!["acme".into(), "key".into()])
        );
        // And an empty table stays a table.
        let empty = file(serde_json::json!({"providers": {"acme": {}}}));
        assert!(empty.focus("providers").tree["acme"].is_object());
    }

    #[test]
    fn an_overlay_table_over_a_value_takes_the_source_with_it() {
        let mut config = file(serde_json::json!({"acme": {"http": "flat"}}));
        config.merge(
            Layered::new(
                serde_json::json!({"acme": {"http": {}}}),
                Source::Env("UTILCONNECT_ACME__HTTP__X".into()),
            )
            .unwrap(),
        );
        assert!(config.sources.is_empty(), "{:?}", config.sources);
        // A value that is not a table replaces everything, and reading it says so.
        config.merge(Layered::of_code(serde_json::json!(5)));
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Acme {
            client_id: String,
        }
        let err = config.extract::<Acme>().unwrap_err();
        assert!(
            matches!(
                err.problem,
                Problem::InvalidType {
                    found: "an integer",
                    ..
                }
            ),
            "{:?}",
            err.problem
        );
    }
}
