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
        "classes": meta.classes,
        "input": meta.input.to_dict(),
        "epoch": meta.epoch,
        "epochs_planned": cfg.get("train", {}).get("epochs"),
        "status": meta.status or None,
        "run_epochs": meta.epochs_run,
        "metrics": meta.metrics,
        "best": meta.best,
        "test": meta.test,
        "resumable": bool(ckpt.group("optim")),
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
    lines = [
        f"checkpoint   {d['path']}  (format v{d['format_version']}, mlpnet {d['mlpnet_version']}, {d['created']})",
        f"network      {'-'.join(map(str, a['sizes']))}, {a['activation']} hidden, {a['output']} output, "
        f"dropout {a['dropout']}, {d['parameters']:,} parameters ({a['dtype']})",
        f"data         {d['dataset']}{' at ' + d['data_path'] if d['data_path'] else ''}; input "
        f"{_input(d['input'])}",
        f"classes      {shown}",
        f"training     loss {cfg.get('loss')}, {o.get('name')} lr {o.get('lr')}, schedule "
        f"{cfg.get('schedule', {}).get('name')}, batch {t.get('batch_size')}, seed {cfg.get('seed')}",
        f"epochs       {_epochs(d)}; "
        f"{'resumable' if d['resumable'] else 'weights only (resume from last.npz)'}",
        f"this epoch   train loss {_f(m.get('train_loss'))}, acc {_f(m.get('train_accuracy'))}; "
        f"val loss {_f(m.get('val_loss'))}, acc {_f(m.get('val_accuracy'))}",
        f"best         {best.get('monitor')} {_f(best.get('value'))} at epoch {best.get('epoch')}",
    ]
    if d["test"]:
        lines.append(f"test         accuracy {_f(d['test']['accuracy'])}, loss {_f(d['test']['loss'])} on "
                     f"{d['test']['n']} samples (epoch {d['test']['epoch']})")
    return "\n".join(lines)


def _epochs(d: dict) -> str:
    if d["run_epochs"] != d["epoch"]:
        return f"epoch {d['epoch']} (the best) of a run of {d['run_epochs']} ({d['status']}, {d['epochs_planned']} planned)"
    return f"{d['epoch']} of {d['epochs_planned']} ({d['status']})"


def _input(info: dict) -> str:
    return InputSpec.from_dict(info).describe()


def _f(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)
