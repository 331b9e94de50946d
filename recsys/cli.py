"""``recsys``: train a recommender (sequential, or ColdStartCL) through RecBole, or list what is available.

    recsys train MODEL --dataset NAME [--data-path DIR] [--config FILE.yaml ...] [--epochs N] [--seed S]
                 [--device D] [--threads N] [--nproc N] [--out DIR] [--overwrite] [--export-topk K] [--quiet]
    recsys train --resume DIR [--epochs N] [--device D] [--threads N] [--nproc N] [--out DIR2] [--export-topk K]
                 [--quiet]
    recsys list

``--data-path DIR`` trains on your own RecBole atomic files, ``DIR/NAME/NAME.inter`` (or ``DIR/NAME.inter``),
whatever NAME is. A usage error (unknown model or dataset, missing data, broken YAML, a bad value, an output folder
in use, a run that cannot be resumed as asked) prints one line and exits with status 2 before anything is written.
At a terminal a progress bar runs inside each epoch (RecBole's ``show_progress``); ``--quiet`` prints only the final
summary.

Outputs in ``--out`` (default ``runs/<model>-<dataset>-<time>-<pid>-<n>/``, new for every run), which must be new or
empty unless ``--overwrite`` (the files below are then removed first): ``metrics.json`` (validation and test
Hit/NDCG/MRR/Recall@5/10/20 with full ranking, history, timings), ``config.yaml`` (the resolved RecBole config),
``model.pth`` (best validation checkpoint), ``last.pth`` (last validated epoch, for ``--resume``), ``args.json``,
``log.txt`` and, with ``--export-topk K``, ``topk.tsv``. ColdStartCL's ``metrics.json`` also holds the mean
gate weight per feature field (``field_importance``). Every file is written atomically, with the mode that the
umask gives (``0666`` less the umask), as ``graphcl train``'s.

``--resume DIR`` continues DIR's run from its ``last.pth`` with its saved arguments (model, dataset, ``--data-path``,
config files, seed), in DIR or, with ``--out DIR2``, in a new folder that starts from copies of its checkpoints.
Refused in one line: a MODEL, ``--dataset``, ``--data-path`` or ``--seed`` other than the saved ones, ``--config``,
config files or data that changed since, ``--epochs`` below the epochs already trained, and a missing, truncated or
foreign ``last.pth``. The history and training seconds of ``metrics.json`` count every segment.

``--nproc N`` trains in N processes of one DDP run (RecBole's multi-process mode, see :func:`recsys.run`; the other
keys, ``world_size``, ``offset``, ``ip`` and ``port``, come from a ``--config`` file): the first process prints the
epoch lines and writes the checkpoints and ``log.txt``; ``--resume`` may change it.
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, NamedTuple, Optional, Sequence

__all__ = ['MODEL_TABLE', 'ModelEntry', 'main']


class ModelEntry(NamedTuple):
    """Where a model is defined and which trainer runs it, by name only (no import)."""
    module: str  #: the module that defines the model class (the class is named as the model)
    trainer: str  #: its Trainer class in :mod:`recsys.trainers`

    @property
    def origin(self) -> str:
        """``'RecBole'`` for RecBole's own models, ``'recsys'`` for ours."""
        return 'RecBole' if self.module.split('.')[0] == 'recbole' else 'recsys'


#: The models, by name: :data:`recsys.pipeline.MODELS` and its trainers are built from this table, which lives here,
#: in a module that imports neither torch nor RecBole, so that ``recsys list`` answers without them.
MODEL_TABLE: Dict[str, ModelEntry] = {
    'SASRec': ModelEntry('recbole.model.sequential_recommender', 'RecTrainer'),
    'SASRecBackbone': ModelEntry('recsys.models', 'RecTrainer'),
    'CL4SRec': ModelEntry('recsys.models', 'RecTrainer'),
    'MCLRec': ModelEntry('recsys.models', 'MCLRecTrainer'),
    'ICSRec': ModelEntry('recsys.models', 'ICSRecTrainer'),
    'ColdStartCL': ModelEntry('recsys.models', 'RecTrainer'),
}

#: What a run writes into its folder (removed first when a run replaces another with ``--overwrite``).
OUTPUT_FILES = ('args.json', 'metrics.json', 'config.yaml', 'model.pth', 'last.pth', 'log.txt', 'topk.tsv')


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
    train.add_argument('--threads', type=int, metavar='N',
                       help="torch intra-op CPU threads (default: torch's choice), shared by the --nproc processes")
    train.add_argument('--nproc', type=int, metavar='N',
                       help="processes of one DDP run (RecBole's nproc; CPU: Gloo, CUDA: process i on cuda:i)")
    train.add_argument('--out', help='output folder, new or empty (default: runs/<model>-<dataset>-<time>-<pid>-<n>/)')
    train.add_argument('--overwrite', action='store_true',
                       help=f"replace the outputs of a non-empty --out ({', '.join(OUTPUT_FILES)})")
    train.add_argument('--resume', metavar='DIR',
                       help="a previous run's folder: continue from its last.pth with its saved arguments")
    train.add_argument('--export-topk', type=int, metavar='K', help='write the top-K items of each test user')
    train.add_argument('--quiet', action='store_true',
                       help='print only the final summary (no per-epoch lines, no progress bar)')
    sub.add_parser('list', help='models and datasets')
    return parser


def _list() -> str:
    from .data import DATASETS, SEQREC_DATASETS, data_root
    lines = ['models:']
    for name, entry in MODEL_TABLE.items():
        lines.append(f'  {name:15s} {entry.origin:8s} trainer: {entry.trainer}')
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


@dataclass
class _Plan:
    """A checked ``recsys train`` command: what to train, where, and from which checkpoint."""
    spec: Dict[str, Any]  # model, dataset, config files and dictionary, digests: saved as args.json
    model_cls: type
    user_sets_progress: bool
    out: Path
    in_place: bool  # resuming in the resumed run's own folder
    resume: Optional[Path]  # the resumed run's last.pth


def _saved_args(run_dir: Path) -> Dict[str, Any]:
    """The ``args.json`` of a run folder given to ``--resume`` (one-line errors when it is not one)."""
    path = run_dir / 'args.json'
    if not path.is_file():
        raise FileNotFoundError(f"Cannot resume: {path} is missing (is {run_dir} a recsys run folder?)")
    try:
        saved = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"Cannot resume: {path} is not valid JSON ({err})") from err
    if not isinstance(saved, dict) or 'model' not in saved or 'dataset' not in saved:
        raise ValueError(f"Cannot resume: {path} is not the arguments of a recsys run (no 'model' and 'dataset')")
    return saved


def _same_dataset(given: str, saved: str) -> bool:
    from .data import resolve_dataset
    try:
        return resolve_dataset(given) == saved
    except ValueError:  # the name of the user's own data
        return given == saved


def _resolve_args(args: argparse.Namespace, saved: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The run's arguments: the command line, or a resumed run's ``saved`` ones with a new ``--epochs`` and
    ``--device``; a MODEL, ``--dataset`` or ``--data-path`` given with ``--resume`` must be the saved one, and
    ``--config`` cannot be given (the seed and the digests are checked by :func:`_check_resumable`)."""
    from .pipeline import get_model
    saved = saved or {}
    if saved and args.config:
        raise ValueError(f"When resuming, the config files saved in {args.resume} are used: --config cannot be given")
    if saved and args.model and get_model(args.model).__name__ != saved['model']:
        raise ValueError(f"{args.resume} is a {saved['model']} run: cannot resume it as {args.model}")
    if saved and args.dataset and not _same_dataset(args.dataset, saved['dataset']):
        raise ValueError(f"{args.resume} was trained on {saved['dataset']}: cannot resume it on {args.dataset}")
    model = args.model or saved.get('model')
    dataset = args.dataset or saved.get('dataset')
    if not model:
        raise ValueError('missing MODEL (see `recsys list`)')
    if not dataset:
        raise ValueError('missing --dataset NAME (see `recsys list`)')
    config_dict = dict(saved.get('config_dict', {}))
    data_path = os.path.abspath(os.path.expanduser(args.data_path)) if args.data_path else None
    if saved and data_path is not None and data_path != config_dict.get('data_path'):
        raise ValueError(f"{args.resume} was trained on data under {config_dict.get('data_path') or 'the default'}: "
                         f"cannot resume it with --data-path {args.data_path}")
    for key, value in (('epochs', args.epochs), ('seed', args.seed), ('device', args.device),
                       ('nproc', args.nproc), ('data_path', data_path)):
        if value is not None:
            config_dict[key] = value
    return {'model': model, 'dataset': dataset,
            'config_files': list(saved.get('config_files', [])) + [os.path.abspath(f) for f in args.config],
            'config_dict': config_dict}


def _check_resumable(args: argparse.Namespace, spec: Dict[str, Any], saved: Dict[str, Any],
                     checkpoint: Dict[str, Any]) -> None:
    """Refuse, in one line, a resumed run that would not continue ``saved``: another seed, or config files and data
    that changed since (runs saved before their digests were recorded are not checked)."""
    run_dir = args.resume
    if args.seed is not None and args.seed != checkpoint['config']['seed']:
        raise ValueError(f"{run_dir} was trained with seed {checkpoint['config']['seed']}: cannot resume it with "
                         f"--seed {args.seed}")
    for path, digest in saved.get('config_sha256', {}).items():
        if spec['config_sha256'].get(path) != digest:
            raise ValueError(f"Cannot resume: config file {path} changed since {run_dir} was trained (sha256 "
                             f"{spec['config_sha256'].get(path)}, was {digest})")
    if saved.get('inter_sha256') not in (None, spec['inter_sha256']):
        raise ValueError(f"Cannot resume: {spec['inter_file']} is not the data {run_dir} was trained on "
                         f"({saved['inter_file']}; sha256 {spec['inter_sha256']}, was {saved['inter_sha256']})")


def _prepare(args: argparse.Namespace) -> _Plan:
    """Validate the command line, resolve the config and check the output folder, writing nothing but that folder
    (ValueError or FileNotFoundError on a bad model, dataset, data folder, config file, value, resumed run or
    output folder)."""
    from graphcl.data import sha256_file
    from graphcl.runner import check_out_dir, default_out_dir

    from .config import build_config
    from .pipeline import get_model, read_checkpoint
    if args.export_topk is not None and args.export_topk < 1:
        raise ValueError(f"Expected '--export-topk' >= 1 (got {args.export_topk})")
    for option, value in (('--threads', args.threads), ('--nproc', args.nproc)):
        if value is not None and value < 1:
            raise ValueError(f"Expected '{option}' >= 1 (got {value})")
    if args.data_path is not None and not os.path.isdir(os.path.expanduser(args.data_path)):
        raise FileNotFoundError(f"--data-path folder not found: '{args.data_path}'")
    saved = _saved_args(Path(args.resume)) if args.resume else None
    spec = _resolve_args(args, saved)
    model_cls = get_model(spec['model'])  # ValueError listing the valid models
    for f in spec['config_files']:
        if not os.path.isfile(f):
            raise ValueError(f"config file not found: '{f}'")
    # the whole config, as the run will build it: dataset name and files, YAML syntax, value checks
    config = build_config(model_cls, spec['dataset'], spec['config_dict'], spec['config_files'])
    inter_file = (Path(config['data_path']) / f"{config['dataset']}.inter").resolve()
    spec.update(model=model_cls.__name__, dataset=config['dataset'],
                config_sha256={f: sha256_file(f) for f in spec['config_files']},
                inter_file=str(inter_file), inter_sha256=sha256_file(inter_file))
    resume = None
    if saved is not None:
        resume = Path(args.resume) / 'last.pth'
        _check_resumable(args, spec, saved, read_checkpoint(resume, config))
    if args.out:
        out = Path(args.out)
    else:
        out = Path(args.resume) if args.resume else default_out_dir(spec['model'], spec['dataset'])
    in_place = resume is not None and out.resolve() == resume.parent.resolve()
    check_out_dir(out, in_place, args.overwrite)  # the first write: creates the folder
    return _Plan(spec, model_cls, _user_sets(spec, 'show_progress'), out, in_place, resume)


def _user_sets(spec: Dict[str, Any], key: str) -> bool:
    """Whether the user's config files or options give ``key``."""
    from .config import read_yaml
    return key in spec['config_dict'] or any(key in read_yaml(f) for f in spec['config_files'])


def _print_epoch(quiet: bool, record: Dict[str, Any]) -> None:
    """The line of a validated epoch, unless ``quiet`` (module-level: with --nproc the first process calls it)."""
    if not quiet:
        print(f"epoch {record['epoch']:3d}  loss {record['train_loss']:.4f}  valid {record['valid_score']:.4f}"
              f"  ({record['elapsed_s']:.1f} s)", flush=True)


def _train(args: argparse.Namespace, plan: _Plan) -> int:
    import shutil
    import warnings

    from graphcl.train import atomic_path, flush_denormals_process_wide, write_json, write_yaml

    from .config import to_plain
    from .data import SeqrecFormatWarning
    from .pipeline import run
    # as `graphcl train`: subnormal weights and Adam moments take x86's slow path in long CPU runs; the flag must be
    # set before torch starts its worker threads (docs/speed.md)
    flush_denormals_process_wide()
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    config_dict = dict(plan.spec['config_dict'])
    if args.quiet:
        config_dict['show_progress'] = False
    elif not plan.user_sets_progress:
        config_dict['show_progress'] = sys.stderr.isatty()  # a bar inside each epoch, at a terminal only
    out = plan.out
    if not plan.in_place:
        for name in OUTPUT_FILES:  # --overwrite: no file of the replaced run stays beside the new one
            (out / name).unlink(missing_ok=True)
    if plan.resume is not None and not plan.in_place:
        # the resumed run stays intact: the new folder starts from copies of its checkpoints
        for name in ('last.pth', 'model.pth'):
            if (plan.resume.parent / name).is_file():
                with atomic_path(out / name) as tmp:
                    shutil.copyfile(plan.resume.parent / name, tmp)
    write_json(out / 'args.json', plan.spec)

    root = logging.getLogger()
    handler = logging.FileHandler(out / 'log.txt')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(message)s'))
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', SeqrecFormatWarning)  # reported by main() already
            result = run(plan.model_cls, plan.spec['dataset'], config_dict, plan.spec['config_files'], out_dir=out,
                         resume=plan.resume, export_topk_k=args.export_topk,
                         epoch_callback=functools.partial(_print_epoch, args.quiet))
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous_level)
    result.update(result.pop('all_segments'))  # history and training seconds of every segment
    write_yaml(out / 'config.yaml', to_plain(result.pop('config')))
    write_json(out / 'metrics.json', dict(result, command=' '.join(['recsys'] + list(args.argv))))
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
            plan = _prepare(args)
        except (ValueError, FileNotFoundError) as exc:
            error = exc
    for w in caught:
        if issubclass(w.category, SeqrecFormatWarning):  # skipped malformed lines: one line each
            print(f'recsys: warning: {w.message}', file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if error is None:
        try:
            return _train(args, plan)
        except ValueError as exc:  # found once loaded: a checkpoint that does not fit the model, a NaN loss
            error = exc
    print(f'recsys: error: {error}', file=sys.stderr)
    return 2


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
