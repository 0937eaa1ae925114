//! Checks of `#[tool]` functions: a doc comment (the description), no generics, plain
//! argument names, `&self` only on toolkit methods; every error at its span.

use proc_macro2::TokenStream;

use crate::ast::{Receiver, ToolArg, ToolFn, ToolOptions};
use crate::attr::{self, ArgValue};
use crate::ctxt::Ctxt;
use crate::parse::split_arguments_section;

/// The keys `#[tool(..)]` accepts.
const TOOL_KEYS: &[&str] = &["name", "timeout_secs", "confirm"];

/// The options of `#[tool(..)]` on a free function, from its tokens.
pub fn tool_options_arg(cx: &mut Ctxt, args: TokenStream) -> ToolOptions {
    let args = attr::parse(args, &[], cx);
    tool_options(cx, args)
}

/// The `name = "…"`, `timeout_secs = N` and `confirm` of `#[tool(..)]` arguments, every
/// other key an error.
pub fn tool_options(cx: &mut Ctxt, args: Vec<attr::Arg>) -> ToolOptions {
    let mut options = ToolOptions::default();
    for arg in args {
        match (arg.key.to_string().as_str(), arg.value) {
            (
                "name",
                ArgValue::Expr(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                })),
            ) => options.name = Some(text.value()),
            ("name", _) => cx.error(
                &arg.key,
                "`name` must be a string literal: `#[tool(name = \"search_web\")]`",
            ),
            (
                "timeout_secs",
                ArgValue::Expr(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(int),
                    ..
                })),
            ) => match int.base10_parse::<u64>() {
                Ok(secs) if secs > 0 => options.timeout_secs = Some(secs),
                _ => cx.error(
                    &int,
                    "`timeout_secs` must be at least 1: a tool with no time at all could never finish",
                ),
            },
            ("timeout_secs", _) => cx.error(
                &arg.key,
                "`timeout_secs` must be a whole number of seconds: `#[tool(timeout_secs = 30)]`",
            ),
            ("confirm", ArgValue::Flag) => options.confirm = true,
            ("confirm", _) => cx.error(
                &arg.key,
                "`confirm` takes no value: `#[tool(confirm)]` makes every call wait for approval",
            ),
            (other, _) => cx.error(
                &arg.key,
                format!(
                    "unknown key `{other}` in `#[tool]`; expected one of: {}",
                    TOOL_KEYS.join(", ")
                ),
            ),
        }
    }
    options
}

/// Checks a tool function's signature and doc comment.
pub fn check_fn(
    cx: &mut Ctxt,
    sig: &syn::Signature,
    attrs: &[syn::Attribute],
    options: ToolOptions,
    in_toolkit: bool,
) -> Option<ToolFn> {
    let before = cx.len();
    if !sig.generics.params.is_empty() {
        cx.error(
            &sig.generics,
            "a `#[tool]` function cannot be generic: the model needs one concrete parameter schema",
        );
    }
    let (description, arg_docs) = match attr::doc_comment(attrs) {
        Some(doc) => split_arguments_section(&doc),
        None => {
            cx.error(
                &sig.ident,
                format!(
                    "`#[tool]` needs a doc comment on `{}`: it is the tool's description for the model (document each argument under `# Arguments` as `* `name` - what it is`)",
                    sig.ident
                ),
            );
            (String::new(), Vec::new())
        }
    };
    let mut receiver = Receiver::None;
    let mut args = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(r) => {
                if !in_toolkit {
                    cx.error(r, "`self` only makes sense on a toolkit method: put `#[tool]` on the impl block");
                } else if r.reference.is_none() || r.mutability.is_some() {
                    cx.error(
                        r,
                        "a toolkit tool takes `&self`: the toolkit is shared by calls that run concurrently (use interior mutability for state)",
                    );
                } else {
                    receiver = Receiver::Shared;
                }
            }
            syn::FnArg::Typed(typed) => match typed.pat.as_ref() {
                syn::Pat::Ident(_) if matches!(typed.ty.as_ref(), syn::Type::Reference(_)) => {
                    cx.error(
                        &typed.ty,
                        "tool arguments are owned values deserialised from the model's JSON: use an owned type (`String`, not `&str`)",
                    );
                }
                syn::Pat::Ident(pat) if pat.subpat.is_none() => {
                    let ident = pat.ident.clone();
                    let key = ident.to_string();
                    let key = key.trim_start_matches("r#");
                    let doc = arg_docs.iter().find(|(name, _)| name == key).map(|(_, d)| d.clone());
                    args.push(ToolArg {
                        ident,
                        ty: (*typed.ty).clone(),
                        doc,
                    });
                }
                other => cx.error(other, "tool arguments must be plain names (`city: String`): each becomes a named parameter"),
            },
        }
    }
    if cx.len() != before {
        return None;
    }
    let returns_result = match &sig.output {
        syn::ReturnType::Type(_, ty) => match ty.as_ref() {
            syn::Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        syn::ReturnType::Default => false,
    };
    Some(ToolFn {
        ident: sig.ident.clone(),
        tool_name: options
            .name
            .unwrap_or_else(|| sig.ident.to_string().trim_start_matches("r#").to_string()),
        timeout_secs: options.timeout_secs,
        confirm: options.confirm,
        description,
        receiver,
        args,
        is_async: sig.asyncness.is_some(),
        returns_result,
    })
}
