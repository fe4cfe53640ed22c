"""scipy's modules as the statistics use them, imported on first use.

`import scipy.stats` takes seconds, and the modules that compute statistics are imported by
every analysis plug-in (for their report sections), so by every `cnnlab run` worker and
listing: they only need scipy once a report computes something."""

import importlib


class _OnFirstUse:
    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attr):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


sps = _OnFirstUse("scipy.stats")
integrate = _OnFirstUse("scipy.integrate")
optimize = _OnFirstUse("scipy.optimize")
special = _OnFirstUse("scipy.special")
