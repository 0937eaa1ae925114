//! weft's metrics as OpenTelemetry instruments: every measurement weft's registry takes
//! (`weft_runtime::telemetry::metrics`) is recorded, as it is taken, in instruments of the
//! same names, units and attributes, with the histograms' advised bucket boundaries:
//!
//! | instrument | kind | unit |
//! |---|---|---|
//! | `gen_ai.client.operation.duration` | histogram (f64) | `s` |
//! | `gen_ai.client.token.usage` | histogram (u64) | `{token}` |
//! | `weft.workflow.runs` | counter (u64) | `{run}` |
//!
//! The instruments count from the moment the export is set up (what the registry took before
//! is not replayed); the registry itself, and its Prometheus text, are unaffected.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::KeyValue;
use weft_runtime::telemetry::metrics::{
    self as registry, MetricsObserver, Operation, DURATION_BUCKETS, OPERATION_DURATION,
    TOKEN_BUCKETS, TOKEN_USAGE, WORKFLOW_RUNS,
};

/// The instruments of one meter provider.
struct Instruments {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
    runs: Counter<u64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Instruments {
        Instruments {
            duration: meter
                .f64_histogram(OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            tokens: meter
                .u64_histogram(TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            runs: meter
                .u64_counter(WORKFLOW_RUNS)
                .with_unit("{run}")
                .with_description("Workflow runs that ended, by workflow and status.")
                .build(),
        }
    }
}

/// The one observer weft-otel adds to weft's registry (observers cannot be removed), passing
/// each measurement to the instruments of every export set up and not yet shut down.
#[derive(Default)]
struct Bridge {
    instruments: RwLock<Vec<(u64, Arc<Instruments>)>>,
}

impl Bridge {
    fn each(&self, record: impl Fn(&Instruments)) {
        let sets = self
            .instruments
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for (_, instruments) in sets.iter() {
            record(instruments);
        }
    }
}

impl MetricsObserver for Bridge {
    fn on_operation(&self, operation: &Operation<'_>) {
        // The registry's label sets: unknown parts left out, `error.type` on the duration only.
        let mut attributes = Vec::with_capacity(6);
        attributes.push(KeyValue::new(
            "gen_ai.operation.name",
            operation.operation.to_string(),
        ));
        attributes.push(KeyValue::new(
            "gen_ai.provider.name",
            operation.provider.to_string(),
        ));
        if !operation.request_model.is_empty() {
            attributes.push(KeyValue::new(
                "gen_ai.request.model",
                operation.request_model.to_string(),
            ));
        }
        if let Some(model) = operation.response_model.filter(|model| !model.is_empty()) {
            attributes.push(KeyValue::new("gen_ai.response.model", model.to_string()));
        }
        let mut duration_attributes = attributes.clone();
        if let Some(error) = operation.error_type.filter(|error| !error.is_empty()) {
            duration_attributes.push(KeyValue::new("error.type", error.to_string()));
        }
        let seconds = operation.duration.as_secs_f64();
        let with_type = |kind: &'static str| {
            let mut attributes = attributes.clone();
            attributes.push(KeyValue::new("gen_ai.token.type", kind));
            attributes
        };
        let input = operation.input_tokens.map(|n| (n, with_type("input")));
        let output = operation.output_tokens.map(|n| (n, with_type("output")));
        self.each(|instruments| {
            instruments.duration.record(seconds, &duration_attributes);
            for (tokens, attributes) in input.iter().chain(output.iter()) {
                instruments.tokens.record(*tokens, attributes);
            }
        });
    }

    fn on_run(&self, workflow: &str, status: &str) {
        let attributes = [
            KeyValue::new("weft.workflow.name", workflow.to_string()),
            KeyValue::new("weft.run.status", status.to_string()),
        ];
        self.each(|instruments| instruments.runs.add(1, &attributes));
    }
}

static BRIDGE: OnceLock<Arc<Bridge>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The bridge, added to weft's registry the first time.
fn bridge() -> &'static Arc<Bridge> {
    BRIDGE.get_or_init(|| {
        let bridge = Arc::new(Bridge::default());
        registry::add_observer(bridge.clone());
        bridge
    })
}

/// weft's measurements going to `meter`'s instruments until dropped.
pub(crate) struct Registration(u64);

/// Records weft's measurements in instruments of `meter` from now on, until the returned
/// registration is dropped.
pub(crate) fn register(meter: &Meter) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    bridge()
        .instruments
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, Arc::new(Instruments::new(meter))));
    Registration(id)
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(bridge) = BRIDGE.get() {
            bridge
                .instruments
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(id, _)| *id != self.0);
        }
    }
}
