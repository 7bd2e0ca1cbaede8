#!/usr/bin/python3
"""Read qlab results files (HDF5) without qlab: an example for h5py and pandas.

    tools/read_results.py results/quickstart.h5            # one row per run
    tools/read_results.py results/a.shard*of4.h5 --json    # everything, as JSON

The layout is described in results/README.md.
"""
import argparse
import json
import sys

import h5py
import pandas as pd


def read_run(group):
    """One run group as plain Python: attributes, metrics, timing, arrays."""
    run = {key: value.item() if hasattr(value, "item") else value for key, value in group.attrs.items()}
    run["axes"] = json.loads(run.get("axes") or "{}")
    run["metrics"] = {name: float(ds[()]) for name, ds in group["metrics"].items()}
    run["timing"] = {name: float(ds[()]) for name, ds in group["timing"].items()}
    run["arrays"] = {}
    for name, ds in group["arrays"].items():
        # h5py returns variable-length strings as bytes unless asked for str.
        values = ds.asstr()[()] if h5py.check_string_dtype(ds.dtype) else ds[()]
        run["arrays"][name] = values.tolist()
    return run


def read_file(path):
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "qlab-results":
            sys.exit(f"{path}: not a qlab results file")
        return {name: read_run(group) for name, group in f.get("runs", {}).items()}


def runs_table(runs):
    """A pandas DataFrame: one row per run, its metrics as columns."""
    rows = []
    for hash_, run in runs.items():
        row = {"hash": hash_, "status": run["status"], "seed": run["seed"], **run["axes"]}
        row.update(run["metrics"])
        rows.append(row)
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--json", action="store_true", help="print every run in full as JSON")
    args = parser.parse_args()
    runs = {}
    for path in args.files:
        runs.update(read_file(path))
    if args.json:
        json.dump(runs, sys.stdout, indent=1, ensure_ascii=False)
        print()
    else:
        print(runs_table(runs).to_string(index=False))


if __name__ == "__main__":
    main()
