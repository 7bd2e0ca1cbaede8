#!/usr/bin/env python3
"""Checks every code snippet of README.md, */README.md and docs/*.md (ctest DocSnippets).

A fenced block is checked by what it holds:
  - lines that run qlab (`qlab SUB`, `build/qlab SUB`, `../build/qlab SUB`):
    `qlab SUB --help` must succeed and name every `--option` the line uses;
  - lines of shell (```sh blocks, and untyped blocks that run qlab): every
    path into the checkout they name (tools/, tests/, experiments/, ...) exists;
  - ```yaml blocks: a study, or a fragment of one completed with a small base
    (a model folder of the test fixtures, a text data set, a perplexity
    evaluator), must pass `qlab run --dry-run`; model paths are pointed at
    the fixture model, as the snippet's own are examples;
  - ```python blocks: run against a results file made here by `qlab run`
    (the fixture model's perplexity, unmodified and RTN), under the name the
    snippet opens (needs h5py and pandas; skipped with a message without them).
A block preceded by `<!-- snippet: skip (why) -->` is not checked; untyped
blocks that run no qlab (error messages, diagrams) hold no code to check.

usage: check_snippets.py SOURCE_DIR QLAB_BINARY
"""
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

SOURCE, QLAB = sys.argv[1:3]
FIXTURE_MODEL = os.path.join(SOURCE, "tests/fixtures/golden/llama2")
CHECKOUT_DIRS = ("tools/", "tests/", "experiments/", "examples/", "docs/", "core/", "plugins/", "evaluation/", "datasets/")
QLAB_CALL = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?qlab\s+([a-z][a-z-]*)(.*)")
QLAB_LINE = re.compile(r"^\s*(?:\S*/)?qlab\s+[a-z]", re.M)   # an untyped block's command line
failures = []


def blocks(path):
    """(first line number, language, text, skipped) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        skipped = i > 0 and lines[i - 1].startswith("<!-- snippet: skip")
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        yield start + 1, m.group(1), "\n".join(body) + "\n", skipped
        i += 1


def fail(where, message):
    failures.append(f"{where}: {message}")


def commands(text):
    """Shell lines with continuations joined and comments cut."""
    for line in text.replace("\\\n", " ").split("\n"):
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if line:
            yield line


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


help_texts = {}


def check_qlab_call(where, sub, rest):
    if sub not in help_texts:
        r = run([QLAB, sub, "--help"])
        help_texts[sub] = r.stdout + r.stderr if r.returncode == 0 else None
    if help_texts[sub] is None:
        return fail(where, f"'qlab {sub}' is not a qlab command (qlab {sub} --help fails)")
    for option in re.findall(r"(?:^|\s)(--[a-z][a-z0-9-]*)", rest):
        if not re.search(re.escape(option) + r"\b", help_texts[sub]):
            fail(where, f"'qlab {sub}' has no option {option}")


def check_shell(where, text, runs_qlab_only):
    for line in commands(text):
        if runs_qlab_only and not QLAB_LINE.match(line):
            continue
        calls = QLAB_CALL.findall(line)
        for sub, rest in calls:
            check_qlab_call(where, sub, rest.split("&&")[0])
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        for w in words:
            w = w.split("=", 1)[-1]
            if w.startswith(CHECKOUT_DIRS) and not os.path.exists(os.path.join(SOURCE, w)):
                fail(where, f"'{w}' does not exist in the checkout")


def top_keys(text):
    return re.findall(r"^([A-Za-z_]+):", text, re.M)


def check_yaml(where, text, tmp):
    keys = top_keys(text)
    study = text
    if "model" not in keys:
        study += f"model: {{path: {FIXTURE_MODEL}}}\n"
    if "datasets" not in keys:
        study += "datasets:\n  wiki: {text: {path: wiki.txt}}\n"
    if "evaluators" not in keys:
        ds = re.search(r"^datasets:\s*\n\s+(\w+):", text, re.M)
        study += f"evaluators:\n  - perplexity: {{dataset: {ds.group(1) if ds else 'wiki'}}}\n"
    file = os.path.join(tmp, "snippet.yaml")
    open(file, "w").write(study)
    overrides = [f"output={tmp}/out/r.h5"]
    for m in ("model", "base_model"):
        if m in keys:
            overrides.append(f"{m}.path={FIXTURE_MODEL}")
    r = run([QLAB, "run", file, *overrides, "--dry-run"], cwd=tmp)
    if r.returncode != 0:
        fail(where, "qlab run --dry-run fails on it: " + r.stderr.strip())


def python_with(modules):
    """An interpreter that imports `modules`: this one, else the system's,
    where tools/install_deps.sh --tests installs python3-h5py and python3-pandas (a
    pyenv or venv python3 ahead on PATH does not see them)."""
    for exe in dict.fromkeys([sys.executable, "/usr/bin/python3"]):
        if os.path.exists(exe) and run([exe, "-c", "import " + ", ".join(modules)]).returncode == 0:
            return exe
    return None


def check_python(where, text, tmp):
    python = python_with(["h5py", "pandas"])
    if python is None:
        print(f"{where}: skipped, no python3 here imports h5py and pandas")
        return
    # Each results file it opens: two runs (the unmodified model and RTN) of
    # the fixture model's perplexity, so a snippet reading the `method` axis
    # and `perplexity.ppl`, as it would on the quickstart's file, finds them.
    open(os.path.join(tmp, "text.txt"), "w").write("Once upon a time there was a little cat. " * 40)
    for name in sorted(set(re.findall(r"[\w./-]+\.h5", text))):
        study = os.path.join(tmp, "results_study.yaml")
        open(study, "w").write(f"output: {os.path.join(tmp, name)}\nmodel: {{path: {FIXTURE_MODEL}}}\n"
                               "datasets:\n  t: {text: {path: text.txt}}\nevaluators:\n"
                               "  - perplexity: {dataset: t, seqlen: 16, max_windows: 4}\n"
                               "sweep:\n  grid: {method: [[], [rtn]]}\n")
        r = run([QLAB, "run", study, "--quiet"], cwd=tmp)
        if r.returncode != 0:
            return fail(where, f"could not make {name}: {r.stderr.strip()}")
    r = run([python, "-c", text], cwd=tmp)
    if r.returncode != 0:
        fail(where, "fails: " + r.stderr.strip().split("\n")[-1])


def main():
    files = [os.path.join(SOURCE, "README.md")] + sorted(glob.glob(os.path.join(SOURCE, "*", "README.md")))
    files += sorted(glob.glob(os.path.join(SOURCE, "docs", "*.md")))
    checked = skipped = 0
    for path in files:
        for line, lang, text, skip in blocks(path):
            where = f"{os.path.relpath(path, SOURCE)}:{line}"
            if skip:
                skipped += 1
                continue
            with tempfile.TemporaryDirectory() as tmp:
                if lang in ("sh", "bash"):
                    check_shell(where, text, runs_qlab_only=False)
                elif lang == "yaml":
                    check_yaml(where, text, tmp)
                elif lang == "python":
                    check_python(where, text, tmp)
                elif lang == "" and QLAB_LINE.search(text):
                    check_shell(where, text, runs_qlab_only=True)
                else:
                    continue
            checked += 1
    print(f"{checked} snippets checked, {skipped} marked skip")
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
