"""Cold-start benchmark (issue 22): RecBole's Pop, BPR, NeuMF and DeepFM against ColdStartCL, its ablations and a
learning-rate sweep, under the cold-start protocol of :mod:`recsys.coldstart` (docs/coldstart.md).

    python benchmarks/coldstart.py --jobs 2                       # ml-100k, seeds 2020-2022, k in {0, 1, 3}
    python benchmarks/coldstart.py --models BPR ColdStartCL --seeds 2020 --epochs 20   # a shorter look
    python benchmarks/coldstart.py --smoke                        # tiny slice, 1 epoch: checks the script runs

Every (model, seed) is one :func:`recsys.coldstart.run_cold_start`: the same seed draws the same cold users
(20%) and the same initialisation for every model, and one training per k. The baselines and ColdStartCL run
every seed and k; the variants of ColdStartCL (``-nogate``: uniform field weights, ``-nofusion``: weighted sum
instead of attention, ``-mlp``: gated MLP fusion, ``-nocl``: no contrastive term, ``-shared``: with the shared
user vector, ``-noiddrop``: without DropoutNet's user-ID dropout in the recommendation loss, ``-nobias``: without
the item bias, ``-lr<value>``: learning-rate sweep, ``--lrs``) run the first ``--sweep-seeds`` seeds at ``--sweep-ks``.
LightGBM is not a baseline: the ``lightgbm`` package installs from PyPI, but RecBole's ``LightGBMTrainer`` scores
only labelled (user, item) rows (pointwise metrics), not the full ranking every other model is evaluated with.

``--jobs N`` runs N (variant, seed) runs at once in spawned worker processes (``--threads`` torch threads each).
The report is rewritten after every run and every finished run is kept in ``--json`` (default: beside the
report), so a run stopped by a time limit leaves what it finished; ``--resume`` skips the runs already there.

Outputs: a Markdown report (``--output``; command, machine, wall time, cold HR@10 / NDCG@10 per k and warm
metrics as mean ± std over seeds, ColdStartCL's relative gain over the best baseline, its mean field
importances), a PNG beside it (cold NDCG@10 against k, one line per model) and the JSON of every run.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphcl.bench.plots import line_chart_png, require_matplotlib  # noqa: E402
from graphcl.bench.report import command_line  # noqa: E402
from graphcl.train import machine_description, setup_process, write_text  # noqa: E402
from recsys.coldstart import BASELINES, COLD_KS, run_cold_start  # noqa: E402

#: Variant name -> (model, config entries): the rows run at every seed and k.
MAIN_VARIANTS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    **{name: (name, {}) for name in BASELINES},
    'ColdStartCL': ('ColdStartCL', {}),
}
#: The ablations and the other fusion: run at ``--sweep-seeds`` seeds and ``--sweep-ks``.
SWEEP_VARIANTS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    'ColdStartCL-nogate': ('ColdStartCL', {'gate': 'none'}),
    'ColdStartCL-nofusion': ('ColdStartCL', {'fusion': 'sum'}),
    'ColdStartCL-mlp': ('ColdStartCL', {'fusion': 'mlp'}),
    'ColdStartCL-nocl': ('ColdStartCL', {'cl_weight': 0.0}),
    'ColdStartCL-shared': ('ColdStartCL', {'shared_user_vector': True}),
    'ColdStartCL-noiddrop': ('ColdStartCL', {'rec_id_dropout': 0.0}),
    'ColdStartCL-nobias': ('ColdStartCL', {'item_bias': False}),
    'ColdStartCL-graph': ('ColdStartCL', {'graph_layers': 2}),
}
VARIANTS = {**MAIN_VARIANTS, **SWEEP_VARIANTS}
DEFAULT_LRS = [0.0003, 0.003]  # ColdStartCL's own row is the third point, 0.001
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
    parser.add_argument('--sweep-seeds', type=int, default=1,
                        help='how many of --seeds the ablations and the lr sweep run (default 1)')
    parser.add_argument('--sweep-ks', nargs='+', type=int, help='the ks of the ablations and the sweep (default --ks)')
    parser.add_argument('--cold-fraction', type=float, default=0.2)
    parser.add_argument('--epochs', type=int, help='maximum epochs (default: the configs, 100 with early stopping)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--jobs', type=int, default=1, help='runs at once, in spawned worker processes')
    parser.add_argument('--threads', type=int, default=2, help='torch threads per run')
    parser.add_argument('--smoke', action='store_true', help='tiny slice, one seed, one epoch')
    parser.add_argument('--output', default='docs/results/coldstart.md')
    parser.add_argument('--json', help='every finished run as JSON (default: the report with .json)')
    parser.add_argument('--resume', action='store_true', help='skip the (variant, seed) runs already in --json')
    return parser


def tasks(args: argparse.Namespace, config: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The runs, one per (variant, seed): ``--models`` (main rows at every seed and k, sweep rows at the first
    ``--sweep-seeds`` seeds and ``--sweep-ks``), then one ColdStartCL per ``--lrs`` value (a sweep row)."""
    for name in args.models:
        if name not in VARIANTS:
            raise SystemExit(f"coldstart.py: error: unknown model '{name}' (expected one of {list(VARIANTS)})")
    sweep = dict({name: VARIANTS[name] for name in args.models if name in SWEEP_VARIANTS},
                 **{f'ColdStartCL-lr{lr:g}': ('ColdStartCL', {'learning_rate': lr}) for lr in args.lrs})
    main_rows = {name: VARIANTS[name] for name in args.models if name in MAIN_VARIANTS}
    out = []
    for rows, seeds, ks in ((main_rows, args.seeds, args.ks),
                            (sweep, args.seeds[:args.sweep_seeds], args.sweep_ks or args.ks)):
        out += [{'variant': name, 'model': model, 'dataset': args.dataset, 'ks': list(ks), 'seed': seed,
                 'cold_fraction': args.cold_fraction, 'config_dict': {**config, **entries}}
                for seed in seeds for name, (model, entries) in rows.items()]
    return out


def run_task(task: Dict[str, Any]) -> Dict[str, Any]:
    """One (variant, seed) run: :func:`recsys.coldstart.run_cold_start` with the task's variant name added."""
    args = {key: value for key, value in task.items() if key != 'variant'}
    return dict(run_cold_start(**args), variant=task['variant'])


def run_all(todo: List[Dict[str, Any]], jobs: int, threads: int) -> Iterator[Dict[str, Any]]:
    """The runs' results as they finish: here one after the other with ``jobs == 1``, else in ``jobs`` spawned
    worker processes (``threads`` torch threads each)."""
    if jobs == 1:
        yield from map(run_task, todo)
        return
    pool = ProcessPoolExecutor(min(jobs, len(todo)) or 1, mp_context=multiprocessing.get_context('spawn'),
                               initializer=setup_process, initargs=(threads,))
    try:
        for future in as_completed([pool.submit(run_task, task) for task in todo]):
            yield future.result()
    finally:  # a failed run stops the benchmark: the runs not started yet are cancelled
        pool.shutdown(cancel_futures=True)


def _mean_std(values: List[float]) -> str:
    return f'{np.mean(values):.4f} ± {np.std(values):.4f}' if values else '-'


def _cold(runs: List[Dict[str, Any]], k: int, metric: str) -> List[float]:
    """The cold-user ``metric`` at ``k`` of the runs that trained that k (JSON keys are strings)."""
    return [r['cold'][key][metric] for r in runs for key in (k, str(k)) if key in r['cold']]


def report(args: argparse.Namespace, runs: List[Dict[str, Any]], command: str, seconds: float,
           reused: int = 0) -> str:
    """The Markdown report of ``runs``, the first ``reused`` of them read from the store (``--resume``): the
    variants of this command in its order, then any other variant of the store (its seeds column says how many
    seeds it ran)."""
    stored = dict.fromkeys(r['variant'] for r in runs)
    names = [n for n in dict.fromkeys(t['variant'] for t in tasks(args, {})) if n in stored]
    names += [n for n in stored if n not in names]
    sweep_ks = args.sweep_ks or args.ks
    lines = ['# Cold-start benchmark', '', f'- command: `{command}`', f'- machine: {machine_description()}',
             f'- dataset: {args.dataset}; cold users: {args.cold_fraction:.0%}; k in {args.ks}; seeds {args.seeds} '
             f'(ablations and lr sweep: the first {args.sweep_seeds} seed(s), k in {sweep_ks}; rows read from the '
             f'store may have other seeds: see the seeds column)',
             f'- wall time of this run: {seconds / 60:.1f} min ({args.jobs} job(s) x {args.threads} thread(s)); '
             f'runs finished: {len(runs)}' + (f', of which {reused} read from the store (their time is not in the '
                                              f'wall time: see their train s)' if reused else ''), '',
             '| model | seeds | ' + ' | '.join(f'cold k={k} {m.upper()}' for k in args.ks for m in METRICS) +
             ' | ' + ' | '.join(f'warm {m.upper()}' for m in METRICS) + ' | epochs | train s |',
             '|---|---|' + '---|' * (len(args.ks) * len(METRICS) + len(METRICS) + 2)]
    for name in names:
        rs = [r for r in runs if r['variant'] == name]
        cold = [_mean_std(_cold(rs, k, m)) for k in args.ks for m in METRICS]
        warm = [_mean_std([r['warm_mean'][m] for r in rs]) for m in METRICS]
        epochs = np.mean([e for r in rs for e in r['epochs_run'].values()])
        train = np.mean([sum(r['train_time_s'].values()) for r in rs])
        lines.append(f'| {name} | {len(rs)} | ' + ' | '.join(cold + warm) + f' | {epochs:.0f} | {train:.0f} |')
    lines += ['', 'Cells: mean ± standard deviation over seeds; warm = mean over the k runs; epochs = mean epochs '
                  'trained per k (early stopping on warm validation NDCG@10); train s = training seconds of one '
                  '(variant, seed), all its k.', '']
    baselines = [n for n in names if n in BASELINES]
    ours = [r for r in runs if r['variant'] == 'ColdStartCL']
    if ours and baselines:
        lines += ['ColdStartCL relative to the best baseline (mean over seeds):', '']
        for k in args.ks:
            for m in METRICS:
                best_name, best = max(((b, np.mean(_cold([r for r in runs if r['variant'] == b], k, m)))
                                       for b in baselines), key=lambda item: item[1])
                mine = np.mean(_cold(ours, k, m))
                lines.append(f'- cold k={k} {m}: {mine:.4f} vs {best:.4f} ({best_name}, '
                             f'{(mine / best - 1) * 100:+.1f}%)' if best > 0 else f'- cold k={k} {m}: {mine:.4f}')
        for m in METRICS:
            best_name, best = max(((b, np.mean([r['warm_mean'][m] for r in runs if r['variant'] == b]))
                                   for b in baselines), key=lambda item: item[1])
            mine = np.mean([r['warm_mean'][m] for r in ours])
            lines.append(f'- warm {m}: {mine:.4f} vs {best:.4f} ({best_name}, {(mine / best - 1) * 100:+.1f}%)')
        lines.append('')
    importance = [i for r in ours for i in r['field_importance'].values()]
    if importance:
        lines.append('ColdStartCL mean field importance (gate weights, mean over seeds and k): ' + '; '.join(
            side + ': ' + ', '.join(f'{f} {np.mean([i[side][f] for i in importance]):.3f}'
                                    for f in importance[0][side]) for side in ('user', 'item')))
        lines.append('')
    return '\n'.join(lines)


def plot(path: Path, args: argparse.Namespace, runs: List[Dict[str, Any]]) -> None:
    """Cold NDCG@10 (mean over seeds) against k, one line per variant (a dot for a variant run at one k)."""
    lines = {}
    for name in dict.fromkeys(r['variant'] for r in runs):
        rs = [r for r in runs if r['variant'] == name]
        ks = [k for k in args.ks if _cold(rs, k, 'ndcg@10')]
        lines[name] = (ks, [float(np.mean(_cold(rs, k, 'ndcg@10'))) for k in ks])
    line_chart_png(path, lines, 'k (training interactions per cold user)', 'cold-user NDCG@10',
                   f'Cold start on {args.dataset}: mean over seeds')


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        raise SystemExit(f'coldstart.py: error: --jobs must be >= 1 (got {args.jobs})')
    require_matplotlib()  # fail before the runs, not after them
    setup_process(args.threads)
    config: Dict[str, Any] = {'device': args.device, 'show_progress': False}
    if args.smoke:
        args.seeds = args.seeds[:1]
        config.update(SMOKE, epochs=1 if args.epochs is None else args.epochs)
    elif args.epochs is not None:
        config['epochs'] = args.epochs
    todo = tasks(args, config)
    store = Path(args.json) if args.json else Path(args.output).with_suffix('.json')
    runs: List[Dict[str, Any]] = json.loads(store.read_text()) if args.resume and store.is_file() else []
    reused = len(runs)
    done = {(r['variant'], r['seed']) for r in runs}
    todo = [t for t in todo if (t['variant'], t['seed']) not in done]
    command = command_line('benchmarks/coldstart.py', argv)
    start = time.perf_counter()
    for result in run_all(todo, args.jobs, args.threads):
        runs.append(result)
        print(f"{result['variant']} seed {result['seed']}: cold ndcg@10 " + ', '.join(
            f"k={k} {m['ndcg@10']:.4f}" for k, m in result['cold'].items()), flush=True)
        write_text(store, json.dumps(runs, indent=1, default=str) + '\n')
        write_text(Path(args.output), report(args, runs, command, time.perf_counter() - start, reused))
    text = report(args, runs, command, time.perf_counter() - start, reused)
    write_text(Path(args.output), text)
    plot(Path(args.output).with_suffix('.png'), args, runs)
    print(text)
    print(f"written to {args.output}, {Path(args.output).with_suffix('.png')} and {store}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
