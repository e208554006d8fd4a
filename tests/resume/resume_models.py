"""Reused models for the in-process resume tests (imported by name, as
tests/checkpoint's ckpt_utils): one compiled model per factory, put back
into its initial state before each use, so that each `fit` does what it
does on a new model without building and tracing again.

Besides fit_utils's reset (weights, optimizer variables, stop_training),
`model._initial_epoch` goes back to None: BackupAndRestore (Keras's and
ours) sets it when it resumes, and Keras's `fit` never resets it, so a
later `fit` of the same model would start at that epoch.
"""

import fit_utils


class Reused:
    def __init__(self, factory):
        self.factory = factory
        self.reusable = None

    def __call__(self):
        if self.reusable is None:
            self.reusable = fit_utils._Reusable(self.factory())
        model = self.reusable.reset()
        model._initial_epoch = None
        return model
