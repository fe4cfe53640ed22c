"""The built-in analyses, one module each: what it measures after a run has trained, the
shape of what it stores, the per-run numbers it gives the report and the answers, and the
report section it draws (see cnnlab.plugins.Analysis).

To add an analysis, write a module like these and register it: here for a built-in one
(and import it below), or anywhere for your own (a notebook, a test, a package of yours
with an entry point in the "cnnlab.plugins" group). Study files then list it by name.
"""

from cnnlab.analyses import (activations, confusion, erf, grad_flow, inference, memory, overfitting,  # noqa: F401
                             receptive_field, stability)
