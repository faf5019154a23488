//! The process's TLS crypto provider, for everything that speaks https: real HTTP and MCP
//! tools, and OTLP export over HTTP.
//!
//! rustls needs one installed before any client is built (its crates are built here
//! without a default). Ring's: it builds with the C compiler alone (aws-lc's needs more),
//! and a benchmark's own connections need no post-quantum key exchange, for which rustls
//! now marks it deprecated.

/// Installs the provider, once; later calls, and a provider installed by the embedding
/// program, are left as they are.
#[allow(deprecated)]
pub fn install() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
