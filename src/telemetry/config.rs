//! Where telemetry goes: OpenTelemetry's own environment variables, or `--otlp`.
//!
//! With neither, nothing is exported, no exporter is built and nothing waits.

use std::time::Duration;

/// The OTLP wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC, by default on port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, by default on port 4318.
    HttpProtobuf,
}

impl Protocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL` that selects this protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    /// The collector's conventional endpoint on this machine.
    fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://127.0.0.1:4317",
            Protocol::HttpProtobuf => "http://127.0.0.1:4318",
        }
    }
}

/// How to export spans and metrics over OTLP.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpConfig {
    /// The collector's base URL, such as `http://127.0.0.1:4317`. For OTLP/HTTP the signal
    /// paths `/v1/traces` and `/v1/metrics` are appended.
    pub endpoint: String,
    /// The wire protocol.
    pub protocol: Protocol,
    /// How long one export may take before it is abandoned (default 2 s): a collector that
    /// accepts connections and never answers must not hold the run's exit.
    pub export_timeout: Duration,
    /// How often metrics are pushed during a run (default 5 s, or
    /// `OTEL_METRIC_EXPORT_INTERVAL` in milliseconds); they are always pushed once more
    /// when the run ends.
    pub metric_interval: Duration,
    /// How long the end-of-run flush may take in all (default 5 s) before parabench warns
    /// and exits anyway.
    pub shutdown_timeout: Duration,
}

/// A telemetry setting parabench cannot use.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol parabench does not speak.
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL is {0:?}; expected \"grpc\" or \"http/protobuf\"")]
    Protocol(String),
    /// The endpoint is not an http(s) URL.
    #[error("the OTLP endpoint {0:?} is not a URL; expected one like http://127.0.0.1:4317")]
    Endpoint(String),
    /// `OTEL_METRIC_EXPORT_INTERVAL` is not a number of milliseconds.
    #[error("OTEL_METRIC_EXPORT_INTERVAL is {0:?}; expected a whole number of milliseconds above 0")]
    Interval(String),
}

impl OtlpConfig {
    /// Resolves the setting from `--otlp` and the environment (read through `env`).
    ///
    /// `flag` is `None` without `--otlp`, `Some(None)` for a bare `--otlp` and
    /// `Some(Some(url))` with a value. The flag's URL wins over
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; a bare `--otlp` uses the environment's endpoint or
    /// the protocol's local default. Without the flag and the variable, telemetry is off
    /// (`Ok(None)`).
    ///
    /// ```
    /// use parabench::telemetry::{OtlpConfig, Protocol};
    ///
    /// let env = |key: &str| (key == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "http/protobuf".to_string());
    /// let config = OtlpConfig::resolve(Some(None), env).unwrap().unwrap();
    /// assert_eq!(config.protocol, Protocol::HttpProtobuf);
    /// assert_eq!(config.endpoint, "http://127.0.0.1:4318");
    /// assert_eq!(OtlpConfig::resolve(None, |_| None), Ok(None));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unknown protocol, an endpoint that is not a URL, or a bad
    /// metric interval.
    pub fn resolve(
        flag: Option<Option<String>>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let from_env = env("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|e| !e.trim().is_empty());
        if flag.is_none() && from_env.is_none() {
            // Telemetry is off: the other variables configure an export that will not
            // happen, so a value parabench cannot use is no reason to refuse the run.
            return Ok(None);
        }
        let protocol = match env("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref().map(str::trim) {
            None | Some("" | "grpc") => Protocol::Grpc,
            Some("http/protobuf") => Protocol::HttpProtobuf,
            Some(other) => return Err(ConfigError::Protocol(other.to_string())),
        };
        let endpoint = match (flag, from_env) {
            (Some(Some(url)), _) => url,
            (Some(None), Some(url)) | (None, Some(url)) => url,
            (Some(None), None) => protocol.default_endpoint().to_string(),
            (None, None) => return Ok(None),
        };
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        let valid = ["http://", "https://"]
            .iter()
            .any(|scheme| endpoint.len() > scheme.len() && endpoint.starts_with(scheme));
        if !valid {
            return Err(ConfigError::Endpoint(endpoint));
        }
        let metric_interval = match env("OTEL_METRIC_EXPORT_INTERVAL") {
            None => Duration::from_secs(5),
            Some(ms) => match ms.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => return Err(ConfigError::Interval(ms)),
            },
        };
        Ok(Some(OtlpConfig {
            endpoint,
            protocol,
            export_timeout: Duration::from_secs(2),
            metric_interval,
            shutdown_timeout: Duration::from_secs(5),
        }))
    }

    /// The URL a signal is sent to: the base URL for gRPC, base + `path` for HTTP.
    pub(crate) fn signal_url(&self, path: &str) -> String {
        match self.protocol {
            Protocol::Grpc => self.endpoint.clone(),
            Protocol::HttpProtobuf => format!("{}{path}", self.endpoint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }

    #[test]
    fn off_without_flag_or_endpoint() {
        assert_eq!(OtlpConfig::resolve(None, env(&[])), Ok(None));
        // A protocol alone does not switch export on.
        assert_eq!(
            OtlpConfig::resolve(None, env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])),
            Ok(None)
        );
        // Nor does a value that could not be used if it did.
        let stray = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        ];
        assert_eq!(OtlpConfig::resolve(None, env(&stray)), Ok(None));
        assert!(OtlpConfig::resolve(Some(None), env(&stray)).is_err());
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4317")];
        let c = OtlpConfig::resolve(Some(Some("http://flag:4317/".into())), env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!(c.endpoint, "http://flag:4317");
        let c = OtlpConfig::resolve(Some(None), env(&vars)).unwrap().unwrap();
        assert_eq!(c.endpoint, "http://env:4317");
        let c = OtlpConfig::resolve(None, env(&vars)).unwrap().unwrap();
        assert_eq!((c.endpoint.as_str(), c.protocol), ("http://env:4317", Protocol::Grpc));
    }

    #[test]
    fn http_appends_the_signal_path() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ];
        let c = OtlpConfig::resolve(None, env(&vars)).unwrap().unwrap();
        assert_eq!(c.signal_url("/v1/traces"), "http://127.0.0.1:4318/v1/traces");
        let grpc = OtlpConfig::resolve(Some(None), env(&[])).unwrap().unwrap();
        assert_eq!(grpc.signal_url("/v1/traces"), "http://127.0.0.1:4317");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = OtlpConfig::resolve(Some(None), env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")])).unwrap_err();
        assert!(e.to_string().contains("\"http/json\""), "{e}");
        let e = OtlpConfig::resolve(Some(Some("localhost:4317".into())), env(&[])).unwrap_err();
        assert_eq!(e, ConfigError::Endpoint("localhost:4317".into()));
        let e = OtlpConfig::resolve(Some(None), env(&[("OTEL_METRIC_EXPORT_INTERVAL", "0")])).unwrap_err();
        assert_eq!(e, ConfigError::Interval("0".into()));
        let c = OtlpConfig::resolve(Some(None), env(&[("OTEL_METRIC_EXPORT_INTERVAL", "250")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.metric_interval, Duration::from_millis(250));
    }
}
