"""``run.watch``: histograms of a torch model's gradients and parameters, as the original logs them.

Every ``log_freq``-th call of a hook (gradients: the backward passes that reach each parameter;
parameters: each module's forward passes in training mode, as the original) logs one
:class:`tracklet.Histogram` per parameter, ``gradients/<name>`` or ``parameters/<name>``, with
``commit=False``, so it joins the row of the script's next ``log``. The other calls only count.
The histogram is made where the tensor is (``torch.histc``, 64 bins), so only 66 numbers
are copied to the CPU. Hooks are removed by :func:`unwatch` and when the run finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tracklet.errors import UsageError

if TYPE_CHECKING:
    from tracklet.sdk.run import Run

LOG_CHOICES = ("gradients", "parameters", "all", None)
BINS = 64


class Watcher:
    """The hooks a run has put on models; a service of the run, so ``finish`` removes them."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._handles: dict[int, list[Any]] = {}  # id(model) → hook handles
        self._count = 0  # models watched so far: the next one's default ``idx``

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.unwatch(None)

    def watch(self, models: Any, log: str | None, log_freq: int, idx: int | None, log_graph: bool) -> None:
        import torch

        if log not in LOG_CHOICES:
            raise UsageError(f"watch: log must be one of 'gradients', 'parameters', 'all' or None, got {log!r}")
        if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
            raise UsageError(f"watch: log_freq must be a positive integer, got {log_freq!r}")
        if idx is not None and (isinstance(idx, bool) or not isinstance(idx, int) or idx < 0):
            raise UsageError(f"watch: idx must be a non-negative integer, got {idx!r}")
        models = models_of(models)
        for model in models:
            if not isinstance(model, torch.nn.Module):
                raise UsageError(f"watch: models must be torch.nn.Module objects, got {type(model).__name__}")
        if log_graph:
            self._run._printer.warn("watch: log_graph=True is not supported by Tracklet; the model graph is not logged")
        start = self._count if idx is None else idx
        self._count = start + len(models)
        for offset, model in enumerate(models):
            prefix = f"graph_{start + offset}" if start + offset > 0 else ""  # the original's names
            handles = self._handles.setdefault(id(model), [])
            if log in ("parameters", "all"):
                for module_name, module in model.named_modules():
                    if any(True for _ in module.parameters(recurse=False)):
                        hook = self._parameters_hook(prefix + (module_name + "." if module_name else ""), log_freq)
                        handles.append(module.register_forward_hook(hook))
            if log in ("gradients", "all"):
                for name, parameter in model.named_parameters():
                    if parameter.requires_grad:
                        handles.append(parameter.register_hook(self._gradient_hook(f"gradients/{prefix}{name}", log_freq)))

    def unwatch(self, models: Any) -> None:
        for key in list(self._handles) if models is None else [id(m) for m in models_of(models)]:
            for handle in self._handles.pop(key, []):
                handle.remove()

    def _gradient_hook(self, key: str, log_freq: int) -> Callable[[Any], None]:
        calls = 0

        def hook(grad: Any) -> None:
            nonlocal calls
            calls += 1
            if calls >= log_freq:
                calls = 0
                self._log(key, grad)

        return hook

    def _parameters_hook(self, prefix: str, log_freq: int) -> Callable[[Any, Any, Any], None]:
        calls = 0

        def hook(module: Any, inputs: Any, output: Any) -> None:
            nonlocal calls
            if not module.training:
                return
            calls += 1
            if calls >= log_freq:
                calls = 0
                for name, parameter in module.named_parameters(recurse=False):
                    self._log(f"parameters/{prefix}{name}", parameter)

        return hook

    def _log(self, key: str, tensor: Any) -> None:
        run = self._run
        if run._finished:
            return
        histogram = tensor_histogram(tensor)
        if histogram is not None:
            from tracklet.media import Histogram
            from tracklet.sdk.values import prepare_row

            run._log(prepare_row({key: Histogram(np_histogram=histogram)}, run._media), None, False)


def tensor_histogram(tensor: Any) -> tuple[list[float], list[float]] | None:
    """``(counts, edges)`` of a tensor's finite values, 64 bins, counted on the tensor's device."""
    import torch

    with torch.no_grad():
        flat = tensor.detach()
        if flat.is_sparse:
            flat = flat.coalesce().values()
        flat = flat.reshape(-1).float()
        if flat.numel() == 0:
            return None
        low, high = (float(v) for v in torch.stack(torch.aminmax(flat)).cpu())
        if not (abs(low) < float("inf") and abs(high) < float("inf")):  # NaN or ±inf: count the finite ones
            flat = flat[torch.isfinite(flat)]
            if flat.numel() == 0:
                return None
            low, high = (float(v) for v in torch.stack(torch.aminmax(flat)).cpu())
        if low == high:  # histc widens an empty range by 1 on each side
            low, high = low - 1, high + 1
        counts = torch.histc(flat, bins=BINS, min=low, max=high).cpu().tolist()
    step = (high - low) / BINS
    edges = [low + i * step for i in range(BINS)] + [high]
    return [int(c) for c in counts], edges


def models_of(models: Any) -> Sequence[Any]:
    return list(models) if isinstance(models, (list, tuple)) else [models]
