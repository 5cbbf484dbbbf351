//! W3C trace context (`traceparent`) where the current span does not
//! reach on its own: into a queued job, out to the webhook endpoints and
//! provisioners we call, and in from a client's request.
//!
//! Off unless the server exports traces (`OTEL_EXPORTER_OTLP_ENDPOINT`):
//! then no span below is created and no context is read or written, so a
//! server without traces pays one relaxed load per site.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Called once the exporting layer is installed.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether spans are exported: the sites below do nothing otherwise.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The current span's context as a `traceparent` value, to store with a
/// job queued now.
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    current_headers().remove(TRACEPARENT)
}

/// The current span's context as the headers that carry it.
pub fn current_headers() -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    if enabled() {
        TraceContextPropagator::new().inject_context(&Span::current().context(), &mut carrier);
    }
    carrier
}

/// Makes the remote context in `traceparent` (and `tracestate`) the parent
/// of `span`, which must not have been entered yet. A value that does not
/// parse leaves `span` a root.
pub fn set_remote_parent(span: &Span, traceparent: &str, tracestate: Option<&str>) {
    if !enabled() {
        return;
    }
    let mut carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    if let Some(state) = tracestate {
        carrier.insert(TRACESTATE.to_owned(), state.to_owned());
    }
    let parent = TraceContextPropagator::new().extract(&carrier);
    // A disabled span (filtered out) has no parent to set: nothing to do.
    let _ = span.set_parent(parent);
}

/// `tokio::spawn`, the task in the current span when traces are exported,
/// so that its statements and calls belong to the request that started it.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if enabled() {
        tokio::spawn(tracing::Instrument::in_current_span(future))
    } else {
        tokio::spawn(future)
    }
}

/// Names `span` after the fact (the name given at creation is fixed once
/// the span has been entered).
pub fn rename(span: &Span, name: String) {
    if !enabled() {
        return;
    }
    use opentelemetry::trace::TraceContextExt;
    span.context().span().update_name(name);
}
