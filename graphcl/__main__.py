"""``python -m graphcl ...`` and ``torchrun --nproc_per_node N -m graphcl train|pretrain ...``: the ``graphcl``
command line (:func:`graphcl.cli.main`)."""
import sys

from .cli import main

sys.exit(main())
