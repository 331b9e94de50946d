"""``graphcl``: train a method on a dataset, or list what is available.

    graphcl train METHOD --dataset NAME [--root DIR] [--config FILE.yaml] [--preset NAME] [--epochs N]
                  [--seed S] [--device D] [--threads T] [--matmul-precision P] [--out DIR] [--resume DIR] [--quiet]
    graphcl list
    graphcl bench clustering [--datasets ...] [--methods ...] [--seeds N] ...
"""
from __future__ import annotations

import argparse
import sys

from .data import dataset_names, registry
from .methods import METHODS
from .train import MATMUL_PRECISIONS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphcl", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a method and evaluate its embeddings")
    train.add_argument("method", nargs="?", help=f"one of: {', '.join(sorted(METHODS))}")
    train.add_argument("--dataset", help="a dataset name (see `graphcl list`)")
    train.add_argument("--root", help="data root (default: $GRAPHCL_DATA, else datasets/)")
    train.add_argument("--config", help="YAML file of config keys overriding the preset")
    train.add_argument("--preset", help="a named preset of the method (default: the one named after the dataset)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--device", default="cpu")
    train.add_argument("--threads", type=int, help="torch intra-op CPU threads (default: torch's choice)")
    train.add_argument("--matmul-precision", choices=MATMUL_PRECISIONS,
                       help="float32 matrix products while training (config key matmul_precision; default: highest, "
                            "float32; medium: bfloat16 products, float32 sums, faster on AMX CPUs)")
    train.add_argument("--out", help="output folder (default: runs/<method>-<dataset>-<time>/)")
    train.add_argument("--resume", help="a previous run's folder: continue from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("list", help="methods, datasets and presets")
    bench = sub.add_parser("bench", help="run a benchmark (`graphcl bench clustering --help`)")
    bench.add_argument("name", choices=["clustering"])
    bench.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own options")
    return parser


def _list() -> str:
    lines = ["methods:"]
    for name, cls in sorted(METHODS.items()):
        lines.append(f"  {name:10s} presets: {', '.join(cls.presets) or '-'}")
    lines.append("datasets:")
    for name in dataset_names():
        info = registry()[name]
        size = ", ".join(f"{k} {v}" for k, v in info.size.items())
        lines.append(f"  {name:14s} {info.loader:9s} {size}")
    return "\n".join(lines)


def _summary(metrics: dict) -> str:
    lines = [f"{metrics['method']} on {metrics['dataset']} ({metrics['epochs']} epochs, "
             f"{metrics['train_seconds']:.1f} s, final loss {metrics['final_loss']:.4f})"]
    if "linear_probe" in metrics:
        p = metrics["linear_probe"]
        lines.append(f"  linear probe accuracy: {100 * p['accuracy_mean']:.2f} +- {100 * p['accuracy_std']:.2f} "
                     f"({p['protocol']})")
    if "linear_probe_public_split" in metrics:
        lines.append(f"  linear probe accuracy, public split: "
                     f"{100 * metrics['linear_probe_public_split']['accuracy_mean']:.2f}")
    if "clustering" in metrics:
        c = metrics["clustering"]
        lines.append("  clustering (" + c["source"] + "): " + ", ".join(
            f"{k.upper()} {c[k]:.4f}" for k in ("acc", "nmi", "ari", "f1", "modularity", "conductance") if k in c))
    if "link_prediction" in metrics:
        lp = metrics["link_prediction"]
        lines.append(f"  link prediction: AUC {lp['auc']:.4f}, AP {lp['ap']:.4f}")
    lines.append(f"  outputs: {metrics['out']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        print(_list())
        return 0
    if args.command == "bench":
        from .bench.clustering import main as clustering_benchmark

        return clustering_benchmark(args.args)
    from .runner import run  # heavy imports only when training
    from .train import flush_denormals_process_wide

    flush_denormals_process_wide()  # before torch starts its worker threads

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.resume is None and (args.method is None or args.dataset is None):
        print("graphcl train: give METHOD and --dataset, or --resume DIR", file=sys.stderr)
        return 2
    try:
        overrides = {"epochs": args.epochs, "seed": args.seed, "matmul_precision": args.matmul_precision}
        metrics = run(args.method, args.dataset, root=args.root, config_file=args.config, overrides=overrides,
                      preset=args.preset, device=args.device, out=args.out, resume=args.resume,
                      progress=not args.quiet)
    except (ValueError, FileNotFoundError) as err:
        print(f"graphcl: error: {err}", file=sys.stderr)
        return 2
    print(_summary(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
