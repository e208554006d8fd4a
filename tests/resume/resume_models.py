"""Reused models for the in-process resume tests (imported by name, as
tests/checkpoint's ckpt_utils): one compiled model per factory, put back
into its initial state before each use, so that each `fit` does what it
does on a new model without building and tracing again.

The reset (fit_utils's, extended): every variable of the model
(`model.variables`: the weights and also the seed generators' states of
Dropout layers, which are outside the weights), every optimizer variable,
`stop_training`, and `model._initial_epoch` back to None: BackupAndRestore
(Keras's and ours) sets it when it resumes, and Keras's `fit` never resets
it, so a later `fit` of the same model would start at that epoch.

Not for models with an unseeded Dropout on torch: there Dropout draws from
torch's global generator, and a model's first fit leaves that generator
elsewhere than its later fits do (test_resume_with_dropout_is_exact builds
a new model each run).
"""

import numpy as np


class Reused:
    def __init__(self, factory):
        self.factory = factory
        self.model = None

    def __call__(self):
        model = self.model
        if model is None:
            model = self.model = self.factory()
            model.optimizer.build(model.trainable_variables)
            self.variables = [np.array(v.numpy()) for v in model.variables]
            self.optimizer = [np.array(v.numpy()) for v in model.optimizer.variables]
        else:
            for v, value in zip(model.variables, self.variables):
                v.assign(value)
            for v, value in zip(model.optimizer.variables, self.optimizer):
                v.assign(value)
        model.stop_training = False
        model._initial_epoch = None
        return model
