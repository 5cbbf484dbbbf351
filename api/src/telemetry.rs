//! Structured logs, and traces when asked for. `RUST_LOG` filters the logs;
//! `LOG_FORMAT=json` for log shippers. `OTEL_EXPORTER_OTLP_ENDPOINT` turns
//! on traces: the spans of requests, SQL statements, outbound calls and
//! jobs, exported over OTLP/HTTP (protobuf) with the standard `OTEL_*`
//! settings, which the OpenTelemetry SDK reads itself.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing::{Level, Metadata, subscriber::Interest};
use tracing_subscriber::{EnvFilter, filter::DynFilterFn, fmt, prelude::*};

use crate::config::{DatabasePooler, LogFormat};

/// The service name when `OTEL_SERVICE_NAME` is unset.
const SERVICE_NAME: &str = "pools-api";

/// The only protocol the exporter is built with.
const PROTOCOL: &str = "http/protobuf";

/// What must outlive the server: the exporter of its spans, if any.
#[must_use = "shut it down after the server stops, or the last spans are lost"]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still waiting in the batch, then stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "exporting the last spans failed");
        }
    }
}

/// Installs the global subscriber for logs alone; a second call (as in
/// tests) changes nothing.
pub fn init(format: LogFormat, pooler: DatabasePooler) {
    // Filtered for the whole subscriber, so that no span the logs leave out
    // is even created.
    let registry = tracing_subscriber::registry().with(log_filter(pooler));
    let _already_installed = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        LogFormat::Text => registry.with(text_layer()).try_init(),
    };
}

/// Behind a transaction pooler every transaction the code opens begins
/// inside the checkout's own and warns so, and the checkout's `COMMIT`
/// after it warns that none is open (see `db`): PostgreSQL's warnings are
/// left out there unless `RUST_LOG` asks for them.
fn log_filter(pooler: DatabasePooler) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(match pooler {
            DatabasePooler::None => "info,sqlx=warn,sea_orm=warn",
            DatabasePooler::Transaction => {
                "info,sqlx=warn,sqlx::postgres::notice=error,sea_orm=warn"
            }
        })
    })
}

fn text_layer<S>() -> fmt::Layer<S> {
    fmt::layer().with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
}

/// [`init`], and the export of traces when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set. An error names the `OTEL_*` setting that is wrong.
pub fn init_with_traces(format: LogFormat, pooler: DatabasePooler) -> Result<Telemetry, String> {
    let Some(provider) = tracer_provider()? else {
        init(format, pooler);
        return Ok(Telemetry {
            tracer_provider: None,
        });
    };
    // Each layer its own filter: the logs as `RUST_LOG` says, the traces
    // the spans `exported` lets through, sea-orm's statements included.
    let logs = match format {
        LogFormat::Json => fmt::layer().json().flatten_event(true).boxed(),
        LogFormat::Text => text_layer().boxed(),
    };
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        .with_filter(
            DynFilterFn::new(|metadata, cx| {
                // A statement outside any request or job (the worker's
                // polling) would be a trace of its own every few seconds.
                exported(metadata)
                    && (!metadata.target().starts_with("sea_orm") || cx.lookup_current().is_some())
            })
            .with_callsite_filter(|metadata| {
                if exported(metadata) {
                    Interest::sometimes()
                } else {
                    Interest::never()
                }
            }),
        );
    let installed = tracing_subscriber::registry()
        .with(logs.with_filter(log_filter(pooler)))
        .with(traces)
        .try_init();
    if installed.is_err() {
        // Another subscriber was there first: these spans would go nowhere.
        let _ = provider.shutdown();
        return Ok(Telemetry {
            tracer_provider: None,
        });
    }
    crate::trace_context::enable();
    Ok(Telemetry {
        tracer_provider: Some(provider),
    })
}

/// Spans, never events (log lines may name people), at INFO or above,
/// except sqlx's own (sea-orm's stand for the statements).
fn exported(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && *metadata.level() <= Level::INFO && !metadata.target().starts_with("sqlx")
}

/// The exporter `OTEL_EXPORTER_OTLP_ENDPOINT` asks for, if it is set (and
/// `OTEL_SDK_DISABLED` is not `true`).
fn tracer_provider() -> Result<Option<SdkTracerProvider>, String> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let endpoint =
        set("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if endpoint.is_none() || disabled {
        return Ok(None);
    }
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Some(protocol) = set(name)
            && protocol.trim() != PROTOCOL
        {
            return Err(format!(
                "{name} must be {PROTOCOL} (the only protocol this server exports with), not {protocol}"
            ));
        }
    }
    // The endpoint, headers and timeout come from the `OTEL_EXPORTER_OTLP_*`
    // settings, the batching from `OTEL_BSP_*`.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT cannot be used: {e}"))?;
    let mut resource = Resource::builder();
    if set("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    Ok(Some(
        SdkTracerProvider::builder()
            .with_resource(resource.build())
            .with_batch_exporter(exporter)
            .build(),
    ))
}
