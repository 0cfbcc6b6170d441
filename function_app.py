"""The function app: one FunctionApp composed of the package's blueprints.

Auth level FUNCTION: deployed callers need a function key (``?code=`` or
``x-functions-key``); Core Tools and the project's runner do not enforce keys locally.
"""
import azure.functions as func

from tagging.bindings import BLUEPRINTS

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
