"""RecBole's multi-process mode with our models and trainers: 2 CPU processes (Gloo) on the tiny ml-100k slice.

The spawned tests start 2 fresh interpreters (importing torch, RecBole and torch_geometric: most of their time) and
never wait forever: the processes are killed after a deadline (and the workers' process group times out after 60 s).
"""
import json
import multiprocessing
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml
from recbole.data.interaction import Interaction
from recbole.utils import init_seed

from recsys.cli import main
from recsys.config import build_config, launch_settings
from recsys.losses import gather_batch, margin_regularizer, sequence_info_nce
from recsys.models import CL4SRec, ICSRec, MCLRec
from graphcl.train.distributed import free_port
from recsys.pipeline import load_data
from recsys.trainers import ICSRecTrainer, MCLRecTrainer, average_gradients

from recsys_testing import TINY


def _state(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _representations():
    """Two views of 8 pairs and labels; rank 0 holds rows 0-2, rank 1 rows 3-7 (shares of different sizes)."""
    generator = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 8, 4, generator=generator)
    return z1, z2, torch.randint(0, 3, (8,), generator=generator), [slice(0, 3), slice(3, 8)]


def _global_losses(rank):
    """InfoNCE (cosine, false-negative mask) plus the margin regulariser on the two ranks' gathered rows, and the
    gradient of this rank's rows."""
    z1, z2, labels, parts = _representations()
    a, b = z1[parts[rank]].requires_grad_(), z2[parts[rank]].requires_grad_()
    g1, g2, y = gather_batch(a, b, labels[parts[rank]])
    loss = sequence_info_nce(g1, g2, 0.5, 'cos', labels=y) + margin_regularizer(g1, g2)
    loss.backward()
    return {'loss': loss.detach(), 'grads': (a.grad, b.grad)}


def _rec_part(model, batch, with_rec):
    with torch.no_grad():
        return model.rec_loss(batch)[0] if with_rec else torch.zeros(())


def _contrast_on_rank(model, batch, loss_fn, with_rec=True):
    """``loss_fn(batch)`` in eval mode (no dropout), its recommendation part (``with_rec``; else 0), and the
    parameters' gradients of ``loss_fn`` averaged over the ranks as DDP does; with ``batch`` (this rank's rows)."""
    model.eval()
    model.requires_grad_(True)
    model.zero_grad(set_to_none=True)
    loss = loss_fn(batch)
    loss.backward()
    average_gradients(list(model.parameters()))
    rec = _rec_part(model, batch, with_rec)
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    state = {name: value.clone() for name, value in model.state_dict().items()}  # before later steps move them
    return {'loss': loss.detach(), 'rec': rec, 'grads': grads, 'state': state, 'batch': dict(batch.interaction)}


def _worker(local_rank, port, out):
    """One of two ranks: the losses of gathered representations; ICSRec's intents after DDP's start and its loss on
    this rank's first batch; CL4SRec's loss and MCLRec's encoder and augmenter losses on this rank's first batch
    (the views drawn on this rank are kept); one MCLRec meta step on that batch."""
    torch.set_num_threads(1)
    os.environ['LOCAL_RANK'] = str(local_rank)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=local_rank, world_size=2,
                            timeout=timedelta(seconds=60))
    result = {'losses': _global_losses(local_rank)}
    config = build_config(ICSRec, 'ml-100k', dict(TINY, nproc=2, checkpoint_dir=str(out)))
    _, train, _, _ = load_data(config)
    init_seed(config['seed'] + local_rank, True)  # different weights per rank: DDP must broadcast rank 0's
    model = ICSRec(config, train.dataset)
    trainer = ICSRecTrainer(config, model)
    encoded = []
    encode = model.encode_training_sequences
    model.encode_training_sequences = lambda *args: encoded.append(args[1:]) or encode(*args)
    result['icsrec'] = {'state': model.state_dict(), 'centroids': model.fit_intents(), 'encoded': encoded,
                        'world_size': config['world_size'], 'single_spec': config['single_spec'],
                        'synced_buffers': list(trainer.distributed_model.named_module_buffers),
                        'contrast': _contrast_on_rank(model, next(iter(train)), model.calculate_loss)}

    config = build_config(MCLRec, 'ml-100k', dict(TINY, nproc=2, lmd=0.1, beta=0.2, checkpoint_dir=str(out)))
    _, train, _, _ = load_data(config)
    init_seed(config['seed'] + local_rank, True)
    model = MCLRec(config, train.dataset)
    trainer = MCLRecTrainer(config, model)
    batch = next(iter(train))
    views = model.make_views(batch)
    result['mclrec_contrast'] = {
        'views': views, 'encoder': _contrast_on_rank(model, batch, lambda b: model.encoder_loss(b, views)),
        'augmenter': _contrast_on_rank(model, batch, lambda b: model.augmenter_loss(b, views), with_rec=False)}
    init_seed(config['seed'], True)  # the same weights on both ranks (no DDP here)
    cl4srec = CL4SRec(build_config(CL4SRec, 'ml-100k', dict(TINY, nproc=2, checkpoint_dir=str(out))), train.dataset)
    cl4srec.make_views = lambda _: views
    result['cl4srec_contrast'] = dict(_contrast_on_rank(cl4srec, batch, cl4srec.calculate_loss), views=views)
    before = _state(model)
    model.train()
    trainer.meta_step(batch)
    result['mclrec'] = {'before': before, 'after': _state(model), 'users': batch['user_id'], 'sizes': len(batch)}
    torch.save(result, Path(out) / f'{local_rank}.pt')
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    """What each of the two ranks of :func:`_worker` saw."""
    out = tmp_path_factory.mktemp('ranks')
    context = mp.start_processes(_worker, args=(free_port(), str(out)), nprocs=2, join=False,
                                 start_method='spawn')
    deadline = time.monotonic() + 300
    while not context.join(timeout=max(1.0, deadline - time.monotonic())):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail('the two ranks did not finish within 300 s')
    return [torch.load(out / f'{rank}.pt', weights_only=False) for rank in range(2)]


def test_icsrec_intents_from_all_ranks_equal_on_every_rank(ranks, tiny_data):
    first, second = (r['icsrec'] for r in ranks)
    assert first['single_spec'] is False and first['world_size'] == 2
    assert first['synced_buffers'] == []  # DDP does not send the training subsequences from rank 0 at every step
    for name, value in first['state'].items():  # DDP broadcast rank 0's weights
        assert torch.equal(value, second['state'][name]), name
    assert first['encoded'] == [(0, 707)] and second['encoded'] == [(707, 1413)]  # each rank encodes its share
    assert torch.equal(first['centroids'], second['centroids'])
    # the centroids of one process on the same weights: k-means saw every rank's subsequences
    config = build_config(ICSRec, 'ml-100k', dict(TINY))
    model = ICSRec(config, tiny_data[2].dataset)
    assert model.train_seq.size(0) == 1413
    model.load_state_dict(first['state'])
    assert first['centroids'].shape == (8, 16)
    assert torch.allclose(first['centroids'], model.fit_intents(), atol=1e-5)


def test_gather_batch_without_a_process_group_returns_its_inputs():
    z, y = torch.randn(3, 2), torch.arange(3)
    g, labels = gather_batch(z, y)
    assert g is z and labels is y
    with pytest.raises(ValueError, match=r"Expected tensors of the same number of rows \(got \[3, 2\]\)"):
        gather_batch(z, y[:2])


def test_contrastive_losses_see_the_negatives_of_every_rank(ranks):
    """Shares of 3 and 5 pairs: each rank's loss is the one-process loss over the 8 pairs; the gradient of a rank's
    rows is the sum of what both ranks' (equal) losses send them, so DDP's mean over the 2 ranks gives the
    one-process gradient."""
    z1, z2, labels, parts = _representations()
    z1.requires_grad_(), z2.requires_grad_()
    loss = sequence_info_nce(z1, z2, 0.5, 'cos', labels=labels) + margin_regularizer(z1, z2)
    loss.backward()
    for rank, part in enumerate(parts):
        out = ranks[rank]['losses']
        assert torch.allclose(out['loss'], loss.detach(), atol=1e-6)
        assert torch.allclose(out['grads'][0] / 2, z1.grad[part], atol=1e-6)
        assert torch.allclose(out['grads'][1] / 2, z2.grad[part], atol=1e-6)


def _concat(parts):
    return [torch.cat(chunks) for chunks in zip(*parts)]


def _check_one_process(model, outputs, loss_fn, with_rec=True):
    """The ranks' results of :func:`_contrast_on_rank` against ``loss_fn`` on the two batches concatenated in one
    process: each rank's contrastive part (loss minus its recommendation loss) equals the one-process one, the
    mean of the ranks' losses is the one-process loss (equal shares), and the averaged gradients are its
    gradients."""
    for name, value in outputs[0]['state'].items():
        assert torch.equal(value, outputs[1]['state'][name]), name
    model.load_state_dict(outputs[0]['state'])
    batch = Interaction({key: torch.cat([out['batch'][key] for out in outputs]) for key in outputs[0]['batch']})
    model.eval()
    model.requires_grad_(True)
    model.zero_grad(set_to_none=True)
    loss = loss_fn(batch)
    loss.backward()
    rec = _rec_part(model, batch, with_rec)
    for out in outputs:
        assert out['loss'] - out['rec'] == pytest.approx((loss - rec).item(), abs=1e-5)
    assert (outputs[0]['loss'] + outputs[1]['loss']).item() / 2 == pytest.approx(loss.item(), abs=1e-5)
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert set(grads) == set(outputs[0]['grads'])
    for name, grad in grads.items():
        for out in outputs:
            assert torch.allclose(out['grads'][name], grad, atol=1e-6, rtol=1e-4), name


def test_cl4srec_contrast_over_the_global_batch(ranks, tiny_data):
    outputs = [r['cl4srec_contrast'] for r in ranks]
    model = CL4SRec(build_config(CL4SRec, 'ml-100k', dict(TINY)), tiny_data[2].dataset)
    views = _concat(out['views'] for out in outputs)
    model.make_views = lambda _: views
    _check_one_process(model, outputs, model.calculate_loss)


def test_mclrec_contrast_over_the_global_batch(ranks, tiny_data):
    model = MCLRec(build_config(MCLRec, 'ml-100k', dict(TINY, lmd=0.1, beta=0.2)), tiny_data[2].dataset)
    views = _concat(r['mclrec_contrast']['views'] for r in ranks)
    _check_one_process(model, [r['mclrec_contrast']['encoder'] for r in ranks], lambda b: model.encoder_loss(b, views))
    _check_one_process(model, [r['mclrec_contrast']['augmenter'] for r in ranks],
                       lambda b: model.augmenter_loss(b, views), with_rec=False)  # L1: contrastive terms only


def test_icsrec_contrast_over_the_global_batch(ranks, tiny_data):
    first = ranks[0]['icsrec']
    model = ICSRec(build_config(ICSRec, 'ml-100k', dict(TINY)), tiny_data[2].dataset)
    model.set_intents(first['centroids'])
    assert model.lmd > 0 and model.beta > 0 and model.fn_mask
    _check_one_process(model, [r['icsrec']['contrast'] for r in ranks], model.calculate_loss)


def test_mclrec_meta_step_keeps_the_ranks_in_sync(ranks):
    first, second = (r['mclrec'] for r in ranks)
    assert first['sizes'] == second['sizes'] == 128  # train_batch_size 256 over 2 ranks
    assert not torch.equal(first['users'], second['users'])  # each rank its own samples
    for name, value in first['after'].items():
        assert torch.equal(first['before'][name], second['before'][name]), name
        assert torch.equal(value, second['after'][name]), name
    moved = {name for name, value in first['after'].items() if not torch.equal(value, first['before'][name])}
    assert 'item_embedding.weight' in moved and 'augmenter1.lins.0.weight' in moved


@pytest.fixture
def watchdog():
    """Kills the processes this test started if they outlive 150 s (the run then fails instead of hanging)."""
    timer = threading.Timer(150, lambda: [p.kill() for p in multiprocessing.active_children()])
    timer.start()
    yield
    timer.cancel()


def test_cli_trains_one_epoch_in_two_processes(tmp_path, watchdog, capfd):
    config = tmp_path / 'tiny.yaml'
    config.write_text(yaml.safe_dump({k: v for k, v in TINY.items() if k not in ('epochs', 'device')}))
    out = tmp_path / 'run'
    assert main(['train', 'CL4SRec', '--dataset', 'ml-100k', '--config', str(config), '--epochs', '1', '--device',
                 'cpu', '--nproc', '2', '--out', str(out), '--export-topk', '3']) == 0
    printed = capfd.readouterr().out
    assert printed.count('epoch   0  loss') == 1  # by the first process only
    for name in ('metrics.json', 'config.yaml', 'model.pth', 'last.pth', 'args.json', 'log.txt', 'topk.tsv'):
        assert (out / name).is_file(), name
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['epochs_run'] == 1 and 0 < metrics['test']['hit@20'] <= 1
    saved = yaml.safe_load((out / 'config.yaml').read_text())
    assert saved['nproc'] == 2 and saved['world_size'] == 2 and saved['single_spec'] is False
    assert json.loads((out / 'args.json').read_text())['config_dict']['nproc'] == 2
    assert 'epoch 0 training' in (out / 'log.txt').read_text()  # RecBole's log, from rank 0
    assert len((out / 'topk.tsv').read_text().splitlines()) == 1 + 79  # every test user, from both shards
    checkpoint = torch.load(out / 'last.pth', weights_only=False)
    assert checkpoint['epoch'] == 0 and len(checkpoint['history']) == 1


def test_a_failing_rank_raises_its_exception_in_the_caller(tmp_path, watchdog):
    import recsys
    foreign = tmp_path / 'last.pth'  # passes the caller's checks, fails in the ranks: no weights fit
    torch.save({'config': {'model': 'SASRecBackbone', 'dataset': 'ml-100k'}, 'epoch': 0, 'cur_step': 0,
                'best_valid_score': 0.0, 'state_dict': {}, 'optimizer': {}}, foreign)
    with pytest.raises(ValueError, match=f"Cannot resume: {foreign} does not fit this run's model"):
        recsys.run('SASRecBackbone', 'ml-100k', dict(TINY, nproc=2, epochs=2), resume=foreign)


@pytest.mark.parametrize('extra,message', [
    (['--nproc', '0'], "Expected '--nproc' >= 1 (got 0)"),
    ({'nproc': 2, 'world_size': 1}, "Expected 'offset' + 'nproc' <= 'world_size' (got offset=0, nproc=2, "
                                    "world_size=1)"),
    ({'nproc': 2, 'port': 70000}, "Expected 'port' to be an integer [1, 65535] (got 70000)"),
    ({'world_size': 4, 'nproc': 2, 'offset': 2}, "Expected a 'port' (of the machine of rank 0, with its 'ip')"),
])
def test_bad_multi_process_settings_are_usage_errors(extra, message, tmp_path, capsys):
    argv = ['train', 'SASRecBackbone', '--dataset', 'ml-100k', '--out', str(tmp_path / 'run')]
    if isinstance(extra, dict):
        (tmp_path / 'ddp.yaml').write_text(yaml.safe_dump(dict(TINY, **extra)))
        argv += ['--config', str(tmp_path / 'ddp.yaml')]
    else:
        argv += extra
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'run').exists()


def test_launch_settings_of_two_machines():
    config = build_config(ICSRec, 'ml-100k', dict(TINY, nproc=2, world_size=4, offset=2, ip='10.0.0.1', port=29500))
    assert tuple(launch_settings(config)) == (2, 4, 2, '10.0.0.1', 29500, 'gloo')
    assert tuple(launch_settings(build_config(ICSRec, 'ml-100k', dict(TINY)))) == (1, 1, 0, 'localhost', None,
                                                                                   'gloo')
