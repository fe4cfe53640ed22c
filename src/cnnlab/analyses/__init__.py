"""The built-in analyses, one folder each, found by folder: importing this package imports every
folder in it, and each registers its analysis (cnnlab.plugins.Analysis).

An analysis folder holds
- `measure.py`: what it measures after (or while) a run trains. It is part of every run key
  (cnnlab.fingerprint.RESULT_CODE): editing it retrains the runs that use it. It may import torch;
  `__init__.py` imports it only inside the functions that measure, so listing analyses stays fast.
- `__init__.py`: how the rest of cnnlab sees it: the registration (name, description, the
  `measure` entry point, the check of a stored value, its metrics), its report section, findings
  and summary columns, and an example value, which the report tests draw instead of hand-written
  fakes. None of it changes a number, so none of it is in the run key.

To add one, copy a folder (`overfitting/` is the smallest). Your own can live anywhere in the same
shape: a package with an entry point in the "cnnlab.plugins" group, or one named in $CNNLAB_PLUGINS
(tests/test_plugins.py plugs one in from outside). Study files then list it by name.
"""

import importlib
import pkgutil

for _folder in sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg):
    importlib.import_module(f"{__name__}.{_folder}")
