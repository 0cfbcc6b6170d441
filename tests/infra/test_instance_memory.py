"""TAGGING_INSTANCE_MEMORY_MB follows the plan's instanceMemoryMB, and the app turns it
into its decode budget (tagging/core/analysis/budget.py)."""
from __future__ import annotations

import pytest

from tagging.core.analysis.budget import MB, budget_bytes
from tagging.settings import Settings

from .conftest import INFRA, Template


@pytest.mark.parametrize("memory", [512, 2048, 4096])
def test_instance_memory_setting_follows_the_plan_parameter(memory: int):
    main = Template(INFRA / "main.bicep", {"environmentName": "e", "location": "l", "instanceMemoryMB": memory})
    site = main.module("api").module_params("site")
    settings = site["configs"][0]["properties"]
    assert settings["TAGGING_INSTANCE_MEMORY_MB"] == str(memory)
    assert site["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == memory


@pytest.mark.parametrize(("memory", "budget_mb"), [(512, 128), (2048, 768), (4096, 1792)])
def test_every_instance_size_gets_a_decode_budget_that_fits_it(memory: int, budget_mb: int):
    env = {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "TAGGING_QUEUE": "tag-requests",
        "TAGGING_INSTANCE_MEMORY_MB": str(memory),
    }
    settings = Settings.from_env(env)
    assert settings.instance_memory_mb == memory
    assert budget_bytes(settings.instance_memory_mb) == budget_mb * MB
    assert budget_mb + 384 <= memory  # the runtime and the classifier keep at least 384 MB
