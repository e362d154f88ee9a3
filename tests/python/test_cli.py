"""The command line as an operator meets it: every subcommand answers a missing warehouse or an
invalid option value with one line naming the problem and exit code 2, never a traceback, and
every subcommand describes itself and its options."""

from __future__ import annotations

import pytest

from governance.cli import build_parser, main


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exits
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(argv: list[str], capsys, *expected: str) -> str:
    code, out, err = _run(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
    assert "Traceback" not in out + err
    for text in expected:
        assert text in lines[0], (argv, lines[0])
    return lines[0]


# Subcommands that read a warehouse, with the options to point them at a missing one.
READERS = [
    ["summary"],
    ["alerts"],
    ["alerts", "--format", "json"],
    ["evaluate"],
    ["validate", "--no-data-docs"],
    ["dashboard"],
    ["semantic-check", "--warehouse"],
]


@pytest.mark.parametrize("argv", READERS, ids=[" ".join(a) for a in READERS])
def test_a_missing_warehouse_is_one_line_and_exit_2(argv, tmp_path, capsys):
    missing = tmp_path / "absent" / "governance.duckdb"
    extra = ["--truth-dir", str(tmp_path)] if argv[0] == "evaluate" else []
    _assert_one_line_error([*argv, "--duckdb-path", str(missing), *extra], capsys, str(missing))
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", ["build", "nightly", "backfill"])
def test_a_mistyped_warehouse_folder_is_refused_not_created(command, tmp_path, capsys):
    typo = tmp_path / "warehuose" / "governance.duckdb"
    argv = [command, "--raw-dir", str(tmp_path / "raw"), "--duckdb-path", str(typo)]
    if command == "backfill":
        argv += ["--from", "2026-06-01"]
    _assert_one_line_error(argv, capsys, f"no folder {typo.parent}", "--create-warehouse")
    assert not typo.parent.exists()


def test_an_unwritable_warehouse_place_is_one_line_and_exit_2(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    # /proc/self exists and no one can create files in it, root included.
    _assert_one_line_error(
        ["nightly", "--raw-dir", str(raw), "--duckdb-path", "/proc/self/governance.duckdb"],
        capsys,
        "cannot open the build lock",
        "governance.duckdb.lock",
    )


INVALID = [
    (["generate", "--scale", "huge"], "--scale"),
    (["generate", "--days", "-3"], "--days"),
    (["check-raw", "--raw-dir"], "--raw-dir"),
    (["build", "--as-of-date", "2026-02-31"], "2026-02-31"),
    (["summary", "--unknown"], "--unknown"),
    (["alerts", "--open-days", "-3"], "--open-days"),
    (["alerts", "--date", "2026-13-01"], "--date"),
    (["bench", "--scale", "huge"], "--scale"),
    (["corrupt", "--kind", "nonsense"], "--kind"),
    (["corrupt", "--kind", "negative_amount", "--rows", "-1"], "--rows"),
    (["dashboard", "--page", "nowhere"], "--page"),
    (["dashboard", "--port", "70000"], "--port"),
    (["docs", "--unknown"], "--unknown"),
    (["evaluate", "--format", "xml"], "--format"),
    (["feed", "init", "--holdback-days", "-1"], "--holdback-days"),
    (["nightly", "--lookback-days", "-1"], "lookback"),
    (["nightly", "--date", "2026-02-31"], "2026-02-31"),
    (["backfill", "--from", "2026-06-30", "--to", "2026-06-01"], "--from"),
    (["semantic-check", "--unknown"], "--unknown"),
    (["validate", "--row-count-tolerance", "-1"], "--row-count-tolerance"),
    (["nonsense"], "nonsense"),
]


@pytest.mark.parametrize("argv,named", INVALID, ids=[" ".join(a) for a, _ in INVALID])
def test_an_invalid_option_value_is_one_line_and_exit_2(argv, named, tmp_path, capsys, monkeypatch):
    # A warehouse folder that exists, so only the invalid value can be at fault.
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(tmp_path / "governance.duckdb"))
    monkeypatch.chdir(tmp_path)
    if argv[0] in ("nightly", "backfill"):
        argv = [*argv, "--duckdb-path", str(tmp_path / "governance.duckdb")]
    _assert_one_line_error(argv, capsys, named)


def test_every_subcommand_and_option_says_what_it_does():
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    missing = []
    for name, sub in subparsers.choices.items():
        if not helps.get(name) or not sub.description:
            missing.append(f"{name}: description")
        for action in sub._actions:
            if action.option_strings and action.dest != "help" and not action.help:
                missing.append(f"{name} {action.option_strings[0]}")
    assert missing == []


@pytest.mark.parametrize(
    ("option", "route"),
    [
        (["--holdback-days", "5"], "feed init"),
        (["--corrupt", "orphan_foreign_key"], "corrupt"),
    ],
)
def test_generate_options_with_their_own_command_point_at_it_and_write_nothing(
    tmp_path, capsys, option, route
):
    raw = tmp_path / "raw"
    line = _assert_one_line_error(
        ["generate", *option, "--raw-dir", str(raw)], capsys, f"`governance {route}`"
    )
    assert option[0] in line
    assert not raw.exists()


def test_generate_advance_day_points_at_feed_advance_and_delivers_nothing(tmp_path, capsys):
    raw = tmp_path / "raw"
    line = _assert_one_line_error(
        ["generate", "--advance-day", "--raw-dir", str(raw)], capsys, "`governance feed advance`"
    )
    assert "--advance-day" in line
    assert not raw.exists()
    code, out, _ = _run(["generate", "--help"], capsys)
    usage = " ".join(out.split())
    assert code == 0 and "feed advance" in usage and "--advance-day" not in usage
