//! Checks: every rule of the `#[workflow]` DSL, each error at the span of the mistake and
//! saying what to write instead. Nothing here stops at the first error.

use std::collections::HashMap;

use quote::ToTokens;
use syn::spanned::Spanned;

use crate::ast::{AgentSpec, Field, RunFn, WorkflowImpl, WorkflowSpec};
use crate::attr::{Arg, ArgValue, AGENT_KEYS, WORKFLOW_KEYS};
use crate::ctxt::{did_you_mean, Ctxt};

/// Model providers a spec string may name (keep in step with `weft::providers::KNOWN_PROVIDERS`;
/// a test compares them).
pub const KNOWN_PROVIDERS: &[&str] = &["openai", "anthropic", "ollama", "offline"];

/// Fields `#[workflow]` adds to the struct; a user field may not take these names.
pub const INJECTED_FIELDS: &[&str] = &[
    "session_id",
    "user_id",
    "run_id",
    "session_state",
    "storage",
];

fn unknown_key(cx: &mut Ctxt, key: &syn::Ident, attribute: &str, known: &[&str]) {
    let word = key.to_string();
    let hint = did_you_mean(&word, known)
        .map(|near| format!(" (did you mean `{near}`?)"))
        .unwrap_or_default();
    cx.error(
        key,
        format!(
            "unknown key `{word}` in `#[{attribute}]`{hint}; expected one of: {}",
            known.join(", ")
        ),
    );
}

fn expr(cx: &mut Ctxt, arg: Arg) -> Option<syn::Expr> {
    match arg.value {
        ArgValue::Expr(expr) => Some(expr),
        ArgValue::Type(ty) => {
            cx.error(ty, format!("`{}` takes a value, not a type", arg.key));
            None
        }
        ArgValue::Flag => {
            cx.error(
                &arg.key,
                format!("`{}` needs a value: `{} = …`", arg.key, arg.key),
            );
            None
        }
    }
}

fn string_literal(cx: &mut Ctxt, arg: Arg) -> Option<syn::LitStr> {
    let key = arg.key.clone();
    match expr(cx, arg)? {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) => Some(text),
        other => {
            cx.error(
                other,
                format!("`{key}` must be a string literal: `{key} = \"…\"`"),
            );
            None
        }
    }
}

/// Checks `#[workflow(name = "..", description = "..", state = T)]`.
pub fn workflow_spec(
    cx: &mut Ctxt,
    ident: &syn::Ident,
    args: Vec<Arg>,
    doc: Option<String>,
) -> WorkflowSpec {
    let mut spec = WorkflowSpec {
        name: ident.to_string(),
        description: doc,
        state: None,
    };
    let mut seen: Vec<String> = Vec::new();
    for arg in args {
        let key = arg.key.to_string();
        if seen.contains(&key) {
            cx.error(&arg.key, format!("`{key}` is given twice in `#[workflow]`"));
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "name" => {
                if let Some(name) = string_literal(cx, arg) {
                    spec.name = name.value();
                }
            }
            "description" => {
                if let Some(text) = string_literal(cx, arg) {
                    spec.description = Some(text.value());
                }
            }
            "state" => match arg.value {
                ArgValue::Type(ty) => spec.state = Some(ty),
                _ => cx.error(&arg.key, "`state` needs a type: `state = MyState`"),
            },
            _ => unknown_key(cx, &arg.key, "workflow", WORKFLOW_KEYS),
        }
    }
    spec
}

/// Checks one `#[agent(..)]`.
pub fn agent_spec(cx: &mut Ctxt, field: &Field, args: Vec<Arg>) -> AgentSpec {
    let errors_before = cx.len();
    let mut spec = AgentSpec::default();
    let mut seen: Vec<String> = Vec::new();
    let mut with_key = None;
    for arg in args {
        let key = arg.key.to_string();
        if seen.contains(&key) {
            cx.error(&arg.key, format!("`{key}` is given twice in `#[agent]`"));
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "model" => {
                if let Some(model) = expr(cx, arg) {
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(spec_string),
                        ..
                    }) = &model
                    {
                        model_spec(cx, spec_string);
                    }
                    spec.model = Some(model);
                }
            }
            "name" => spec.name = expr(cx, arg),
            "description" => spec.description = expr(cx, arg),
            "expected_output" => spec.expected_output = expr(cx, arg),
            "instructions" => spec.instructions = instructions(cx, arg),
            "tools" => {
                if let Some(tools) = expr(cx, arg) {
                    match tools {
                        syn::Expr::Array(list) => spec.tools = list.elems.into_iter().collect(),
                        other => cx.error(
                            other,
                            "`tools` must be a list: `tools = [search, fetch_page]`",
                        ),
                    }
                }
            }
            "markdown" => {
                spec.markdown = match arg.value {
                    ArgValue::Flag => Some(syn::parse_quote!(true)),
                    _ => expr(cx, arg),
                }
            }
            "retries" => spec.retries = expr(cx, arg),
            "tool_call_limit" => spec.tool_call_limit = expr(cx, arg),
            "max_turns" => spec.max_turns = expr(cx, arg),
            "tool_timeout" => spec.tool_timeout = expr(cx, arg),
            "with" => {
                with_key = Some(arg.key.clone());
                spec.with = expr(cx, arg);
            }
            _ => unknown_key(cx, &arg.key, "agent", AGENT_KEYS),
        }
    }
    if let Some(with_key) = with_key {
        let others: Vec<&String> = seen.iter().filter(|key| key.as_str() != "with").collect();
        if !others.is_empty() {
            let others: Vec<String> = others.iter().map(|k| format!("`{k}`")).collect();
            cx.error(
                with_key,
                format!(
                    "`with` builds the whole agent, so it cannot be combined with {}; set those in the function `with` names",
                    others.join(", ")
                ),
            );
        }
    }
    agent_type(cx, &field.ty);
    spec.valid = cx.len() == errors_before;
    spec
}

fn instructions(cx: &mut Ctxt, arg: Arg) -> Vec<syn::LitStr> {
    let message =
        "`instructions` must be a list of string literals: `instructions = [\"…\", \"…\"]`";
    let Some(value) = expr(cx, arg) else {
        return Vec::new();
    };
    let elements: Vec<syn::Expr> = match value {
        syn::Expr::Array(list) => list.elems.into_iter().collect(),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(one),
            ..
        }) => return vec![one],
        other => {
            cx.error(other, message);
            return Vec::new();
        }
    };
    let mut literals = Vec::new();
    for element in elements {
        match element {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) => literals.push(text),
            other => cx.error(other, message),
        }
    }
    literals
}

/// A model spec literal must be `provider:id` with a known provider.
fn model_spec(cx: &mut Ctxt, literal: &syn::LitStr) {
    let value = literal.value();
    match value.split_once(':') {
        None => cx.error(
            literal,
            format!(
                "model spec `{value}` must look like `provider:model-id`, e.g. `openai:gpt-4o`; providers: {}",
                KNOWN_PROVIDERS.join(", ")
            ),
        ),
        Some((provider, id)) => {
            if !KNOWN_PROVIDERS.contains(&provider) {
                cx.error(
                    literal,
                    format!(
                        "unknown provider `{provider}` in model spec `{value}`; known providers: {}",
                        KNOWN_PROVIDERS.join(", ")
                    ),
                );
            } else if id.trim().is_empty() {
                cx.error(literal, format!("model spec `{value}` has no model id after `:`"));
            }
        }
    }
}

/// An `#[agent]` field's type must be `Agent`.
fn agent_type(cx: &mut Ctxt, ty: &syn::Type) {
    let is_agent = match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Agent" && segment.arguments.is_none()),
        _ => false,
    };
    if !is_agent {
        cx.error(
            ty,
            format!(
                "`#[agent]` fields must have type `Agent`, found `{}`; remove `#[agent]` for a plain field",
                ty.to_token_stream()
            ),
        );
    }
}

/// The name an agent will have: its `name` literal, else the field name. `None` when the name
/// is an expression (unknown until run time).
pub fn agent_name(field: &Field, spec: &AgentSpec) -> Option<(String, proc_macro2::Span)> {
    match &spec.name {
        None => Some((field.ident.to_string(), field.ident.span())),
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(name),
            ..
        })) => Some((name.value(), name.span())),
        Some(_) => None,
    }
}

/// Two agents may not share a name.
pub fn unique_agent_names(cx: &mut Ctxt, agents: &[(&Field, &AgentSpec)]) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (field, spec) in agents {
        let Some((name, span)) = agent_name(field, spec) else {
            continue;
        };
        if let Some(first) = seen.get(&name) {
            cx.syn(syn::Error::new(
                span,
                format!(
                    "duplicate agent name `{name}`: field `{first}` already uses it; give one of them another `name = \"…\"`"
                ),
            ));
        } else {
            seen.insert(name, field.ident.to_string());
        }
    }
}

/// User fields may not take the names of injected fields, nor names the generated builder
/// uses itself. Returns the fields that do.
pub fn no_injected_names(cx: &mut Ctxt, fields: &[Field]) -> Vec<syn::Ident> {
    let mut reserved = Vec::new();
    for field in fields {
        let name = field.ident.to_string();
        let problem = if INJECTED_FIELDS.contains(&name.as_str()) {
            format!(
                "`{name}` is a field `#[workflow]` adds itself ({}); rename this field",
                INJECTED_FIELDS.join(", ")
            )
        } else if name == "build" {
            "a field named `build` would clash with the builder's `build()`; rename this field"
                .to_string()
        } else if name.starts_with("__weft") {
            "names starting with `__weft` are reserved for `#[workflow]`; rename this field"
                .to_string()
        } else {
            continue;
        };
        cx.error(&field.ident, problem);
        reserved.push(field.ident.clone());
    }
    reserved
}

/// Checks the impl block around `run`; `false` if it is a trait impl, which is emitted as
/// written (with the error) rather than expanded.
pub fn workflow_impl(cx: &mut Ctxt, parsed: &WorkflowImpl) -> bool {
    let item = &parsed.item;
    if !parsed.args.is_empty() {
        cx.error(
            &parsed.args,
            "`#[workflow]` on an impl block takes no arguments; put them on the struct",
        );
    }
    if let Some((_, path, _)) = &item.trait_ {
        cx.error(path, "`#[workflow]` goes on the workflow's inherent impl (`impl MyWorkflow { fn run(..) }`), not on a trait impl");
        return false;
    }
    if !item.generics.params.is_empty() {
        cx.error(
            &item.generics,
            "generic workflows are not supported; use concrete types",
        );
    }
    if parsed.run.is_none() {
        cx.error(
            &item.self_ty,
            "this `#[workflow]` impl has no `run`; add `fn run(&mut self, input: String) -> RunStream<'_> { try_stream! { … } }`",
        );
    }
    true
}

/// Checks `run`'s signature and body; `None` if it cannot be used.
pub fn run_fn(cx: &mut Ctxt, run: &syn::ImplItemFn) -> Option<RunFn> {
    let before = cx.len();
    let sig = &run.sig;
    if let Some(asyncness) = &sig.asyncness {
        cx.error(asyncness, "`run` must not be `async`: its body is a `try_stream! { … }` block, which is already asynchronous");
    }
    if !sig.generics.params.is_empty() {
        cx.error(&sig.generics, "`run` cannot be generic");
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(syn::FnArg::Receiver(receiver)) => {
            if receiver.reference.is_none() || receiver.mutability.is_none() {
                cx.error(
                    receiver,
                    "`run` must take `&mut self`: it updates session state and agents",
                );
            }
        }
        _ => cx.error(
            &sig.ident,
            "`run` must take `&mut self` as its first parameter",
        ),
    }
    let typed: Vec<&syn::PatType> = inputs
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => Some(typed),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    if typed.is_empty() {
        cx.error(
            &sig.ident,
            "`run` must take one input after `&mut self`, e.g. `fn run(&mut self, message: String)`",
        );
    }
    for extra in typed.iter().skip(1) {
        cx.error(
            extra,
            "`run` takes exactly one input; put several values in a struct (or a tuple) that derives Serialize and Deserialize",
        );
    }
    let returns_run_stream = match &sig.output {
        syn::ReturnType::Type(_, ty) => match ty.as_ref() {
            syn::Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "RunStream"),
            _ => false,
        },
        syn::ReturnType::Default => false,
    };
    if !returns_run_stream {
        cx.error(
            if matches!(sig.output, syn::ReturnType::Default) {
                sig.ident.to_token_stream()
            } else {
                sig.output.to_token_stream()
            },
            "`run` must return `RunStream<'_>`",
        );
    }
    let body = stream_body(cx, &run.block);
    if cx.len() != before {
        return None;
    }
    let input = typed.first()?;
    Some(RunFn {
        attrs: run.attrs.clone(),
        input_pat: (*input.pat).clone(),
        input_ty: (*input.ty).clone(),
        body: body?,
    })
}

/// The body of `run` must be exactly one `try_stream!`/`stream!` invocation.
fn stream_body(cx: &mut Ctxt, block: &syn::Block) -> Option<syn::Macro> {
    let message = "the body of `run` must be a single `try_stream! { … }` (or `stream! { … }`) block; the macro boxes it into the `RunStream`";
    let found = match block.stmts.as_slice() {
        [syn::Stmt::Macro(stmt)] => Some(stmt.mac.clone()),
        [syn::Stmt::Expr(syn::Expr::Macro(expr), None)] => Some(expr.mac.clone()),
        _ => None,
    };
    match found {
        Some(mac)
            if mac
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "try_stream" || s.ident == "stream") =>
        {
            Some(mac)
        }
        Some(mac) => {
            cx.error(&mac.path, message);
            None
        }
        None => {
            cx.syn(syn::Error::new(block.span(), message));
            None
        }
    }
}
