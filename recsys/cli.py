"""``recsys``: train a sequential recommender through RecBole, or list what is available.

    recsys train MODEL --dataset NAME [--data-path DIR] [--config FILE.yaml ...] [--epochs N] [--seed S]
                 [--device D] [--threads N] [--out DIR] [--resume DIR] [--export-topk K] [--quiet]
    recsys list

``--data-path DIR`` trains on your own RecBole atomic files, ``DIR/NAME/NAME.inter`` (or ``DIR/NAME.inter``),
whatever NAME is. A usage error (unknown model or dataset, missing data, broken YAML, a bad value) prints one line
and exits with status 2 before anything is written. At a terminal a progress bar runs inside each epoch
(RecBole's ``show_progress``); ``--quiet`` prints only the final summary.

Outputs in ``--out`` (default ``runs/<model>-<dataset>-<time>/``): ``metrics.json`` (validation and test
Hit/NDCG/MRR/Recall@5/10/20 with full ranking, history, timings), ``config.yaml`` (the resolved RecBole config),
``model.pth`` (best validation checkpoint), ``last.pth`` (last validated epoch, for ``--resume``), ``args.json``,
``log.txt`` and, with ``--export-topk K``, ``topk.tsv``. Every file is written atomically.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

__all__ = ['main']


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='recsys', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    train = sub.add_parser('train', help='train a model and evaluate it (full ranking, leave-one-out)')
    train.add_argument('model', nargs='?', help='a model name (see `recsys list`)')
    train.add_argument('--dataset', help='a dataset name (see `recsys list`), or the name of your own data')
    train.add_argument('--data-path', metavar='DIR',
                       help='folder of your own RecBole atomic files: DIR/NAME/NAME.inter or DIR/NAME.inter')
    train.add_argument('--config', action='append', default=[], metavar='FILE.yaml',
                       help='YAML file of RecBole config keys (repeatable; later files win)')
    train.add_argument('--epochs', type=int, help='maximum epochs')
    train.add_argument('--seed', type=int, help='random seed')
    train.add_argument('--device', help="'auto' (default), 'cpu', 'cuda' or 'cuda:<index>'")
    train.add_argument('--threads', type=int, metavar='N', help="torch intra-op CPU threads (default: torch's choice)")
    train.add_argument('--out', help='output folder (default: runs/<model>-<dataset>-<time>/)')
    train.add_argument('--resume', metavar='DIR', help="a previous run's folder: continue from its last.pth")
    train.add_argument('--export-topk', type=int, metavar='K', help='write the top-K items of each test user')
    train.add_argument('--quiet', action='store_true',
                       help='print only the final summary (no per-epoch lines, no progress bar)')
    sub.add_parser('list', help='models and datasets')
    return parser


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    tmp.write_text(text)
    os.replace(tmp, path)


def _list() -> str:
    from .data import DATASETS, SEQREC_DATASETS, data_root
    from .pipeline import MODELS, trainer_for
    lines = ['models:']
    for name, cls in MODELS.items():
        origin = 'RecBole' if cls.__module__.startswith('recbole') else 'recsys'
        lines.append(f'  {name:15s} {origin:8s} trainer: {trainer_for(cls).__name__}')
    lines.append('datasets:')
    root = data_root()
    for name in DATASETS:
        if name in SEQREC_DATASETS:
            path = root / 'seqrec' / f'{name}.txt'
            where = str(path) if path.is_file() else f'missing: {path} (set GRAPHCL_DATA)'
        else:
            where = 'shipped in the RecBole wheel'
        lines.append(f'  {name:20s} {where}')
    lines.append('  your own RecBole atomic files: --dataset NAME --data-path DIR (DIR/NAME/NAME.inter)')
    return '\n'.join(lines)


def _summary(result: Dict[str, Any]) -> str:
    test = result['test']
    keys = [k for k in ('hit@10', 'ndcg@10', 'mrr@10', 'recall@20') if k in test]
    return (f"{result['model']} on {result['dataset']}: {result['epochs_run']} epochs, "
            f"{result['train_time_s']:.1f} s; test " + ', '.join(f'{k} {test[k]:.4f}' for k in keys))


def _resolve_args(args: argparse.Namespace) -> Dict[str, Any]:
    """Merge a resumed run's ``args.json`` with the command line (the command line wins)."""
    saved: Dict[str, Any] = {}
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / 'args.json').is_file() or not (run_dir / 'last.pth').is_file():
            raise ValueError(f"'--resume {run_dir}' needs a previous run folder with args.json and last.pth")
        saved = json.loads((run_dir / 'args.json').read_text())
    model = args.model or saved.get('model')
    dataset = args.dataset or saved.get('dataset')
    if not model:
        raise ValueError('missing MODEL (see `recsys list`)')
    if not dataset:
        raise ValueError('missing --dataset NAME (see `recsys list`)')
    config_dict = dict(saved.get('config_dict', {}))
    data_path = os.path.abspath(os.path.expanduser(args.data_path)) if args.data_path else None
    for key, value in (('epochs', args.epochs), ('seed', args.seed), ('device', args.device),
                       ('data_path', data_path)):
        if value is not None:
            config_dict[key] = value
    return {'model': model, 'dataset': dataset,
            'config_files': list(saved.get('config_files', [])) + [os.path.abspath(f) for f in args.config],
            'config_dict': config_dict}


def _prepare(args: argparse.Namespace) -> Dict[str, Any]:
    """Validate the command line and resolve the config, writing nothing (ValueError or FileNotFoundError on a
    bad model, dataset, data folder, config file or value)."""
    from .config import build_config
    from .pipeline import get_model
    if args.export_topk is not None and args.export_topk < 1:
        raise ValueError(f"Expected '--export-topk' >= 1 (got {args.export_topk})")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"Expected '--threads' >= 1 (got {args.threads})")
    if args.data_path is not None and not os.path.isdir(os.path.expanduser(args.data_path)):
        raise FileNotFoundError(f"--data-path folder not found: '{args.data_path}'")
    spec = _resolve_args(args)
    model_cls = get_model(spec['model'])  # ValueError listing the valid models
    for f in spec['config_files']:
        if not os.path.isfile(f):
            raise ValueError(f"config file not found: '{f}'")
    # the whole config, as the run will build it: dataset name and files, YAML syntax, value checks
    config = build_config(model_cls, spec['dataset'], spec['config_dict'], spec['config_files'])
    spec['model'], spec['dataset'] = model_cls.__name__, config['dataset']
    return dict(spec, model_cls=model_cls, user_sets_progress=_user_sets(spec, 'show_progress'))


def _user_sets(spec: Dict[str, Any], key: str) -> bool:
    """Whether the user's config files or options give ``key``."""
    from .config import read_yaml
    return key in spec['config_dict'] or any(key in read_yaml(f) for f in spec['config_files'])


def _train(args: argparse.Namespace, spec: Dict[str, Any]) -> int:
    from graphcl.train import flush_denormals_process_wide

    from .config import to_plain
    from .pipeline import run
    # as `graphcl train`: subnormal weights and Adam moments take x86's slow path in long CPU runs; the flag must be
    # set before torch starts its worker threads (docs/speed.md)
    flush_denormals_process_wide()
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    model_cls, dataset = spec.pop('model_cls'), spec['dataset']
    config_dict = dict(spec['config_dict'])
    user_sets_progress = spec.pop('user_sets_progress')
    if args.quiet:
        config_dict['show_progress'] = False
    elif not user_sets_progress:
        config_dict['show_progress'] = sys.stderr.isatty()  # a bar inside each epoch, at a terminal only
    if args.out:
        out = Path(args.out)
    elif args.resume:
        out = Path(args.resume)
    else:
        out = Path('runs') / f"{spec['model']}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    resume = str(Path(args.resume) / 'last.pth') if args.resume else None
    previous: Dict[str, Any] = {}
    if args.resume:
        if (Path(args.resume) / 'metrics.json').is_file():
            previous = json.loads((Path(args.resume) / 'metrics.json').read_text())
        if Path(args.resume).resolve() != out.resolve():
            # keep the resumed run intact: continue from copies of its checkpoints in the new folder
            import shutil
            for name in ('last.pth', 'model.pth'):
                if (Path(args.resume) / name).is_file():
                    shutil.copyfile(Path(args.resume) / name, out / name)
            resume = str(out / 'last.pth')
    _atomic_write(out / 'args.json', json.dumps(spec, indent=1) + '\n')

    root = logging.getLogger()
    handler = logging.FileHandler(out / 'log.txt')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(message)s'))
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def on_epoch(record: Dict[str, Any]) -> None:
        if not args.quiet:
            print(f"epoch {record['epoch']:3d}  loss {record['train_loss']:.4f}  valid {record['valid_score']:.4f}"
                  f"  ({record['elapsed_s']:.1f} s)", flush=True)

    import warnings

    from .data import SeqrecFormatWarning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', SeqrecFormatWarning)  # reported by main() already
            result = run(model_cls, dataset, config_dict, spec['config_files'], out_dir=out, resume=resume,
                         export_topk_k=args.export_topk, epoch_callback=on_epoch)
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous_level)
    import yaml
    config = result.pop('config')
    if previous.get('history'):  # keep the epochs of the resumed run in the history
        first = result['history'][0]['epoch'] if result['history'] else float('inf')
        result['history'] = [h for h in previous['history'] if h['epoch'] < first] + result['history']
    _atomic_write(out / 'config.yaml', yaml.safe_dump(to_plain(config), sort_keys=True))
    metrics = dict(result, command=' '.join(['recsys'] + list(args.argv)))
    _atomic_write(out / 'metrics.json', json.dumps(metrics, indent=1) + '\n')
    print(_summary(result))
    print(f'outputs in {out}')
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``recsys`` console script. Returns the exit status (0 ok, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command == 'list':
        print(_list())
        return 0
    import warnings

    from .data import SeqrecFormatWarning
    error: Optional[Exception] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', SeqrecFormatWarning)
        try:
            spec = _prepare(args)
        except (ValueError, FileNotFoundError) as exc:
            error = exc
    for w in caught:
        if issubclass(w.category, SeqrecFormatWarning):  # skipped malformed lines: one line each
            print(f'recsys: warning: {w.message}', file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if error is not None:
        print(f'recsys: error: {error}', file=sys.stderr)
        return 2
    return _train(args, spec)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
