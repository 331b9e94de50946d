"""Shared constants of the recsys tests."""

#: 79 users with 20-22 interactions, 394 items (+ padding), 1413 training prefixes; one layer of width 16.
TINY = {
    'user_inter_num_interval': '[20,22]',
    'MAX_ITEM_LIST_LENGTH': 10,
    'n_layers': 1,
    'n_heads': 2,
    'hidden_size': 16,
    'inner_size': 32,
    'augmenter_sizes': [16, 8, 16],
    'n_intents': 8,
    'kmeans_nredo': 1,
    'train_batch_size': 256,
    'eval_batch_size': 512,
    'epochs': 1,
    'device': 'cpu',
}


def write_inter(folder, name, users=40, items=60, length=8, seed=0, header=True):
    """A user's RecBole atomic file ``<folder>/<name>.inter``: ``users`` users with ``length`` interactions each
    (items drawn from ``items``, string tokens ``u<k>`` / ``i<k>``, increasing timestamps). Returns its path."""
    import random
    from pathlib import Path
    rng = random.Random(seed)
    rows = ['user_id:token\titem_id:token\ttimestamp:float'] if header else []
    for u in range(1, users + 1):
        rows.extend(f'u{u}\ti{rng.randint(1, items)}\t{1000 * u + t}' for t in range(length))
    path = Path(folder) / f'{name}.inter'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(rows) + '\n')
    return path
