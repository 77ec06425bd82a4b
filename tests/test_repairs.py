"""Certain repairs, one before/after fixture each: names that shadow, names that repeat, pasted copies, unmarked
tests, unawaited calls of async fns."""
from __future__ import annotations

import pytest

from rtg_core.test_items import split_items
from rtg_core.test_repairs import repair_items

DOUBLE = "pub fn double(x: i32) -> i32 {\n    x * 2\n}\n"


def repaired(tests: str, code: str = DOUBLE) -> tuple[str, list[str]]:
    items, repairs = repair_items(split_items(tests), code)
    return "\n\n".join(item.text for item in items), [r.detail for r in repairs]


def test_a_test_named_like_the_function_under_test_is_renamed_and_its_calls_stay():
    before = "#[test]\nfn double() {\n    assert_eq!(double(2), 4);\n}"
    after, repairs = repaired(before)
    assert after == "#[test]\nfn test_double() {\n    assert_eq!(double(2), 4);\n}"
    assert repairs == ["renamed test `double` to `test_double`: it shadowed an item of the code under test"]


def test_a_repeated_test_name_gets_a_number():
    before = ("#[test]\nfn doubles() {\n    assert_eq!(double(1), 2);\n}\n\n"
              "#[test]\nfn doubles() {\n    assert_eq!(double(2), 4);\n}")
    after, repairs = repaired(before)
    assert after == ("#[test]\nfn doubles() {\n    assert_eq!(double(1), 2);\n}\n\n"
                     "#[test]\nfn doubles_2() {\n    assert_eq!(double(2), 4);\n}")
    assert repairs == ["renamed test `doubles` to `doubles_2`: it repeated an earlier test's name"]


def test_a_pasted_copy_of_the_function_under_test_is_removed():
    before = ("fn double(x: i32) -> i32 {\n    x * 2\n}\n\n"
              "#[test]\nfn doubles_two() {\n    assert_eq!(double(2), 4);\n}")
    after, repairs = repaired(before)
    assert after == "#[test]\nfn doubles_two() {\n    assert_eq!(double(2), 4);\n}"
    assert repairs == ["removed a copy of `double` pasted into the tests"]


def test_a_pasted_type_is_removed_and_a_helper_of_the_tests_stays():
    code = "pub struct Point { pub x: i32 }\n\npub fn shift(p: Point) -> Point { Point { x: p.x + 1 } }\n"
    before = ("struct Point { x: i32 }\n\nfn origin() -> Point {\n    Point { x: 0 }\n}\n\n"
              "#[test]\nfn shifts() {\n    assert_eq!(shift(origin()).x, 1);\n}")
    after, repairs = repaired(before, code)
    assert after == "fn origin() -> Point {\n    Point { x: 0 }\n}\n\n#[test]\nfn shifts() {\n    assert_eq!(shift(origin()).x, 1);\n}"
    assert repairs == ["removed a copy of `Point` pasted into the tests"]


def test_a_method_name_is_no_clash_and_good_tests_are_left_alone():
    code = "impl Counter {\n    pub fn bump(&mut self) -> u32 { self.count += 1; self.count }\n}\n"
    before = "#[test]\nfn bump() {\n    let mut c = Counter::default();\n    assert_eq!(c.bump(), 1);\n}"
    after, repairs = repaired(before, code)
    assert after == before and repairs == []


def test_a_repeated_name_inside_a_proptest_block_is_renamed():
    before = ("proptest! {\n    #[test]\n    fn even(x in 0..10i32) { prop_assert_eq!(double(x) % 2, 0); }\n\n"
              "    #[test]\n    fn even(x in 0..10i32) { prop_assert!(double(x) >= x); }\n}")
    after, repairs = repaired(before)
    assert "fn even(x in 0..10i32) { prop_assert_eq!" in after and "fn even_2(x in 0..10i32) { prop_assert!(" in after
    assert repairs == ["renamed test `even` to `even_2`: it repeated an earlier test's name"]


def test_a_shadowing_then_repeated_name_in_one_block_renames_both_headers():
    before = ("proptest! {\n    #[test]\n    fn double(x in 0..10i32) { prop_assert_eq!(double(x) % 2, 0); }\n\n"
              "    #[test]\n    fn double(x in 0..10i32) { prop_assert!(double(x) >= x); }\n}")
    after, repairs = repaired(before)
    assert "fn test_double(x in" in after and "fn test_double_2(x in" in after and "fn double(" not in after
    assert len(repairs) == 2


def test_an_unmarked_test_in_the_tests_gets_its_attribute():
    before = "fn test_doubles() {\n    assert_eq!(double(2), 4);\n}"
    after, repairs = repaired(before)
    assert after == "#[test]\nfn test_doubles() {\n    assert_eq!(double(2), 4);\n}"
    assert repairs == ["marked `test_doubles` as a test: it asserts, takes nothing and nothing calls it"]


def test_a_helper_that_is_called_takes_arguments_or_returns_stays_a_helper():
    for helper in ("fn check(x: i32) {\n    assert_eq!(double(x), 2 * x);\n}",
                   "fn two() -> i32 {\n    assert!(true);\n    2\n}",
                   "fn check_all() {\n    assert_eq!(double(1), 2);\n}\n\n#[test]\nfn t() {\n    check_all();\n}",
                   "fn setup() {\n    let _x = 1;\n}"):
        after, repairs = repaired(helper)
        assert (after, repairs) == (helper, [])


TOKIO_CODE = ("use tokio::sync::Mutex;\n\n"
              "pub async fn run_limited(jobs: usize, limit: usize) -> usize {\n    jobs.min(limit)\n}\n\n"
              "pub struct Cache { items: Mutex<Vec<u32>> }\n\n"
              "impl Cache {\n    pub fn new() -> Self { Cache { items: Mutex::new(Vec::new()) } }\n"
              "    pub async fn len(&self) -> usize { self.items.lock().await.len() }\n}\n\n"
              "pub fn shared_cache() -> Cache {\n    Cache::new()\n}\n")


def test_a_plain_test_of_an_async_fn_runs_on_tokio_with_its_calls_awaited():
    before = ("#[test]\nfn limits() {\n    let cache = Cache::new();\n    assert_eq!(cache.len(), 0);\n"
              "    assert_eq!(run_limited(3, 2), 2);\n}")
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == ("#[tokio::test]\nasync fn limits() {\n    let cache = Cache::new();\n"
                     "    assert_eq!(cache.len().await, 0);\n    assert_eq!(run_limited(3, 2).await, 2);\n}")
    assert repairs == ["made `limits` a #[tokio::test] async fn and awaited 2 calls of async fns"]


def test_an_async_test_under_plain_test_gets_tokio_and_prefix_await_becomes_rusts():
    before = "#[test]\npub async fn limits() {\n    assert_eq!(await run_limited(3, 2), 2);\n}"
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == "#[tokio::test]\npub async fn limits() {\n    assert_eq!(run_limited(3, 2).await, 2);\n}"
    assert repairs == ["made `limits` a #[tokio::test] async fn and awaited 1 call of async fns"]


def test_a_bound_output_and_a_method_of_the_right_type_are_awaited():
    before = ("#[test]\nfn limits() {\n    let peak = run_limited(3, 2);\n    assert_eq!(peak, 2);\n"
              "    let cache = Cache::new();\n    let n = cache.len();\n    assert!(n == 0);\n"
              "    assert_eq!(Cache::new().len(), 0);\n    let shared = shared_cache();\n"
              "    assert_eq!(shared.len(), 0);\n}")
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == ("#[tokio::test]\nasync fn limits() {\n    let peak = run_limited(3, 2).await;\n"
                     "    assert_eq!(peak, 2);\n    let cache = Cache::new();\n    let n = cache.len().await;\n"
                     "    assert!(n == 0);\n    assert_eq!(Cache::new().len().await, 0);\n"
                     "    let shared = shared_cache();\n    assert_eq!(shared.len().await, 0);\n}")
    assert repairs == ["made `limits` a #[tokio::test] async fn and awaited 4 calls of async fns"]


@pytest.mark.parametrize("body", [
    "let v = vec![1, 2];\n    assert_eq!(v.len(), 2);",  # `len` of a Vec, not of the code under test's Cache
    "let fut = run_limited(3, 2);\n    assert_eq!(tokio::time::timeout(D, fut).await.unwrap(), 2);",
    "let (a, b) = (run_limited(1, 1), run_limited(2, 1));\n    assert_eq!(a.await + b.await, 2);",
    "let all = vec![run_limited(1, 1)];\n    assert_eq!(join_all(all).await, vec![1]);",
    "let _ = run_limited(1, 1);\n    run_limited(2, 2);\n    tokio::spawn(async move { run_limited(3, 2) });",
    "fn later() -> impl std::future::Future<Output = usize> { run_limited(1, 1) }",
    "assert!([1usize].iter().all(|_| futures_ready(run_limited(1, 1))));",
])
def test_futures_the_test_hands_on_or_awaits_itself_stay_as_written(body):
    before = f"#[tokio::test]\nasync fn hands_on() {{\n    {body}\n}}"
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == before and repairs == []


def test_a_plain_test_that_runs_its_own_runtime_stays_plain():
    before = ("#[test]\nfn blocks_on() {\n    let rt = tokio::runtime::Runtime::new().unwrap();  // no .await here\n"
              "    assert_eq!(rt.block_on(async { run_limited(3, 2).await }), 2);\n}")
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == before and repairs == []


def test_a_property_runs_an_async_fn_it_compares_on_a_runtime_of_its_own():
    before = ("proptest! {\n    #[test]\n    fn at_most_the_limit(jobs in 0usize..10) {\n"
              "        prop_assert!(run_limited(jobs, 2) <= 2);\n    }\n}")
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == before.replace("run_limited(jobs, 2)", "tokio::runtime::Builder::new_current_thread()"
                                   ".enable_all().build().unwrap().block_on(run_limited(jobs, 2))")
    assert repairs == ["ran 1 call of async fns in `at_most_the_limit` on a runtime of their own"]


def test_await_in_a_string_is_content_not_code():
    before = ("#[tokio::test]\nasync fn says() {\n    let msg = \"await run_limited(1, 1) now\";\n"
              "    assert_eq!(run_limited(1, 1).await, msg.len() - 25);\n}")
    after, repairs = repaired(before, TOKIO_CODE)
    assert after == before and repairs == []


def test_without_tokio_in_the_code_under_test_async_tests_are_left_alone():
    code = "pub async fn answer() -> u32 {\n    42\n}\n"
    before = "#[test]\nfn answers() {\n    assert_eq!(answer(), 42);\n}"
    after, repairs = repaired(before, code)
    assert after == before and repairs == []


def test_c_and_json_escapes_become_rusts_and_raw_strings_stay():
    before = ('#[test]\nfn unescapes() {\n    assert_eq!(double(1), 2, "tab\\v feed\\f \\u00e9 \\/");\n'
              "    assert_eq!('\\b', r\"\\v\".chars().next().map(|_| '\\x08').unwrap());\n}")
    after, repairs = repaired(before)
    assert after == ('#[test]\nfn unescapes() {\n    assert_eq!(double(1), 2, "tab\\x0b feed\\x0c \\u{00e9} /");\n'
                     "    assert_eq!('\\x08', r\"\\v\".chars().next().map(|_| '\\x08').unwrap());\n}")
    assert repairs == ["wrote \\/, \\b, \\f, \\u00e9, \\v as Rust escapes in `unescapes`"]
