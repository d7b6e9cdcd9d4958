//! The environment as a trait, so the CI context is built from a map in tests and never from a mutated process env.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

/// A source of environment variables.
///
/// [`ProcessEnv`] reads the real process environment; [`MapEnv`] (or any `BTreeMap`/`HashMap` of strings) holds a
/// fixture. Everything in this crate reads variables only through this trait.
pub trait Env {
    /// The value of `name`, or `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The environment of the running process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        // A value that is not UTF-8 is converted lossily: every value we use is validated afterwards
        // (SHAs, numbers, URLs), so a mangled value is reported as malformed rather than silently used.
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

impl<E: Env + ?Sized> Env for &E {
    fn var(&self, name: &str) -> Option<String> {
        (**self).var(name)
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// An environment held in memory: fixtures in tests, or a snapshot of variables.
///
/// `Debug` lists variable names only, never values (a map may hold tokens).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
}

/// A line of an env file that is neither a comment, blank, nor `NAME=value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "env file line {line}: expected `NAME=value`, a `#` comment or a blank line, found {found:?}"
)]
pub struct EnvFileError {
    /// 1-based line number.
    pub line: usize,
    /// The offending line, truncated.
    pub found: String,
}

impl MapEnv {
    /// An empty environment (detects as [`crate::Platform::Local`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse `NAME=value` lines (as in the runner fixtures `env.*.env`): `#` comment lines and blank lines are
    /// skipped, the value is everything after the first `=`, kept verbatim (no quotes, no expansion).
    pub fn from_env_file(text: &str) -> Result<Self, EnvFileError> {
        let mut env = Self::new();
        env.extend_from_env_file(text)?;
        Ok(env)
    }

    /// Add (or override) the variables of an env file, see [`MapEnv::from_env_file`].
    pub fn extend_from_env_file(&mut self, text: &str) -> Result<(), EnvFileError> {
        for (index, raw) in text.lines().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((name, value)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                    self.vars.insert(name.to_owned(), value.to_owned());
                }
                _ => {
                    return Err(EnvFileError {
                        line: index + 1,
                        found: line.chars().take(80).collect(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Set a variable, returning `self` for chaining.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Builder form of [`MapEnv::set`].
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Remove a variable.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.vars.remove(name);
        self
    }

    /// Builder form of [`MapEnv::remove`].
    #[must_use]
    pub fn without(mut self, name: &str) -> Self {
        self.remove(name);
        self
    }

    /// Variable names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

impl fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapEnv")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MapEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// The value of `name` when it is set and not empty (runners export unset optional variables as empty strings,
/// e.g. `GITHUB_BASE_REF=` on push).
pub(crate) fn non_empty(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.is_empty())
}
