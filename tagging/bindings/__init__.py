"""Bindings: Azure Functions blueprints. Each function parses its trigger, calls one
service and shapes the response; no HttpRequest or QueueMessage goes further."""
from .openapi import bp as openapi_blueprint
from .query import bp as query_blueprint
from .queue import bp as queue_blueprint
from .retag import bp as retag_blueprint
from .sweeper import bp as sweeper_blueprint
from .ui import bp as ui_blueprint
from .upload import bp as upload_blueprint

BLUEPRINTS = (upload_blueprint, query_blueprint, retag_blueprint, queue_blueprint, ui_blueprint, openapi_blueprint,
              sweeper_blueprint)

__all__ = ["BLUEPRINTS"]
