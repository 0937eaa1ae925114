//! Attribute parsing: `#[workflow(key = value, …)]` and `#[agent(key = value, …)]` into
//! key/value pairs with their spans. What the keys mean is checked in `valid`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

use crate::ctxt::Ctxt;

/// The keys `#[workflow(..)]` accepts.
pub const WORKFLOW_KEYS: &[&str] = &["name", "description", "state"];
/// The keys `#[agent(..)]` accepts.
pub const AGENT_KEYS: &[&str] = &[
    "model",
    "name",
    "description",
    "instructions",
    "expected_output",
    "tools",
    "markdown",
    "retries",
    "tool_call_limit",
    "max_turns",
    "tool_timeout",
    "with",
];

/// One `key = value` (or a bare `key`, meaning `key = true`).
#[derive(Clone)]
pub struct Arg {
    pub key: syn::Ident,
    pub value: ArgValue,
}

/// A value: most keys take an expression, `state` takes a type.
#[derive(Clone)]
pub enum ArgValue {
    Expr(syn::Expr),
    Type(syn::Type),
    Flag,
}

/// Parses the arguments of an attribute. `type_keys` take a type instead of an expression.
pub fn parse(tokens: TokenStream, type_keys: &[&str], cx: &mut Ctxt) -> Vec<Arg> {
    let mut args = Vec::new();
    let parser = syn::meta::parser(|meta: ParseNestedMeta| {
        let Some(key) = meta.path.get_ident().cloned() else {
            return Err(meta.error("expected a key such as `name = \"…\"`"));
        };
        let value = if meta.input.peek(syn::Token![=]) {
            let stream = meta.value()?;
            if type_keys.contains(&key.to_string().as_str()) {
                ArgValue::Type(stream.parse()?)
            } else {
                ArgValue::Expr(stream.parse()?)
            }
        } else {
            ArgValue::Flag
        };
        args.push(Arg { key, value });
        Ok(())
    });
    if let Err(error) = parser.parse2(tokens) {
        cx.syn(error);
    }
    args
}

/// The arguments of `#[name(..)]` attributes among `attrs`, which are removed from `attrs`.
pub fn take(
    attrs: &mut Vec<syn::Attribute>,
    name: &str,
    type_keys: &[&str],
    cx: &mut Ctxt,
) -> Option<Vec<Arg>> {
    let mut found: Option<Vec<Arg>> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident(name) {
            kept.push(attr);
            continue;
        }
        let args = match &attr.meta {
            syn::Meta::Path(_) => Vec::new(),
            syn::Meta::List(list) => parse(list.tokens.clone(), type_keys, cx),
            syn::Meta::NameValue(_) => {
                cx.error(&attr, format!("write `#[{name}(key = value, …)]`"));
                Vec::new()
            }
        };
        if found.is_some() {
            cx.error(
                &attr,
                format!("`#[{name}]` appears twice; merge the two into one"),
            );
        }
        found.get_or_insert_with(Vec::new).extend(args);
    }
    *attrs = kept;
    found
}

/// The doc comment of an item, lines trimmed and joined.
pub fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value().trim().to_string()),
            _ => None,
        })
        .collect();
    let text = lines.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}
