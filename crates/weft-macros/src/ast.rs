//! What `#[workflow]` was given, as data: the struct with its agent and plain fields, or the
//! impl block with its `run`, or a `#[tool]` function. Built by `parse`; checked by `valid`,
//! which produces the specs.

use crate::attr::Arg;

/// The workflow struct, our attributes removed.
pub struct WorkflowStruct {
    /// The struct as the user wrote it, without `#[agent]` attributes.
    pub item: syn::ItemStruct,
    /// `#[workflow(..)]` arguments given on the struct.
    pub args: Vec<Arg>,
    /// The doc comment.
    pub doc: Option<String>,
    /// Every named field, in order.
    pub fields: Vec<Field>,
}

/// A field of the workflow struct.
pub struct Field {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    /// `Some` for `#[agent(..)]` fields.
    pub agent: Option<Vec<Arg>>,
    /// The `#[agent]` attribute itself, for error spans.
    pub agent_attr_span: proc_macro2::Span,
}

/// The workflow impl block, `run` taken out.
pub struct WorkflowImpl {
    /// Arguments given to `#[workflow(..)]` on the impl (there should be none).
    pub args: proc_macro2::TokenStream,
    /// The impl block without `run`.
    pub item: syn::ItemImpl,
    /// `run`, if the block has one.
    pub run: Option<syn::ImplItemFn>,
}

/// The checked meaning of `#[workflow(..)]` on the struct.
pub struct WorkflowSpec {
    pub name: String,
    pub description: Option<String>,
    pub state: Option<syn::Type>,
}

/// The checked meaning of one `#[agent(..)]`.
#[derive(Default)]
pub struct AgentSpec {
    pub name: Option<syn::Expr>,
    pub model: Option<syn::Expr>,
    pub description: Option<syn::Expr>,
    pub instructions: Vec<syn::LitStr>,
    pub expected_output: Option<syn::Expr>,
    pub tools: Vec<syn::Expr>,
    pub markdown: Option<syn::Expr>,
    pub retries: Option<syn::Expr>,
    pub tool_call_limit: Option<syn::Expr>,
    pub max_turns: Option<syn::Expr>,
    pub tool_timeout: Option<syn::Expr>,
    pub with: Option<syn::Expr>,
    /// False if the attribute had an error: the field is then built by a stand-in that fails
    /// at run time, so the one compile error is the only one.
    pub valid: bool,
}

/// The workflow impl block's `run`, checked.
pub struct RunFn {
    /// Attributes on `run` (docs, lints).
    pub attrs: Vec<syn::Attribute>,
    /// The input pattern as written (`message` in `message: String`).
    pub input_pat: syn::Pat,
    /// The input type.
    pub input_ty: syn::Type,
    /// The `try_stream! { … }` / `stream! { … }` invocation.
    pub body: syn::Macro,
}

/// What `#[tool(..)]` says: `name = "…"`, `timeout_secs = N`, `confirm`.
#[derive(Default)]
pub struct ToolOptions {
    pub name: Option<String>,
    pub timeout_secs: Option<u64>,
    pub confirm: bool,
}

/// A `#[tool]` function, checked.
pub struct ToolFn {
    pub ident: syn::Ident,
    pub tool_name: String,
    /// `timeout_secs`: the tool's own timeout, over the agent's `tool_timeout`.
    pub timeout_secs: Option<u64>,
    /// `confirm`: every call waits for a person's approval.
    pub confirm: bool,
    pub description: String,
    pub receiver: Receiver,
    pub args: Vec<ToolArg>,
    pub is_async: bool,
    pub returns_result: bool,
}

/// How a tool function takes its toolkit.
#[derive(PartialEq)]
pub enum Receiver {
    None,
    Shared,
}

/// One argument of a tool function: a parameter of the tool.
pub struct ToolArg {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    pub doc: Option<String>,
}
