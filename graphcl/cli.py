"""``graphcl``: train a method on a dataset, plot a run, or list what is available.

    graphcl train METHOD --dataset NAME|FILE [--features FILE] [--labels FILE] [--root DIR] [--config FILE.yaml]
                  [--preset NAME] [--epochs N] [--seed S] [--device D] [--threads T] [--matmul-precision P]
                  [--pot] [--out DIR] [--overwrite] [--quiet]
    graphcl train --resume DIR [--epochs N] [--matmul-precision P]
    graphcl plot RUN_DIR [--out DIR] [--map tsne|umap] [--max-points N] [--clusters K] [--seed S]
    graphcl pretrain METHOD --smiles FILE [--smiles-column COL] [--subset N] [--config FILE.yaml] [--epochs N]
                     [--batch-size B] [--seed S] [--device D] [--threads T] [--out DIR] [--resume DIR] [--quiet]
    graphcl embed DIR --smiles FILE [--smiles-column COL] [--encoder NAME] --out EMB.npy
    graphcl finetune DIR|none --dataset NAME|FILE.csv [--smiles-column COL] [--label-columns A,B] [--split S]
                     [--protocol finetune|linear|both] [--encoder NAME] [--epochs N] [--seed S] [--out DIR2]
    graphcl kg [--root DIR]
    graphcl list
    graphcl bench clustering [--datasets ...] [--methods ...] [--seeds N] ...

Several processes (PyTorch's DistributedDataParallel; Gloo on CPUs, NCCL on GPUs): ``torchrun --nproc_per_node N
-m graphcl train|pretrain ...`` with the same options as one process; rank 0 prints and writes the outputs.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

import yaml

from .data.registry import dataset_names, registry
from .train.precision import MATMUL_PRECISIONS

# What --help and `graphcl list` show, without importing torch and PyG (4 s): tests/test_lazy_cli.py keeps each
# equal to the registry it mirrors (graphcl.methods.METHODS and PRETRAIN_METHODS, graphcl.molecules'
# MOLECULENET_PRESETS).
GRAPH_METHODS = ("csgcl", "ggd", "grace", "pamc")
PRETRAIN_ENCODERS = {"graphcl-mol": ("gin",), "kcl": ("kmpnn", "gcn")}
MOLECULE_DATASETS = {
    **dict.fromkeys(("bbbp", "bace", "clintox", "tox21", "sider", "toxcast", "hiv"), "classification"),
    **dict.fromkeys(("esol", "freesolv", "lipophilicity"), "regression"),
    **dict.fromkeys(("clintox-deepchem", "sider-deepchem", "toxcast-deepchem"), "classification"),
    **dict.fromkeys(("esol-deepchem", "freesolv-deepchem"), "regression"),
    "bbbp-kcl": "classification",
}
# The molecule commands: their options' choices and defaults come from modules that import torch, so they are
# added only when the command line asks for one of them (`_parser`).
MOLECULE_COMMANDS = {"pretrain": "pretrain a molecule encoder on a SMILES file",
                     "embed": "embed a SMILES file with a pretrained encoder",
                     "finetune": "fine-tune / linear-probe an encoder on a property dataset"}


def method_presets(method: str) -> list[str]:
    """The preset names of a graph method, read from its ``graphcl/methods/presets/<method>.yaml``."""
    spec = yaml.safe_load((Path(__file__).parent / "methods" / "presets" / f"{method}.yaml").read_text())
    return list(spec.get("presets") or {})


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; the molecule commands get their options only when ``command`` is one of them."""
    parser = argparse.ArgumentParser(prog="graphcl", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a method and evaluate its embeddings")
    train.add_argument("method", nargs="?", help=f"one of: {', '.join(GRAPH_METHODS)}")
    train.add_argument("--dataset", help="a dataset name (see `graphcl list`), or your graph file: .pt (PyG Data), "
                                         ".csv/.tsv edge list, .bin (dgl.save_graphs)")
    train.add_argument("--features", help="node features of a graph file: .npy or .csv/.tsv, one row per node")
    train.add_argument("--labels", help="node classes of a graph file: .npy or text, one integer per node")
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
    train.add_argument("--out", help="output folder, new or empty (default: runs/<method>-<dataset>-<time>-<pid>-<n>/)")
    train.add_argument("--overwrite", action="store_true", help="replace the outputs of a non-empty --out")
    train.add_argument("--pot", action="store_true", default=None,
                       help="add POT's node-compactness term (config key pot: true; GRACE, CSGCL, GGD; docs/pot.md)")
    train.add_argument("--batch-size", type=int, help="mini-batch training: seed nodes per global batch (config key "
                                                      "batch_size; default: full batch; docs/distributed.md)")
    train.add_argument("--num-neighbors", type=int, nargs="+", metavar="K",
                       help="mini-batch fan-out per encoder layer, -1 = all (config key num_neighbors)")
    train.add_argument("--resume", help="a previous run's folder: continue from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    plot = sub.add_parser("plot", help="PNG figures of a finished run: loss curve, 2-D map of the embeddings")
    plot.add_argument("run", help="a `graphcl train` output folder")
    plot.add_argument("--out", help="folder of the PNG files (default: RUN/plots/)")
    plot.add_argument("--map", choices=("tsne", "umap"), default="tsne",
                      help="t-SNE (scikit-learn, default) or UMAP (needs umap-learn)")
    plot.add_argument("--max-points", type=int, default=5000,
                      help="most nodes on the map: a seeded random subset beyond (default: 5000)")
    plot.add_argument("--clusters", type=int, help="colour by k-means with K clusters (default: the run's "
                                                   "clusters.npy, else k-means with as many clusters as classes)")
    plot.add_argument("--seed", type=int, default=0, help="seed of the subset, the map and k-means (default: 0)")
    molecule = {name: sub.add_parser(name, help=text) for name, text in MOLECULE_COMMANDS.items()}
    if command in MOLECULE_COMMANDS:
        _molecule_options(molecule["pretrain"], molecule["embed"], molecule["finetune"])
    kg = sub.add_parser("kg", help="the chemical-element knowledge graph's statistics beside KCL's reference file")
    kg.add_argument("--root", help="data root holding elementkg/triples.txt (default: $GRAPHCL_DATA, else datasets/)")
    sub.add_parser("list", help="methods, datasets and presets")
    bench = sub.add_parser("bench", help="run a benchmark (`graphcl bench clustering --help`)")
    bench.add_argument("name", choices=["clustering"])
    bench.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own options")
    return parser


def _common_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch intra-op CPU threads (default: torch's choice)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _molecule_options(pre: argparse.ArgumentParser, emb: argparse.ArgumentParser,
                      fin: argparse.ArgumentParser) -> None:
    """The options of ``pretrain``, ``embed`` and ``finetune`` (imports the molecule modules: torch, PyG)."""
    from .methods.property_prediction import FINETUNE_DEFAULTS
    from .molecule_runner import PROTOCOLS, SPLITS

    pre.add_argument("method", nargs="?", help=f"one of: {', '.join(PRETRAIN_ENCODERS)}")
    pre.add_argument("--smiles", help="SMILES file: .txt/.smi (one per line) or .csv/.tsv with a header; .gz too")
    pre.add_argument("--smiles-column", help="the SMILES column of a CSV (default: smiles, SMILES or mol)")
    pre.add_argument("--subset", type=int, help="pretrain on a seeded random subset of this many rows")
    pre.add_argument("--subset-seed", type=int, default=0)
    pre.add_argument("--config", help="YAML file of config keys overriding the method's defaults")
    pre.add_argument("--epochs", type=int)
    pre.add_argument("--batch-size", type=int)
    pre.add_argument("--seed", type=int)
    pre.add_argument("--out", help="output folder (default: runs/pretrain-<method>-<time>-<pid>/)")
    pre.add_argument("--resume", help="a previous pretraining folder: continue from its last checkpoint")
    _common_run_options(pre)
    emb.add_argument("run", help="a pretraining folder")
    emb.add_argument("--smiles", required=True)
    emb.add_argument("--smiles-column")
    emb.add_argument("--encoder", help="which of the method's encoders (default: its first; `graphcl list`)")
    emb.add_argument("--out", required=True, help="the .npy file to write")
    _common_run_options(emb)
    fin.add_argument("run", help="a pretraining folder, or none (no pretraining; give --encoder)")
    fin.add_argument("--dataset", required=True, help="a preset name (`graphcl list`) or a CSV file")
    fin.add_argument("--root", help="data root of the presets (default: $GRAPHCL_DATA, else datasets/)")
    fin.add_argument("--smiles-column")
    fin.add_argument("--label-columns", help="comma-separated label columns of a CSV (default: every other column)")
    fin.add_argument("--split", choices=SPLITS, default="scaffold")
    fin.add_argument("--split-seed", type=int, help="scaffold: balanced scaffold split with this seed "
                                                    "(default: the deterministic split); random: the split's seed")
    fin.add_argument("--protocol", choices=PROTOCOLS, default="both")
    fin.add_argument("--encoder", help="which encoder of the run (default: the method's first)")
    fin.add_argument("--seed", type=int, default=0)
    for key in ("epochs", "batch_size", "patience"):
        fin.add_argument("--" + key.replace("_", "-"), type=int, dest=key, help=f"(default {FINETUNE_DEFAULTS[key]})")
    for key in ("lr", "encoder_lr"):
        fin.add_argument("--" + key.replace("_", "-"), type=float, dest=key, help=f"(default {FINETUNE_DEFAULTS[key]})")
    fin.add_argument("--out", help="output folder (default: runs/finetune-<dataset>-<encoder>-<time>-<pid>/)")
    _common_run_options(fin)


@contextlib.contextmanager
def _process_group() -> Iterator[bool]:
    """The process group that ``torchrun`` describes in the environment, for the duration of a training command
    (nothing without torchrun), left at the end, also on errors; yields whether this process is rank 0 (the one that
    prints)."""
    from .train.distributed import init_from_env, is_main_process, shutdown

    init_from_env()
    try:
        yield is_main_process()
    finally:
        shutdown()


def _molecule_command(args) -> int:
    from . import molecule_runner

    if args.command == "pretrain":
        if args.resume is None and (args.method is None or args.smiles is None):
            print("graphcl pretrain: give METHOD and --smiles, or --resume DIR", file=sys.stderr)
            return 2
        with _process_group() as main_process:
            m = molecule_runner.pretrain(args.method, args.smiles, smiles_column=args.smiles_column,
                                         subset=args.subset, subset_seed=args.subset_seed, config_file=args.config,
                                         overrides={"epochs": args.epochs, "batch_size": args.batch_size,
                                                    "seed": args.seed},
                                         out=args.out, resume=args.resume, device=args.device,
                                         progress=not args.quiet)
        if not main_process:
            return 0
        print(f"{m['method']}: {m['corpus']['valid']} molecules ({m['corpus']['invalid']} invalid rows skipped), "
              f"{m['epochs']} epochs, final loss {m['final_loss']:.4f}, {m['molecules_per_second']:.1f} molecules/s"
              if m["molecules_per_second"] else f"{m['method']}: nothing left to train")
        print(f"  outputs: {m['out']}")
        return 0
    if args.command == "embed":
        m = molecule_runner.embed(args.run, args.smiles, args.out, smiles_column=args.smiles_column,
                                  encoder=args.encoder, device=args.device)
        print(f"{m['rows']} rows embedded by {m['encoder']} ({m['dim']} dims), {m['invalid']} invalid rows are NaN; "
              f"outputs: {m['out']}")
        return 0
    labels = args.label_columns.split(",") if args.label_columns else None
    m = molecule_runner.finetune(args.run, args.dataset, root=args.root, smiles_column=args.smiles_column,
                                 label_columns=labels, split=args.split, split_seed=args.split_seed,
                                 protocol=args.protocol, encoder=args.encoder, seed=args.seed,
                                 overrides={k: getattr(args, k) for k in
                                            ("epochs", "batch_size", "patience", "lr", "encoder_lr")},
                                 out=args.out, device=args.device, progress=not args.quiet)
    print(f"{m['dataset']} ({m['task_type']}, {m['num_tasks']} tasks, {m['split']} split {m['split_sizes']}), "
          f"encoder {m['encoder']}, pretrained: {m['pretrained'] or 'no'}")
    for protocol in ("finetune", "linear"):
        if protocol in m:
            test, valid = m[protocol]["test"], m[protocol]["validation"]
            print(f"  {protocol:8s} test {test['metric']} {test['mean']:.4f} (validation {valid['mean']:.4f})")
    print(f"  outputs: {m['out']}")
    return 0


def _list() -> str:
    lines = ["methods:"]
    for name in GRAPH_METHODS:
        lines.append(f"  {name:10s} presets: {', '.join(method_presets(name)) or '-'}")
    lines.append("datasets:")
    for name in dataset_names():
        info = registry()[name]
        size = ", ".join(f"{k} {v}" for k, v in info.size.items())
        lines.append(f"  {name:14s} {info.loader:9s} {size}")
    lines.append("  (or your own graph: --dataset FILE.pt | FILE.csv/.tsv edge list [--features F] [--labels L] | "
                 "FILE.bin from dgl.save_graphs; docs/quickstart.md)")
    lines.append("molecule pretraining methods (graphcl pretrain):")
    for name, encoders in PRETRAIN_ENCODERS.items():
        lines.append(f"  {name:12s} encoders: {', '.join(encoders)}")
    lines.append("molecule property datasets (graphcl finetune --dataset; files under <root>/moleculenet/, "
                 "docs/molecules.md):")
    for name, task_type in MOLECULE_DATASETS.items():
        lines.append(f"  {name:20s} {task_type}")
    return "\n".join(lines)


def _summary(metrics: dict) -> str:
    loss = "-" if metrics["final_loss"] is None else f"{metrics['final_loss']:.4f}"
    lines = [f"{metrics['method']} on {metrics['dataset']} ({metrics['epochs']} epochs, "
             f"{metrics['train_seconds']:.1f} s, final loss {loss})"]
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


def _one_line(err: BaseException) -> str:
    """An exception's message on one line (multi-line messages, such as YAML parser errors, joined by "; ")."""
    return "; ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__


def _plot_command(args: argparse.Namespace) -> int:
    from .plot import plot_run

    try:
        plot_run(args.run, out=args.out, max_points=args.max_points, seed=args.seed, method=args.map,
                 clusters=args.clusters)
    except (ValueError, OSError, ImportError) as err:
        print(f"graphcl: error: {_one_line(err)}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(next((a for a in argv if not a.startswith("-")), None)).parse_args(argv)
    if args.command == "list":
        print(_list())
        return 0
    if args.command == "plot":
        return _plot_command(args)
    if args.command == "kg":
        from .molecules import build_element_kg, compare_with_reference, format_kg_statistics
        from .molecules.element_kg import reference_triples_path

        try:
            print(format_kg_statistics(compare_with_reference(build_element_kg(), reference_triples_path(args.root))))
        except (ValueError, FileNotFoundError) as err:
            print(f"graphcl: error: {err}", file=sys.stderr)
            return 2
        return 0
    if args.command in ("embed", "finetune") and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        print(f"graphcl: error: {args.command} runs in one process (WORLD_SIZE={os.environ['WORLD_SIZE']}): launch "
              f"it without torchrun", file=sys.stderr)
        return 2
    if args.command in ("pretrain", "embed", "finetune"):
        from .train import flush_denormals_process_wide

        flush_denormals_process_wide()
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
        try:
            return _molecule_command(args)
        except (ValueError, FileNotFoundError) as err:
            print(f"graphcl: error: {err}", file=sys.stderr)
            return 2
    if args.command == "bench":
        from .bench.clustering import main as clustering_benchmark

        return clustering_benchmark(args.args)
    if args.threads is not None and args.threads < 1:
        print(f"graphcl: error: --threads must be >= 1 (got {args.threads})", file=sys.stderr)
        return 2
    if args.resume is None and (args.method is None or args.dataset is None):
        print("graphcl train: give METHOD and --dataset, or --resume DIR", file=sys.stderr)
        return 2
    from .runner import run  # heavy imports only when training
    from .train import flush_denormals_process_wide

    flush_denormals_process_wide()  # before torch starts its worker threads

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        overrides = {"epochs": args.epochs, "seed": args.seed, "matmul_precision": args.matmul_precision,
                     "pot": args.pot, "batch_size": args.batch_size, "num_neighbors": args.num_neighbors}
        with _process_group() as main_process:
            metrics = run(args.method, args.dataset, root=args.root, config_file=args.config, overrides=overrides,
                          preset=args.preset, device=args.device, out=args.out, resume=args.resume,
                          progress=not args.quiet, overwrite=args.overwrite, features=args.features,
                          labels=args.labels)
        if not main_process:
            return 0
    except (ValueError, OSError, ImportError) as err:  # OSError: FileNotFoundError, ...; ImportError: DGL
        print(f"graphcl: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except FloatingPointError as err:  # the loss diverged: training failed (the input was valid)
        print(f"graphcl: error: {_one_line(err)}", file=sys.stderr)
        return 1
    print(_summary(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
