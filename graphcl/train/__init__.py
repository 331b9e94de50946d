"""Training loop, checkpoints and atomic output files (names imported on first use: no torch for the CLI's help)."""
from .. import _lazy_exports
from .precision import MATMUL_PRECISIONS, check_matmul_precision, matmul_precision

_EXPORTS = {
    **dict.fromkeys(("atomic_path", "write_json", "write_npy", "write_png", "write_text", "write_torch",
                     "write_yaml"), ".io"),
    **dict.fromkeys(("CHECKPOINT_NAME", "fit", "flush_denormals", "flush_denormals_process_wide", "load_checkpoint",
                     "nonfinite_loss_message", "setup_process"), ".loop"),
    **dict.fromkeys(("cpu_model", "machine_description"), ".machine"),
}
__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)

__all__ = ["fit", "load_checkpoint", "CHECKPOINT_NAME", "flush_denormals", "flush_denormals_process_wide",
           "setup_process", "nonfinite_loss_message", "matmul_precision", "check_matmul_precision",
           "MATMUL_PRECISIONS", "atomic_path", "write_json", "write_npy", "write_png", "write_text", "write_torch",
           "write_yaml", "cpu_model", "machine_description"]
