//! The scenarios shipped in `scenarios/`, built into the binary, so that they work
//! wherever the binary is: `parabench run` with no file runs `independent_io`, a shipped
//! scenario's name (`agent_mix`, or `agent_mix.toml`) works where a file does, and
//! `parabench list` shows them where there is no `scenarios/` directory.

use std::path::{Path, PathBuf};

use super::{Scenario, ScenarioError, load, parse};

/// One shipped scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shipped {
    /// Its file name in `scenarios/`.
    pub file: &'static str,
    /// Its text.
    pub source: &'static str,
}

impl Shipped {
    /// Its name: the file name without `.toml`.
    pub fn name(&self) -> &'static str {
        self.file.trim_end_matches(".toml")
    }

    /// The path its messages name: `<built-in>/FILE`.
    pub fn path(&self) -> PathBuf {
        Path::new("<built-in>").join(self.file)
    }

    /// The scenario.
    ///
    /// # Errors
    ///
    /// Never for a shipped scenario (tested); the error of [`parse`] otherwise.
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        parse(self.source, &self.path())
    }
}

/// Every shipped scenario, by file name.
pub const SHIPPED: [Shipped; 13] = [
    Shipped {
        file: "agent_mix.toml",
        source: include_str!("../../scenarios/agent_mix.toml"),
    },
    Shipped {
        file: "batch_vs_window.toml",
        source: include_str!("../../scenarios/batch_vs_window.toml"),
    },
    Shipped {
        file: "cpu_bound.toml",
        source: include_str!("../../scenarios/cpu_bound.toml"),
    },
    Shipped {
        file: "deadline.toml",
        source: include_str!("../../scenarios/deadline.toml"),
    },
    Shipped {
        file: "dependent_chain.toml",
        source: include_str!("../../scenarios/dependent_chain.toml"),
    },
    Shipped {
        file: "independent_io.toml",
        source: include_str!("../../scenarios/independent_io.toml"),
    },
    Shipped {
        file: "mixed_dependencies.toml",
        source: include_str!("../../scenarios/mixed_dependencies.toml"),
    },
    Shipped {
        file: "open_loop.toml",
        source: include_str!("../../scenarios/open_loop.toml"),
    },
    Shipped {
        file: "partial_failure.toml",
        source: include_str!("../../scenarios/partial_failure.toml"),
    },
    Shipped {
        file: "priorities.toml",
        source: include_str!("../../scenarios/priorities.toml"),
    },
    Shipped {
        file: "rate_limited_api.toml",
        source: include_str!("../../scenarios/rate_limited_api.toml"),
    },
    Shipped {
        file: "real_mcp_http.toml",
        source: include_str!("../../scenarios/real_mcp_http.toml"),
    },
    Shipped {
        file: "real_mcp_stdio.toml",
        source: include_str!("../../scenarios/real_mcp_stdio.toml"),
    },
];

/// The scenario `parabench run` runs when given none.
pub const DEFAULT: &str = "independent_io";

/// The shipped scenario called `name` (`agent_mix` or `agent_mix.toml`).
pub fn find(name: &str) -> Option<&'static Shipped> {
    SHIPPED.iter().find(|s| s.file == name || s.name() == name)
}

/// The scenario at `path`; or, when there is no such file and `path` is a bare name, the
/// shipped scenario of that name.
///
/// # Errors
///
/// As [`load`]; for a missing file, the message lists the shipped names.
pub fn load_or_shipped(path: &Path) -> Result<Scenario, ScenarioError> {
    let bare = path.components().count() == 1;
    if !path.exists()
        && bare
        && let Some(shipped) = path.to_str().and_then(find)
    {
        return shipped.scenario();
    }
    load(path).map_err(|e| match e {
        ScenarioError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            let names: Vec<&str> = SHIPPED.iter().map(Shipped::name).collect();
            ScenarioError::Io {
                path,
                source: std::io::Error::new(
                    source.kind(),
                    format!(
                        "{source} (expected a scenario file, or the name of a shipped one: {})",
                        names.join(", ")
                    ),
                ),
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_scenarios_is_shipped_and_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let on_disk: Vec<String> = super::super::discover(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let shipped: Vec<&str> = SHIPPED.iter().map(|s| s.file).collect();
        assert_eq!(on_disk, shipped, "add a new scenario to SHIPPED");
        for s in &SHIPPED {
            assert_eq!(s.source, std::fs::read_to_string(dir.join(s.file)).unwrap());
            s.scenario().unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(find(DEFAULT).is_some());
    }

    #[test]
    fn a_shipped_name_is_a_scenario_where_no_file_has_it() {
        let s = load_or_shipped(Path::new("agent_mix")).unwrap();
        assert_eq!(s.name, "agent_mix");
        assert_eq!(load_or_shipped(Path::new("cpu_bound.toml")).unwrap().name, "cpu_bound");
        // A path with a directory is a file, not a name.
        let err = load_or_shipped(Path::new("nowhere/agent_mix.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("the name of a shipped one: agent_mix, "), "{err}");
    }
}
