//! Logs and traces for every RADIANT binary.
//!
//! `tracing` is the one instrumentation API. When an exporter is configured (`stdout` prints
//! spans, `otlp` sends them to a collector over gRPC) an OpenTelemetry layer records spans and
//! their W3C context (`traceparent`/`tracestate`) travels in NATS and HTTP headers, so gateway →
//! service → service is one trace. With export off (the default) no span is recorded, which keeps
//! recording off the request path, and the service kit forwards the caller's trace context
//! unchanged instead: a process that records nothing is transparent to the trace.
//!
//! Metrics (counters such as the media vault's integrity failures) go through
//! `opentelemetry::global::meter`: with an exporter configured they are exported every
//! `metrics_interval_ms` to the same place as spans; without one the instruments are no-ops.

mod propagation;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter};
use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use propagation::{
    context_from_http_headers, context_from_nats_headers, inject_into_http_headers,
    inject_into_nats_headers, set_span_parent_from_http_headers, set_span_parent_from_nats_headers,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// An `EnvFilter` directive, e.g. `info,radiant_bus=debug`; `RUST_LOG` wins when set.
    #[serde(default = "default_log_filter")]
    pub log_filter: String,
    #[serde(default)]
    pub log_format: LogFormat,
    /// Where log lines go.
    #[serde(default)]
    pub log_output: LogOutput,
    #[serde(default)]
    pub exporter: TraceExporter,
    /// Collector endpoint for `exporter = "otlp"`, e.g. `http://127.0.0.1:4317`.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// Fraction of new root traces that are recorded (children follow their parent's choice).
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
    /// Which spans and events become OpenTelemetry spans (span events), independent of the log
    /// filter: dependencies' debug/trace events on hot paths must not cost a span event each.
    #[serde(default = "default_trace_filter")]
    pub trace_filter: String,
    /// How often metrics are exported (with an exporter configured).
    #[serde(default = "default_metrics_interval_ms")]
    pub metrics_interval_ms: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: default_log_filter(),
            log_format: LogFormat::default(),
            log_output: LogOutput::default(),
            exporter: TraceExporter::default(),
            otlp_endpoint: None,
            sample_ratio: default_sample_ratio(),
            trace_filter: default_trace_filter(),
            metrics_interval_ms: default_metrics_interval_ms(),
        }
    }
}

fn default_metrics_interval_ms() -> u64 {
    60_000
}

fn default_log_filter() -> String {
    "info".to_string()
}

fn default_sample_ratio() -> f64 {
    1.0
}

fn default_trace_filter() -> String {
    "info".to_string()
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogOutput {
    #[default]
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TraceExporter {
    #[default]
    None,
    Stdout,
    Otlp,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter {filter:?}: {message}")]
    InvalidLogFilter { filter: String, message: String },
    #[error("invalid trace filter {filter:?}: {message}")]
    InvalidTraceFilter { filter: String, message: String },
    #[error("exporter \"otlp\" needs telemetry.otlp_endpoint")]
    MissingOtlpEndpoint,
    #[error("otlp exporter could not be built: {0}")]
    Otlp(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialized,
}

static SPANS_ARE_RECORDED: AtomicBool = AtomicBool::new(false);

/// True when this process records OpenTelemetry spans (an exporter is configured): callers then
/// inject their own span's context; otherwise they forward the caller's.
pub fn spans_are_recorded() -> bool {
    SPANS_ARE_RECORDED.load(Ordering::Relaxed)
}

/// Flushes and shuts the tracer provider down when dropped.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.tracer_provider.as_ref()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(tracer_provider) = &self.tracer_provider {
            let _ = tracer_provider.force_flush();
            let _ = tracer_provider.shutdown();
        }
        if let Some(meter_provider) = &self.meter_provider {
            let _ = meter_provider.force_flush();
            let _ = meter_provider.shutdown();
        }
    }
}

/// Installs the global subscriber and tracer provider from configuration.
pub fn init(
    service_name: &str,
    config: &TelemetryConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    let builder = tracer_provider_builder(service_name, config);
    let (builder, meter_provider) = match config.exporter {
        TraceExporter::None => return install(service_name, config, None, None),
        TraceExporter::Stdout => (
            builder.with_simple_exporter(opentelemetry_stdout::SpanExporter::default()),
            meter_provider(
                service_name,
                config,
                opentelemetry_stdout::MetricExporter::default(),
            ),
        ),
        TraceExporter::Otlp => {
            use opentelemetry_otlp::WithExportConfig;
            let endpoint = config
                .otlp_endpoint
                .clone()
                .ok_or(TelemetryError::MissingOtlpEndpoint)?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|error| TelemetryError::Otlp(error.to_string()))?;
            let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|error| TelemetryError::Otlp(error.to_string()))?;
            (
                builder.with_batch_exporter(exporter),
                meter_provider(service_name, config, metric_exporter),
            )
        }
    };
    install(
        service_name,
        config,
        Some(builder.build()),
        Some(meter_provider),
    )
}

fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_service_name(service_name.to_string())
        .build()
}

fn meter_provider<E: PushMetricExporter>(
    service_name: &str,
    config: &TelemetryConfig,
    exporter: E,
) -> SdkMeterProvider {
    let reader = PeriodicReader::builder(exporter)
        .with_interval(std::time::Duration::from_millis(
            config.metrics_interval_ms.max(1),
        ))
        .build();
    SdkMeterProvider::builder()
        .with_resource(resource(service_name))
        .with_reader(reader)
        .build()
}

/// Like [`init`], with spans handed synchronously to `exporter` (tests use an in-memory one).
pub fn init_with_exporter<E: SpanExporter + 'static>(
    service_name: &str,
    config: &TelemetryConfig,
    exporter: E,
) -> Result<TelemetryGuard, TelemetryError> {
    let tracer_provider = tracer_provider_builder(service_name, config)
        .with_simple_exporter(exporter)
        .build();
    install(service_name, config, Some(tracer_provider), None)
}

fn tracer_provider_builder(
    service_name: &str,
    config: &TelemetryConfig,
) -> opentelemetry_sdk::trace::TracerProviderBuilder {
    SdkTracerProvider::builder()
        .with_resource(resource(service_name))
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio,
        ))))
}

fn install(
    service_name: &str,
    config: &TelemetryConfig,
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
) -> Result<TelemetryGuard, TelemetryError> {
    let filter_directive = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log_filter.clone());
    let filter = EnvFilter::try_new(&filter_directive).map_err(|error| {
        TelemetryError::InvalidLogFilter {
            filter: filter_directive.clone(),
            message: error.to_string(),
        }
    })?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let otel_layer = match &tracer_provider {
        Some(tracer_provider) => {
            let trace_filter = EnvFilter::try_new(&config.trace_filter).map_err(|error| {
                TelemetryError::InvalidTraceFilter {
                    filter: config.trace_filter.clone(),
                    message: error.to_string(),
                }
            })?;
            opentelemetry::global::set_tracer_provider(tracer_provider.clone());
            let tracer = tracer_provider.tracer(service_name.to_string());
            // location, thread and busy/idle attributes cost allocations on every span
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_location(false)
                    .with_threads(false)
                    .with_tracked_inactivity(false)
                    .with_filter(trace_filter),
            )
        }
        None => None,
    };

    let to_stderr = config.log_output == LogOutput::Stderr;
    let is_terminal = if to_stderr {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
    } else {
        std::io::IsTerminal::is_terminal(&std::io::stdout())
    };
    let writer =
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(move || -> Box<dyn std::io::Write> {
            if to_stderr {
                Box::new(std::io::stderr())
            } else {
                Box::new(std::io::stdout())
            }
        });
    let fmt_layer = match config.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_target(true)
            // colours only for a terminal, never in log files
            .with_ansi(is_terminal)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };

    // two filters: log output follows the log filter, recorded spans the trace filter
    tracing_subscriber::registry()
        .with(otel_layer)
        .with(fmt_layer.with_filter(filter))
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialized)?;
    SPANS_ARE_RECORDED.store(tracer_provider.is_some(), Ordering::Relaxed);
    if let Some(meter_provider) = &meter_provider {
        opentelemetry::global::set_meter_provider(meter_provider.clone());
    }
    Ok(TelemetryGuard {
        tracer_provider,
        meter_provider,
    })
}
