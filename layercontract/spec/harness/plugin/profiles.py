"""The hypothesis profile of a layercontract run: ci unless --hypothesis-profile names another
(spec/harness/hypothesis_profiles.py registers them), and one usage error for an unknown name."""

from __future__ import annotations

import pytest
from hypothesis import settings

from layercontract.spec.harness.hypothesis_profiles import DEFAULT_HYPOTHESIS_PROFILE
from layercontract.spec.harness.plugin.options import chosen_backend


class HypothesisProfile:
    @pytest.hookimpl(tryfirst=True)
    def pytest_cmdline_main(self, config):
        """A profile hypothesis's own plugin would fail on with an internal error: one usage error."""
        profile = config.getoption("hypothesis_profile", None)
        if profile is None or chosen_backend(config) is None:
            return None
        try:
            settings.get_profile(profile)
        except Exception:
            raise pytest.UsageError(
                f"unknown hypothesis profile {profile!r}: give one of ci, dev, thorough (--hypothesis-profile)"
            ) from None
        return None

    def pytest_configure(self, config):
        if chosen_backend(config) is None:
            return
        if config.getoption("hypothesis_profile", None) is None:
            settings.load_profile(DEFAULT_HYPOTHESIS_PROFILE)
            config.option.hypothesis_profile = DEFAULT_HYPOTHESIS_PROFILE
