"""Cold-start benchmark (issue 22): RecBole's BPR, NeuMF and DeepFM against ColdStartCL, its ablations and a
learning-rate sweep, under the cold-start protocol of :mod:`recsys.coldstart` (docs/coldstart.md).

    python benchmarks/coldstart.py                                # ml-100k, seeds 2020-2022, k in {0, 1, 3}
    python benchmarks/coldstart.py --models BPR ColdStartCL --seeds 2020 --epochs 20   # a shorter look
    python benchmarks/coldstart.py --smoke                        # tiny slice, 1 epoch: checks the script runs

Every (model, seed) is one :func:`recsys.coldstart.run_cold_start`: the same seed draws the same cold users
(20%) and the same initialisation for every model, and one training per k. Variants of ColdStartCL:
``-nogate`` (uniform field weights), ``-nofusion`` (weighted sum instead of attention), ``-mlp`` (gated MLP
fusion), ``-nocl`` (no contrastive term), ``-lr<value>`` (learning-rate sweep, ``--lrs``). LightGBM is not a
baseline: RecBole's ``lightgbm`` model needs the ``lightgbm`` package (not installed here) and its decision-tree
trainer does not support full-ranking evaluation.

Outputs: a Markdown report (``--output``; command, machine, wall time, cold HR@10 / NDCG@10 per k and warm
metrics as mean ± std over seeds, ColdStartCL's relative gain over the best baseline, its mean field
importances), a PNG beside it (cold NDCG@10 against k, one line per model) and, with ``--json``, every run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphcl.bench.plots import line_chart_png, require_matplotlib  # noqa: E402
from graphcl.bench.report import command_line  # noqa: E402
from graphcl.train import machine_description, write_text  # noqa: E402
from recsys.coldstart import BASELINES, COLD_KS, run_cold_start  # noqa: E402

#: Variant name -> (model, config entries).
VARIANTS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    **{name: (name, {}) for name in BASELINES},
    'ColdStartCL': ('ColdStartCL', {}),
    'ColdStartCL-nogate': ('ColdStartCL', {'gate': 'none'}),
    'ColdStartCL-nofusion': ('ColdStartCL', {'fusion': 'sum'}),
    'ColdStartCL-mlp': ('ColdStartCL', {'fusion': 'mlp'}),
    'ColdStartCL-nocl': ('ColdStartCL', {'cl_weight': 0.0}),
}
DEFAULT_LRS = [0.0003, 0.001, 0.003]
METRICS = ['hit@10', 'ndcg@10']
#: The smoke configuration: 79 users of ml-100k (20-22 interactions), width 8, one epoch.
SMOKE = {'user_inter_num_interval': '[20,22]', 'embedding_size': 8, 'n_heads': 2, 'mlp_hidden_size': [8],
         'train_batch_size': 256, 'eval_batch_size': 4096}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', default='ml-100k')
    parser.add_argument('--models', nargs='+', default=list(VARIANTS), help=f'from {list(VARIANTS)}')
    parser.add_argument('--lrs', nargs='*', type=float, default=DEFAULT_LRS,
                        help='learning rates of the ColdStartCL sweep (none: no sweep)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[2020, 2021, 2022])
    parser.add_argument('--ks', nargs='+', type=int, default=list(COLD_KS))
    parser.add_argument('--cold-fraction', type=float, default=0.2)
    parser.add_argument('--epochs', type=int, help='maximum epochs (default: the configs, 100 with early stopping)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--smoke', action='store_true', help='tiny slice, one seed, one epoch')
    parser.add_argument('--output', default='docs/results/coldstart.md')
    parser.add_argument('--json', help='also write every run as JSON')
    return parser


def variants(args: argparse.Namespace) -> Dict[str, Tuple[str, Dict[str, Any]]]:
    """The runs' variants: ``--models`` then one ColdStartCL per ``--lrs`` value."""
    for name in args.models:
        if name not in VARIANTS:
            raise SystemExit(f"coldstart.py: error: unknown model '{name}' (expected one of {list(VARIANTS)})")
    chosen = {name: VARIANTS[name] for name in args.models}
    chosen.update({f'ColdStartCL-lr{lr:g}': ('ColdStartCL', {'learning_rate': lr}) for lr in args.lrs})
    return chosen


def _mean_std(values: List[float]) -> str:
    return f'{np.mean(values):.4f} ± {np.std(values):.4f}' if values else '-'


def report(args: argparse.Namespace, runs: List[Dict[str, Any]], command: str, seconds: float) -> str:
    """The Markdown report of ``runs``."""
    names = list(dict.fromkeys(r['variant'] for r in runs))
    lines = ['# Cold-start benchmark', '', f'- command: `{command}`', f'- machine: {machine_description()}',
             f'- dataset: {args.dataset}; cold users: {args.cold_fraction:.0%}; k in {args.ks}; seeds {args.seeds}',
             f'- wall time of the whole run: {seconds / 60:.1f} min', '',
             '| model | ' + ' | '.join(f'cold k={k} {m.upper()}' for k in args.ks for m in METRICS) +
             ' | ' + ' | '.join(f'warm {m.upper()}' for m in METRICS) + ' | train s |',
             '|---|' + '---|' * (len(args.ks) * len(METRICS) + len(METRICS) + 1)]
    for name in names:
        rs = [r for r in runs if r['variant'] == name]
        cold = [_mean_std([r['cold'][k][m] for r in rs]) for k in args.ks for m in METRICS]
        warm = [_mean_std([r['warm_mean'][m] for r in rs]) for m in METRICS]
        train = np.mean([sum(r['train_time_s'].values()) for r in rs])
        lines.append(f'| {name} | ' + ' | '.join(cold + warm) + f' | {train:.1f} |')
    lines += ['', 'Cells: mean ± standard deviation over seeds; warm = mean over the k runs.', '']
    baselines = [n for n in names if n in BASELINES]
    if 'ColdStartCL' in names and baselines:
        lines.append('ColdStartCL relative to the best baseline (mean over seeds):')
        lines.append('')
        for k in args.ks:
            for m in METRICS:
                ours = np.mean([r['cold'][k][m] for r in runs if r['variant'] == 'ColdStartCL'])
                best = max(np.mean([r['cold'][k][m] for r in runs if r['variant'] == b]) for b in baselines)
                lines.append(f'- cold k={k} {m}: {ours:.4f} vs {best:.4f} ({(ours / best - 1) * 100:+.1f}%)'
                             if best > 0 else f'- cold k={k} {m}: {ours:.4f} vs 0')
        lines.append('')
    importance = [r['field_importance'][k] for r in runs if r['variant'] == 'ColdStartCL'
                  for k in args.ks if k in r['field_importance']]
    if importance:
        lines.append('ColdStartCL mean field importance (gate weights, mean over seeds and k): ' + '; '.join(
            side + ': ' + ', '.join(f'{f} {np.mean([i[side][f] for i in importance]):.3f}'
                                    for f in importance[0][side]) for side in ('user', 'item')))
        lines.append('')
    return '\n'.join(lines)


def plot(path: Path, args: argparse.Namespace, runs: List[Dict[str, Any]]) -> None:
    """Cold NDCG@10 (mean over seeds) against k, one line per variant."""
    lines = {}
    for name in dict.fromkeys(r['variant'] for r in runs):
        rs = [r for r in runs if r['variant'] == name]
        lines[name] = (list(args.ks), [float(np.mean([r['cold'][k]['ndcg@10'] for r in rs])) for k in args.ks])
    line_chart_png(path, lines, 'k (training interactions per cold user)', 'cold-user NDCG@10',
                   f'Cold start on {args.dataset}: mean over seeds {args.seeds}')


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    require_matplotlib()  # fail before the runs, not after them
    torch.set_num_threads(args.threads)
    config: Dict[str, Any] = {'device': args.device, 'show_progress': False}
    if args.smoke:
        args.seeds = args.seeds[:1]
        config.update(SMOKE, epochs=1 if args.epochs is None else args.epochs)
    elif args.epochs is not None:
        config['epochs'] = args.epochs
    chosen = variants(args)
    command = command_line('benchmarks/coldstart.py', argv)
    start, runs = time.perf_counter(), []
    for seed in args.seeds:
        for name, (model, entries) in chosen.items():
            result = run_cold_start(model, args.dataset, args.ks, seed, args.cold_fraction, {**config, **entries})
            runs.append(dict(result, variant=name))
            print(f"{name} seed {seed}: cold ndcg@10 " + ', '.join(
                f"k={k} {result['cold'][k]['ndcg@10']:.4f}" for k in args.ks), flush=True)
    text = report(args, runs, command, time.perf_counter() - start)
    write_text(Path(args.output), text)
    if args.json:
        write_text(Path(args.json), json.dumps(runs, indent=1, default=str) + '\n')
    plot(Path(args.output).with_suffix('.png'), args, runs)
    print(text)
    print(f"written to {args.output} and {Path(args.output).with_suffix('.png')}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
