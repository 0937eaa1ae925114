//! # weft-macros
//!
//! The `#[workflow]` attribute of [weft](https://docs.rs/weft). Use it through the facade
//! (`use weft::prelude::*;`); the full DSL is documented on `weft::workflow`.
//!
//! The crate follows serde_derive and thiserror, one step per module: `parse` splits the item
//! into what `ast` describes (with `attr` reading attribute arguments), `valid` checks it
//! (collecting every error with its span, in `ctxt`), and `expand` generates code that names
//! runtime items only through the `weft` facade (`crate_path`). On errors the item is still
//! emitted (`fallback`), so one mistake gives one error rather than a cascade.

mod ast;
mod attr;
mod crate_path;
mod ctxt;
mod expand;
mod fallback;
mod parse;
mod valid;

use proc_macro::TokenStream;

/// Turns a struct and its `impl` block into a stateful, persisted, streaming workflow. See
/// `weft::workflow` for the whole DSL: every key, what is injected, what is generated.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let output = match syn::parse::<syn::Item>(input.clone()) {
        Ok(syn::Item::Struct(item)) => expand::structure::expand(args, item),
        Ok(syn::Item::Impl(item)) => expand::implementation::expand(args, item),
        Ok(other) => fallback::wrong_item(other),
        // Not valid Rust: give the parse error and the tokens back, so rustc and IDEs still
        // see the item (tokio-macros does the same).
        Err(error) => {
            let mut output = error.to_compile_error();
            output.extend(proc_macro2::TokenStream::from(input));
            output
        }
    };
    output.into()
}

/// Makes a `Tool` from a documented function (`#[tool] async fn search(..)` gives the unit struct
/// `Search`), or from every `#[tool]` method of a toolkit impl block (the toolkit implements
/// `IntoTools`). See `weft::tool` for the whole convention.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let output = match syn::parse::<syn::Item>(input.clone()) {
        Ok(item) => expand::tool::expand(args, item),
        Err(error) => {
            let mut output = error.to_compile_error();
            output.extend(proc_macro2::TokenStream::from(input));
            output
        }
    };
    output.into()
}
