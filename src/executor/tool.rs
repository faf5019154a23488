//! The [`Tool`] trait: what the executor runs for each call.

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;

use crate::plan::{Call, CallIdx, Plan};

/// A boxed error from a tool, as in tower's `BoxError`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Runs calls. One implementation serves every tool of a plan: dispatch on
/// [`CallContext::call`]`.tool`.
///
/// The returned future is polled on the executor's task, as `FuturesUnordered` does:
/// it must not block the thread. Offload CPU-heavy work (to `spawn_blocking`, rayon, or
/// a pool of your own) and await its result.
///
/// # Examples
///
/// ```
/// use parabench::executor::{CallContext, Tool, ToolError};
///
/// struct Echo;
///
/// impl Tool for Echo {
///     type Output = String;
///
///     async fn call(&self, ctx: CallContext<'_, String>) -> Result<String, ToolError> {
///         let inputs: Vec<&String> = ctx.dependency_outputs().flatten().collect();
///         Ok(format!("{} after {inputs:?}", ctx.call().id))
///     }
/// }
/// ```
pub trait Tool: Sync {
    /// What a successful call returns; dependents can read it.
    type Output: Send + Sync;

    /// Runs one attempt of a call.
    fn call<'a>(
        &'a self,
        ctx: CallContext<'a, Self::Output>,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send + 'a;
}

/// What a tool knows about the attempt it runs.
#[derive(Debug)]
pub struct CallContext<'a, O> {
    pub(super) idx: CallIdx,
    pub(super) plan: &'a Plan,
    pub(super) attempt: u32,
    pub(super) outputs: &'a [OnceLock<O>],
}

impl<'a, O> CallContext<'a, O> {
    /// The call's index in the plan.
    pub fn index(&self) -> CallIdx {
        self.idx
    }

    /// The call: id, tool, priority.
    pub fn call(&self) -> &'a Call {
        self.plan.call(self.idx)
    }

    /// The plan the call belongs to: its tools, and the ids of its dependencies.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The calls this one waited for, in the order they were added.
    pub fn deps(&self) -> &'a [CallIdx] {
        self.plan.deps(self.idx)
    }

    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The output of each dependency, in the order of [`deps`](Self::deps); `None` for one that
    /// did not succeed (only possible when dependents of failed calls run anyway).
    pub fn dependency_outputs(&self) -> impl Iterator<Item = Option<&'a O>> + 'a {
        let outputs = self.outputs;
        self.deps().iter().map(move |d| outputs[d.index()].get())
    }
}

/// A failed attempt.
///
/// Errors are retried (if the run's retry policy allows) unless made with
/// [`ToolError::permanent`].
pub struct ToolError(Box<Failed>);

/// Behind one pointer: every call's outcome has room for an error, and most never hold
/// one, so `Option<ToolError>` is a word rather than three.
struct Failed {
    error: BoxError,
    retryable: bool,
    /// The least wait before a retry, as the tool was told (HTTP's `Retry-After`).
    retry_after: Option<std::time::Duration>,
}

impl ToolError {
    /// A transient error: the attempt may be retried.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(Box::new(Failed {
            error: error.into(),
            retryable: true,
            retry_after: None,
        }))
    }

    /// A transient error after which the next attempt must wait at least `delay`,
    /// whatever the run's backoff says (a server's `Retry-After`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use parabench::executor::ToolError;
    ///
    /// let e = ToolError::retry_after("HTTP 429", Duration::from_secs(2));
    /// assert_eq!(e.retry_delay(), Some(Duration::from_secs(2)));
    /// assert!(e.is_retryable());
    /// ```
    pub fn retry_after(error: impl Into<BoxError>, delay: std::time::Duration) -> Self {
        Self(Box::new(Failed {
            error: error.into(),
            retryable: true,
            retry_after: Some(delay),
        }))
    }

    /// An error that another attempt would not fix (a bad request, say).
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self(Box::new(Failed {
            error: error.into(),
            retryable: false,
            retry_after: None,
        }))
    }

    /// The least wait before a retry that the tool was told, if any.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        self.0.retry_after
    }

    /// Whether a retry may help.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// The underlying error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0.error
    }

    /// The underlying error, by value.
    pub fn into_inner(self) -> BoxError {
        self.0.error
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolError")
            .field("error", &self.0.error)
            .field("retryable", &self.0.retryable)
            .finish()
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.error, f)
    }
}

impl std::error::Error for ToolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0.error)
    }
}
