#!/usr/bin/env bash
# The nightly evaluation, step by step (.github/workflows/nightly.yml runs it; so can you, locally).
#
# 1. Judge a seeded, stratified sample of DATASET with CONFIG's panel (under BUDGET_USD if set).
# 2. Find the baseline: the pinned one committed under PINNED if it was made with the same plan
#    (panel, rubric versions, dataset, sample), else the one a previous night left in CACHED; with
#    none (the first night, or REFRESH=true), this run becomes the baseline in CACHED and the job
#    passes, saying so.
# 3. Compare: the Markdown comparison goes to SUMMARY (the job summary), the page to
#    RUN_DIR/compare.html; the exit code is compare's (0 pass, 4 regression, 5 a run is
#    unhealthy), or the run's own when it failed.
#
# Every setting is an environment variable with a default that works in a fresh clone: the
# offline panel on the bundled sample set, compared with the baseline shipped in baselines/nightly.
set -u

CONFIG=${CONFIG:-configs/nightly-offline.yaml}
DATASET=${DATASET:-judge/data/sample.jsonl}
SAMPLE=${SAMPLE:-200}
SEED=${SEED:-20260101}
BUDGET_USD=${BUDGET_USD:-}
DELTA=${DELTA:-0.05}
RUN_DIR=${RUN_DIR:-runs/nightly}
PINNED=${PINNED:-baselines/nightly}
CACHED=${CACHED:-.nightly/baseline}
REFRESH=${REFRESH:-false}
SUMMARY=${SUMMARY:-${GITHUB_STEP_SUMMARY:-/dev/stdout}}
OUTPUT=${OUTPUT:-${GITHUB_OUTPUT:-/dev/null}}
EJ=${EMPATHY_JUDGE:-empathy-judge}   # word-split on purpose: "python -m judge" works too

say() { printf '%s\n' "$*" >> "$SUMMARY"; }

# A baseline is the files compare reads, copied out of a run directory.
keep_as_baseline() {
  rm -rf "$CACHED" && mkdir -p "$CACHED"
  for f in manifest.json summary.json verdicts.parquet items.parquet; do
    if [ -f "$RUN_DIR/$f" ]; then cp "$RUN_DIR/$f" "$CACHED/"; fi
  done
  echo "baseline_created=true" >> "$OUTPUT"
  say "### No baseline to compare with yet"
  say ""
  say "This run ($RUN_DIR) is now the baseline (kept in \`$CACHED\`; the workflow caches it for the next"
  say "nights). To pin it, commit its manifest.json, summary.json, verdicts.parquet and items.parquet to"
  say "\`$PINNED\` (the workflow uploads them as the artifact \`nightly-baseline\`)."
}

# 1. Judge.
table=$(mktemp)
$EJ run --config "$CONFIG" --dataset "$DATASET" --sample "$SAMPLE" --seed "$SEED" \
  ${BUDGET_USD:+--budget-usd "$BUDGET_USD"} --run-dir "$RUN_DIR" --quiet > "$table" 2>&1
code=$?
if [ "$code" -eq 3 ]; then
  echo "::warning::the budget of \$$BUDGET_USD was reached; part of the sample was skipped"
elif [ "$code" -ne 0 ]; then
  say "### The nightly run failed (exit $code)"
  say ""
  say '```'
  cat "$table" >> "$SUMMARY"
  say '```'
  exit "$code"   # 5: a judge never delivered (see the run's health); 2: bad input
fi

# 2. Find the baseline.
if [ "$REFRESH" = "true" ]; then
  keep_as_baseline
  exit 0
fi
compare() {
  $EJ compare "$1" "$RUN_DIR" --fail-on-regression "$DELTA" --html "$RUN_DIR/compare.html" \
    > "$RUN_DIR/compare.md" 2> "$RUN_DIR/compare.err"
}
if [ -f "$PINNED/manifest.json" ]; then
  compare "$PINNED"
  code=$?
  if [ "$code" -eq 2 ] && grep -q "cannot compare" "$RUN_DIR/compare.err"; then
    # Pinned for another plan (a dataset, panel or rubric version of its own): not this night's.
    say "The pinned baseline \`$PINNED\` was made with another plan, so it is not used:"
    say "\`$(cat "$RUN_DIR/compare.err")\`"
    say ""
  else
    cat "$RUN_DIR/compare.md" >> "$SUMMARY"
    cat "$RUN_DIR/compare.err" >&2
    exit "$code"
  fi
fi
if [ -f "$CACHED/manifest.json" ]; then
  compare "$CACHED"
  code=$?
  if [ "$code" -eq 2 ] && grep -q "cannot compare" "$RUN_DIR/compare.err"; then
    say "The cached baseline was made with another plan; this run replaces it."
    keep_as_baseline
    exit 0
  fi
  cat "$RUN_DIR/compare.md" >> "$SUMMARY"
  cat "$RUN_DIR/compare.err" >&2
  exit "$code"
fi
keep_as_baseline
