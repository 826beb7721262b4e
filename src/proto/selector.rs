//! Mercure topic selectors: `*`, an exact topic, or an RFC 6570 URI template.
//!
//! ```text
//! selector                                   topic                                  match
//! *                                          anything                               yes
//! https://example.com/books/1                https://example.com/books/1            yes (byte for byte)
//! https://example.com/books/{id}             https://example.com/books/1            yes
//! https://example.com/books/{id}             https://example.com/books/1/2          no  ({id} never takes /)
//! https://example.com/{+path}                https://example.com/a/b?c=d            yes ({+…} takes reserved)
//! https://example.com/doc{#part}             https://example.com/doc#intro          yes
//! https://example.com/search{?q}             https://example.com/search?q=rust      yes
//! https://example.com/search{?q}             https://example.com/search             yes (undefined q)
//! a{b                                        a{b                                    yes (not a template: itself only)
//! ```
//!
//! A selector is compiled once ([`Selector::compile`]), then asked about
//! many topics ([`Selector::matches`]). The match is whole-string and
//! literal: no case folding, no percent-decoding. An expression matches
//! every string that some values of its variables would expand to (RFC
//! 6570 §3.2), reading the variables as strings or lists:
//!
//! | operator        | expands to (nothing when every variable is undefined) | a value takes                  |
//! |-----------------|--------------------------------------------------------|--------------------------------|
//! | `{x,y}`         | `X` or `X,Y`                                           | `A-Z a-z 0-9 - . _ ~ %XX ,`    |
//! | `{+x}`          | `X`                                                    | also `:/?#[]@!$&'()*+,;=`      |
//! | `{#x}`          | `#X` (the `#` even when X is empty)                    | also `:/?#[]@!$&'()*+,;=`      |
//! | `{.x}` `{/x,y}` | `.X` / `/X/Y`                                          | `A-Z a-z 0-9 - . _ ~ %XX ,`    |
//! | `{;x}`          | `;x` or `;x=X`                                         | `A-Z a-z 0-9 - . _ ~ %XX ,`    |
//! | `{?x,y}` `{&x}` | `?x=X&y=Y`, `?y=Y`, … (any subset, in order) / `&x=X`  | `A-Z a-z 0-9 - . _ ~ %XX ,`    |
//!
//! `{#x}` needs its `#` as soon as x is defined, even as the empty string
//! (RFC 6570 §3.2.4): `doc#` matches `doc{#x}`, `docintro` does not. An
//! exploded variable (`{/x*}`) may repeat its separator and, for a named
//! operator, take any names (`{?x*}` matches `?a=1&b=2`). A prefix (`{x:3}`)
//! is not checked against its length, as in the Mercure hub. Named
//! operators check the variable's name (`{?q}` does not match `?x=1`),
//! which is stricter than the hub's regular expression: it only ever
//! grants less.
//!
//! Matching is a sweep over the set of topic positions reachable after
//! each part, never a backtracking search: work is at most proportional to
//! (template bytes + variables) × (topic bytes + 1), whatever the input.

mod template;

pub use template::Template;

/// A compiled topic selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `*`: every topic.
    Any,
    /// A string that is not a template (or has no expression): itself only.
    Exact(String),
    /// A valid URI template with at least one expression.
    Template(Template),
}

impl Selector {
    /// Compiles `text` (Mercure rule 10): `*` is [`Selector::Any`]; a
    /// string with a `{` that parses as an RFC 6570 template is a
    /// [`Selector::Template`]; anything else matches only itself.
    pub fn compile(text: &str) -> Selector {
        if text == "*" {
            return Selector::Any;
        }
        if text.contains('{') {
            if let Some(template) = Template::parse(text) {
                return Selector::Template(template);
            }
        }
        Selector::Exact(text.to_owned())
    }

    /// Whether `topic` is selected: `*`, byte-for-byte equality, or a
    /// whole-string template match.
    ///
    /// ```text
    /// let books = Selector::compile("https://example.com/books/{id}");
    /// assert!(books.matches("https://example.com/books/1"));
    /// assert!(!books.matches("https://example.com/books/1/2"));
    /// ```
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Selector::Any => true,
            Selector::Exact(text) => text == topic,
            Selector::Template(template) => template.as_str() == topic || template.matches(topic),
        }
    }

    /// The selector as written.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        match self {
            Selector::Any => "*",
            Selector::Exact(text) => text,
            Selector::Template(template) => template.as_str(),
        }
    }
}

#[cfg(test)]
mod tests;
