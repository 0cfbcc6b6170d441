"""The OpenAPI document is valid 3.1, describes exactly the HTTP functions as indexed,
and is served; the fallback answers undocumented methods 405 and unknown paths 404."""
from __future__ import annotations

import json
import re
from pathlib import Path

import azure.functions as func
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tagging.bindings import openapi

ROOT = Path(__file__).resolve().parents[2]
FALLBACK = "no_route"  # answers what the document does not describe: not an operation
ERROR_CODE = re.compile(r"^[a-z][a-z_]*$")


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads((ROOT / "tagging" / "bindings" / "openapi.json").read_text(encoding="utf-8"))


def route_prefix() -> str:
    return json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]


def http_functions(functions) -> dict[str, tuple[str, set[str]]]:
    """name -> (route, methods) of every HTTP-triggered function but the fallback."""
    found = {}
    for name, function in functions.items():
        trigger = function.get_trigger()
        if trigger.get_binding_name() == "httpTrigger" and name != FALLBACK:
            found[name] = (trigger.route, {str(m).upper() for m in trigger.methods})
    return found


def operations(document: dict) -> dict[str, tuple[str, str, dict]]:
    """operationId -> (path, method, operation)."""
    return {
        op["operationId"]: (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in openapi.METHODS
    }


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_http_function_is_documented_and_nothing_else(document, functions):
    prefix = route_prefix()
    assert prefix == openapi.ROUTE_PREFIX
    indexed = {
        (f"/{prefix}/" + route.replace("{*", "{"), method.lower(), name)
        for name, (route, methods) in http_functions(functions).items()
        for method in methods
    }
    documented = {(path, method, op.get("x-function-name")) for path, method, op in operations(document).values()}
    assert documented == indexed
    # The route template as the function declares it, so catch-alls are visible.
    for path, item in document["paths"].items():
        routes = {route for name, (route, _) in http_functions(functions).items()
                  if f"/{prefix}/" + route.replace("{*", "{") == path}  # fmt: skip
        assert routes == {item["x-functions-route"]}, path


def test_operation_ids_are_function_names(document, functions):
    for operation_id, (_, _, op) in operations(document).items():
        assert operation_id == op["x-function-name"] and operation_id in functions


def test_path_parameters_match_the_route(document):
    for path, item in document["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            if method not in openapi.METHODS:
                continue
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)


#: Answered by Azure's front end (and the runner) before any function runs: no JSON body.
PLATFORM_URL_TOO_LONG = "414"


def test_errors_have_the_error_shape_and_every_operation_answers_500(document):
    components = document["components"]["responses"]
    for operation_id, (_, _, op) in operations(document).items():
        assert "500" in op["responses"], operation_id
        for status, response in op["responses"].items():
            response = components[response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response
            if status == PLATFORM_URL_TOO_LONG:
                assert "content" not in response and "front end" in response["description"], operation_id
            elif int(status) >= 400:
                assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                codes = response["description"].split("Codes: ", 1)[1].rstrip(".").split(", ")
                assert all(ERROR_CODE.match(code) for code in codes), (operation_id, status, codes)


def test_user_operations_declare_the_function_key_and_anonymous_ones_none(document, functions):
    schemes = document["components"]["securitySchemes"]
    assert (schemes["functionKeyHeader"]["in"], schemes["functionKeyHeader"]["name"]) == ("header", "x-functions-key")
    assert (schemes["functionKeyQuery"]["in"], schemes["functionKeyQuery"]["name"]) == ("query", "code")
    assert schemes["appServiceAuthentication"]["name"] == "X-MS-CLIENT-PRINCIPAL-ID"
    assert document["security"] == [{"functionKeyHeader": []}, {"functionKeyQuery": []}]
    for operation_id, (_, _, op) in operations(document).items():
        anonymous = functions[operation_id].get_trigger().auth_level == func.AuthLevel.ANONYMOUS
        assert (op.get("security") == []) == anonymous, operation_id


def test_upload_documents_the_idempotency_key(document):
    _, _, upload = operations(document)["upload_images"]
    header = next(p for p in upload["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is False
    schema = header["schema"]
    assert (schema["type"], schema["minLength"], schema["maxLength"]) == ("string", 1, 200)
    # The documented pattern accepts exactly what the app accepts, among values that
    # survive HTTP (servers strip a header value's leading and trailing spaces).
    from tagging.core.vocabulary import IdempotentOperation
    from tagging.services.errors import ServiceError
    from tagging.services.idempotency import check_key

    pattern = re.compile(schema["pattern"])
    samples = ["a", "x y", "~!", "k" * 200, "k" * 201, "caf\u00e9", "tab\there", "\x7f", "a" + "\n" + "b", "-" * 3]
    for sample in samples:
        try:
            accepted = check_key(sample, IdempotentOperation.UPLOAD) is not None and len(sample) <= schema["maxLength"]
        except ServiceError:
            accepted = False
        assert (bool(pattern.fullmatch(sample)) and len(sample) <= 200) or not accepted, sample
        assert accepted or not (pattern.fullmatch(sample) and len(sample) <= 200), sample
    assert not pattern.fullmatch(" padded ")  # would arrive stripped, so it is not documented
    assert "idempotency_conflict" in upload["responses"]["409"]["description"]
    assert upload["responses"]["202"]["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]


def test_links_chain_upload_get_batch_delete_and_get_again(document):
    ops = operations(document)
    assert set(ops["upload_images"][2]["responses"]["202"]["links"]) >= {"GetImage", "GetBatch", "DeleteImage"}
    assert ops["delete_image"][2]["responses"]["204"]["links"]["GetDeletedImage"]["operationId"] == "get_image"
    for _, _, op in ops.values():
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ops


def test_the_document_is_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"tagging.bindings" = ["openapi.json"]' in pyproject


def request(method: str, url: str) -> func.HttpRequest:
    path = url.split("?", 1)[0].removeprefix("/api/")
    return func.HttpRequest(method, "http://127.0.0.1" + url, body=b"", route_params={"path": path})


def test_the_document_is_served(functions, document):
    response = functions["openapi"].get_user_function()(request("GET", "/api/openapi.json"))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_body()) == document


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("PUT", "/api/images", "GET, POST"),
        ("DELETE", "/api/images", "GET, POST"),
        ("POST", "/api/IMAGES/", "GET, POST"),
        ("POST", "/api/images/9999999999999aaaaaa-000", "GET, DELETE"),
        ("PATCH", "/api/batches/anything", "GET"),
        ("POST", "/api/tags", "GET"),
        ("HEAD", "/api/health", "GET"),
        ("POST", "/api/openapi.json", "GET"),
        ("PUT", "/api/ui/deep/path.js", "GET"),
    ],
)
def test_a_documented_path_with_another_method_is_405_with_allow(functions, method, url, allow):
    response = functions[FALLBACK].get_user_function()(request(method, url))
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert json.loads(response.get_body())["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("url", ["/api/no-such-route", "/api/images/a/b", "/api/", "/api/batches"])
def test_an_unknown_path_is_a_json_404(functions, url):
    response = functions[FALLBACK].get_user_function()(request("GET", url))
    assert response.status_code == 404
    assert json.loads(response.get_body())["error"]["code"] == "not_found"
