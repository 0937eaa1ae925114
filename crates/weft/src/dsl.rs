//! The `#[workflow]` DSL, documented where users find it.

/// Turns a struct and its `impl` block into a stateful, persisted, streaming workflow.
///
/// Put `#[workflow]` on the struct **and** on its `impl` (like PyO3's `#[pyclass]` and
/// `#[pymethods]`). The body of `run` is a bare `try_stream! { … }` (or `stream! { … }`) block:
/// Rust does not allow `yield` in a plain function, so the block is the generator, and the
/// macro boxes it into the `RunStream<'_>` that `run` declares.
///
/// ```
/// use weft::prelude::*;
///
/// /// Answers questions, and remembers every answer it gave.
/// #[workflow]
/// pub struct CacheWorkflow {
///     #[agent(model = "offline:echo", instructions = ["Answer briefly."])]
///     agent: Agent,
/// }
///
/// #[workflow]
/// impl CacheWorkflow {
///     fn run(&mut self, message: String) -> RunStream<'_> {
///         try_stream! {
///             if let Some(hit) = self.session_state.get::<String>(&message) {
///                 yield RunResponse::text(hit);
///                 return;
///             }
///             for await chunk in self.agent.run_stream(&message) {
///                 yield chunk?;
///             }
///             let answer = self.agent.last_response().content_text().to_string();
///             self.session_state.insert(&message, answer)?;
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> weft::Result<()> {
/// let mut wf = CacheWorkflow::builder().session_id("demo").build()?;
/// let first = wf.run("What is weft?".to_string()).await?;
/// let second = wf.run("What is weft?".to_string()).await?; // from session state
/// assert_eq!(first.content_text(), second.content_text());
/// assert_eq!(second.metrics.model_calls, 0);
/// # Ok(()) }
/// ```
///
/// # On the struct
///
/// `#[workflow(name = "…", description = "…", state = MyState)]`, every key optional:
///
/// | key | meaning | default |
/// |---|---|---|
/// | `name` | the workflow's name, also its `workflow_id` in storage | the struct's name |
/// | `description` | what it does | the struct's doc comment |
/// | `state` | the type of `session_state`: `Serialize + DeserializeOwned + Default` | [`SessionState`](crate::SessionState), a JSON map with `get::<T>`, `insert`, `remove`, `clear` |
///
/// Fields marked `#[agent(…)]` must have type [`Agent`](crate::Agent); each instance builds its
/// own, so nothing mutable is shared between instances or sessions:
///
/// | key | value | becomes |
/// |---|---|---|
/// | `model` | a spec `"openai:gpt-4o"` (provider checked at compile time: `openai`, `anthropic`, `ollama`, `offline`) or any `IntoModel` expression | `.model(..)`; without it, [`model_from_env()`](crate::model_from_env) |
/// | `name` | string | `.name(..)`; default: the field's name (names must be unique) |
/// | `description` | string | `.description(..)` |
/// | `instructions` | list of string literals | `.instructions([..])` |
/// | `expected_output` | string | `.expected_output(..)` |
/// | `tools` | list of expressions, each a [`Tool`](crate::Tool) | `.tool(..)` for each |
/// | `markdown` | bool (a bare `markdown` means `true`) | `.markdown(..)` |
/// | `retries` | integer | `.retries(..)` |
/// | `tool_call_limit` | integer: the most tool calls of one run | `.tool_call_limit(..)` |
/// | `max_turns` | integer: the most model turns of one run (default 10) | `.max_turns(..)` |
/// | `tool_timeout` | a `Duration`: the longest one tool call may take (default 60 s) | `.tool_timeout(..)` |
/// | `with` | a `fn() -> Agent`, for anything else; not combined with other keys | the agent itself |
///
/// Other fields are plain: each gets a builder setter, and falls back to `Default` when the
/// type has one (`build()` reports a missing value otherwise). Plain fields are built first,
/// so `#[agent]` keys can use them by name: configure an agent's tools or model through the
/// builder.
///
/// ```
/// use weft::prelude::*;
///
/// /// Writes in the language it is built with.
/// #[workflow]
/// pub struct Writer {
///     #[agent(model = "offline:echo", description = format!("You write in {language}."))]
///     agent: Agent,
///     /// The language to write in.
///     pub language: String,
/// }
///
/// let writer = Writer::builder().language("French".to_string()).build()?;
/// assert!(writer.agent.system_message().unwrap().contains("You write in French."));
/// # Ok::<(), weft::Error>(())
/// ```
///
/// The same way, `tools = [search.clone()]` gives an agent a tool held in a plain field
/// (`pub search: DuckDuckGo`), which the builder can configure (see the research example).
///
/// **Injected fields**: `session_id: String`, `user_id: Option<String>`,
/// `run_id: Option<String>`, `session_state: State`, `storage: StorageRef`.
///
/// **Generated**: `MyWorkflow::builder()` returning `MyWorkflowBuilder` with `session_id`
/// (default: a UUID v4), `user_id`, `storage` (default: private in-memory), `session_state`
/// (the initial state), a setter per field (for agents: replace the declared one) and
/// `build() -> weft::Result<MyWorkflow>`; session methods (`load_session`, `new_session`,
/// `rename_session`, `delete_session`, `sessions`, `runs`, `interrupted_runs`); `ctx()`, the
/// [`RunContext`](crate::RunContext) of the run in progress (journaled steps, see below); and
/// `impl WorkflowDefinition`, whose `agents()` lists the agent fields so that a run's metrics
/// count every model call they make, yielded or not, and their calls are journaled.
///
/// # On the impl
///
/// The impl must have `fn run(&mut self, input: I) -> RunStream<'_>` with exactly one input
/// `I: Serialize + DeserializeOwned` and a body that is one `try_stream!`/`stream!` block.
/// Inside it, `for await x in stream { … }` forwards another stream, `?` ends the run with an
/// error, and a bare `return;` ends it early. With `stream!` (no `?`), yield
/// `Ok(RunResponse::…)` items and `Err(error)` to end the run with an error. Other methods in
/// the impl are kept as written.
///
/// **Generated**: `impl Workflow` and inherent methods (no trait import needed):
/// - `run_stream(&mut self, input) -> RunStream<'_>`: reads the session from storage,
///   yields `WorkflowStarted`, everything `run` yields (stamped with this run's `run_id`,
///   `session_id` and `workflow_id`), then `WorkflowCompleted` with the whole answer; or a
///   `RunError` item followed by the error. Every item is appended to the run's event log,
///   with the next `seq` (1, 2, 3…), before the stream yields it. A run record (input,
///   status, content, `last_seq`, the state the run started with, metrics, timestamps) is
///   written when the run starts and when it ends.
/// - `run(&mut self, input) -> Result<RunResponse>`: the same, collected: concatenated text,
///   tools and metrics.
/// - `run_json(&mut self, serde_json::Value) -> RunStream<'_>`: input from JSON; input that does
///   not fit is a `RunError` item and `Error::InvalidInput { path, .. }` naming the field.
/// - `resume(&mut self, run_id) -> RunStream<'_>`: takes up a run left `interrupted` by a
///   process that died (see Durable runs below).
/// - `start(self, input) -> RunHandle` and `start_resume(self, run_id).await ->
///   Result<RunHandle>`: the same in the background, followed through a
///   [`RunHandle`](crate::RunHandle).
///
/// State is saved when the run completes, fails, or its stream is dropped midway: nothing the
/// run did before its last `yield` is lost. A stored session's state wins over the builder's
/// initial state, which only fills in keys the stored one lacks. Edits made to `session_state`
/// between runs are merged three-way onto a newer stored version when the next run starts (the
/// same key changed on both sides is `Error::Conflict` naming the keys).
///
/// # Durable runs
///
/// Kill the process anywhere, start it again, resume: the run finishes with the same result,
/// without repeating a completed model call, tool call or step, and without a client seeing
/// a token twice.
///
/// - **Event log**: every item of a run gets a gapless `seq` and is stored before anyone sees
///   it, its `seq` covered by a durable reservation: a crash that loses items a client got
///   (sled's default `EveryStep` does not flush every item) never gives their `seq`s to other
///   items — the resumed run continues above them, first withdrawing the lost text with a
///   `ContentDiscarded`, so the log's `seq`s jump once across that crash.
///   [`RunHandle::events(after_seq)`](crate::RunHandle::events) replays the stored items
///   after a cursor, then follows the live ones: a client that lost its connection picks up
///   with the last `seq` it has.
/// - **Journal**: every model call and tool call the `#[agent]` fields (and their clones, in
///   spawned tasks too) make during a run is journaled when it completes, under a key that
///   does not depend on task scheduling; `self.ctx().step("name", async { … })` journals the
///   output of your own side effects (it must be `Serialize + Deserialize`: anything else is
///   a compile error naming the type).
/// - **Resume**: a run in flight when its process died is `interrupted` when the store opens
///   again; `interrupted_runs()` lists them and `resume(run_id)` re-enters `run` with the
///   run's input and the session state it started with: journaled work returns at once,
///   items already logged are not logged or yielded again, new work runs live. Text a model
///   call had streamed when the crash cut it short is withdrawn with one
///   `ContentDiscarded {"from_seq": N}` item; [`durable::answer`](crate::durable::answer) is
///   the client rule (concatenate `RunContent` deltas by `seq`, drop discarded ranges).
///
/// ```
/// use weft::prelude::*;
///
/// /// Sends a note once per run, however often the run is resumed.
/// #[workflow]
/// pub struct Notify {
///     #[agent(model = "offline:echo")]
///     writer: Agent,
/// }
///
/// #[workflow]
/// impl Notify {
///     fn run(&mut self, to: String) -> RunStream<'_> {
///         try_stream! {
///             for await chunk in self.writer.run_stream(format!("A note for {to}")) {
///                 yield chunk?; // journaled: a resumed run replays it without a model call
///             }
///             let note = self.writer.last_response().content_text().to_string();
///             let ctx = self.ctx();
///             let id: u64 = ctx.step("send", async move { note.len() as u64 }).await?;
///             self.session_state.insert("sent", id)?;
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> weft::Result<()> {
/// let storage = MemoryStorage::new();
/// // After a restart: take up what the last process left unfinished.
/// let mut wf = Notify::builder().storage(storage.clone()).build()?;
/// for run in wf.interrupted_runs().await? {
///     let mut events = wf.resume(&run.run_id);
///     while let Some(item) = events.next().await {
///         item?;
///     }
/// }
/// // A run in the background, followed by a client from the first item.
/// let handle = Notify::builder().storage(storage).build()?.start("Ada".to_string());
/// let mut events = handle.events(0);
/// let mut seen = Vec::new();
/// while let Some(item) = events.next().await {
///     seen.push(item?);
/// }
/// let record = handle.wait().await?;
/// assert_eq!(weft::durable::answer(&seen), record.content);
/// # Ok(()) }
/// ```
///
/// # Expansion, in short
///
/// ```text
/// #[workflow] struct CacheWorkflow { #[agent(..)] agent: Agent }
///   => struct CacheWorkflow { agent: Agent, session_id, user_id, run_id, session_state, storage, .. }
///      struct CacheWorkflowBuilder { .. }   impl CacheWorkflow { fn builder() }
///      impl WorkflowDefinition for CacheWorkflow { type State = SessionState; .. }
/// #[workflow] impl CacheWorkflow { fn run(&mut self, message: String) -> RunStream<'_> { try_stream!{..} } }
///   => impl CacheWorkflow { fn __weft_run(..) -> RunStream<'_> { Box::pin(try_stream!{..}) }
///                           fn run_stream(..)  async fn run(..)  fn run_json(..)
///                           fn resume(..)  fn start(..)  async fn start_resume(..) }
///      impl Workflow for CacheWorkflow { type Input = String; fn body(..) }
/// ```
///
/// # Compile-time checks
///
/// Each is one error at the mistake: an unknown key (with the valid ones), an unknown model
/// provider (with the known ones), `#[agent]` on a field that is not an `Agent`, two agents
/// with one name, `#[workflow]` on an enum, union or tuple struct, an impl without `run`,
/// `run` without `&mut self` or with more than one input, a state or input type missing a
/// trait (the error points at the type), and non-literal `instructions`. Also: a key given
/// twice, `run` that is `async`, generic, takes no input or returns something else than
/// `RunStream<'_>`, arguments or a trait on the impl's `#[workflow]`, a generic struct, and
/// fields named like an injected field, `build`, or `__weft…`.
pub use weft_macros::workflow;

/// Makes a [`Tool`](crate::Tool) from a documented function, or a toolkit from an impl block.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weft::prelude::*;
///
/// #[derive(Deserialize, schemars::JsonSchema)]
/// pub enum Unit { Celsius, Fahrenheit }
///
/// #[derive(Serialize)]
/// pub struct Weather { pub city: String, pub degrees: f64 }
///
/// /// Current weather in a city.
/// ///
/// /// # Arguments
/// /// * `city` - The city, e.g. "Paris".
/// /// * `unit` - Celsius unless given.
/// #[tool]
/// async fn get_weather(city: String, unit: Option<Unit>) -> Result<Weather, String> {
///     let degrees = match unit { Some(Unit::Fahrenheit) => 68.0, _ => 20.0 };
///     Ok(Weather { city, degrees })
/// }
///
/// let tool = GetWeather; // the generated unit struct: `get_weather` in PascalCase
/// assert_eq!(tool.name(), "get_weather");
/// assert_eq!(tool.parameters()["required"], serde_json::json!(["city"]));
/// let agent = Agent::builder().model(Offline::default()).tools([GetWeather]).build()?;
/// # Ok::<(), weft::Error>(())
/// ```
///
/// - **Name**: the function's (override: `#[tool(name = "weather")]`). **Description**: the
///   doc comment, without its `# Arguments` section, whose items (`* `name` - text` or
///   `- `name`: text`) describe the parameters.
/// - **Schema** from the argument types via schemars: integers `integer`, floats `number`,
///   unit enums `enum`, `Option<T>` not required, structs nested. Argument types need
///   `Deserialize` and `schemars::JsonSchema`.
/// - **Arguments** are deserialised with serde; a mismatch goes back to the model as an error
///   result naming the argument.
/// - **Return** anything `Serialize` (a string is sent as text, anything else as JSON), or
///   `Result<T, E: Display>` whose `Err` goes back to the model as an error result.
/// - **Timeout**: `#[tool(timeout_secs = 30)]` gives the tool its own time limit (its
///   [`Tool::timeout`](crate::Tool::timeout)), over the agent's `tool_timeout`; a call that
///   runs longer goes back to the model as an error result. A whole number of seconds, at
///   least 1; combine with a name as `#[tool(name = "weather", timeout_secs = 30)]`.
/// - **Toolkits**: `#[tool]` on an impl block with `#[tool]` on its tool methods (taking
///   `&self`, or no receiver): the type implements [`IntoTools`](crate::IntoTools), so
///   `Agent::builder().tool(MyToolkit::new())` adds all its tools, sharing one toolkit value.
///
/// A `#[tool]` function cannot be generic or take `self`; it must have a doc comment.
pub use weft_macros::tool;
