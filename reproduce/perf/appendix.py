"""What the Performance appendix shows of a suite's results (:func:`reproduce.perf.suite`): the targets met or not,
its tables, and its sentences, each generated from the numbers it states."""

from __future__ import annotations

from datetime import datetime

import pandas as pd



#: The target the project set for each ratio, and its direction: (target, "at least" or "at most").
TARGETS = {"training vs torchvision": (1.3, "at least"), "inference vs torchvision": (1.6, "at least"),
           "training, share of matmul peak": (0.8, "at least"), "inference, share of matmul peak": (0.7, "at least"),
           "144 crops, cutting overhead": (0.1, "at most"), "144 crops vs naive loop": (5.0, "at least")}


def targets(result: dict) -> list[dict]:
    """Each target of :data:`TARGETS` against what ``result`` measured, one row per size."""
    measured = []
    for row in result["training"]:
        measured += [("training vs torchvision", row["image_size"], row["ratio"]),
                     ("training, share of matmul peak", row["image_size"], row["share_of_peak"])]
    for row in result["inference"]:
        measured += [("inference vs torchvision", row["image_size"], row["ratio"]),
                     ("inference, share of matmul peak", row["image_size"], row["share_of_peak"])]
    for row in result["crops"]:
        measured += [("144 crops, cutting overhead", row["crop"], row["overhead"]),
                     ("144 crops vs naive loop", row["crop"], row["speedup_over_naive"])]
    rows = []
    for name, size, value in measured:
        goal, direction = TARGETS[name]
        met = value >= goal if direction == "at least" else value <= goal
        rows.append({"measure": name, "image_size": size, "value": value, "target": goal, "direction": direction,
                     "met": met})
    return sorted(rows, key=lambda row: (list(TARGETS).index(row["measure"]), -row["image_size"]))


def _formatted(measure: str, value: float) -> str:
    if "share" in measure:
        return f"{value:.0%}"
    if "overhead" in measure:
        return f"{value:+.1%}"
    return f"{value:.2f}x"


def targets_table(result: dict) -> pd.DataFrame:
    """The targets against the measurements, formatted for printing and for the book."""
    return pd.DataFrame([{"measure": row["measure"], "size (px)": row["image_size"],
                          "measured": _formatted(row["measure"], row["value"]),
                          "target": ("≥ " if row["direction"] == "at least" else "≤ ")
                          + _formatted(row["measure"], row["target"]).lstrip("+"),
                          "met": "yes" if row["met"] else "no"} for row in targets(result)])


def machine_line(result: dict) -> str:
    """One sentence naming the machine and the software a result was measured with."""
    where = result["machine"]
    device = f"an {where['gpu']}" if where.get("gpu") else f"the CPU ({where['processor']}, {where['cores']} cores)"
    commit = f", commit `{result['git_commit'][:12]}`" if result.get("git_commit") else ""
    when = (datetime.fromisoformat(result["measured"]).strftime("%Y-%m-%d at %H:%M UTC") if result.get("measured")
            else "an unrecorded date")
    return (f"Measured on {device} with {where['threads']} threads, torch {where['torch']} and torchvision "
            f"{where['torchvision']}, on {when}{commit}; the fp32 "
            f"matrix-multiply peak measured in the same run was "
            f"{result['matmul_peak']['flops_per_second'] / 1e9:.0f} GFLOP/s.")


def findings(result: dict) -> dict[str, str]:
    """What the measurements say, one paragraph per part, written from ``result`` (the notebook of the Performance
    appendix shows them, so a rerun on another machine rewrites them)."""
    text = {}
    parts = []
    for profile in result.get("training_profile", []):
        shares = profile["shares"]
        convolution = shares["convolution, forward"] + shares["convolution, backward"]
        counted = convolution + shares["matrix products"]
        rates = profile.get("share_of_peak", {})
        training = next(row for row in result["training"] if row["image_size"] == profile["image_size"])
        ceiling = training["share_of_peak"] / counted if counted else float("nan")
        speedup = profile["speedup"]
        parts.append(
            f"At {profile['image_size']} px, channels_last makes the forward convolutions "
            f"{speedup['convolution, forward']:.2f}x, the backward ones {speedup['convolution, backward']:.2f}x, "
            f"batch norm {speedup['batch norm']:.2f}x and pooling {speedup['pooling']:.2f}x as fast as "
            f"torchvision's NCHW; the backward convolutions gain least and weigh most. "
            f"Convolutions take {convolution:.0%} of a training step (forward "
            f"{shares['convolution, forward']:.0%}, backward {shares['convolution, backward']:.0%}) and run at "
            f"{rates.get('convolution, forward', float('nan')):.0%} and "
            f"{rates.get('convolution, backward', float('nan')):.0%} of the peak. The other "
            f"{1 - counted:.0%} goes to work that does no counted FLOPs (batch norm {shares['batch norm']:.0%}, "
            f"ReLU {shares['ReLU']:.0%}, pooling {shares['pooling']:.0%}, gradient sums and the optimizer "
            f"{shares['gradient sums and optimizer']:.0%}, the rest {shares['other']:.0%}): even if it took no time, "
            f"the step would reach {ceiling:.0%} of the peak.")
    text["profile"] = " ".join(parts)
    if "compile" in result:
        sentences = []
        for mode in ("training", "inference"):
            row = result["compile"][mode]
            verdict = (f"pays for its {row['compile_seconds']:.0f} s of compiling after "
                       f"{row['break_even_images']:,.0f} images" if row["break_even_images"] else
                       f"is slower and never pays for its {row['compile_seconds']:.0f} s of compiling")
            sentences.append(f"for {mode} the compiled model runs at {row['ratio']:.2f}x the eager one and {verdict}")
        text["compile"] = (f"At {result['compile']['image_size']} px, " + "; ".join(sentences) + ". The book's "
                           "notebooks run eagerly; `TrainConfig(compile=True)` compiles the training step (with "
                           "`compile_mode=\"reduce-overhead\"`, as CUDA graphs) on machines where this benchmark "
                           "shows that it pays.")
    ensemble = result["ensemble"]
    faster = {"training": ensemble["train_stacked_vs_loop"], "inference": ensemble["inference_vmap_vs_loop"]}
    text["ensemble"] = " ".join(
        f"For {kind}, {ensemble['members']} members run together (`vmap`) at {ratio:.2f}x the speed of one by one"
        + (", so the book runs them one by one here." if ratio < 1 else ", so running them together pays here.")
        for kind, ratio in faster.items())
    rows = []
    for row in result["data"]:
        augmentation = "the book's flips" if not row["augmentation"]["crop"] else "Section 6's full augmentation"
        rates = row["images_per_second"]
        worker = rates["epoch, 1 worker"] / rates["epoch, no workers"]
        rows.append(f"With {augmentation}, augmentation runs at {row['augment_vs_train']:.1f}x the training step's "
                    f"rate and takes {row['loading_share']:.0%} of an epoch when loading and training take turns "
                    f"(a whole epoch: {rates['epoch, no workers']:,.0f} images/s). With one worker process loading "
                    f"beside the training, an epoch runs at {worker:.2f}x that rate"
                    + (": the worker takes cores from the training step, so the book loads in the training "
                       "process." if worker < 1 else ", so a worker keeps the model fed here."))
    rendered = result["data"][0]["images_per_second"]["render"]
    text["data"] = (f"The embedded data set renders {rendered:,.0f} images per second, once per data set. "
                    + " ".join(rows))
    return text


def tables(result: dict) -> dict[str, pd.DataFrame]:
    """The compile, ensemble and data measurements of ``result`` as tables formatted for the book (a result
    measured with ``--no-compile`` has no compile table)."""
    def rate(value: float | None) -> str:
        return "never" if value is None else f"{value:,.0f}"

    out = {"ensemble": pd.DataFrame([{"": name, "model-images per second": rate(value)}
                                     for name, value in result["ensemble"]["images_per_second"].items()]),
           "data": pd.DataFrame([{"augmentation": ", ".join(k for k, v in row["augmentation"].items() if v),
                                  **{f"{k} (img/s)": rate(v) for k, v in row["images_per_second"].items()},
                                  "loading share of an epoch": f"{row['loading_share']:.0%}"}
                                 for row in result["data"]])}
    if "compile" in result:
        out["compile"] = pd.DataFrame([{"mode": mode, "compile (s)": rate(row["compile_seconds"]),
                                        **{f"{k} (img/s)": rate(v) for k, v in row["images_per_second"].items()},
                                        "compiled / eager": f"{row['ratio']:.2f}x",
                                        "pays back after (images)": rate(row["break_even_images"])}
                                       for mode, row in result["compile"].items() if isinstance(row, dict)])
    return out

