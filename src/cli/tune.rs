//! `parabench tune`: one run per concurrency level, the recommendation, the model fit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::interrupt::Interrupt;
use super::output::{self, Output};
use super::{EXIT_INPUT, diagnostic};
use crate::clock::ClockKind;
use crate::scenario::{self, Scenario};
use crate::tune::recommend::DEFAULT_TARGET_SHARE;
use crate::tune::{self, Criteria, Levels, Progress, Rates, TuneReport, TuneRequest, chart, terminal};

/// The levels tried when neither `--levels` nor the scenario's `[sweep]` gives any.
pub(super) const DEFAULT_LEVELS: &str = "1,2,4,8,16,32";

/// Arguments of `parabench tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Levels of max_concurrency to try: a list (1,2,4,8), a range with a step (1..16:2)
    /// or doubling (1..64:x2). Default: the scenario's `[sweep]`, else 1,2,4,8,16,32.
    /// Level 1, the baseline, is always run.
    #[arg(long)]
    pub levels: Option<Levels>,
    /// Real (wall) time, or simulated time.
    #[arg(long, value_enum, default_value_t)]
    pub clock: ClockKind,
    /// Overrides the scenario's seed (every level uses the same one).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The p99 end-to-end latency the recommended level must stay under, like 800ms.
    /// Default: the scenario's `[sweep]` slo_p99, else none.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub slo_p99: Option<Duration>,
    /// The share of peak throughput the recommended level must reach, in (0, 1].
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_TARGET_SHARE, value_parser = parse_share)]
    pub target_share: f64,
    /// The share of calls that may fail at the recommended level, in [0, 1].
    #[arg(long, value_name = "RATE", value_parser = parse_error_rate)]
    pub max_error_rate: Option<f64>,
    /// Overrides the arrival rate of the scenario's `[arrivals]` (calls per second).
    #[arg(long, value_name = "PER_S")]
    pub rate: Option<f64>,
    /// Also sweeps the arrival rate of the scenario's `[arrivals]` at the recommended
    /// level, to show where it saturates: a list (10,20,40), a range with a step
    /// (10..50:10) or a factor (5..80:x2), in calls per second. Default: the
    /// scenario's `[sweep]` rates, else none.
    #[arg(long, value_name = "RATES")]
    pub rates: Option<Rates>,
    /// Writes the tune JSON to FILE (`-` for standard output; the table then goes to
    /// standard error).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Writes an SVG chart of throughput and p99 against the level to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Writes a self-contained HTML page to FILE: throughput and p99 by level, the USL
    /// fit, the SLO and the recommended level with its reason.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("expected a positive duration like 800ms".into()),
        Err(e) => Err(format!("{e} (expected a duration like 800ms)")),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 1.0 => Ok(s),
        _ => Err("expected a share of peak throughput above 0 and at most 1, like 0.95".into()),
    }
}

fn parse_error_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
        _ => Err("expected a share of calls between 0 and 1, like 0.01".into()),
    }
}

impl TuneArgs {
    /// The flags over the scenario, as one typed request.
    ///
    /// # Errors
    ///
    /// When the scenario's `[sweep]` lists more levels or rates than a sweep may try.
    fn request(&self, scenario: &Scenario) -> Result<TuneRequest, String> {
        let sweep = scenario.sweep.as_ref();
        let levels = match (&self.levels, sweep) {
            (Some(levels), _) => levels.clone(),
            (None, Some(s)) => {
                Levels::new(s.max_concurrency.clone()).map_err(|e| format!("[sweep] max_concurrency: {e}"))?
            }
            (None, None) => DEFAULT_LEVELS.parse().expect("valid default levels"),
        };
        let rates = match (&self.rates, sweep) {
            (Some(rates), _) => Some(rates.clone()),
            (None, Some(s)) if !s.rates.is_empty() => {
                Some(Rates::new(s.rates.clone()).map_err(|e| format!("[sweep] rates: {e}"))?)
            }
            _ => None,
        };
        Ok(TuneRequest {
            levels,
            clock: self.clock,
            seed: self.seed,
            criteria: Criteria {
                target_share: self.target_share,
                slo_p99: self.slo_p99.or(sweep.and_then(|s| s.slo_p99)),
                max_error_rate: self.max_error_rate,
            },
            rates,
            interrupt: None,
        })
    }
}

pub(super) fn run(args: &TuneArgs) -> u8 {
    let scenario = match scenario::load_or_shipped(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", diagnostic::render(&e));
            return EXIT_INPUT;
        }
    };
    if let Err(e) = super::run::real_tools_allowed(&scenario, args.clock) {
        eprint!("{}", diagnostic::render(&e));
        return EXIT_INPUT;
    }
    let document_on_stdout = [&args.json, &args.svg, &args.html]
        .iter()
        .any(|o| o.as_deref() == Some(std::path::Path::new("-")));
    super::run::print_real_targets(&scenario, document_on_stdout);
    if scenario.real.iter().any(Option::is_some) {
        eprintln!(
            "the levels run one after another against the same servers, {} apart",
            crate::units::fmt_duration(crate::tune::sweep::PAUSE_BETWEEN_REAL_LEVELS)
        );
    }
    let scenario = match args.rate {
        None => scenario,
        Some(rate) => match scenario.with_arrival_rate(rate) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: --rate {rate}: {e}", args.scenario.display());
                return EXIT_INPUT;
            }
        },
    };
    let prepare = |path: &Option<PathBuf>, what: &str| {
        path.as_deref().map(Output::prepare).transpose().map_err(|e| {
            let path = path.as_deref().unwrap_or(Path::new("-"));
            format!("error: cannot write the {what} to {}: {e}", path.display())
        })
    };
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--svg", args.svg.as_deref()),
        ("--html", args.html.as_deref()),
    ];
    if let Err(e) = output::check_distinct(&outputs) {
        eprintln!("error: {e}");
        return EXIT_INPUT;
    }
    // Installed before the first temporary file exists, so no signal can end the
    // process by its default action and leave one behind.
    let interrupt = Interrupt::install_or_warn();
    let (json, svg, html) = match (
        prepare(&args.json, "tune JSON"),
        prepare(&args.svg, "SVG chart"),
        prepare(&args.html, "HTML report"),
    ) {
        (Ok(json), Ok(svg), Ok(html)) => (json, svg, html),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("{e}");
            return EXIT_INPUT;
        }
    };
    if args.rates.is_some() && scenario.arrivals.is_none() {
        eprintln!(
            "error: {}: --rates needs an open-loop scenario, but it has no [arrivals] table \
             (expected [arrivals] with process, rate and duration)",
            args.scenario.display()
        );
        return EXIT_INPUT;
    }
    let request = match args.request(&scenario) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return EXIT_INPUT;
        }
    };
    let request = TuneRequest {
        interrupt: interrupt.as_ref().map(Interrupt::token),
        ..request
    };
    let steps = request.levels.with_baseline().get().len() + request.rates.as_ref().map_or(0, |r| r.get().len());
    let bar = progress_bar(steps as u64);
    let report = tune::run(&scenario, &request, |step| {
        bar.set_message(match step {
            Progress::Level(l) => format!("max_concurrency {}", l.max_concurrency),
            Progress::Rate(r) => format!("{}/s", r.rate_per_s),
        });
        bar.inc(1);
    });
    bar.finish_and_clear();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    let mut table = Vec::new();
    let _ = terminal::render(&report, &mut table);
    let stdout_taken = [&json, &svg, &html]
        .iter()
        .any(|o| o.as_ref().is_some_and(Output::is_stdout));
    let _ = if stdout_taken {
        std::io::stderr().write_all(&table)
    } else {
        std::io::stdout().write_all(&table)
    };
    if let Some(out) = json {
        let path = out.path().display().to_string();
        if let Err(e) = out.commit(&json_bytes(&report)) {
            eprintln!("error: cannot write the tune JSON to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    if let Some(out) = svg {
        let path = out.path().display().to_string();
        let written = chart::render(&report)
            .map_err(|e| e.to_string())
            .and_then(|svg| out.commit(svg.as_bytes()).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: cannot write the SVG chart to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    if report.partial && report.levels.is_empty() && html.is_some() {
        // Not an error: the user stopped the sweep before there was anything to draw.
        eprintln!("warning: interrupted before the first level finished: no HTML page to write");
    } else if let Some(out) = html {
        let path = out.path().display().to_string();
        let mut page = Vec::new();
        let written = tune::html::render(&report, &mut page).and_then(|()| out.commit(&page));
        if let Err(e) = written {
            eprintln!("error: cannot write the HTML report to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    interrupt.map_or(0, |i| i.exit_code(report.partial, 0))
}

fn json_bytes(report: &TuneReport) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("a tune report always serialises");
    bytes.push(b'\n');
    bytes
}

/// One tick per level on stderr; hidden when stderr is not a terminal, so logs and
/// pipes get no control characters.
fn progress_bar(levels: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(levels), target);
    bar.set_style(
        ProgressStyle::with_template("tune [{bar:30}] {pos}/{len} runs  {msg}  {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
