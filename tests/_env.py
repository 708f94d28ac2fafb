"""The environment for a subprocess the tests start: nothing of the calling pytest run leaks in
(its backend choice, addopts, plugins, PYTHONPATH)."""

import os


def clean_env(**extra):
    """The environment with EXTRA set, and without the EXTRA names given as None."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}
