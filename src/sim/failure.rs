//! Failure models of simulated tools: how often an attempt fails or hangs.

/// What one attempt of a simulated tool does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Returns a result after its latency.
    Succeed,
    /// Returns an error after its latency.
    Fail,
    /// Never returns; only the attempt's timeout (or the run's deadline) ends it.
    Hang,
}

/// Why a failure model was rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FailureError {
    /// A probability outside [0, 1].
    #[error("`{name}` must be a probability between 0 and 1, got {value}")]
    NotAProbability {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// The probabilities add up to more than 1.
    #[error("failure_rate + timeout_rate must not exceed 1, got {0}")]
    SumAboveOne(f64),
}

/// Independent per-attempt probabilities of failing and of hanging.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct FailureModel {
    failure_rate: f64,
    timeout_rate: f64,
}

impl FailureModel {
    /// Never fails.
    pub const NEVER: FailureModel = FailureModel {
        failure_rate: 0.0,
        timeout_rate: 0.0,
    };

    /// A model where an attempt fails with probability `failure_rate` and hangs with
    /// probability `timeout_rate`.
    ///
    /// # Errors
    ///
    /// When a rate is outside [0, 1] (or NaN), or the two add up to more than 1.
    pub fn new(failure_rate: f64, timeout_rate: f64) -> Result<Self, FailureError> {
        for (name, value) in [("failure_rate", failure_rate), ("timeout_rate", timeout_rate)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(FailureError::NotAProbability { name, value });
            }
        }
        if failure_rate + timeout_rate > 1.0 {
            return Err(FailureError::SumAboveOne(failure_rate + timeout_rate));
        }
        Ok(Self {
            failure_rate,
            timeout_rate,
        })
    }

    /// Probability that an attempt fails.
    pub fn failure_rate(&self) -> f64 {
        self.failure_rate
    }

    /// Probability that an attempt hangs.
    pub fn timeout_rate(&self) -> f64 {
        self.timeout_rate
    }

    /// The fate of an attempt given `unit`, a uniform draw in [0, 1).
    pub fn fate(&self, unit: f64) -> Fate {
        if unit < self.timeout_rate {
            Fate::Hang
        } else if unit < self.timeout_rate + self.failure_rate {
            Fate::Fail
        } else {
            Fate::Succeed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_split_the_unit_interval() {
        let m = FailureModel::new(0.2, 0.1).unwrap();
        assert_eq!(m.fate(0.05), Fate::Hang);
        assert_eq!(m.fate(0.25), Fate::Fail);
        assert_eq!(m.fate(0.31), Fate::Succeed);
        assert_eq!(FailureModel::NEVER.fate(0.0), Fate::Succeed);
        assert_eq!(FailureModel::new(1.0, 0.0).unwrap().fate(0.999), Fate::Fail);
    }

    #[test]
    fn rates_must_be_probabilities() {
        assert!(matches!(
            FailureModel::new(1.5, 0.0),
            Err(FailureError::NotAProbability {
                name: "failure_rate",
                ..
            })
        ));
        assert!(matches!(
            FailureModel::new(0.0, f64::NAN),
            Err(FailureError::NotAProbability {
                name: "timeout_rate",
                ..
            })
        ));
        assert_eq!(FailureModel::new(0.6, 0.6), Err(FailureError::SumAboveOne(1.2)));
    }
}
