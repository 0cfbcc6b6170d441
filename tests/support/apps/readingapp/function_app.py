"""The real app (the same blueprints, services and storage) whose tagger also runs the
test doubles of tests/support/analysers.py, so end-to-end tests through the runner
(and the page in Chromium) see ``text`` and ``faces`` facts from images' EXIF."""
import sys
from functools import lru_cache
from pathlib import Path

import azure.functions as func

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the project root: tests.support

from tagging.bindings import BLUEPRINTS, _services
from tagging.logs import quiet_sdk_loggers


@lru_cache(maxsize=1)
def _tag_service():  # type: ignore[no-untyped-def]
    from tagging.core.analysis import default_analysers
    from tagging.services.tagging import TagService
    from tagging.settings import get_settings
    from tests.support.analysers import FacesDouble, ReadingDouble

    settings = get_settings()
    analysers = [*default_analysers(settings.store_gps), ReadingDouble(), FacesDouble()]
    return TagService(settings, _services._storage(), analysers)


_services.tag_service = _tag_service  # the queue binding looks it up on each message

quiet_sdk_loggers()
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
