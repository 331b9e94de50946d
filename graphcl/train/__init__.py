"""Training loop, checkpoints and atomic output files."""
from .io import atomic_path, write_json, write_npy, write_text, write_torch, write_yaml
from .loop import (CHECKPOINT_NAME, MATMUL_PRECISIONS, check_matmul_precision, fit, flush_denormals,
                   flush_denormals_process_wide, load_checkpoint, matmul_precision, setup_process)
from .machine import cpu_model, machine_description

__all__ = ["fit", "load_checkpoint", "CHECKPOINT_NAME", "flush_denormals", "flush_denormals_process_wide",
           "setup_process", "matmul_precision", "check_matmul_precision", "MATMUL_PRECISIONS",
           "atomic_path", "write_json", "write_npy", "write_text", "write_torch", "write_yaml", "cpu_model",
           "machine_description"]
