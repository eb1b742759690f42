"""The CLI as a user meets it: the offline default run, exit codes, and a light start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from judge.core.records import FORMAT_VERSION

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run(
        [sys.executable, "-m", "judge", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_offline_default_run_writes_the_three_files(tmp_path: Path) -> None:
    proc = run_cli("run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1
    run_dir = runs[0]
    for name in ("manifest.json", "verdicts.parquet", "summary.json"):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["format_version"] == FORMAT_VERSION
    assert {j["model"] for j in manifest["judges"]} == {"offline/lexicon", "offline/structure"}
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    expected = manifest["dataset"]["items"] * len(manifest["rubrics"]) * 2
    assert verdicts.height == expected
    # Every row is scored, except the conflict-avoidance rubrics' rows for news and translation
    # items: not applicable, recorded as skipped with the reason.
    skipped = verdicts.filter(pl.col("status") == "skipped")
    assert set(skipped["rubric_id"]) == {"ca-graded", "ca-paper"} and set(skipped["task"]) == {"news", "translation"}
    assert skipped["error"].str.starts_with("not applicable: ").all()
    assert verdicts.filter(pl.col("status") == "ok").height == expected - skipped.height
    assert verdicts["score"].drop_nulls().is_between(0, 1).all()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["counts"]["total"] == expected
    # The final table is printed, and `report` prints it again.
    assert "mean severity" in proc.stdout
    again = run_cli("report", str(run_dir), cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.splitlines()[0] == proc.stdout.splitlines()[0]


def test_help_does_not_import_litellm_or_polars(tmp_path: Path) -> None:
    code = (
        "import sys; from judge.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('litellm', 'polars', 'numpy', 'openai') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"id": "a", "task": "news", "source": "s", "response": "r"}\n{"id": "b", "task":\n')
    proc = run_cli("run", "--dataset", str(data), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{data}: line 2" in proc.stderr and "malformed JSON" in proc.stderr
    assert not (tmp_path / "runs").exists()  # nothing judged, nothing written


def test_the_readme_synopsis_lists_every_option() -> None:
    """Every long option of every command (and rubrics action) appears in the README's synopsis,
    on that command's lines."""
    import argparse

    from judge.cli.main import build_parser

    def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(actions[0].choices) if actions else {}

    with_actions = {name for name, sub in subcommands(build_parser()).items() if subcommands(sub)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## What a run gives you", 1)[1].split("```\n", 2)[1]
    entries: dict[str, str] = {}
    key = ""
    for line in block.splitlines():
        if line.startswith("empathy-judge "):
            words = line.split()
            key = " ".join(words[1:3]) if words[1] in with_actions else words[1]
        entries[key] = entries.get(key, "") + line + "\n"

    missing = []
    for name, sub in subcommands(build_parser()).items():
        commands = {f"{name} {a}": p for a, p in subcommands(sub).items()} or {name: sub}
        for command, parser in commands.items():
            assert command in entries, f"the synopsis has no line for '{command}'"
            for action in parser._actions:
                missing += [f"{command} {opt}" for opt in action.option_strings
                            if opt.startswith("--") and opt != "--help" and opt not in entries[command]]  # fmt: skip
    assert missing == []
