"""Command line: ``python -m companion <command>``."""

from __future__ import annotations

import argparse
import shlex
import sys

from companion.errors import CompanionError


def _doctor(_: argparse.Namespace) -> int:
    """Print the versions of the stack and where data sets are looked for."""
    import importlib.metadata as md
    import platform

    print(f"python {platform.python_version()} on {platform.machine()}")
    for name in ["companion", "torch", "torch-geometric", "numpy", "vesin", "e3nn",
                 "pymatgen", "ase"]:
        try:
            print(f"{name:16s} {md.version(name)}")
        except md.PackageNotFoundError:
            print(f"{name:16s} NOT INSTALLED")
    import torch

    print(f"torch CUDA available: {torch.cuda.is_available()}")
    from companion.data.resolve import search_dirs

    print("data search path:", *[str(p) for p in search_dirs()], sep="\n  ")
    return 0


class _UsageError(CompanionError):
    """A bad command line: printed as ``error: ...``, exit code 2."""


def _json_arg(text: str | None) -> dict:
    """A JSON object given inline or as a file path."""
    import json
    from pathlib import Path

    if not text:
        return {}
    try:
        source = Path(text).read_text() if Path(text).is_file() else text
    except OSError:  # inline JSON longer than a file name may be
        source = text
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise _UsageError(f"--config is neither a JSON object nor a JSON file: {exc}") from None
    if not isinstance(value, dict):
        raise _UsageError("--config must be a JSON object")
    return value


_NOT_FLAGS = ("checkpoint_dir", "progress")
"""TrainConfig fields without a flag of their own: --out and --quiet set them."""


def _train_flags() -> dict[str, dict]:
    """``--flag`` keyword arguments of argparse for each TrainConfig field, derived from the
    dataclass: type from the annotation, choices from ``CHOICES``, help from the docstring's
    ``Attributes:`` (booleans: ``--name`` / ``--no-name``)."""
    import dataclasses
    import typing

    from companion.train.config import CHOICES, TrainConfig, field_help

    hints, helps = typing.get_type_hints(TrainConfig), field_help(TrainConfig)
    flags = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in _NOT_FLAGS:
            continue
        kind = hints[f.name]
        base = next((t for t in typing.get_args(kind) if t is not type(None)), kind)
        help_text = f"{helps.get(f.name, '')} (default {f.default})".replace("%", "%%")
        if base is bool:
            flags[f.name] = {"action": argparse.BooleanOptionalAction, "help": help_text}
        else:
            flags[f.name] = {"type": base, "choices": CHOICES.get(f.name), "help": help_text,
                             "metavar": None if f.name in CHOICES else f.name.upper()}
    return flags


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a model on a data set (single process, or under torchrun)",
        description="Train a model; writes OUT/metrics.json, OUT/checkpoint.pt (+ the "
        "previous one) and OUT/test_predictions.csv. Multi-GPU/multi-process: torchrun "
        "--nproc_per_node K -m companion train ... (batch size is global).")
    p.add_argument("--model", required=True, help="model name, e.g. cgcnn")
    p.add_argument("--data", default="mp_eform", help="data set name (default mp_eform)")
    p.add_argument("--target", default=None, help="target name (default: the first)")
    p.add_argument("--out", required=True, help="output folder")
    for name, kwargs in _train_flags().items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, default=None, **kwargs)
    p.add_argument("--no-normalize", dest="normalize_targets", action="store_false",
                   help="the same as --no-normalize-targets")
    p.add_argument("--config", default=None,
                   help='JSON (inline or a file): {"model": {...}, "train": {...}}; an object '
                   "without these keys is the model config")
    p.add_argument("--fast", action="store_true",
                   help="FAST mode: the first 256/64/64 records of the splits")
    p.add_argument("--init", default=None, metavar="SOURCE",
                   help="fine-tune: start from these weights, a pretrained model's name "
                   "(python -m companion models) or a run folder / checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    """python -m companion train: see companion.train.train_model."""
    import os

    from companion.models.registry import build_model, train_defaults
    from companion.train import TrainConfig, train_model

    raw = _json_arg(args.config)
    if "model" in raw or "train" in raw:
        model_config, train = dict(raw.get("model", {})), dict(raw.get("train", {}))
    else:
        model_config, train = raw, {}
    train.update({k: getattr(args, k) for k in _train_flags() if getattr(args, k) is not None})
    train.update(checkpoint_dir=args.out, progress=not args.quiet and train.get("progress", True))
    try:  # the model's recommended recipe, then --config, then the flags
        config = TrainConfig(**{**train_defaults(args.model), **train})
    except (TypeError, ValueError) as exc:
        raise _UsageError(f"training settings: {exc}") from None
    try:
        build_model(args.model, model_config)  # unknown model or config key: say so now
    except (TypeError, ValueError) as exc:
        raise _UsageError(str(exc)) from None
    try:
        metrics = train_model(args.model, args.data, args.target, args.out, model_config,
                              config, fast=True if args.fast else None, command=args.command_line,
                              init=args.init)
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0 and metrics.get("task") == "potential":
        for split in dict.fromkeys(("train", "val", "test", metrics["test_set"])):
            m = metrics[split]
            print(f"{split:7s}  energy MAE {m['energy_mae']:.2f} meV/atom  force MAE "
                  f"{m['force_mae']:.1f} meV/Å  RMSE {m['force_rmse']:.1f} meV/Å")
        print(f"{metrics['epochs_run']} epochs (best {metrics['best_epoch']}), "
              f"{metrics['n_params']} parameters, {metrics['device']} x "
              f"{metrics['world_size']}, {metrics['wall_time_s']:.1f} s -> {args.out}")
    elif int(os.environ.get("RANK", "0")) == 0:
        unit = metrics["unit"]
        for split in dict.fromkeys(("train", "val", "test", metrics["test_set"])):
            if split not in metrics:  # an empty split (a set whose test set is elsewhere)
                continue
            m = metrics[split]
            if metrics.get("task") == "phonon_bands":
                print(f"{split:5s}  band MAE {m['mae']:.4f} {unit}  BandLoss "
                      f"{m['band_loss']:.5f}")
                continue
            print(f"{split:5s}  MAE {m['mae']:.4f} {unit}  RMSE {m['rmse']:.4f} {unit}  "
                  f"R2 {m['r2']:.3f}")
        print(f"{metrics['epochs_run']} epochs (best {metrics['best_epoch']}), "
              f"{metrics['n_params']} parameters, {metrics['device']} x "
              f"{metrics['world_size']}, {metrics['wall_time_s']:.1f} s -> {args.out}")
    return 0


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="predict with a pretrained (--model) or trained (--checkpoint) model",
        description="Predict a property for every structure in files, folders or glob "
        "patterns (any format pymatgen or ASE reads; an extended XYZ may hold many frames). "
        "Exit status 0: every structure predicted; 1: some failed (each has a row with the "
        "reason); 2: nothing ran (bad command line, unknown model).")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="a pretrained model by name (python -m companion "
                       "models lists them), e.g. cgcnn/formation-energy-per-atom")
    which.add_argument("--checkpoint", help="run folder (--out of train) or checkpoint file")
    p.add_argument("inputs", nargs="*", metavar="STRUCTURE",
                   help="structure files, folders or quoted glob patterns ('cifs/*.cif')")
    p.add_argument("--cif", nargs="+", default=[], metavar="FILE",
                   help="the same as STRUCTURE (kept for older scripts)")
    p.add_argument("--out", default=None, help="write one row per structure to FILE.csv or "
                   "FILE.json (source, frame, formula, n_atoms, prediction, unit, model, error)")
    p.add_argument("--batch-size", type=int, default=64, help="structures per forward pass "
                   "(default 64)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--workers", type=int, default=None, help="processes reading files and "
                   "building graphs (default: one per core for 32 files or more; 0: none)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    p.set_defaults(func=_predict)


TABLE_ROWS = 50
"""Runs with at most this many structures print their table to the terminal."""


def _predict(args: argparse.Namespace) -> int:
    """python -m companion predict: rows to --out, a table for small runs, errors on stderr."""
    from companion.screening import format_table, predict_files, write_rows
    from companion.train import load_predictor

    inputs = [*args.inputs, *args.cif]
    if not inputs:
        raise _UsageError("no structures given: name files, folders or glob patterns.")
    if args.batch_size < 1:
        raise _UsageError(f"--batch-size must be >= 1, got {args.batch_size}.")
    if args.out is not None and not args.out.lower().endswith((".csv", ".json")):
        raise _UsageError(f"--out {args.out}: the file must end in .csv or .json.")
    try:
        predictor = load_predictor(args.checkpoint or args.model, device=args.device)
    except ValueError as exc:  # an unavailable device
        raise _UsageError(str(exc)) from None
    rows = predict_files(predictor, inputs, args.batch_size, args.workers,
                         progress=False if args.quiet else None)
    failed = [r for r in rows if r.error]
    for r in failed[:10]:
        where = f"{r.source}" + (f" (frame {r.frame})" if r.frame else "")
        print(f"error: {r.error if r.error.startswith(r.source) else f'{where}: {r.error}'}",
              file=sys.stderr)
    if len(failed) > 10:
        print(f"error: ... and {len(failed) - 10} more structures without a prediction"
              f"{f' (reasons in {args.out})' if args.out else ''}", file=sys.stderr)
    if args.out is not None:
        write_rows(rows, args.out)
    if not args.quiet and (args.out is None or len(rows) <= TABLE_ROWS):
        table = format_table(rows, predictor.target)
        if table:
            print(table)
    if args.out is not None:
        print(f"{len(rows) - len(failed)} of {len(rows)} structures predicted with "
              f"{predictor.model_name} -> {args.out}")
    return 1 if failed else 0


def _models(_: argparse.Namespace) -> int:
    """python -m companion models: what predicts without training."""
    from companion.models.pretrained import CATALOGUE
    from companion.models.registry import model_names

    print("Models that predict without training (python -m companion predict --model NAME):\n")
    for entry in CATALOGUE.values():
        shipped = f"\n    weights: {entry.source}" if entry.checkpoint is not None else ""
        print(f"{entry.name}\n    {entry.target} [{entry.unit}]\n    trained on: "
              f"{entry.data}\n    cite: {entry.citation}{shipped}")
    print(f"\nArchitectures to train ({', '.join(model_names())}): python -m companion train "
          "--model M --out RUN, then predict --checkpoint RUN.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print versions and data search path").set_defaults(func=_doctor)
    _add_train(sub)
    _add_predict(sub)
    sub.add_parser("models", help="list the pretrained models (predict --model NAME)"
                   ).set_defaults(func=_models)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
        args.command_line = shlex.join(["python", "-m", "companion", *argv])
    except SystemExit as exc:  # --help (0) or a bad flag (2, argparse printed why)
        return int(exc.code or 0)
    try:
        return args.func(args)
    except CompanionError as exc:  # a clear message, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "train":
            print(f"\ninterrupted; continue with the same command and --resume "
                  f"(checkpoint in {args.out})", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
