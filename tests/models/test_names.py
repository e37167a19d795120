"""The name rule: sanitize_name, validate_name, repair_name."""

import warnings

import pytest

from copick_db.models.names import repair_name, require_str, sanitize_name, validate_name

INVALID_CHARS = ["<", ">", ":", '"', "/", "\\", "|", "?", "*", "_", "\x00", "\x1f", "\x7f", " ", "\t", "\n"]
UNICODE_SPACES = ["\u00a0", "\u2003", "\u3000"]


@pytest.mark.parametrize("name", ["ribosome", "test.user", "mitochondria-üéêë", "a-b", "0", "a.b.c", "ABC-123"])
def test_valid_names_pass_unchanged_without_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sanitize_name(name) == name
        assert validate_name(name) == name
        assert repair_name(name, "user_id") == name


@pytest.mark.parametrize("char", INVALID_CHARS + UNICODE_SPACES)
def test_each_invalid_char_becomes_one_dash(char):
    with pytest.warns(UserWarning):
        assert sanitize_name(f"a{char}b") == "a-b"


def test_runs_of_invalid_chars_are_not_collapsed():
    with pytest.warns(UserWarning):
        assert sanitize_name("a__b") == "a--b"
    with pytest.warns(UserWarning):
        assert sanitize_name("a _b") == "a--b"


@pytest.mark.parametrize(("name", "expected"), [("-a-", "a"), ("_a_", "a"), ("--a-b--", "a-b"), (" a ", "a")])
def test_leading_and_trailing_dashes_are_stripped(name, expected):
    with pytest.warns(UserWarning):
        assert sanitize_name(name) == expected


def test_sanitize_warning_names_old_and_new_value():
    with pytest.warns(UserWarning, match="'my_tomo' contains invalid characters. It has been sanitized to 'my-tomo'"):
        sanitize_name("my_tomo")


def test_sanitize_warning_points_at_the_caller():
    with pytest.warns(UserWarning) as record:
        sanitize_name("a_b")
    assert record[0].filename == __file__


def test_sanitize_without_warn_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sanitize_name("a_b", warn=False) == "a-b"


@pytest.mark.parametrize("name", ["", "___", "   ", "---", "_-_", "\x00"])
def test_sanitize_of_name_with_nothing_valid_raises(name):
    with pytest.raises(ValueError, match="cannot be empty or completely consist of invalid characters"):
        sanitize_name(name)


@pytest.mark.parametrize("value", [0, 1.5, None, b"abc", ["a"]])
def test_non_str_is_rejected_everywhere(value):
    for call in (sanitize_name, validate_name, lambda v: repair_name(v, "session_id"), require_str):
        with pytest.raises(ValueError, match="must be a string"):
            call(value)


def test_int_session_id_error_says_ids_are_strings():
    with pytest.raises(ValueError, match=r'session_id must be a string.*"0"'):
        validate_name(0, "session_id")


def test_require_str_returns_str_unchanged():
    assert require_str("0", "session_id") == "0"


def test_validate_name_rejects_bad_name_and_suggests_fix():
    with pytest.raises(ValueError, match=r"user_id 'alice_b' is not a valid name.*use 'alice-b' instead"):
        validate_name("alice_b", "user_id")


def test_validate_name_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError):
            validate_name("a b")


@pytest.mark.parametrize("name", ["", "__"])
def test_validate_name_rejects_empty_result(name):
    with pytest.raises(ValueError, match="object name"):
        validate_name(name, "object name")


def test_repair_name_warns_with_what_was_repaired():
    expected = "tomo_type 'my_tomo' contains invalid characters. It has been sanitized to 'my-tomo'"
    with pytest.warns(UserWarning, match=expected):
        assert repair_name("my_tomo", "tomo_type") == "my-tomo"


def test_repair_name_of_name_with_nothing_valid_raises():
    with pytest.raises(ValueError, match="feature_type"):
        repair_name("___", "feature_type")
