//! Real tools: a tool of an MCP server, or an HTTP endpoint, as a scenario declares it
//! (`kind = "mcp"`, `kind = "http"`). Plain data, checked when the file is read and
//! without contacting anything; `crate::real` calls them.

use super::Located;

/// A real tool of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct RealTool {
    /// What it calls.
    pub target: Target,
    /// Where its `kind` is written: the place an error about running it on the virtual
    /// clock points to.
    pub kind_site: Box<Located>,
}

/// What a real tool calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A tool of an MCP server.
    Mcp(McpTool),
    /// An HTTP endpoint.
    Http(HttpTool),
}

impl Target {
    /// In words, for the line printed before a run.
    pub fn describe(&self) -> String {
        match self {
            Target::Mcp(m) => {
                let sessions = match m.sessions {
                    Sessions::Shared => "",
                    Sessions::PerCall => ", a session per call",
                };
                match &m.server {
                    McpServer::Http(url) => format!("mcp {url} (tool {}{sessions})", m.tool),
                    McpServer::Stdio(command) => format!("mcp stdio: {} (tool {})", command.join(" "), m.tool),
                }
            }
            Target::Http(h) => format!("http {} {}", h.method.as_str(), h.url),
        }
    }
}

/// `kind = "mcp"`.
#[derive(Clone, Debug, PartialEq)]
pub struct McpTool {
    /// How to reach the server.
    pub server: McpServer,
    /// The server's name for the tool (`tool`; default: the scenario's name for it).
    pub tool: String,
    /// One session for the run, or one per call.
    pub sessions: Sessions,
}

/// How an MCP server is reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum McpServer {
    /// Streamable HTTP at this URL (`server`).
    Http(String),
    /// A child process speaking MCP on its standard input and output (`command`): the
    /// program and its arguments, started once per run and ended after it.
    Stdio(Vec<String>),
}

impl McpServer {
    /// The server as messages name it: its URL, or its command line.
    pub fn describe(&self) -> String {
        match self {
            McpServer::Http(url) => url.clone(),
            McpServer::Stdio(command) => command.join(" "),
        }
    }
}

/// `sessions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sessions {
    /// One MCP session for every call of the run (the default), as most agents keep.
    #[default]
    Shared,
    /// A session opened and closed for each call, as some clients do.
    PerCall,
}

/// `kind = "http"`.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpTool {
    /// The endpoint (`url`).
    pub url: String,
    /// `GET` (params as the query string) or `POST`, `PUT`, `PATCH`, `DELETE` (params as
    /// the JSON body).
    pub method: HttpMethod,
    /// Headers to send, their values with `${env.NAME}` still in them.
    pub headers: Vec<(String, String)>,
    /// The statuses that are a success; empty: any 2xx.
    pub ok_status: Vec<u16>,
}

/// An HTTP method a real tool may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    /// Params as the query string.
    Get,
    /// Params as the JSON body.
    Post,
    /// Params as the JSON body.
    Put,
    /// Params as the JSON body.
    Patch,
    /// Params as the JSON body.
    Delete,
}

impl HttpMethod {
    /// Every method, as scenarios write them.
    pub const ALL: [(&'static str, HttpMethod); 5] = [
        ("GET", HttpMethod::Get),
        ("POST", HttpMethod::Post),
        ("PUT", HttpMethod::Put),
        ("PATCH", HttpMethod::Patch),
        ("DELETE", HttpMethod::Delete),
    ];

    /// As HTTP writes it.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("GET", |(name, _)| name)
    }
}
