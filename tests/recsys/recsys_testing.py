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
