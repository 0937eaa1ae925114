//! The path generated code uses for the `weft` facade, resolved once with `proc-macro-crate`
//! so a renamed dependency (`weft2 = { package = "weft" }`) still works.

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// `::weft`, or `::<renamed>`.
pub fn weft() -> TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    match crate_name("weft") {
        Ok(FoundCrate::Name(name)) => {
            let ident = syn::Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
        // `Itself`: the macro is used in weft's own examples or doc tests, which see the
        // library as `::weft`; and if lookup fails, `::weft` is the best guess.
        Ok(FoundCrate::Itself) | Err(_) => quote!(::weft),
    }
}
