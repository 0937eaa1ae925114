//! What is emitted when `#[workflow]` is used on the wrong kind of item: the item itself, the
//! error, and a stand-in `WorkflowDefinition` so code that uses the type reports nothing more.
//! The stand-in is never run: the crate does not compile while the error stands.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::crate_path;

const MESSAGE: &str = "`#[workflow]` goes on a struct with named fields and on its `impl` block";

/// `#[workflow]` on an enum, union, tuple struct, fn, …
pub fn wrong_item(item: syn::Item) -> TokenStream {
    let (ident, what, keyword) = match &item {
        syn::Item::Enum(e) => (Some(&e.ident), "an enum", e.enum_token.to_token_stream()),
        syn::Item::Union(u) => (Some(&u.ident), "a union", u.union_token.to_token_stream()),
        _ => (None, "this item", item.to_token_stream()),
    };
    let error =
        syn::Error::new_spanned(keyword, format!("{MESSAGE}, not on {what}")).to_compile_error();
    let stand_in = ident.map(stand_in_definition);
    quote!(#error #item #stand_in)
}

/// `#[workflow]` on a tuple struct.
pub fn tuple_struct(item: syn::ItemStruct) -> TokenStream {
    let error = syn::Error::new_spanned(
        &item.fields,
        format!("{MESSAGE}; this is a tuple struct: name its fields, e.g. `struct {} {{ writer: Agent }}`", item.ident),
    )
    .to_compile_error();
    let stand_in = stand_in_definition(&item.ident);
    quote!(#error #item #stand_in)
}

fn stand_in_definition(ident: &syn::Ident) -> TokenStream {
    let weft = crate_path::weft();
    let name = ident.to_string();
    quote! {
        impl #weft::WorkflowDefinition for #ident {
            type State = #weft::SessionState;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::std::option::Option<&'static str> = ::std::option::Option::None;
            fn context(&mut self) -> #weft::workflow::WorkflowContext<'_, #weft::SessionState> {
                ::std::unreachable!("stand-in for a workflow that failed to compile")
            }
        }
    }
}

/// A `#[tool]` function that failed its checks: its unit struct, implementing `Tool` with a
/// stand-in that is never run (the crate does not compile while the error stands).
pub fn tool_struct(ident: &syn::Ident, vis: &syn::Visibility) -> TokenStream {
    let weft = crate_path::weft();
    let name = ident.to_string();
    quote! {
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;

        impl #weft::Tool for #ident {
            fn name(&self) -> &str {
                #name
            }
            fn description(&self) -> &str {
                ""
            }
            fn parameters(&self) -> #weft::__private::serde_json::Value {
                #weft::__private::serde_json::Value::Null
            }
            fn call(
                &self,
                _arguments: #weft::__private::serde_json::Value,
            ) -> #weft::__private::futures::future::BoxFuture<'_, ::std::result::Result<#weft::ToolOutput, #weft::ToolError>> {
                ::std::unreachable!("stand-in for a tool that failed to compile")
            }
        }
    }
}
