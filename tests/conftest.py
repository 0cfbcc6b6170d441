"""Session fixtures: one real Azurite on free ports, the app indexed once."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.azurite import Azurite  # noqa: E402 - needs the project root on sys.path (above)

QUEUE = "tag-requests"


@pytest.fixture(scope="session")
def azurite():
    instance = Azurite.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def app_env(azurite):
    """Point the app at the test Azurite (never a developer's running one)."""
    from tagging.bindings import _services

    saved = dict(os.environ)
    os.environ.update(
        {
            "AzureWebJobsStorage": azurite.connection_string,
            "TAGGING_QUEUE": QUEUE,
            "TAGGING_MAX_FILES": "10",
            "TAGGING_MAX_FILE_BYTES": str(2 * 1024 * 1024),
            "TAGGING_MAX_REQUEST_BYTES": str(6 * 1024 * 1024),
            "TAGGING_MAX_IMAGE_PIXELS": str(50_000_000),
        }
    )
    os.environ.pop("TAGGING_DEFAULT_USER", None)
    _services.reset()
    yield azurite
    os.environ.clear()
    os.environ.update(saved)
    _services.reset()


@pytest.fixture(scope="session")
def functions():
    """The app's functions, indexed once (get_functions() may be called only once)."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


@pytest.fixture(scope="session")
def host(app_env, functions):
    from tests.support.host import Host

    return Host(functions, app_env.connection_string, QUEUE)


@pytest.fixture
def storage(app_env):
    from tagging.adapters import get_storage
    from tagging.settings import get_settings

    return get_storage(get_settings())
