"""The function app: one FunctionApp composed of the package's blueprints.

Auth level FUNCTION: deployed callers need a function key (``?code=`` or
``x-functions-key``); Core Tools and the project's runner do not enforce keys locally.
"""
import azure.functions as func

from tagging.bindings import BLUEPRINTS
from tagging.logs import quiet_sdk_loggers

# The worker forwards every record at INFO to Application Insights: keep the SDK quiet.
quiet_sdk_loggers()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
