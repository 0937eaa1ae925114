//! Parsing: what `#[workflow]` was given, split into the parts `valid` checks (see `ast`).
//! Our attributes (`#[agent]`, a repeated `#[workflow]`) are removed from the item here, so
//! the item can be emitted as written even when a check fails.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;

use crate::ast::{Field, WorkflowImpl, WorkflowStruct};
use crate::attr;
use crate::ctxt::Ctxt;

/// Splits the struct into its parts and strips our attributes.
pub fn workflow_struct(
    cx: &mut Ctxt,
    args: TokenStream,
    mut item: syn::ItemStruct,
) -> WorkflowStruct {
    let mut all_args = attr::parse(args, &["state"], cx);
    // A second `#[workflow(..)]` on the struct is merged into the first.
    all_args.extend(attr::take(&mut item.attrs, "workflow", &["state"], cx).unwrap_or_default());
    if !item.generics.params.is_empty() {
        cx.error(
            &item.generics,
            "generic workflows are not supported; use concrete types",
        );
        item.generics = syn::Generics::default();
    }
    if matches!(item.fields, syn::Fields::Unit) {
        item.fields = syn::Fields::Named(syn::parse_quote!({}));
        item.semi_token = None;
    }
    let mut fields = Vec::new();
    if let syn::Fields::Named(named) = &mut item.fields {
        for field in named.named.iter_mut() {
            let span = field
                .attrs
                .iter()
                .find(|a| a.path().is_ident("agent"))
                .map_or_else(|| field.span(), |a| a.span());
            let agent = attr::take(&mut field.attrs, "agent", &[], cx);
            if let Some(ident) = field.ident.clone() {
                fields.push(Field {
                    ident,
                    ty: field.ty.clone(),
                    agent,
                    agent_attr_span: span,
                });
            }
        }
    }
    let doc = attr::doc_comment(&item.attrs);
    WorkflowStruct {
        item,
        args: all_args,
        doc,
        fields,
    }
}

/// Splits `run` out of the impl block; every other item stays as written.
pub fn workflow_impl(args: TokenStream, mut item: syn::ItemImpl) -> WorkflowImpl {
    let position = item
        .items
        .iter()
        .position(|it| matches!(it, syn::ImplItem::Fn(f) if f.sig.ident == "run"));
    let run = match position.map(|i| item.items.remove(i)) {
        Some(syn::ImplItem::Fn(run)) => Some(run),
        _ => None,
    };
    WorkflowImpl { args, item, run }
}

/// Splits a doc comment into the description and the `# Arguments` list
/// (`* `name` - text`, `- `name`: text`).
pub fn split_arguments_section(doc: &str) -> (String, Vec<(String, String)>) {
    let mut description = Vec::new();
    let mut args: Vec<(String, String)> = Vec::new();
    let mut in_args = false;
    for line in doc.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            in_args = trimmed
                .trim_start_matches('#')
                .trim()
                .eq_ignore_ascii_case("arguments");
            if in_args {
                continue;
            }
        }
        if !in_args {
            description.push(line);
            continue;
        }
        let item = trimmed.trim_start_matches(['*', '-']).trim_start();
        if let Some(rest) = item.strip_prefix('`') {
            if let Some((name, text)) = rest.split_once('`') {
                let text = text
                    .trim_start()
                    .trim_start_matches(['-', ':', '–', '—'])
                    .trim();
                args.push((name.to_string(), text.to_string()));
                continue;
            }
        }
        if let Some(last) = args.last_mut() {
            if !trimmed.is_empty() {
                last.1.push(' ');
                last.1.push_str(trimmed);
            }
        }
    }
    (description.join("\n").trim().to_string(), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_section_is_split_from_the_description() {
        let doc = "Current weather.\n\nUse it for forecasts.\n\n# Arguments\n* `city` - The city\n  name.\n- `unit`: Celsius or Fahrenheit.";
        let (description, args) = split_arguments_section(doc);
        assert_eq!(description, "Current weather.\n\nUse it for forecasts.");
        assert_eq!(args[0], ("city".to_string(), "The city name.".to_string()));
        assert_eq!(
            args[1],
            ("unit".to_string(), "Celsius or Fahrenheit.".to_string())
        );
    }
}
