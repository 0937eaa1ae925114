//! `#[tool]`: a `Tool` from a documented function, or every `#[tool]` method of a toolkit impl.
//! The function is checked in `valid::tool`; this module generates the code.
//!
//! The parameter schema comes from a hidden struct with one field per argument, deriving
//! `serde::Deserialize` and `schemars::JsonSchema`: so the schema and the argument parsing
//! always agree, and per-argument descriptions (from the doc comment's `# Arguments` list)
//! become field docs.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Receiver, ToolFn};
use crate::attr;
use crate::crate_path;
use crate::ctxt::Ctxt;
use crate::fallback;
use crate::valid::tool::{check_fn, tool_options, tool_options_arg};

/// Entry point for `#[tool]` on a fn or an impl block.
pub fn expand(args: TokenStream, item: syn::Item) -> TokenStream {
    let mut cx = Ctxt::default();
    let output = match item {
        syn::Item::Fn(mut function) => {
            let options = tool_options_arg(&mut cx, args);
            let checked = check_fn(&mut cx, &function.sig, &function.attrs, options, false);
            function.attrs.retain(|a| !a.path().is_ident("tool"));
            let generated = match checked {
                Some(tool) => free_fn(&tool, &function.vis),
                // Still emit the struct, so uses of it add no errors to the one above.
                None => fallback::tool_struct(&pascal_case(&function.sig.ident), &function.vis),
            };
            quote!(#function #generated)
        }
        syn::Item::Impl(mut block) => {
            if !args.is_empty() {
                cx.error(
                    &args,
                    "`#[tool]` on an impl block takes no arguments; put `name = ..` on the methods",
                );
            }
            toolkit(&mut cx, &mut block)
        }
        other => {
            cx.error(
                &other,
                "`#[tool]` goes on a documented `fn`/`async fn`, or on an impl block whose tool methods are marked `#[tool]`",
            );
            quote!(#other)
        }
    };
    let errors = cx.to_compile_errors();
    quote!(#errors #output)
}

/// The hidden arguments struct and the `Tool` impl for `tool`, implemented on `target`.
fn tool_impl(
    weft: &TokenStream,
    tool: &ToolFn,
    target: TokenStream,
    call: TokenStream,
) -> TokenStream {
    let weft_path = weft.to_string().replace(' ', "");
    let serde_crate = format!("{weft_path}::__private::serde");
    let schemars_crate = format!("{weft_path}::__private::schemars");
    let args_struct = format_ident!("__WeftArguments_{}", tool.ident);
    let names: Vec<&syn::Ident> = tool.args.iter().map(|a| &a.ident).collect();
    let fields = tool.args.iter().map(|arg| {
        let ident = &arg.ident;
        let ty = &arg.ty;
        let doc = arg.doc.as_ref().map(|d| quote!(#[doc = #d]));
        quote!(#doc #ident: #ty)
    });
    let await_call = if tool.is_async {
        quote!(.await)
    } else {
        quote!()
    };
    let convert = if tool.returns_result {
        quote!(#weft::__private::output_of_result)
    } else {
        quote!(#weft::__private::output_of)
    };
    let tool_name = &tool.tool_name;
    let description = &tool.description;
    let timeout = tool.timeout_secs.map(|secs| {
        quote! {
            fn timeout(&self) -> ::std::option::Option<::std::time::Duration> {
                ::std::option::Option::Some(::std::time::Duration::from_secs(#secs))
            }
        }
    });
    let confirm = tool.confirm.then(|| {
        quote! {
            fn needs_approval(&self) -> bool {
                true
            }
        }
    });
    quote! {
        #[derive(#weft::__private::serde::Deserialize, #weft::__private::schemars::JsonSchema)]
        #[serde(crate = #serde_crate)]
        #[schemars(crate = #schemars_crate)]
        #[allow(non_camel_case_types, dead_code)]
        struct #args_struct { #(#fields,)* }

        impl #weft::Tool for #target {
            fn name(&self) -> &str {
                #tool_name
            }
            fn description(&self) -> &str {
                #description
            }
            fn parameters(&self) -> #weft::__private::serde_json::Value {
                #weft::schema_for::<#args_struct>()
            }
            #timeout
            #confirm
            fn call(
                &self,
                arguments: #weft::__private::serde_json::Value,
            ) -> #weft::__private::futures::future::BoxFuture<'_, ::std::result::Result<#weft::ToolOutput, #weft::ToolError>> {
                ::std::boxed::Box::pin(async move {
                    let #args_struct { #(#names),* } = #weft::__private::parse_arguments(arguments)?;
                    let result = #call(#(#names),*) #await_call;
                    #convert(result)
                })
            }
        }
    }
}

fn pascal_case(ident: &syn::Ident) -> syn::Ident {
    let name: String = ident
        .to_string()
        .trim_start_matches("r#")
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    syn::Ident::new(&name, ident.span())
}

/// `#[tool]` on a free function: a unit struct named in PascalCase implements `Tool`.
fn free_fn(tool: &ToolFn, vis: &syn::Visibility) -> TokenStream {
    let weft = crate_path::weft();
    let fn_ident = &tool.ident;
    let struct_ident = pascal_case(fn_ident);
    let doc = format!(
        "The `{}` tool, calling [`{fn_ident}`]: pass `{struct_ident}` to an agent's `tools`.",
        tool.tool_name
    );
    let implementation = tool_impl(&weft, tool, quote!(#struct_ident), quote!(#fn_ident));
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #struct_ident;

        const _: () = {
            #implementation
        };
    }
}

/// `#[tool]` on an impl block: every `#[tool]` method becomes a tool sharing the toolkit, and
/// the toolkit implements `IntoTools`.
fn toolkit(cx: &mut Ctxt, block: &mut syn::ItemImpl) -> TokenStream {
    let weft = crate_path::weft();
    if block.trait_.is_some() || !block.generics.params.is_empty() {
        cx.error(
            &block.self_ty,
            "`#[tool]` goes on a toolkit's inherent, non-generic impl block",
        );
        return quote!(#block);
    }
    let self_ty = block.self_ty.clone();
    let mut tools = Vec::new();
    for item in &mut block.items {
        let syn::ImplItem::Fn(method) = item else {
            continue;
        };
        let Some(args) = attr::take(&mut method.attrs, "tool", &[], cx) else {
            continue;
        };
        let options = tool_options(cx, args);
        if let Some(tool) = check_fn(cx, &method.sig, &method.attrs, options, true) {
            tools.push(tool);
        }
    }
    if tools.is_empty() && cx.len() == 0 {
        cx.syn(syn::Error::new(
            block.self_ty.span(),
            "this toolkit has no tools: mark its tool methods with `#[tool]`",
        ));
    }
    let mut impls = Vec::new();
    let mut constructors = Vec::new();
    for tool in &tools {
        let wrapper = format_ident!("__WeftTool_{}", tool.ident);
        let method = &tool.ident;
        let call = if tool.receiver == Receiver::Shared {
            quote!(self.0.#method)
        } else {
            quote!(<#self_ty>::#method)
        };
        let implementation = tool_impl(&weft, tool, quote!(#wrapper), call);
        impls.push(quote! {
            #[allow(non_camel_case_types)]
            struct #wrapper(::std::sync::Arc<#self_ty>);
            #implementation
        });
        constructors.push(quote! {
            ::std::sync::Arc::new(#wrapper(::std::sync::Arc::clone(&toolkit))) as ::std::sync::Arc<dyn #weft::Tool>
        });
    }
    let span = Span::call_site();
    let into_tools = quote_spanned! {span=>
        impl #weft::IntoTools for #self_ty {
            fn into_tools(self) -> ::std::vec::Vec<::std::sync::Arc<dyn #weft::Tool>> {
                let toolkit = ::std::sync::Arc::new(self);
                ::std::vec![#(#constructors),*]
            }
        }
    };
    quote! {
        #block
        const _: () = {
            #(#impls)*
            #into_tools
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_names_are_pascal_case() {
        let ident = syn::Ident::new("get_web_page", Span::call_site());
        assert_eq!(pascal_case(&ident).to_string(), "GetWebPage");
    }
}
