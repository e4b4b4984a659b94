"""``mlpnet info``: what a checkpoint holds, as a dict and as readable text."""

from __future__ import annotations

import math
from pathlib import Path

from . import checkpoint
from .data.spec import InputSpec


def describe(path: str | Path) -> dict:
    """Architecture, parameter count, data, training config and metrics of a checkpoint."""
    return describe_checkpoint(checkpoint.load(path), path)


def describe_checkpoint(ckpt: checkpoint.Checkpoint, path: str | Path) -> dict:
    """:func:`describe` for a checkpoint already loaded."""
    meta, model = ckpt.meta, ckpt.model
    cfg = meta.config
    return {
        "path": str(path),
        "format_version": meta.format_version,
        "mlpnet_version": meta.mlpnet_version or None,
        "created": meta.created,
        "architecture": model.arch.to_dict(),
        "parameters": model.n_params,
        "dataset": cfg.get("data", {}).get("dataset"),
        "data_path": cfg.get("data", {}).get("path"),
        "task": ckpt.task,
        "classes": meta.classes,
        "targets": ckpt.target_names if ckpt.task == "regression" else None,
        "input": meta.input.to_dict(),
        "epoch": meta.epoch,
        "epochs_planned": cfg.get("train", {}).get("epochs"),
        "status": meta.status or None,
        "run_epochs": meta.epochs_run,
        "metrics": meta.metrics,
        "best": meta.best,
        "test": meta.test,
        "resumable": meta.resumable,
        "config": cfg,
    }


def format_info(d: dict) -> str:
    """Readable multi-line summary of :func:`describe`'s result."""
    a = d["architecture"]
    cfg = d["config"]
    o, t = cfg.get("optimizer", {}), cfg.get("train", {})
    m, best = d["metrics"], d["best"]
    classes = d["classes"]
    shown = ", ".join(classes[:12]) + (f", ... ({len(classes)} in all)" if len(classes) > 12 else "")
    made = [f"format v{d['format_version']}", *([f"mlpnet {d['mlpnet_version']}"] if d["mlpnet_version"] else []),
            *([d["created"]] if d["created"] else [])]
    lines = [
        f"checkpoint   {d['path']}  ({', '.join(made)})",
        f"network      {'-'.join(map(str, a['sizes']))}, {a['activation']} hidden, {a['output']} output, "
        f"dropout {a['dropout']}, {d['parameters']:,} parameters ({a['dtype']})",
        f"data         {d['dataset']}{' at ' + d['data_path'] if d['data_path'] else ''}; input "
        f"{_input(d['input'])}",
        f"task         {d.get('task', 'classification')}",
        (f"targets      {', '.join(d['targets'])}" if d.get("targets") else
         f"{'labels' if d.get('task') == 'multilabel' else 'classes'}      "[:13] + f"{shown}"),
        f"training     loss {_v(cfg.get('loss'))}, {_v(o.get('name'))} lr {_v(o.get('lr'))}, schedule "
        f"{_v(cfg.get('schedule', {}).get('name'))}, batch {_v(t.get('batch_size'))}, seed {_v(cfg.get('seed'))}",
        f"epochs       {_epochs(d)}; "
        f"{'resumable' if d['resumable'] else 'weights only (a run resumes from its last.npz)'}",
        f"this epoch   train loss {_f(m.get('train_loss'))}"
        + ("; " if d.get("task") == "regression" else f", acc {_f(m.get('train_accuracy'))}; ") +
        f"val loss {_f(m.get('val_loss'))}, "
        + (f"r2 {_f(m.get('val_r2'))}" if "val_r2" in m else f"acc {_f(m.get('val_accuracy'))}"),
        f"best         {_v(best.get('monitor'))} {_f(best.get('value'))} at epoch {_v(best.get('epoch'))}",
    ]
    if d["test"]:
        t = d["test"]
        score = f"r2 {_f(t['r2'])}" if "r2" in t else f"accuracy {_f(t.get('accuracy'))}"
        lines.append(f"test         {score}, loss {_f(t['loss'])} on "
                     f"{d['test']['n']} samples (epoch {d['test']['epoch']})")
    return "\n".join(lines)


def _epochs(d: dict) -> str:
    planned = [f"{_v(d['epochs_planned'])} planned"]
    if d["status"]:
        planned.insert(0, d["status"])
    if d["run_epochs"] != d["epoch"]:
        return f"epoch {_v(d['epoch'])} (the best) of a run of {_v(d['run_epochs'])} ({', '.join(planned)})"
    return f"{_v(d['epoch'])} of {_v(d['epochs_planned'])}" + (f" ({d['status']})" if d["status"] else "")


def _input(info: dict) -> str:
    return InputSpec.from_dict(info).describe()


def _f(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _v(v) -> str:
    """A stored value as written, or "-" when the checkpoint does not record it."""
    return "-" if v is None else str(v)
