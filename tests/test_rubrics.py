"""The shipped rubrics, `rubrics list/show/validate`, and validation of broken rubric files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from judge.cli.main import main
from judge.core import paths
from judge.core.errors import RubricError
from judge.core.taxonomy import MECHANISMS
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubric_check import example_verdict, outside_blocks, validate
from judge.inputs.rubrics import bump_version, discover, load_all, rubric_roots, select
from judge.inputs.verdicts import VerdictParser, canonical_json

EIGHT = ["sa-graded", "sa-paper", "egm-graded", "egm-paper", "ca-graded", "ca-paper", "ld-graded", "ld-paper"]
# Versions 1 and 2 of the graded rubrics and version 1 of the paper rubrics are history: their
# content must never change (their hashes key caches and past runs), nor their prompts' hashes.
HISTORY_HASHES = {
    "sa-graded@1": "4bf4c79982fb", "egm-graded@1": "5011cae8e1ad",
    "ca-graded@1": "04408082e8af", "ld-graded@1": "40a6027e64d2",
    "sa-graded@2": "c74005538d75", "egm-graded@2": "ab46e7dccf0b",
    "ca-graded@2": "b8b3c22b6f77", "ld-graded@2": "1a20e4da9451",
    "sa-paper@1": "3ffd49dadf6c", "egm-paper@1": "c95765ed9c60",
    "ca-paper@1": "d6d2b489ecb8", "ld-paper@1": "ee8f47f31fd9",
}  # fmt: skip
# (The templates were last laid out rubric first, item last, for prefix caching: commit 5c66ea8.)
HISTORY_PROMPT_HASHES = {
    "graded-v1": "d6f3bddfce61", "graded-v2": "ee6ccb65ab3f", "paper-sa-v1": "e880bf74378b",
    "paper-egm-v1": "e154873d172c", "paper-ca-v1": "d196a57d826e", "paper-ld-v1": "dc3b72042a86",
}  # fmt: skip
# The latest version of each rubric (opt-in versions are never the latest).
LATEST = {"sa-graded": 3, "egm-graded": 3, "ca-graded": 3, "ld-graded": 3,
          "sa-paper": 1, "egm-paper": 1, "ca-paper": 2, "ld-paper": 1}  # fmt: skip


def test_latest_rubrics_are_the_eight_of_both_families() -> None:
    latest = {r.id: r for r in select(paths.rubrics_dir())}
    assert sorted(latest) == sorted(EIGHT)
    for rid, rubric in latest.items():
        assert rubric.family == rid.split("-")[1]
        assert rubric.version == LATEST[rid]
        assert not rubric.opt_in
    for mechanism in MECHANISMS:
        assert {r.family for r in latest.values() if r.mechanism == mechanism} == {"graded", "paper"}


def test_history_rubrics_and_prompts_are_unchanged() -> None:
    for ref, prefix in HISTORY_HASHES.items():
        (rubric,) = select(paths.rubrics_dir(), [ref])
        assert rubric.hash.startswith(prefix), ref
    prompts = PromptLibrary(paths.prompts_dir())
    for name, prefix in HISTORY_PROMPT_HASHES.items():
        assert prompts.template(name).hash.startswith(prefix), name


def test_an_opt_in_version_is_chosen_only_by_number() -> None:
    (latest,) = select(paths.rubrics_dir(), ["egm-paper"])
    (chosen,) = select(paths.rubrics_dir(), ["egm-paper@2"])
    assert (latest.version, latest.calls) == (1, "per_item")
    assert (chosen.version, chosen.calls, chosen.opt_in) == (2, "per_sentence", True)


def test_every_shipped_rubric_validates() -> None:
    count, problems = validate(paths.rubrics_dir(), paths.prompts_dir())
    assert count == len(load_all(paths.rubrics_dir())) >= 12
    assert problems == []


@pytest.mark.parametrize(
    ("rid", "verdict", "score", "raw"),
    [
        pytest.param("sa-graded", {"abstain_reason": None, "evidence": [], "rationale": "", "severity": 3,
                                   "amplification": 1, "confidence": 0.5}, 0.75, 3.0, id="graded-linear"),
        pytest.param("sa-graded@2", {"evidence": [], "rationale": "", "severity": 3, "overcorrection": False,
                                     "confidence": 0.5}, 0.75, 3.0, id="graded-v2-linear"),
        pytest.param("sa-paper", {"rationale": "", "source_intensity": 0.8, "response_intensity": 0.2}, 0.75, 0.75,
                     id="sa-compression"),
        pytest.param("sa-paper", {"rationale": "", "source_intensity": 0.4, "response_intensity": 0.6}, 0.0, -0.5,
                     id="sa-amplified-clipped"),
        pytest.param("sa-paper", {"rationale": "", "source_intensity": 0.0, "response_intensity": 0.6}, 0.0, None,
                     id="sa-zero-source"),
        pytest.param("egm-paper", {"rationale": "", "source_counts": [
            {"death": 1, "violence": 1, "injury": 0, "graphic": 2, "abuse": 0}],
            "response_counts": [{"death": 1, "violence": 0, "injury": 0, "graphic": 0, "abuse": 0}, {
                "death": 0, "violence": 0, "injury": 0, "graphic": 0, "abuse": 0}]}, 0.75, 0.75, id="egm-counts"),
        pytest.param("ca-paper", {"rationale": "", "label": 1}, 1.0, 1.0, id="ca-binary"),
        pytest.param("ld-paper", {"rationale": "", "source_features": {
            "passive_share": 0.0, "nominalisation_density": 0.05, "nonhuman_subject_share": 0.2},
            "response_features": {"passive_share": 0.5, "nominalisation_density": 0.05,
                                  "nonhuman_subject_share": 0.0}}, (1 / 3) ** 0.5, (1 / 3) ** 0.5, id="ld-distance"),
    ],
)  # fmt: skip
def test_severity_mapping_of_each_family(rid: str, verdict: dict, score: float, raw: float | None) -> None:
    (rubric,) = select(paths.rubrics_dir(), [rid])
    parsed = VerdictParser(rubric).parse(canonical_json(verdict))
    assert parsed.status == "ok", parsed.error
    assert parsed.score == pytest.approx(score)
    assert parsed.raw_score == (pytest.approx(raw) if raw is not None else None)


def test_paper_schemas_reject_out_of_range_values() -> None:
    (sa,) = select(paths.rubrics_dir(), ["sa-paper"])
    (ca,) = select(paths.rubrics_dir(), ["ca-paper"])
    bad_sa = {"rationale": "", "source_intensity": 1.2, "response_intensity": 0.1}
    assert VerdictParser(sa).parse(canonical_json(bad_sa)).status == "invalid"
    assert VerdictParser(ca).parse(canonical_json({"rationale": "", "label": 2})).status == "invalid"
    assert VerdictParser(ca).parse(canonical_json({"rationale": "", "label": 1, "extra": 1})).status == "invalid"


def test_example_verdict_matches_every_schema() -> None:
    import jsonschema

    for rubric in load_all(paths.rubrics_dir()):
        jsonschema.validate(example_verdict(rubric.schema), rubric.schema)


def test_outside_blocks_finds_unbalanced_markers() -> None:
    text, errors = outside_blocks("a\n<<<SOURCE>>>\nx\n<<<END RESPONSE>>>\nb")
    assert errors and "a" in text
    text, errors = outside_blocks("a\n<<<SOURCE>>>\nsecret\n<<<END SOURCE>>>\nb")
    assert errors == [] and "secret" not in text


def copy_rubrics(tmp_path: Path, *ids: str) -> Path:
    root = tmp_path / "rubrics"
    for rid in ids:
        shutil.copytree(paths.rubrics_dir() / rid, root / rid)
    return root


@pytest.mark.parametrize(
    ("rid", "old", "new", "field", "needle"),
    [
        pytest.param("sa-paper", "kind: compression", "kind: compresion", "severity.kind", "did you mean",
                     id="typo-in-kind"),
        pytest.param("ca-paper", "kind: binary\n  field: label", "kind: linear\n  field: label\n  min: 0\n  max: 1",
                     "severity.kind", "'binary'", id="wrong-kind-for-family"),
        pytest.param("sa-graded", "prompt: graded-v2", "prompt: graded-v9", "prompt", "not found",
                     id="missing-template"),
        pytest.param("ld-graded", "    4: \"Severe", "    5: \"Severe", "scale.levels", "0-4",
                     id="graded-levels"),
        pytest.param("ca-paper", "schema: paper@1",
                     "schema: {type: object, additionalProperties: false, required: [rationale], properties: "
                     "{rationale: {type: string}, label: {type: integer, enum: [0, 1]}}}",
                     "schema.required", "label", id="optional-field"),
        pytest.param("ca-paper", "schema: paper@1",
                     "schema: {type: object, additionalProperties: false, required: [rationale, label, why], "
                     "properties: {rationale: {type: string}, label: {type: integer, enum: [0, 1]}, "
                     "why: {type: string}}}",
                     "schema.properties", "have fields ['label', 'rationale'], not", id="extra-field"),
        pytest.param("sa-graded", "max: 4\non_invalid", "max: 5\non_invalid", "severity",
                     "rubrics map with max: 4", id="graded-mapping"),
        pytest.param("ca-graded", "title: Conflict avoidance", "title: Conflict avoidance\ntitel: x", "titel",
                     "did you mean 'title'", id="unknown-key"),
        pytest.param("sa-graded", "  policy: repair", "  policy: reask\n  max_reasks: 9", "on_invalid.max_reasks",
                     "from 1 to 3", id="too-many-reasks"),
    ],
)  # fmt: skip
def test_validate_reports_file_and_field(tmp_path: Path, rid: str, old: str, new: str, field: str, needle: str) -> None:
    root = copy_rubrics(tmp_path, rid)
    version = "v2.yaml" if rid.endswith("graded") else "v1.yaml"
    path = root / rid / version
    for extra in root.glob(f"{rid}/v*.yaml"):
        if extra.name != version:
            extra.unlink()
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    count, problems = validate(root, paths.prompts_dir())
    assert count == 1 and problems, "the broken rubric passed validation"
    assert any(p.path == path and field in str(p) and needle in str(p) for p in problems), [str(p) for p in problems]


def test_validate_reports_several_problems_in_one_file(tmp_path: Path) -> None:
    root = copy_rubrics(tmp_path, "sa-paper")
    path = root / "sa-paper" / "v1.yaml"
    text = path.read_text(encoding="utf-8").replace("title:", "titel:").replace("dimensions:", "dimension:")
    path.write_text(text, encoding="utf-8")
    _, problems = validate(root, paths.prompts_dir())
    fields = {p.field for p in problems}
    assert {"titel", "dimension", "title", "dimensions"} <= fields


def test_validate_flags_a_template_that_leaks_the_response(tmp_path: Path) -> None:
    root = copy_rubrics(tmp_path, "ca-paper")
    prompts = tmp_path / "prompts"
    shutil.copytree(paths.prompts_dir(), prompts)
    tpl = prompts / "paper-ca-v1.yaml"
    # a template that puts the judged response in the system message, outside any block
    tpl.write_text(tpl.read_text(encoding="utf-8").replace("  {{ schema }}", "  {{ schema }}\n  {{ response }}", 1))
    _, problems = validate(root, prompts)
    assert any("outside its delimited block" in str(p) or "escaped" in str(p) for p in problems), problems


def test_cli_list_show_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubrics", "list"]) == 0
    out = capsys.readouterr().out
    for rid in EIGHT:
        assert f"{rid}@" in out
    assert main(["rubrics", "show", "egm-paper@1", "--task", "translation"]) == 0
    out = capsys.readouterr().out
    assert "count_compression" in out and "<<<BASELINE SENTENCES>>>" in out and "Task: translation" in out
    assert main(["rubrics", "validate"]) == 0
    assert "all valid" in capsys.readouterr().out
    broken = copy_rubrics(tmp_path, "ld-paper")
    file = broken / "ld-paper" / "v1.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("kind: feature_distance", "kind: distance"))
    assert main(["rubrics", "validate", str(file)]) == 2
    out = capsys.readouterr().out
    assert f"{file}: severity.kind" in out and "1 problem(s)" in out


def test_cli_show_unknown_rubric_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubrics", "show", "sa-gradd"]) == 2
    assert "did you mean 'sa-graded'" in capsys.readouterr().err


# --- rubric iteration: --rubrics-dir on top of the built-in rubrics, new versions, real items --


SA_NEWEST = max(discover(paths.rubrics_dir())["sa-graded"])  # the newest sa-graded file's version
NEXT = SA_NEWEST + 1


def test_rubrics_dir_adds_to_the_built_in_rubrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubrics", "new", "sa-graded", "--rubrics-dir", str(tmp_path / "mine")]) == 0
    new = tmp_path / "mine" / "sa-graded" / f"v{NEXT}.yaml"
    assert str(new) in capsys.readouterr().out and new.is_file()
    text = new.read_text(encoding="utf-8")
    shipped = (paths.rubrics_dir() / "sa-graded" / f"v{SA_NEWEST}.yaml").read_text(encoding="utf-8")
    assert text == shipped.replace(f"version: {SA_NEWEST}", f"version: {NEXT}", 1)  # comments and layout kept
    assert main(["rubrics", "list", "--rubrics-dir", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out
    assert f"sa-graded@{NEXT}" in out and "ca-paper@1" in out  # the built-in ones are still there
    refs = [r.ref for r in select(rubric_roots(tmp_path / "mine"), ["sa-graded@2", f"sa-graded@{NEXT}"])]
    assert refs == ["sa-graded@2", f"sa-graded@{NEXT}"]
    assert select(rubric_roots(tmp_path / "mine"), ["sa-graded"])[0].version == NEXT  # now the latest
    # The next one builds on the newest, wherever it lives.
    assert main(["rubrics", "new", "sa-graded", "--rubrics-dir", str(tmp_path / "mine")]) == 0
    assert f"a copy of sa-graded@{NEXT}" in capsys.readouterr().out


def test_a_clash_with_a_built_in_rubric_names_both_files(tmp_path: Path) -> None:
    root = copy_rubrics(tmp_path, "ca-graded")
    with pytest.raises(RubricError, match=r"ca-graded@1 is defined twice: .*rubrics/ca-graded/v1\.yaml and "
                       + str(root / "ca-graded" / "v1.yaml")):  # fmt: skip
        select(rubric_roots(root), ["ca-graded"])


def test_a_version_mismatch_says_bump_or_move(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine" / "sa-graded"
    mine.mkdir(parents=True)
    # Copied to the next file name, `version:` not bumped: the common slip when starting a version.
    shipped = (paths.rubrics_dir() / "sa-graded" / f"v{SA_NEWEST}.yaml").read_text(encoding="utf-8")
    (mine / f"v{NEXT}.yaml").write_text(shipped)
    assert main(["rubrics", "show", f"sa-graded@{NEXT}", "--rubrics-dir", str(tmp_path / "mine"), "--no-render"]) == 2
    err = capsys.readouterr().err
    assert (f"version: {SA_NEWEST}, but the file is v{NEXT}.yaml; bump `version:` to {NEXT} or move the file to "
            f"sa-graded/v{SA_NEWEST}.yaml") in err  # fmt: skip
    wrong = tmp_path / "other" / "sa-grade"
    wrong.mkdir(parents=True)
    (wrong / f"v{NEXT}.yaml").write_text(bump_version(shipped, NEXT))
    with pytest.raises(RubricError, match=rf"set `id:` to sa-grade or move the file to sa-graded/v{NEXT}\.yaml"):
        load_all(wrong.parent)


def test_new_refuses_a_version_and_an_unknown_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubrics", "new", "sa-graded@2", "--rubrics-dir", str(tmp_path)]) == 2
    assert "without a version" in capsys.readouterr().err
    assert main(["rubrics", "new", "sa-gradd", "--rubrics-dir", str(tmp_path)]) == 2
    assert "did you mean 'sa-graded'" in capsys.readouterr().err


def test_show_renders_a_real_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    data = tmp_path / "items.jsonl"
    rows = [{"id": "c7", "task": "counselling", "model": "m", "source": "My father died on Tuesday and I froze.",
             "response": "Bereavement is a normal process. Consider a routine."},
            {"id": "n1", "task": "news", "model": "m", "source": "A bridge fell.",
             "response": "An event."}]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["rubrics", "show", "ca-graded", "--dataset", str(data), "--item", "c7"]) == 0
    out = capsys.readouterr().out
    assert "My father died on Tuesday and I froze." in out and "Bereavement is a normal process." in out
    assert f"(item c7 of {data})" in out and "A bridge fell." not in out
    assert main(["rubrics", "show", "ca-graded", "--dataset", str(data), "--item", "c7x"]) == 2
    captured = capsys.readouterr()
    assert "no item 'c7x'" in captured.err and "did you mean 'c7'" in captured.err and captured.out == ""
    assert main(["rubrics", "show", "ca-graded", "--item", "c7"]) == 2
    assert "--dataset FILE and --item ITEM_ID go together" in capsys.readouterr().err
