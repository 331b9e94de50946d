"""Sequential recommenders side by side on one dataset: RecBole's SASRec, SASRec on our backbone, CL4SRec, MCLRec
and ICSRec, with the same seeds, protocol and data.

    python benchmarks/seqrec.py                                   # ml-100k, 3 seeds, each model's defaults
    python benchmarks/seqrec.py --epochs 20 --seeds 2020          # a shorter look
    python benchmarks/seqrec.py --stride 5                        # our models: every 5th prefix, loss at 5 positions
    python benchmarks/seqrec.py --smoke                           # tiny slice, 2 epochs: checks the script runs
    python benchmarks/seqrec.py --device cuda --threads 4         # on a GPU

Every (model, seed) is one :func:`recsys.run` (RecBole's data pipeline, leave-one-out split, full ranking over all
items, early stopping on the validation metric, test metrics of the best-validation checkpoint). The report gives
per model the mean and standard deviation over seeds of the test metrics, the epochs run, the training wall time
(validation included, final test excluded), seconds per epoch, and the time-to-quality: the wall time until the
validation metric first reaches ``--target`` (default 1.0) times the mean best validation score of the reference
model (the first of ``--models``, RecBole's SASRec by default): by default, the time to reach RecBole SASRec's own
best validation score. The Markdown report (command, seeds, machine,
table) is written atomically to ``--output``, and at the end a bar chart of the test NDCG@10 per model beside it
(``--output`` with ``.png``); ``--json`` also keeps every run's history.

``--store DIR`` makes the benchmark resumable (a full CPU run takes many hours): each (model, seed, setting) gets a
folder under ``DIR`` with its checkpoints (``last.pth`` after every validated epoch, ``model.pth`` = best), its
history so far (``history.json``) and, once finished, ``result.json``. A later invocation with the same store reuses
finished runs and continues an interrupted one from its last validated epoch; the wall time lost to the
interruption is not counted (the resumed run's clock starts from the last recorded ``elapsed_s``), and the report
says which runs were resumed or reused and when they finished. The setting (dataset, epochs, validation metric,
config files, training samples, smoke) is part of the folder's name, so runs of different settings never mix; the
code is not, so start a new store after changing how the models train.

``--stride S`` trains our models on every ``S``-th prefix of each user with the loss at its last ``S`` positions
(the models' ``train_stride``): about ``S`` times fewer sequences per epoch, each interaction still a target
once, and as many optimiser steps (``train_batch_size`` counts targets); ``S = MAX_ITEM_LIST_LENGTH`` (50) is one
sample per window with the loss at every position, as the original SASRec. RecBole's SASRec always trains on every
prefix. Measured on the CI machine (2 shared cores), RecBole's
SASRec on ml-100k costs minutes per epoch on every prefix: run the full benchmark on a GPU or a free machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys  # noqa: E402  (applies recsys.compat)
from graphcl.bench.plots import Bar, bar_chart_png, require_matplotlib  # noqa: E402
from graphcl.bench.report import command_line  # noqa: E402
from graphcl.train import machine_description, write_text  # noqa: E402

DEFAULT_MODELS = ['SASRec', 'SASRecBackbone', 'CL4SRec', 'MCLRec', 'ICSRec']
METRICS = ['hit@5', 'hit@10', 'hit@20', 'ndcg@5', 'ndcg@10', 'ndcg@20', 'mrr@10', 'recall@20']
#: The smoke configuration: 79 users of ml-100k (20-22 interactions), sequences of 10, one narrow layer.
SMOKE = {'user_inter_num_interval': '[20,22]', 'MAX_ITEM_LIST_LENGTH': 10, 'n_layers': 1, 'hidden_size': 16,
         'inner_size': 32, 'augmenter_sizes': [16, 8, 16], 'n_intents': 8, 'kmeans_nredo': 1,
         'train_batch_size': 256, 'eval_batch_size': 512}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='ml-100k', help=f"one of {', '.join(recsys.DATASETS)} (default: ml-100k)")
    p.add_argument('--models', nargs='+', default=DEFAULT_MODELS, help='models; the first is the TTQ reference')
    p.add_argument('--seeds', nargs='+', type=int, default=[2020, 2021, 2022])
    p.add_argument('--epochs', type=int, help="maximum epochs (default: each model's config: 100, ICSRec 300)")
    p.add_argument('--stride', type=int, default=1,
                   help="our models' train_stride: every S-th prefix, loss at its last S positions (default 1: "
                        "every prefix, as RecBole)")
    p.add_argument('--target', type=float, default=1.0,
                   help='time-to-quality fraction of the reference score (default 1.0: its best)')
    p.add_argument('--valid-metric', default='NDCG@10',
                   help='validation metric of every run (early stopping and TTQ), the same for all models')
    p.add_argument('--config', action='append', default=[], help='extra YAML config for every run')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads (default 1: on a shared 2-core machine more threads run slower)')
    p.add_argument('--smoke', action='store_true', help='tiny slice of ml-100k, 2 epochs, first seed only')
    p.add_argument('--output', default='benchmarks/results/seqrec.md')
    p.add_argument('--json', help='also write every run (metrics and history) to this JSON file')
    p.add_argument('--store', help='folder of per-run checkpoints and results: reuse finished runs, resume '
                                   'interrupted ones')
    return p


def _machine(device: str) -> str:
    return (f'{machine_description(device)}, numpy {np.__version__}, '
            f'RecBole {recsys.compat.require_recbole().__version__}')


def _mean_std(values: List[float]) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.4f}'
    return f'{np.mean(values):.4f} ± {np.std(values):.4f}'


def _samples(stride: int) -> str:
    if stride == 1:
        return 'every prefix (RecBole augmentation)'
    return (f'every prefix for RecBole SASRec; our models every {stride}th prefix per user, loss at its last '
            f'{stride} positions (`train_stride: {stride}`)')


def time_to_quality(history: List[Dict[str, Any]], threshold: float) -> Optional[float]:
    """Wall time (s) of the first validation at or above ``threshold``, or ``None``."""
    for record in history:
        if record['valid_score'] >= threshold:
            return record['elapsed_s']
    return None


def run_setting(args: argparse.Namespace, name: str) -> Dict[str, Any]:
    """What must agree for a stored run of ``name`` to stand in for a new one (seed aside)."""
    return {'dataset': args.dataset, 'epochs': args.epochs, 'valid_metric': args.valid_metric,
            'config_files': [str(Path(c).resolve()) for c in args.config], 'smoke': bool(args.smoke),
            'train_stride': 1 if name == 'SASRec' else args.stride, 'device': args.device}


def run_folder(store: Path, name: str, seed: int, setting: Dict[str, Any]) -> Path:
    digest = hashlib.sha1(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:10]
    return store / f'{name}-seed{seed}-{digest}'


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def run_one(args: argparse.Namespace, name: str, seed: int) -> Dict[str, Any]:
    """One :func:`recsys.run`, or with ``--store`` its stored result / the continuation of its checkpoint."""
    config: Dict[str, Any] = dict(SMOKE) if args.smoke else {}
    config.update(seed=seed, device=args.device, valid_metric=args.valid_metric)
    if args.epochs is not None:
        config['epochs'] = args.epochs
    setting = run_setting(args, name)
    config['train_stride'] = setting['train_stride']
    if not args.store:
        result = recsys.run(name, args.dataset, config, args.config)
        result.pop('config', None)
        result['status'] = 'fresh'
        return result

    folder = run_folder(Path(args.store), name, seed, setting)
    done = _read_json(folder / 'result.json')
    if done is not None:
        done['status'] = 'reused'
        return done
    previous = (_read_json(folder / 'history.json') or []) if (folder / 'last.pth').is_file() else []
    offset = previous[-1]['elapsed_s'] if previous else 0.0
    history = list(previous)

    def keep(record: Dict[str, Any]) -> None:
        history.append(dict(record, elapsed_s=record['elapsed_s'] + offset))
        write_text(folder / 'history.json', json.dumps(history) + '\n')

    result = recsys.run(name, args.dataset, config, args.config, out_dir=folder,
                        resume=folder / 'last.pth' if previous else None, epoch_callback=keep)
    result.update(history=history, train_time_s=offset + result['train_time_s'], setting=setting,
                  resumed_from_epoch=previous[-1]['epoch'] + 1 if previous else None,
                  finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    result.pop('config', None)
    write_text(folder / 'result.json', json.dumps(result, indent=1) + '\n')
    result['status'] = f"resumed at epoch {result['resumed_from_epoch']}" if previous else 'fresh'
    return result


def run_all(args: argparse.Namespace, on_run: Optional[Callable[[List[Dict[str, Any]]], None]] = None
            ) -> List[Dict[str, Any]]:
    runs: List[Dict[str, Any]] = []
    for name in args.models:
        for seed in args.seeds:
            result = run_one(args, name, seed)
            result['seed'] = seed
            print(f"{name:15s} seed {seed}: {result['epochs_run']} epochs, {result['train_time_s']:.1f} s, "
                  f"test ndcg@10 {result['test']['ndcg@10']:.4f} ({result['status']})", flush=True)
            runs.append(result)
            if on_run is not None:
                on_run(runs)
    return runs


def report(args: argparse.Namespace, runs: List[Dict[str, Any]], command: str) -> str:
    reference = args.models[0]
    ref_best = [r['best_valid_score'] for r in runs if r['model'] == reference and r['best_valid_score'] is not None]
    threshold = args.target * float(np.mean(ref_best)) if ref_best else float('inf')
    valid_metric = f'validation {args.valid_metric}'
    lines = [
        f'# Sequential recommendation on {args.dataset}' + (' (smoke configuration)' if args.smoke else ''),
        '',
        f'- command: `{command}`',
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f'- machine: {_machine(args.device)}',
        f"- seeds: {', '.join(map(str, args.seeds))}",
        "- protocol: RecBole leave-one-out (last item test, second last validation), full ranking over all items, "
        "early stopping on the validation metric, test metrics of the best-validation checkpoint",
        f"- training samples: {_samples(args.stride)}",
        f'- time-to-quality (TTQ): wall time until the {valid_metric} reaches {args.target:g} x the mean best '
        f'validation score of {reference} ({threshold:.4f}); "-" = not reached',
    ]
    earlier = [r for r in runs if r['status'] != 'fresh']
    if earlier:
        lines.append('- from earlier invocations (`--store`): ' + '; '.join(
            f"{r['model']} seed {r['seed']} {r['status']} (finished {r.get('finished', '?')})" for r in earlier))
    lines += [
        '',
        '| model | ' + ' | '.join(m.upper().replace('HIT', 'HR') for m in METRICS) +
        ' | epochs | train s | s/epoch | TTQ s |',
        '|---|' + '---|' * (len(METRICS) + 4),
    ]
    for name in args.models:
        rs = [r for r in runs if r['model'] == name]
        if not rs:
            continue
        cells = [_mean_std([r['test'][m] for r in rs]) for m in METRICS]
        epochs = [r['epochs_run'] for r in rs]
        train = [r['train_time_s'] for r in rs]
        per_epoch = [r['train_time_s'] / max(r['epochs_run'], 1) for r in rs]
        ttq = [time_to_quality(r['history'], threshold) for r in rs]
        reached = [t for t in ttq if t is not None]
        ttq_cell = (f'{np.mean(reached):.1f}' + (f' ({len(reached)}/{len(ttq)})' if len(reached) < len(ttq) else '')
                    if reached else '-')
        lines.append(f'| {name} | ' + ' | '.join(cells) +
                     f' | {np.mean(epochs):.1f} | {np.mean(train):.1f} | {np.mean(per_epoch):.2f} | {ttq_cell} |')
    lines += ['', 'Cells: mean ± standard deviation over seeds. Time includes validation after every epoch.', '']
    return '\n'.join(lines)


def table_png(path: Path, args: argparse.Namespace, runs: List[Dict[str, Any]]) -> None:
    """The report's test NDCG@10 (mean +- std over seeds) of every model as a bar chart."""
    bars = []
    for name in args.models:
        scores = [r['test']['ndcg@10'] for r in runs if r['model'] == name]
        if scores:
            bars.append(Bar(args.dataset, name, float(np.mean(scores)), float(np.std(scores))))
    bar_chart_png(path, bars, 'test NDCG@10', f'Sequential recommendation on {args.dataset}: mean ± std over seeds')


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    require_matplotlib()  # for the table's PNG: fail before the runs, not after them
    torch.set_num_threads(args.threads)
    if args.smoke:
        args.seeds = args.seeds[:1]
        args.epochs = 2 if args.epochs is None else args.epochs
    for name in args.models:
        recsys.get_model(name)  # fail early on a typo
    command = command_line('benchmarks/seqrec.py', argv)

    def write(runs: List[Dict[str, Any]]) -> str:
        text = report(args, runs, command)
        write_text(Path(args.output), text)
        if args.json:
            write_text(Path(args.json), json.dumps(runs, indent=1) + '\n')
        return text

    runs = run_all(args, on_run=write)
    print(write(runs))
    table_png(Path(args.output).with_suffix('.png'), args, runs)
    print(f"written to {args.output} and {Path(args.output).with_suffix('.png')}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
