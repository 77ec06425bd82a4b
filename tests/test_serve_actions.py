"""The plain functions behind rtg-serve's handlers: targets, positions, settings, test items."""
import pytest

from rtg_serve.actions import Position, byte_offset, position_at, target_at
from rtg_serve.settings import ServerSettings, SettingsError
from rtg_core.test_items import split_items
from rtg_serve.validation import module_path

SOURCE = """pub fn double(x: i32) -> i32 {
    x * 2
}

impl Counter {
    pub fn bump(&mut self) -> u32 {
        1
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles() {
        assert_eq!(super::double(2), 4);
    }
}
"""


def test_action_is_offered_on_a_free_function():
    target = target_at(SOURCE, Position(1, 4))
    assert target.title == "Generate tests for `double`"
    assert (target.start, target.end) == (Position(0, 0), Position(2, 1))


def test_action_is_offered_on_a_method():
    assert target_at(SOURCE, Position(6, 8)).function.qualified_name == "Counter::bump"


@pytest.mark.parametrize("position", [Position(3, 0), Position(14, 8), Position(99, 0), Position(-1, 0)])
def test_action_is_not_applicable_between_functions_in_tests_or_off_the_document(position):
    assert target_at(SOURCE, position) is None


def test_positions_count_utf16_units_and_offsets_count_utf8_bytes():
    source = 'fn a() { let s = "😀é"; }\n'
    # 😀 is 2 UTF-16 units and 4 UTF-8 bytes; é is 1 unit and 2 bytes.
    assert byte_offset(source, Position(0, 21)) == len('fn a() { let s = "😀é'.encode())
    assert position_at(source, len('fn a() { let s = "😀é'.encode())) == Position(0, 21)


def test_malformed_rust_still_offers_the_functions_it_can_see():
    assert target_at("fn broken( {\n\nfn fine() -> u8 { 1 }\n", Position(2, 5)).function.name == "fine"


def test_settings_from_camel_case_options():
    settings = ServerSettings().updated(
        {"maxNewTokens": 64, "device": "cpu", "timeouts": {"runSeconds": 5}, "adapter": "none", "allowHub": True})
    assert (settings.max_new_tokens, settings.device, settings.run_seconds, settings.adapter_dir(), settings.allow_hub) \
        == (64, "cpu", 5, None, True)
    assert ServerSettings().updated({"adapter": None}).adapter == "default"  # null: back to the default


def test_bad_settings_are_refused_with_the_setting_named():
    with pytest.raises(SettingsError, match="rtg.device"):
        ServerSettings().updated({"device": "tpu"})


def test_split_items_names_each_test_and_keeps_helpers():
    code = """use super::*;

fn helper() -> i32 { 2 }

/// checks doubling
#[test]
fn doubles_two() {
    assert_eq!(double(helper()), 4);
}

proptest! {
    #[test]
    fn doubling_is_even(x in -1000i32..1000) {
        prop_assert_eq!(double(x) % 2, 0);
    }
}
"""
    items = split_items(code)
    assert [item.names for item in items] == [(), ("doubles_two",), ("doubling_is_even",)]
    assert items[1].text.startswith("/// checks doubling\n#[test]")


def test_split_items_opens_a_whole_test_module():
    items = split_items("#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn a() {}\n}\n")
    assert [item.names for item in items] == [("a",)]


@pytest.mark.parametrize("relative, expected", [
    ("src/lib.rs", ""), ("src/main.rs", ""), ("src/geometry.rs", "geometry"), ("src/shapes/mod.rs", "shapes"),
    ("src/shapes/circle.rs", "shapes::circle"),
])
def test_module_path_of_a_file(tmp_path, relative, expected):
    assert module_path(tmp_path, tmp_path / relative) == expected
