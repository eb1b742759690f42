"""The response cache: a second identical run makes no calls and gives the same verdicts;
--replay fails cleanly on a miss; an edited rubric re-uses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.judging.cache import ResponseCache, cache_key
from judge.judging.protocol import CallContext
from tests.fakeserver import FakeServer, Malformed, Status
from tests.reliability_helpers import (
    edit_rubric,
    item_responder,
    items,
    rubrics_with_policy,
    write_config,
    write_dataset,
)

SAME = ["item_id", "rubric_id", "judge", "repeat", "status", "score", "raw_score", "verdict", "raw_text"]


def _run(tmp_path: Path, server: FakeServer, name: str, rubrics: Path, *extra: str) -> tuple[int, Path]:
    run_dir = tmp_path / "runs" / name
    code = main(
        [
            "run",
            "--config",
            str(write_config(tmp_path / "judges.yaml", server.base_url)),
            "--dataset",
            str(write_dataset(tmp_path / "d.jsonl", items(6))),
            "--rubrics-dir",
            str(rubrics),
            "--rubric",
            "sa-graded",
            "--rubric",
            "ld-graded",
            "--repeats",
            "2",
            "--run-dir",
            str(run_dir),
            "--quiet",
            *extra,
        ]
    )
    return code, run_dir


def test_second_identical_run_makes_no_calls(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.set_responder(item_responder)
    # One transient error and one invalid reply: errors are never cached; invalid replies are
    # replies, cached so the re-run reproduces them.
    fake_server.script(Status(500), Malformed(), model="judge-a", strict=False)
    rubrics = rubrics_with_policy(tmp_path / "rubrics", "none")
    code, first = _run(tmp_path, fake_server, "first", rubrics)
    assert code == 0
    calls = fake_server.count()
    a = pl.read_parquet(first / "verdicts.parquet")
    assert a.height == 6 * 2 * 2 * 2 and calls == a.height + 1
    assert not a["cached"].any()
    code, second = _run(tmp_path, fake_server, "second", rubrics)
    assert code == 0
    assert fake_server.count() == calls  # zero calls the second time
    b = pl.read_parquet(second / "verdicts.parquet")
    assert b["cached"].all() and b["cost_usd"].sum() == 0
    assert a.select(SAME).equals(b.select(SAME))
    assert (tmp_path / "runs" / ".cache").is_dir()  # default: next to the run directories
    # Repeats are independent draws: each repeat has its own entry.
    assert len(list((tmp_path / "runs" / ".cache").glob("*/*.json"))) == a.height


def test_replay_fails_on_an_edited_rubric(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rubrics = rubrics_with_policy(tmp_path / "rubrics", "none")
    assert _run(tmp_path, fake_server, "first", rubrics)[0] == 0
    calls = fake_server.count()
    assert _run(tmp_path, fake_server, "replayed", rubrics, "--replay")[0] == 0
    assert fake_server.count() == calls
    edit_rubric(rubrics, "sa-graded", "instructions", "Rate how much intensity is lost.")
    capsys.readouterr()
    code, run_dir = _run(tmp_path, fake_server, "edited", rubrics, "--replay")
    err = capsys.readouterr().err
    assert code == 2
    assert "--replay: no cached reply" in err and "sa-graded" in err and "Traceback" not in err
    assert fake_server.count() == calls  # replay never reaches the network
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "failed"
    # Without --replay, the edited rubric misses and the untouched one hits.
    code, run_dir = _run(tmp_path, fake_server, "fresh", rubrics)
    assert code == 0
    rows = pl.read_parquet(run_dir / "verdicts.parquet")
    assert set(rows.filter(pl.col("cached"))["rubric_id"]) == {"ld-graded"}
    assert fake_server.count() == calls + rows.filter(~pl.col("cached")).height


def test_replay_and_no_cache_conflict(tmp_path: Path, fake_server: FakeServer) -> None:
    code, _ = _run(
        tmp_path, fake_server, "x", rubrics_with_policy(tmp_path / "rubrics", "none"), "--replay", "--no-cache"
    )
    assert code == 2 and fake_server.count() == 0


def test_key_covers_every_input(tmp_path: Path) -> None:
    base = CallContext("i", "ih", "r", "rh", "ph", "sh", repeat=0)
    messages = [{"role": "user", "content": "x"}]
    keys = {
        cache_key("jh", base, messages),
        cache_key("jh2", base, messages),
        cache_key("jh", CallContext("i", "ih", "r", "rh2", "ph", "sh", repeat=0), messages),
        cache_key("jh", CallContext("i", "ih", "r", "rh", "ph2", "sh", repeat=0), messages),
        cache_key("jh", CallContext("i", "ih", "r", "rh", "ph", "sh2", repeat=0), messages),
        cache_key("jh", CallContext("i", "ih2", "r", "rh", "ph", "sh", repeat=0), messages),
        cache_key("jh", CallContext("i", "ih", "r", "rh", "ph", "sh", repeat=1), messages),
        cache_key("jh", CallContext("i", "ih", "r", "rh", "ph", "sh", repeat=0, turn=1), messages),
        cache_key("jh", base, [{"role": "user", "content": "y"}]),
    }
    assert len(keys) == 9
    cache = ResponseCache(tmp_path)
    key = cache_key("jh", base, messages)
    assert cache.get(key) is None
    cache.put(key, {"text": "{}", "prompt_tokens": 1, "completion_tokens": 1})
    assert cache.get(key)["text"] == "{}"
    (tmp_path / key[:2] / f"{key}.json").write_bytes(b'{"v": 1, "te')  # a damaged entry is a miss
    assert cache.get(key) is None


def test_queued_entries_are_read_at_once_and_written_by_flush(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    keys = [cache_key("jh", CallContext(f"i{n}", f"ih{n}", "r", "rh", "ph", "sh", repeat=0), []) for n in range(50)]
    for n, key in enumerate(keys):
        cache.put_later(key, {"text": f"{{\"n\": {n}}}", "prompt_tokens": 1, "completion_tokens": 1})
    cache.put_later(keys[0], {"text": '{"n": 0}', "prompt_tokens": 1, "completion_tokens": 1})  # queued twice
    assert all(cache.get(key)["text"] == f'{{"n": {n}}}' for n, key in enumerate(keys))  # before any flush
    cache.flush()
    assert 50 <= cache.writes <= 51 and not cache._pending and cache._writer is None
    fresh = ResponseCache(tmp_path / "cache")
    assert all(fresh.get(key)["text"] == f'{{"n": {n}}}' for n, key in enumerate(keys))
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_a_cache_that_cannot_be_written_warns_and_keeps_the_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache folder that cannot be made is refused before anything is called (issue 15 item 2);
    one that stops taking writes mid-run only warns, and every verdict is kept."""
    import judge
    from judge.core.errors import ConfigError
    from judge.judging.cache import ResponseCache

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go", encoding="utf-8")
    plan = judge.Plan(items(3), judges=["offline/lexicon"], rubrics=["sa-graded"], cache_dir=blocker / "cache")
    with pytest.raises(ConfigError, match="cannot write the response cache"):
        judge.evaluate(plan, tmp_path / "refused", html=False)
    assert not (tmp_path / "refused").exists()

    def unwritable(self: ResponseCache, key: str, data: bytes) -> None:
        raise NotADirectoryError(20, "Not a directory", str(self.root / key[:2]))

    monkeypatch.setattr(ResponseCache, "_write", unwritable)
    plan = judge.Plan(items(3), judges=["offline/lexicon"], rubrics=["sa-graded"], cache_dir=tmp_path / "cache")
    run = judge.evaluate(plan, tmp_path / "run", html=False)
    assert run.status == "completed" and run.verdicts["status"].to_list() == ["ok"] * 3
    (warning,) = [m for m in run.messages if "response cache" in m]
    assert "3 replies could not be written" in warning and "NotADirectoryError" in warning


@pytest.mark.parametrize(
    "messages",
    [
        [
            {"role": "system", "content": "Judge this.\n\"quoted\" \\ back\tslash"},
            {"role": "user", "content": "他悲痛欲绝 \u2028 \x00\x1f é 🎉"},
        ],
        [{"role": "user", "content": ""}],
        [{"role": "system", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}],
        [{"content": "keys in the other order", "role": "user"}],
        [{"role": "user", "content": "x", "name": "extra key: the slow path"}],
        [{"role": "user", "content": ["not a string"]}],
        [],
    ],
)
def test_the_messages_digest_is_the_sha256_of_their_canonical_json(messages: list[dict[str, str]]) -> None:
    # Cache keys must not change (old caches stay readable): the prefix-reusing digest hashes the
    # very bytes canonical_json gives, twice over (so the second call reuses the stored prefix).
    import hashlib

    from judge.core.hashing import canonical_json
    from judge.judging.cache import messages_digest

    want = hashlib.sha256(canonical_json(messages).encode("utf-8")).hexdigest()
    assert messages_digest(messages) == want
    assert messages_digest(messages) == want
    if len(messages) > 1:  # the same leading messages, another last one
        other = [*messages[:-1], {"role": "user", "content": "another item"}]
        assert messages_digest(other) == hashlib.sha256(canonical_json(other).encode("utf-8")).hexdigest()


def test_a_cache_key_is_what_it_was() -> None:
    # Pinned from the tree before the prefix-reusing digest (main at 293063b): old caches still hit.
    messages = [{"role": "system", "content": 'S "q" é'}, {"role": "user", "content": "x\n"}]
    key = cache_key("jh", CallContext("i", "ih", "r", "rh", "ph", "sh", repeat=0), messages)
    assert key == "7c818664425936851f27304dc485d201ce09d2d26ee6469bda3c5bdd9727b737"
