"""Image tagging function app: upload -> Blob + Queue -> tag -> Table -> query.

Layers: ``bindings`` (Azure Functions blueprints) -> ``services`` (behaviour) ->
``core`` (analysis, vocabulary; no Azure, no HTTP) and ``adapters`` (all Storage SDK use).
"""
