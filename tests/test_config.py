"""The player config: every refusal names its key and the fix in both languages; the table drives it all."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from signage.core.errors import ConfigError, ExitStatus
from signage.sync.config import (
    KEYS,
    MAX_CONFIG_BYTES,
    MAX_ROOT_BYTES,
    PlayerConfig,
    example_config,
    load_player_config,
    parse_player_config,
)

ROOT_DOCUMENT = {"signatures": [], "signed": {"_type": "root", "spec_version": "1.0.31", "version": 1}}

VALID = {
    "screen_id": '"bus-0412"',
    "hub_url": '"https://hub.example.org/signage"',
    "channel": '"station-east"',
    "root": '"root.json"',
    "cache_dir": '"cache"',
}


def write_root(directory: Path, name: str = "root.json") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ROOT_DOCUMENT), encoding="utf-8")
    return path


def toml(**changes: str | None) -> str:
    """The valid config with keys replaced (a TOML literal) or removed (None)."""
    values = {**VALID, **changes}
    return "".join(f"{key} = {value}\n" for key, value in values.items() if value is not None)


def parse(text: str, base_dir: Path) -> PlayerConfig:
    return parse_player_config(text, source="player.toml", base_dir=base_dir)


def refusal(text: str, base_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        parse(text, base_dir)
    return raised.value


@pytest.fixture
def base(tmp_path: Path) -> Path:
    write_root(tmp_path)
    return tmp_path


def test_valid_config_is_read_and_normalised(base):
    config = parse(toml(), base)
    assert config == PlayerConfig(
        screen_id="bus-0412",
        hub_url="https://hub.example.org/signage/",
        channel="station-east",
        root=base / "root.json",
        cache_dir=base / "cache",
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("https://hub.example.org/", "https://hub.example.org/"),
        ("HTTPS://hub.example.org/a/b", "https://hub.example.org/a/b/"),
        ("http://[::1]:8080/signage/", "http://[::1]:8080/signage/"),
    ],
)
def test_hub_url_ends_with_a_slash(base, given, stored):
    assert parse(toml(hub_url=f'"{given}"'), base).hub_url == stored


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path):
    write_root(tmp_path / "keys")
    config_path = tmp_path / "player.toml"
    config_path.write_text(toml(root='"keys/root.json"', cache_dir='"var/cache"'), encoding="utf-8")
    config = load_player_config(config_path)
    assert config.root == tmp_path / "keys" / "root.json"
    assert config.cache_dir == tmp_path / "var" / "cache"


def test_absolute_paths_are_kept_and_cache_dir_has_a_default(base, tmp_path):
    root = write_root(tmp_path / "elsewhere")
    config = parse(toml(root=f'"{root}"', cache_dir=None), Path("/nonexistent"))
    assert config.root == root
    assert config.cache_dir == Path("/var/lib/signage/cache")


def test_a_bom_from_notepad_is_accepted(base):
    path = base / "player.toml"
    path.write_bytes(toml().encode("utf-8-sig"))
    assert load_player_config(path).screen_id == "bus-0412"


def large_root(base: Path) -> str:
    (base / "big.json").write_bytes(b" " * (MAX_ROOT_BYTES + 1))
    return '"big.json"'


def written(name: str, content: str):
    def make(base: Path) -> str:
        (base / name).write_text(content, encoding="utf-8")
        return f'"{name}"'

    return make


def directory(name: str):
    def make(base: Path) -> str:
        (base / name).mkdir()
        return f'"{name}"'

    return make


# (case id, key whose value is replaced, TOML literal or a function of the base dir, words of the fix)
VALUE_ERRORS = [
    ("id-space", "screen_id", '"Bus 12"', "bus-12"),
    ("id-leading-dash", "screen_id", '"-bus"', "a-z"),
    ("id-too-long", "screen_id", '"' + "a" * 65 + '"', "1-64"),
    ("id-empty", "screen_id", '""', "a-z"),
    ("channel-chinese", "channel", '"东站"', "a-z"),
    ("channel-slash", "channel", '"a/b"', "a-z"),
    ("url-ftp", "hub_url", '"ftp://hub.example.org/"', "http://"),
    ("url-no-scheme", "hub_url", '"hub.example.org"', "http://"),
    ("url-no-host", "hub_url", '"https:///signage/"', "host"),
    ("url-credentials", "hub_url", '"https://user:secret@hub.example.org/"', "password"),
    ("url-query", "hub_url", '"https://hub.example.org/?channel=x"', "query"),
    ("url-fragment", "hub_url", '"https://hub.example.org/#top"', "fragment"),
    ("url-bad-port", "hub_url", '"https://hub.example.org:99999/"', "port"),
    ("url-space", "hub_url", '"https://hub.example.org/ x"', "spaces"),
    ("root-missing", "root", '"nowhere.json"', "1.root.json"),
    ("root-empty", "root", '""', "empty"),
    ("root-directory", "root", directory("rootdir"), "not a file"),
    ("root-too-large", "root", large_root, "limit"),
    ("root-not-json", "root", written("root.txt", "not json"), "JSON"),
    ("root-list", "root", written("list.json", "[1, 2]"), "not TUF root"),
    (
        "root-is-timestamp",
        "root",
        written("timestamp.json", '{"signed": {"_type": "timestamp"}}'),
        "timestamp.json",
    ),
    ("cache-is-file", "cache_dir", written("afile", "x"), "folder"),
    ("cache-empty", "cache_dir", '""', "empty"),
    ("type-int", "screen_id", "12", "string"),
    ("type-bool", "channel", "true", "string"),
    ("type-list", "cache_dir", '["a"]', "string"),
    ("type-table", "hub_url", '{ host = "x" }', "string"),
]


@pytest.mark.parametrize(
    ("key", "value", "fix"), [case[1:] for case in VALUE_ERRORS], ids=[case[0] for case in VALUE_ERRORS]
)
def test_bad_values_name_the_key_and_the_fix(base, key, value, fix):
    literal = value(base) if callable(value) else value
    error = refusal(toml(**{key: literal}), base)
    assert key in error.zh
    assert f"key '{key}'" in error.en
    assert fix in error.en
    assert error.exit_status is ExitStatus.CONFIG
    assert error.zh != error.en


@pytest.mark.parametrize("key", [spec.name for spec in KEYS if spec.required])
def test_missing_required_key_says_what_line_to_add(base, key):
    spec = next(spec for spec in KEYS if spec.name == key)
    error = refusal(toml(**{key: None}), base)
    assert f"{key} = {spec.example}" in error.zh
    assert f"missing required key '{key}'" in error.en
    assert f"{key} = {spec.example}" in error.en


@pytest.mark.parametrize(
    ("unknown", "suggestion"),
    [("hub_ulr", "hub_url"), ("screenid", "screen_id"), ("chanel", "channel"), ("volume", None)],
)
def test_unknown_key_suggests_the_closest(base, unknown, suggestion):
    error = refusal(toml() + f"{unknown} = 1\n", base)
    assert unknown in error.zh
    assert f"unknown key '{unknown}'" in error.en
    if suggestion:
        assert f"did you mean '{suggestion}'" in error.en
        assert suggestion in error.zh
    else:
        assert "known keys: screen_id, hub_url, channel, root, cache_dir" in error.en


def test_a_table_section_is_an_unknown_key(base):
    error = refusal(toml() + "[player]\nlayout = 1\n", base)
    assert "unknown key 'player'" in error.en


@pytest.mark.parametrize(
    ("text", "key", "line", "column"),
    [
        ("screen_id = bus-0412\n", "screen_id", 1, 13),
        ('screen_id = "a"\nchannel = “east”\n', "channel", 2, 11),
        ('screen_id = "a"\nscreen_id = "b"\n', "screen_id", 2, 16),
        ('screen_id = "a"\nhub_url = "https://x\n', "hub_url", 2, 21),
        ('screen_id = "a"\nchannel =\n', "channel", 2, 10),
    ],
    ids=["unquoted", "chinese-quotes", "repeated", "unterminated", "no-value"],
)
def test_syntax_errors_name_line_column_and_key(tmp_path, text, key, line, column):
    error = refusal(text, tmp_path)
    assert f"line {line}, column {column} (key '{key}')" in error.en
    assert f"第 {line} 行第 {column} 列（配置项 {key}）" in error.zh
    assert "TOML" in error.en


def test_repeated_key_says_keep_one_line(tmp_path):
    error = refusal('screen_id = "a"\nscreen_id = "b"\n', tmp_path)
    assert "set twice" in error.en


def test_every_problem_is_reported_at_once(base):
    error = refusal(toml(screen_id='"Bus 12"', channel=None, hub_url='"ftp://x/"') + "colour = 1\n", base)
    for key in ("screen_id", "channel", "hub_url", "colour"):
        assert key in error.en
        assert key in error.zh
    assert len(error.en.splitlines()) == 4


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_player_config(tmp_path / "player.toml")
    assert "--config" in raised.value.en
    assert "--config" in raised.value.zh
    assert "does not exist" in raised.value.en


def test_unreadable_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file") as raised:
        load_player_config(tmp_path)  # a directory: reading it fails even as root
    assert str(tmp_path) in raised.value.zh


def test_config_file_over_64_kib(base):
    path = base / "player.toml"
    path.write_text(toml() + "#" * MAX_CONFIG_BYTES + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="over 64 KiB") as raised:
        load_player_config(path)
    assert "64 KiB" in raised.value.zh
    with pytest.raises(ConfigError, match="over 64 KiB"):
        parse(path.read_text(encoding="utf-8"), base)


def test_config_file_not_utf8(base):
    path = base / "player.toml"
    path.write_bytes(toml(channel='"东站"').encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8") as raised:
        load_player_config(path)
    assert "UTF-8" in raised.value.zh


def test_example_config_is_valid_with_a_root_next_to_it(tmp_path):
    path = tmp_path / "player.toml"
    path.write_text(example_config(), encoding="utf-8")
    write_root(tmp_path)
    config = load_player_config(path)
    assert config.root == tmp_path / "root.json"
    assert config.hub_url == "https://hub.example.org/signage/"
    for spec in KEYS:
        assert f"\n{spec.name} = {spec.example}\n" in example_config()


def test_key_table_and_player_config_fields_agree():
    # A new setting is one PlayerConfig field plus one KeySpec; this keeps the two in step.
    assert [spec.name for spec in KEYS] == [field.name for field in dataclasses.fields(PlayerConfig)]
    for spec in KEYS:
        assert spec.required or spec.default is not None, spec.name


def test_a_password_in_hub_url_is_never_repeated(base):
    for url in ("https://user:s3cret@hub.example.org/", "ftp://user:s3cret@hub.example.org/"):
        error = refusal(toml(hub_url=f'"{url}"'), base)
        assert "s3cret" not in error.en
        assert "s3cret" not in error.zh


def test_installer_guide_shows_the_current_example():
    guide = Path(__file__).resolve().parent.parent / "docs" / "installer-guide.md"
    assert example_config() in guide.read_text(encoding="utf-8")
