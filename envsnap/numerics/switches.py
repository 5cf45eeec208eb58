"""Framework switches for determinism, applied inside the interpreter whose numbers matter.

Shared by the numerics battery and the repro bootstrap: both run as ``PYTHON -c SOURCE`` in an
interpreter that need not hold envsnap, so their runners put this file's text before their own
(`envsnap.numerics.runner.script_source`). The keys are the settings a remedy asks for
(`remedies.Candidate.settings`): ``torch_threads`` (a count), ``tf32`` (False: TF32 off),
``deterministic`` (torch's deterministic algorithms with the cuDNN flags), ``tf_deterministic``
(TensorFlow's op determinism). Standard library only; torch and TensorFlow are imported only
when a switch needs them, and a switch whose framework is not installed is skipped with a note.
"""

import importlib.util

_TORCH_SWITCHES = ("torch_threads", "tf32", "deterministic")


def apply_switches(settings):
    """Apply *settings* (see the module docstring); return notes on what could not be."""
    notes = []
    if any(settings.get(k) not in (None, "") for k in _TORCH_SWITCHES):
        if importlib.util.find_spec("torch") is None:
            notes.append("torch is not installed: its switches were not applied")
        else:
            import torch

            if settings.get("torch_threads"):
                torch.set_num_threads(int(settings["torch_threads"]))
            if settings.get("tf32") is False:
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.backends.cudnn.allow_tf32 = False
            if settings.get("deterministic"):
                torch.use_deterministic_algorithms(True, warn_only=True)
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
    if settings.get("tf_deterministic"):
        if importlib.util.find_spec("tensorflow") is None:
            notes.append("tensorflow is not installed: op determinism was not enabled")
        else:
            import tensorflow as tf

            try:
                tf.config.experimental.enable_op_determinism()
            except AttributeError:  # before 2.8: TF_DETERMINISTIC_OPS is the switch
                notes.append("this tensorflow has no enable_op_determinism (before 2.8)")
    return notes
