//! The Universal Scalability Law, fitted to a sweep's throughputs.
//!
//! X(N) = λN / (1 + σ(N−1) + κN(N−1)): λ is the throughput of one worker, σ the share
//! of work that serialises (contention: throughput flattens) and κ the cost of keeping
//! concurrent workers coherent (crosstalk: throughput falls past N* = √((1−σ)/κ)).
//! Gunther's model needs no more than a handful of points, which is what a sweep has.
//!
//! The fit is a small Levenberg–Marquardt least squares on (λ, σ, κ) with σ, κ kept
//! non-negative, started from the linearised model: with λ ≈ X(1),
//! N/C(N) − 1 = σ(N−1) + κN(N−1) is linear in σ and κ (C is X relative to X(1)).

/// A fitted curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UslFit {
    /// Throughput of one worker, calls per second.
    pub lambda: f64,
    /// Contention, ≥ 0.
    pub sigma: f64,
    /// Coherency, ≥ 0.
    pub kappa: f64,
    /// Share of the throughputs' variance the curve explains (1 is a perfect fit).
    pub r_squared: f64,
}

/// Why no curve was fitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UslError {
    /// Three parameters need at least three distinct levels.
    #[error("the USL fit needs throughputs at 3 or more distinct levels, got {0}")]
    TooFewLevels(usize),
    /// A throughput is not a positive, finite number.
    #[error("the USL fit needs positive throughputs, got {0} at level {1}")]
    BadThroughput(f64, f64),
}

impl UslFit {
    /// Fits the curve to `(level, throughput)` points by least squares.
    ///
    /// # Errors
    ///
    /// [`UslError`] with fewer than three distinct levels or a throughput that is not
    /// positive and finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use parabench::tune::UslFit;
    ///
    /// let truth = UslFit { lambda: 100.0, sigma: 0.05, kappa: 0.002, r_squared: 1.0 };
    /// let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    ///     .into_iter()
    ///     .map(|n| (n, truth.throughput(n)))
    ///     .collect();
    /// let fit = UslFit::fit(&points).unwrap();
    /// assert!((fit.sigma - 0.05).abs() < 1e-6 && (fit.kappa - 0.002).abs() < 1e-8);
    /// ```
    pub fn fit(points: &[(f64, f64)]) -> Result<UslFit, UslError> {
        if let Some(&(n, x)) = points.iter().find(|(_, x)| !(x.is_finite() && *x > 0.0)) {
            return Err(UslError::BadThroughput(x, n));
        }
        let mut levels: Vec<f64> = points.iter().map(|p| p.0).collect();
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        if levels.len() < 3 {
            return Err(UslError::TooFewLevels(levels.len()));
        }
        let mut p = initial_guess(points);
        let mut cost = sse(points, p);
        let mut damping = 1e-3;
        for _ in 0..500 {
            let (jtj, jtr) = normal_equations(points, p);
            let mut improved = false;
            // Raise the damping until a step lowers the cost (or give up on this point).
            for _ in 0..30 {
                let mut a = jtj;
                for (i, row) in a.iter_mut().enumerate() {
                    row[i] += damping * jtj[i][i].max(1e-12);
                }
                let Some(step) = solve3(a, jtr) else {
                    damping *= 10.0;
                    continue;
                };
                let next = [
                    (p[0] + step[0]).max(f64::MIN_POSITIVE),
                    (p[1] + step[1]).max(0.0),
                    (p[2] + step[2]).max(0.0),
                ];
                let next_cost = sse(points, next);
                if next_cost < cost {
                    let converged = cost - next_cost <= 1e-15 * cost.max(1e-300);
                    (p, cost) = (next, next_cost);
                    damping = (damping / 10.0).max(1e-12);
                    improved = !converged;
                    break;
                }
                damping *= 10.0;
            }
            if !improved {
                break;
            }
        }
        let mean = points.iter().map(|q| q.1).sum::<f64>() / points.len() as f64;
        let total: f64 = points.iter().map(|q| (q.1 - mean).powi(2)).sum();
        Ok(UslFit {
            lambda: p[0],
            sigma: p[1],
            kappa: p[2],
            r_squared: if total > 0.0 { 1.0 - cost / total } else { 1.0 },
        })
    }

    /// The curve's throughput at `n` workers.
    pub fn throughput(&self, n: f64) -> f64 {
        model([self.lambda, self.sigma, self.kappa], n)
    }

    /// N* = √((1−σ)/κ), where throughput peaks, if the curve has a retrograde region
    /// at all.
    pub fn peak_n(&self) -> Option<f64> {
        (self.kappa > 0.0 && self.sigma < 1.0).then(|| ((1.0 - self.sigma) / self.kappa).sqrt())
    }

    /// Whether κ is negligible up to `max_level`: the coherency term adds less than 1%
    /// to the denominator there, so the data show no retrograde region.
    pub fn kappa_negligible(&self, max_level: f64) -> bool {
        let n = max_level;
        self.kappa * n * (n - 1.0) < 0.01 * (1.0 + self.sigma * (n - 1.0))
    }
}

fn model(p: [f64; 3], n: f64) -> f64 {
    p[0] * n / (1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0))
}

fn sse(points: &[(f64, f64)], p: [f64; 3]) -> f64 {
    points.iter().map(|&(n, x)| (x - model(p, n)).powi(2)).sum()
}

/// JᵀJ and Jᵀr of the residuals r = X − model.
fn normal_equations(points: &[(f64, f64)], p: [f64; 3]) -> ([[f64; 3]; 3], [f64; 3]) {
    let (mut jtj, mut jtr) = ([[0.0; 3]; 3], [0.0; 3]);
    for &(n, x) in points {
        let d = 1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0);
        let j = [
            n / d,
            -p[0] * n * (n - 1.0) / (d * d),
            -p[0] * n * n * (n - 1.0) / (d * d),
        ];
        let r = x - model(p, n);
        for a in 0..3 {
            jtr[a] += j[a] * r;
            for b in 0..3 {
                jtj[a][b] += j[a] * j[b];
            }
        }
    }
    (jtj, jtr)
}

/// The linearised fit, with λ from the lowest level.
fn initial_guess(points: &[(f64, f64)]) -> [f64; 3] {
    let &(n0, x0) = points
        .iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least three points");
    // Below the lowest level the curve is taken as linear: one worker does X/N.
    let lambda = x0 / n0;
    // y = N·λ/X − 1 = σ(N−1) + κN(N−1): two-parameter least squares through the origin.
    let (mut s11, mut s12, mut s22, mut s1y, mut s2y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, x) in points {
        let (a, b, y) = (n - 1.0, n * (n - 1.0), n * lambda / x - 1.0);
        s11 += a * a;
        s12 += a * b;
        s22 += b * b;
        s1y += a * y;
        s2y += b * y;
    }
    let det = s11 * s22 - s12 * s12;
    let (sigma, kappa) = if det.abs() > 1e-12 {
        ((s1y * s22 - s2y * s12) / det, (s11 * s2y - s12 * s1y) / det)
    } else {
        (0.0, 0.0)
    };
    [lambda, sigma.clamp(0.0, 1.0), kappa.max(0.0)]
}

/// Solves a 3×3 system by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..3 {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(lambda: f64, sigma: f64, kappa: f64, levels: &[f64]) -> Vec<(f64, f64)> {
        let truth = UslFit {
            lambda,
            sigma,
            kappa,
            r_squared: 1.0,
        };
        levels.iter().map(|&n| (n, truth.throughput(n))).collect()
    }

    #[test]
    fn the_fit_recovers_known_parameters_from_exact_data() {
        let levels = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
        for (lambda, sigma, kappa) in [
            (50.0, 0.02, 0.0001),
            (8.0, 0.3, 0.01),
            (1000.0, 0.0, 0.0005),
            (10.0, 0.1, 0.0),
        ] {
            let fit = UslFit::fit(&curve(lambda, sigma, kappa, &levels)).unwrap();
            assert!((fit.lambda - lambda).abs() < 1e-6 * lambda, "{fit:?}");
            assert!((fit.sigma - sigma).abs() < 1e-6, "{fit:?} vs σ {sigma}");
            assert!((fit.kappa - kappa).abs() < 1e-8, "{fit:?} vs κ {kappa}");
            assert!(fit.r_squared > 0.999_999, "{fit:?}");
        }
    }

    #[test]
    fn the_fit_recovers_parameters_from_noisy_data_without_level_one() {
        // ±1% alternating noise, and no measurement at N = 1: λ must come from the fit.
        let levels = [2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0];
        let noisy: Vec<_> = curve(100.0, 0.05, 0.002, &levels)
            .into_iter()
            .enumerate()
            .map(|(i, (n, x))| (n, x * if i % 2 == 0 { 1.01 } else { 0.99 }))
            .collect();
        let fit = UslFit::fit(&noisy).unwrap();
        assert!((fit.sigma - 0.05).abs() < 0.01, "{fit:?}");
        assert!((fit.kappa - 0.002).abs() < 0.0004, "{fit:?}");
        let peak = fit.peak_n().unwrap();
        let true_peak = (0.95f64 / 0.002).sqrt();
        assert!((peak - true_peak).abs() < 0.15 * true_peak, "{peak} vs {true_peak}");
    }

    #[test]
    fn a_curve_without_coherency_has_no_retrograde_region() {
        let fit = UslFit::fit(&curve(10.0, 0.1, 0.0, &[1.0, 2.0, 4.0, 8.0])).unwrap();
        assert!(fit.kappa_negligible(8.0), "{fit:?}");
        let retro = UslFit::fit(&curve(10.0, 0.1, 0.01, &[1.0, 2.0, 4.0, 8.0])).unwrap();
        assert!(!retro.kappa_negligible(8.0), "{retro:?}");
        assert!((retro.peak_n().unwrap() - 90f64.sqrt()).abs() < 1e-4);
    }

    #[test]
    fn too_few_levels_or_bad_throughputs_are_refused() {
        assert_eq!(
            UslFit::fit(&[(1.0, 1.0), (2.0, 2.0), (2.0, 2.1)]),
            Err(UslError::TooFewLevels(2))
        );
        assert!(matches!(
            UslFit::fit(&[(1.0, 1.0), (2.0, 0.0), (4.0, 2.0)]),
            Err(UslError::BadThroughput(..))
        ));
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        /// Parameters over the range real systems show: contention up to 50%, coherency
        /// up to 1%, one worker doing 0.1 to 10 000 calls per second.
        fn parameters() -> impl Strategy<Value = (f64, f64, f64)> {
            (0.1f64..10_000.0, 0.0f64..0.5, prop_oneof![Just(0.0), 1e-6f64..0.01])
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn the_fit_recovers_any_exact_curve((lambda, sigma, kappa) in parameters()) {
                let levels = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
                let fit = UslFit::fit(&curve(lambda, sigma, kappa, &levels)).unwrap();
                prop_assert!((fit.lambda - lambda).abs() < 1e-4 * lambda, "{:?}", fit);
                prop_assert!((fit.sigma - sigma).abs() < 1e-4, "{:?} vs σ {}", fit, sigma);
                prop_assert!((fit.kappa - kappa).abs() < 1e-6, "{:?} vs κ {}", fit, kappa);
            }
        }
    }
}
