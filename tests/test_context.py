"""The prompt's code for a function: one before/after fixture per rule of rtg_core.context."""
from __future__ import annotations

from rtg_core.context import function_context, render_impl, shorter_views
from rtg_core.rust_source import functions
from rust_fixtures import rust

LEDGER = rust("""
    use std::collections::HashMap;
    use std::fmt;

    /// Money in cents.
    pub type Cents = i64;

    #[derive(Debug, Default)]
    pub struct Ledger {
        balances: HashMap<String, Cents>,
    }

    impl Ledger {
        pub fn new() -> Self {
            Ledger { balances: HashMap::new() }
        }

        pub fn with_account(name: &str, cents: Cents) -> Self {
            let mut ledger = Ledger::new();
            ledger.balances.insert(name.to_string(), cents);
            ledger
        }

        /// The balance of `name`, zero when unknown.
        pub fn balance(&self, name: &str) -> Cents {
            *self.balances.get(name).unwrap_or(&0)
        }

        fn audit(&self) -> bool {
            true
        }

        pub fn deposit(&mut self, name: &str, cents: Cents) -> Cents {
            let entry = self.balances.entry(name.to_string()).or_insert(0);
            *entry += cents;
            *entry
        }
    }

    fn cents_to_text(cents: Cents) -> String {
        format!("{}.{:02}", cents / 100, cents % 100)
    }

    pub fn describe(ledger: &Ledger, name: &str) -> String {
        format!("{name}: {}", cents_to_text(ledger.balance(name)))
    }

    pub fn unrelated() -> u8 {
        7
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn starts_empty() {
            assert_eq!(Ledger::new().balance("a"), 0);
        }
    }
""")


def context_of(name: str, source: str = LEDGER, budget: int | None = None) -> str:
    function = next(f for f in functions(source) if f.qualified_name == name)
    return function_context(source, function) if budget is None else function_context(source, function, budget)


def test_a_method_comes_inside_its_impl_after_its_type_constructors_and_public_methods():
    assert context_of("Ledger::deposit") == rust("""
        use std::collections::HashMap;

        /// Money in cents.
        pub type Cents = i64;

        #[derive(Debug, Default)]
        pub struct Ledger {
            balances: HashMap<String, Cents>,
        }

        impl Ledger {
            pub fn new() -> Self {
                Ledger { balances: HashMap::new() }
            }

            pub fn with_account(name: &str, cents: Cents) -> Self {
                let mut ledger = Ledger::new();
                ledger.balances.insert(name.to_string(), cents);
                ledger
            }

            /// The balance of `name`, zero when unknown.
            pub fn balance(&self, name: &str) -> Cents {
                *self.balances.get(name).unwrap_or(&0)
            }

            pub fn deposit(&mut self, name: &str, cents: Cents) -> Cents {
                let entry = self.balances.entry(name.to_string()).or_insert(0);
                *entry += cents;
                *entry
            }
        }
    """)


def test_a_free_function_brings_the_types_and_helpers_it_names_and_nothing_else():
    context = context_of("describe")
    assert context.startswith("use std::collections::HashMap;\n\n/// Money in cents.\npub type Cents = i64;")
    assert "pub struct Ledger {" in context and "fn cents_to_text(cents: Cents) -> String {" in context
    assert context.rstrip().endswith('format!("{name}: {}", cents_to_text(ledger.balance(name)))\n}')
    assert "unrelated" not in context and "use std::fmt;" not in context and "starts_empty" not in context
    assert "impl Ledger" not in context  # a free fn's context holds no impl block (the corpus adds the members used)


def test_a_function_that_needs_nothing_is_itself():
    assert context_of("unrelated") == "pub fn unrelated() -> u8 {\n    7\n}\n"


def test_past_the_budget_other_members_keep_only_their_signatures():
    context = context_of("Ledger::deposit", budget=200)
    assert "    pub fn new() -> Self { /* … */ }" in context
    assert "    pub fn balance(&self, name: &str) -> Cents { /* … */ }" in context
    assert "*entry += cents;" in context  # the function itself is always whole


def test_render_impl_indents_members_under_the_header():
    assert render_impl("impl Point", ["fn x(&self) -> i32 {\n    self.x\n}", "fn y(&self) -> i32 {\n    self.y\n}"]) == (
        "impl Point {\n    fn x(&self) -> i32 {\n        self.x\n    }\n\n    fn y(&self) -> i32 {\n        self.y\n    }\n}")


def test_a_method_loses_its_impl_indentation_but_not_its_string_content():
    source = ("pub struct Banner;\n\nimpl Banner {\n    pub fn text(&self) -> &'static str {\n"
              "        \"top\n        bottom\"\n    }\n}\n")
    context = context_of("Banner::text", source)
    assert "    pub fn text(&self) -> &'static str {\n        \"top\n        bottom\"\n    }" in context


# --- shorter views of a training sample's code ------------------------------------------------------------------

COUNTER = rust("""
    /// A counter.
    pub struct Counter {
        n: u32, // never negative
    }

    impl Counter {
        /// Starts at zero.
        pub fn new() -> Self {
            Counter { n: 0 } /* zero */
        }

        /// Adds one.
        pub fn bump(&mut self) -> u32 {
            // wraps at the top
            self.n = self.n.wrapping_add(1);
            self.n
        }
    }
""")
BUMP = """/// Adds one.
pub fn bump(&mut self) -> u32 {
    // wraps at the top
    self.n = self.n.wrapping_add(1);
    self.n
}"""


def test_the_views_leave_out_the_contexts_comments_then_its_fn_bodies_but_never_the_function_under_test():
    (first, uncommented), (second, elided) = shorter_views(COUNTER, BUMP)
    assert (first, second) == ("comments", "fn bodies")
    assert uncommented == rust("""
        pub struct Counter {
            n: u32,
        }

        impl Counter {
            pub fn new() -> Self {
                Counter { n: 0 }
            }

            /// Adds one.
            pub fn bump(&mut self) -> u32 {
                // wraps at the top
                self.n = self.n.wrapping_add(1);
                self.n
            }
        }
    """)
    assert elided == uncommented.replace("-> Self {\n        Counter { n: 0 }\n    }", "-> Self { /* … */ }")
    assert len(COUNTER) > len(uncommented) > len(elided)


def test_code_without_comments_has_only_the_elided_view_and_a_body_shorter_than_its_elision_stays():
    code = ("pub fn zero() -> u32 { 0 }\n\npub fn one() -> u32 {\n    zero() + 1\n}\n\n"
            "pub fn two() -> u32 {\n    one() + one()\n}\n")
    assert shorter_views(code, "pub fn two() -> u32 {\n    one() + one()\n}") == [("fn bodies", (
        "pub fn zero() -> u32 { 0 }\n\npub fn one() -> u32 { /* … */ }\n\n"
        "pub fn two() -> u32 {\n    one() + one()\n}\n"))]


def test_the_function_under_test_is_matched_whole_and_keeps_its_place_when_a_twin_differs_by_a_comment():
    focal = "/// Doubles.\npub fn f(x: u32) -> u32 {\n    x * 2 + 0\n}"
    twins = ("pub mod other {\n    fn f(x: u32) -> u32 {\n        x * 2 + 0\n    }\n\n"  # its tail is the focal's
             "    /// Doubles.\n    pub fn f(x: u32) -> u32 {\n        // but differs by a comment\n"
             "        x * 2 + 0\n    }\n}\n")
    (_, uncommented), (_, elided) = shorter_views(focal + "\n\n" + twins, focal)
    assert uncommented.startswith(focal) and elided.startswith(focal)  # the whole match, not a later twin
    assert elided.count("{ /* … */ }") == 2


def test_no_views_when_the_function_is_not_in_the_code_or_the_code_does_not_parse():
    assert shorter_views(COUNTER, "pub fn reset(&mut self) {\n    self.n = 0;\n}") == []
    assert shorter_views(COUNTER + "\nfn broken( {\n", BUMP) == []
