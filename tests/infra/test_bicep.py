"""The deployment (azure.yaml, infra/) checked offline: parsed and evaluated, not compiled.

What only Azure can tell (that the templates compile, that the AVM modules accept these
parameters, that the app starts) is listed in README "Deploy to Azure".
"""
from __future__ import annotations

import ast
import json
import logging
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from .conftest import BICEP_FILES, INFRA, ROOT, Ref, Template, parse

FLEX_FORBIDDEN = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
}
FLEX_FORBIDDEN_PREFIXES = ("WEBSITE_CONTENT",)

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# Being added to tagging/settings.py in the same issue (images whose blobs aged out
# answer url: null); the IaC sets it from the lifecycle rule's parameter.
PENDING_APP_SETTINGS = {"TAGGING_RETENTION_DAYS"}


def all_keys(node: Any) -> set[str]:
    """Every object key anywhere in a parse tree (app settings can hide in any object)."""
    keys: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(key.strip("'"))
            keys |= all_keys(value)
    elif isinstance(node, list):
        for item in node:
            keys |= all_keys(item)
    return keys


# Where the deployed app reads its TAGGING_* settings (the CLI's TAGGING_URL/KEY/USER and
# the local runner's TAGGING_RUNNER_WORKERS are not app settings).
SETTINGS_SOURCES = ("tagging/settings.py", "tagging/logs.py")


def app_reads() -> set[str]:
    """TAGGING_* names the app reads (from its source, so a new setting is caught)."""
    names: set[str] = set()
    for source in SETTINGS_SOURCES:
        names |= set(re.findall(r"\"(TAGGING_[A-Z0-9_]+)\"", (ROOT / source).read_text(encoding="utf-8")))
    return names


# -- files and parsing -----------------------------------------------------------------


def test_the_deployment_files_exist():
    expected = {
        "main.bicep", "app/api.bicep", "app/storage.bicep", "app/rbac.bicep", "app/monitoring.bicep",
        "app/workbook.bicep",
    }
    assert expected <= {p.relative_to(INFRA).as_posix() for p in BICEP_FILES}
    assert (ROOT / "azure.yaml").is_file() and (INFRA / "main.parameters.json").is_file()


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses(path: Path):
    tree = parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares nothing"


def test_every_local_module_exists_and_every_registry_module_is_pinned():
    for path in BICEP_FILES:
        for name, module in (parse(path).get("modules") or {}).items():
            detail = module["detail"]
            if module["type"] == "local":
                assert (path.parent / detail["path"]).is_file(), f"{path.name}: module {name} -> {detail['path']}"
            else:
                assert detail["path"].startswith("avm/res/"), f"{path.name}: {name} is not an Azure Verified Module"
                assert re.fullmatch(r"\d+\.\d+\.\d+", detail["tag"]), (
                    f"{path.name}: {name} is not pinned ({detail['tag']})"
                )


def test_azure_yaml_declares_the_api_service():
    lines = [line.split("#", 1)[0].rstrip() for line in (ROOT / "azure.yaml").read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line.strip()]
    start = lines.index("services:")
    service: dict[str, str] = {}
    assert lines[start + 1] == "  api:"
    for line in lines[start + 2 :]:
        if not line.startswith("    "):
            break
        if not line.startswith("     "):  # the service's own keys, not its hooks' lines
            key, value = line.strip().split(":", 1)
            service[key] = value.strip()
    assert service == {"project": ".", "language": "python", "host": "function", "hooks": ""}
    # azd packages the app after copying the text-reading weights into it (tools/weights.py).
    hooks = lines[lines.index("    hooks:") + 1 :]
    assert hooks[0] == "      prepackage:"
    runs = [line.strip() for line in hooks if line.strip().startswith("run:")]
    assert len(runs) == 2 and all("-m tools.weights" in run for run in runs), runs


# -- main.bicep and its parameters ------------------------------------------------------


def test_main_is_at_subscription_scope_and_creates_the_tagged_resource_group(main: Template):
    assert main.tree["globals"]["scope"]["value"] == "subscription"
    groups = [r for r in main.resources.values() if r["type"] == "Microsoft.Resources/resourceGroups"]
    assert len(groups) == 1
    assert main.eval(groups[0]["config"]["tags"]) == {"azd-env-name": "tagging-test"}
    for name, module in main.modules.items():
        assert module["config"]["scope"] in {"rg"}, f"module {name} is not deployed into the resource group"


def test_every_parameter_file_entry_is_declared_and_every_required_parameter_is_given(main: Template):
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(given) <= set(main.parameters), f"undeclared: {set(given) - set(main.parameters)}"
    required = {name for name, p in main.parameters.items() if "default" not in p}
    assert required <= set(given), f"no value for {required - set(given)}"
    assert given["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert given["location"]["value"] == "${AZURE_LOCATION}"
    assert given["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def test_outputs_that_azd_and_people_need(main: Template):
    outputs = set(main.outputs)
    assert {"AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "SERVICE_API_NAME",
            "SERVICE_API_URI", "AZURE_STORAGE_ACCOUNT_NAME", "APPLICATIONINSIGHTS_CONNECTION_STRING"} <= outputs
    assert main.eval(main.outputs["AZURE_FUNCTION_APP_NAME"]["value"]) == Ref("api.outputs.name")


# -- plan and site ----------------------------------------------------------------------


def test_flex_consumption_linux_plan(api: Template):
    plan = api.module_params("plan")
    assert api.modules["plan"]["detail"]["path"] == "avm/res/web/serverfarm"
    assert plan["skuName"] == "FC1" and plan["reserved"] is True


def test_site_is_a_linux_function_app_tagged_for_azd(api: Template):
    site = api.module_params("site")
    assert api.modules["site"]["detail"]["path"] == "avm/res/web/site"
    assert site["kind"] == "functionapp,linux"
    assert site["tags"]["azd-service-name"] == "api"
    assert site["tags"]["azd-env-name"] == "tagging-test"
    assert site["serverFarmResourceId"] == Ref("plan.outputs.resourceId")
    assert site["httpsOnly"] is True and site["siteConfig"]["alwaysOn"] is False


def test_runtime_is_the_projects_python(api: Template):
    runtime = api.module_params("site")["functionAppConfig"]["runtime"]
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert requires == f">={running}", "pyproject's requires-python and the interpreter running the tests disagree"
    assert runtime == {"name": "python", "version": running}


def test_scale_parameters_reach_the_site(main: Template):
    memory, count = main.parameters["instanceMemoryMB"], main.parameters["maximumInstanceCount"]
    assert memory["default"] == 2048
    assert [d["argument"] for d in memory["decorators"] if d["type"] == "allowed"] == [[512, 2048, 4096]]
    assert 1 <= count["default"] <= 1000
    custom = Template(
        INFRA / "main.bicep",
        {"environmentName": "e", "location": "l", "instanceMemoryMB": 512, "maximumInstanceCount": 7},
    )
    scale = custom.module("api").module_params("site")["functionAppConfig"]["scaleAndConcurrency"]
    assert scale == {"instanceMemoryMB": 512, "maximumInstanceCount": 7}


def test_the_concurrency_note_matches_host_json():
    queues = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))["extensions"]["queues"]
    text = (INFRA / "main.bicep").read_text(encoding="utf-8")
    note = text[: text.index("param instanceMemoryMB")]
    batch, threshold = queues["batchSize"], queues["newBatchThreshold"]
    assert f"batchSize {batch}" in note and f"newBatchThreshold {threshold}" in note
    assert f"up to {batch + threshold} tag requests per instance" in note


def test_site_runs_as_the_user_assigned_identity_and_deploys_with_it(api: Template, main: Template):
    site = api.module_params("site")
    assert site["managedIdentities"] == {
        "systemAssigned": False,
        "userAssignedResourceIds": [Ref("identity.outputs.resourceId")],
    }
    storage = site["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": Ref("identity.outputs.resourceId"),
    }
    container = main.lookup("names")["deploymentContainer"]
    assert storage["value"] == Ref("${storage.outputs.blobEndpoint}" + str(container))
    identity = main.modules["identity"]["detail"]
    assert identity["path"] == "avm/res/managed-identity/user-assigned-identity"


# -- app settings -----------------------------------------------------------------------


def test_identity_based_host_storage_and_monitoring_settings(app_settings: dict[str, Any]):
    client_id = Ref("identity.outputs.clientId")
    assert app_settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert app_settings["AzureWebJobsStorage__clientId"] == client_id
    for service in ("blob", "queue", "table"):
        assert app_settings[f"AzureWebJobsStorage__{service}ServiceUri"] == Ref(f"storage.outputs.{service}Endpoint")
    assert "AzureWebJobsStorage" not in app_settings, "a connection string needs shared keys, which are off"
    assert app_settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == Ref(
        "monitoring.outputs.applicationInsightsConnectionString"
    )
    assert app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == Ref(f"ClientId={client_id};Authorization=AAD")


def test_no_setting_flex_consumption_forbids(app_settings: dict[str, Any]):
    def forbidden(name: str) -> bool:
        return name in FLEX_FORBIDDEN or name.startswith(FLEX_FORBIDDEN_PREFIXES)

    assert not [k for k in app_settings if forbidden(k)]
    for path in BICEP_FILES:  # nor anywhere else, e.g. a second appsettings config
        assert not [k for k in all_keys(parse(path)) if forbidden(k)], path.name


def test_every_tagging_setting_the_app_reads_is_set(app_settings: dict[str, Any]):
    reads = app_reads()
    assert "TAGGING_QUEUE" in reads and len(reads) >= 15, "could not find the settings in tagging/settings.py"
    expected = (reads - {"TAGGING_DEFAULT_USER"}) | PENDING_APP_SETTINGS
    set_here = {k for k in app_settings if k.startswith("TAGGING_")}
    assert expected <= set_here, f"not set: {sorted(expected - set_here)}"
    assert set_here <= reads | PENDING_APP_SETTINGS, (
        f"the app reads no {sorted(set_here - reads - PENDING_APP_SETTINGS)}"
    )
    example = json.loads((ROOT / "local.settings.json.example").read_text(encoding="utf-8"))["Values"]
    for name, value in example.items():  # same limits as the documented local defaults
        if name in set_here and name not in {"TAGGING_TRUST_PRINCIPAL_HEADER"}:
            assert app_settings[name] == value, name


def test_identity_header_is_not_trusted_and_there_is_no_default_user(app_settings: dict[str, Any]):
    assert app_settings["TAGGING_TRUST_PRINCIPAL_HEADER"] == "false"
    assert "TAGGING_DEFAULT_USER" not in app_settings
    for path in BICEP_FILES:
        assert "TAGGING_DEFAULT_USER" not in all_keys(parse(path)), path.name


def _settings_with(**parameters: Any) -> dict[str, Any]:
    main = Template(INFRA / "main.bicep", {"environmentName": "e", "location": "l", **parameters})
    (config,) = [c for c in main.module("api").module_params("site")["configs"] if c["name"] == "appsettings"]
    return config["properties"]


def test_trust_principal_header_is_a_parameter_azd_fills_from_the_environment(main: Template):
    # azd rewrites every app setting in the template on each provision: a value set only in
    # the portal would go back to the template's, so it must come from the azd environment.
    declared = main.parameters["trustPrincipalHeader"]
    assert declared["type"] == "bool" and declared["default"] is False
    assert "azd env set TAGGING_TRUST_PRINCIPAL_HEADER true" in (INFRA / "main.bicep").read_text(encoding="utf-8")
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given["trustPrincipalHeader"]["value"] == "${TAGGING_TRUST_PRINCIPAL_HEADER=false}"
    assert main.module_params("api")["trustPrincipalHeader"] is False
    assert _settings_with()["TAGGING_TRUST_PRINCIPAL_HEADER"] == "false"
    assert _settings_with(trustPrincipalHeader=False)["TAGGING_TRUST_PRINCIPAL_HEADER"] == "false"
    assert _settings_with(trustPrincipalHeader=True)["TAGGING_TRUST_PRINCIPAL_HEADER"] == "true"


def test_parameter_file_defaults_match_the_template_defaults(main: Template):
    """``${VAR=default}`` in main.parameters.json is what azd passes when VAR is unset; it
    must say what main.bicep's own default says, or the two documents disagree."""
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    checked = set()
    for name, entry in given.items():
        match = re.fullmatch(r"\$\{([A-Z0-9_]+)=([^}]*)\}", entry["value"])
        if not match:
            continue
        default = main.parameters[name]["default"]
        written = str(default).lower() if isinstance(default, bool) else str(default)
        assert match.group(2) == written, f"{name}: parameter file says {match.group(2)}, main.bicep {written}"
        checked.add(name)
    assert {"instanceMemoryMB", "imageRetentionDays", "trustPrincipalHeader"} <= checked


def binding_expressions(functions: dict[str, Any]) -> tuple[set[str], set[str]]:
    """``%NAME%`` names and connection names in every binding of the indexed app."""
    names: set[str] = set()
    connections: set[str] = set()
    for function in functions.values():
        for binding in function.get_bindings():
            representation = binding.get_dict_repr()
            for value in representation.values():
                if isinstance(value, str):
                    names |= set(re.findall(r"%([^%]+)%", value))
            if isinstance(representation.get("connection"), str):
                connections.add(representation["connection"])
    return names, connections


def test_every_setting_the_bindings_name_is_set(functions, app_settings: dict[str, Any]):
    names, connections = binding_expressions(functions)
    assert "TAGGING_QUEUE" in names, "the queue trigger's %TAGGING_QUEUE% was not found"
    assert not names - set(app_settings), f"bindings name unset settings: {sorted(names - set(app_settings))}"
    for connection in connections:  # a connection string, or an identity-based connection
        identity = {f"{connection}__{s}ServiceUri" for s in ("blob", "queue", "table")} | {f"{connection}__credential"}
        assert connection in app_settings or identity <= set(app_settings), connection


def test_retention_setting_follows_the_lifecycle_parameter():
    for days in (0, 30):
        main = Template(INFRA / "main.bicep", {"environmentName": "e", "location": "l", "imageRetentionDays": days})
        settings = main.module("api").module_params("site")["configs"][0]["properties"]
        assert settings["TAGGING_RETENTION_DAYS"] == str(days)
        rules = main.module("storage").module_params("account")["managementPolicyRules"]
        if days == 0:
            assert rules is None
        else:
            (rule,) = rules
            assert rule["enabled"] is True
            assert rule["definition"]["actions"]["baseBlob"]["delete"] == {"daysAfterCreationGreaterThan": days}


# -- storage ----------------------------------------------------------------------------


def account(storage: Template) -> dict[str, Any]:
    assert storage.modules["account"]["detail"]["path"] == "avm/res/storage/storage-account"
    return storage.module_params("account")


def test_storage_account_is_identity_only_and_private(storage: Template):
    params = account(storage)
    assert params["allowSharedKeyAccess"] is False
    assert params["allowBlobPublicAccess"] is False
    assert params["minimumTlsVersion"] == "TLS1_2"
    assert params["supportsHttpsTrafficOnly"] is True
    assert {c["publicAccess"] for c in params["blobServices"]["containers"]} == {"None"}


def test_blob_and_container_soft_delete_keep_7_days(storage: Template):
    blob = account(storage)["blobServices"]
    assert blob["deleteRetentionPolicyEnabled"] is True and blob["deleteRetentionPolicyDays"] == 7
    assert blob["containerDeleteRetentionPolicyEnabled"] is True and blob["containerDeleteRetentionPolicyDays"] == 7


def test_storage_creates_what_the_app_settings_name(storage: Template, app_settings: dict[str, Any], main: Template):
    params = account(storage)
    containers = [c["name"] for c in params["blobServices"]["containers"]]
    queues = [q["name"] for q in params["queueServices"]["queues"]]
    tables = [t["name"] for t in params["tableServices"]["tables"]]
    assert main.lookup("names")["deploymentContainer"] in containers
    assert {app_settings["TAGGING_IMAGES_CONTAINER"], app_settings["TAGGING_THUMBNAILS_CONTAINER"]} <= set(containers)
    assert {"images", "thumbnails"} <= set(containers)
    assert sorted(queues) == sorted([app_settings["TAGGING_QUEUE"], app_settings["TAGGING_QUEUE"] + "-poison"])
    assert sorted(queues) == ["tag-requests", "tag-requests-poison"]
    setting_tables = {
        app_settings[f"TAGGING_{n}_TABLE"]
        for n in ("IMAGES", "BATCHES", "TAG_INDEX", "FINGERPRINTS", "IDEMPOTENCY", "SWEEP_STATE")
    }
    assert set(tables) == setting_tables == {
        "Images", "Batches", "TagIndex", "Fingerprints", "Idempotency", "SweepState"
    }


def test_lifecycle_rule_matches_only_originals_and_thumbnails():
    main = Template(INFRA / "main.bicep", {"environmentName": "e", "location": "l", "imageRetentionDays": 30})
    (rule,) = main.module("storage").module_params("account")["managementPolicyRules"]
    filters = rule["definition"]["filters"]
    assert sorted(filters["prefixMatch"]) == ["images/", "thumbnails/"]
    deployment_container = str(main.lookup("names")["deploymentContainer"])
    for prefix in filters["prefixMatch"]:
        container = prefix.split("/", 1)[0]
        assert prefix == container + "/", "a prefix without '/' would match other containers too"
        assert not container.startswith(("azure-webjobs", "app-package")) and container not in deployment_container
    assert set(rule["definition"]["actions"]) == {"baseBlob"}


# -- roles ------------------------------------------------------------------------------


def role_assignments(rbac: Template, principal: str) -> dict[str, str]:
    """role id -> scope of every assignment to ``principal`` (a parameter name)."""
    found: dict[str, str] = {}
    for resource in rbac.resources.values():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = resource["config"]
        loop = config.get("loop_type")
        body = config["config"] if "properties" not in config else config  # looped or conditional: wrapped
        props = body["properties"]
        if props["principalId"] != principal:
            continue
        if loop:
            array = loop["detail"]["array_name"]
            if isinstance(array, dict) and "operator" in array:  # cond ? list : []
                array = array["operator"]["operands"]["true_value"]
            role_ids = rbac.eval(array)
        else:
            role_ids = [rbac.eval(props["roleDefinitionId"]["function"]["parameters"]["resource_name_1"])]
        for role_id in role_ids:
            found[role_id] = body["scope"]
    return found


def test_app_identity_roles(rbac: Template, main: Template):
    assert rbac.arguments["identityPrincipalId"] == Ref("identity.outputs.principalId")
    roles = role_assignments(rbac, "identityPrincipalId")
    assert roles == {
        ROLE_IDS["Storage Blob Data Owner"]: "storageAccount",
        ROLE_IDS["Storage Queue Data Contributor"]: "storageAccount",
        ROLE_IDS["Storage Table Data Contributor"]: "storageAccount",
        ROLE_IDS["Monitoring Metrics Publisher"]: "applicationInsights",
    }
    for resource in rbac.resources.values():
        if resource["type"] == "Microsoft.Authorization/roleAssignments":
            body = resource["config"] if "properties" in resource["config"] else resource["config"]["config"]
            if body["properties"]["principalId"] == "identityPrincipalId":
                assert body["properties"]["principalType"] == "ServicePrincipal"


def test_deploying_user_gets_the_same_roles_only_when_given(rbac: Template, main: Template):
    assert main.modules["rbac"]["config"]["params"]["userPrincipalId"] == "principalId"
    assert main.modules["rbac"]["config"]["params"]["userPrincipalType"] == "principalType"
    assert main.parameters["principalId"]["default"] == ""
    assert main.parameters["principalType"]["default"] == "User"
    assert set(role_assignments(rbac, "userPrincipalId")) == set(ROLE_IDS.values())
    assert rbac.lookup("withUser") is False  # principalId '' -> no user assignments
    with_user = Template(rbac.path, {**rbac.arguments, "userPrincipalId": "00000000-0000-0000-0000-000000000001"})
    assert with_user.lookup("withUser") is True


# -- monitoring -------------------------------------------------------------------------


def test_application_insights_is_workspace_based_without_local_auth(monitoring: Template):
    insights = monitoring.module_params("applicationInsights")
    assert monitoring.modules["applicationInsights"]["detail"]["path"] == "avm/res/insights/component"
    assert insights["disableLocalAuth"] is True
    assert insights["workspaceResourceId"] == Ref("workspace.outputs.resourceId")
    workspace = monitoring.module_params("workspace")
    assert workspace["features"]["disableLocalAuth"] is True
    # Kept no longer than the 31 days the ingestion price includes.
    assert workspace["dataRetention"] == insights["retentionInDays"] <= 31


def logged_events() -> dict[str, set[str]]:
    """Event name -> fields, from every ``event(log, "<name>", ..., field=...)`` call in the app."""
    events: dict[str, set[str]] = {}
    for path in (ROOT / "tagging").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "event" and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    events.setdefault(name.value, set()).update(k.arg for k in node.keywords if k.arg)
    return events


def workbook_queries() -> list[str]:
    data = json.loads((INFRA / "app" / "tagging-workbook.json").read_text(encoding="utf-8"))
    return [item["content"]["query"] for item in data["items"] if item["type"] == 3]


def test_workbook_resource_loads_its_json(workbook: Template):
    (resource,) = workbook.resources.values()
    assert resource["type"] == "Microsoft.Insights/workbooks"
    props = workbook.eval(resource["config"]["properties"])
    assert props["sourceId"] == Ref("monitoring.outputs.applicationInsightsId")
    serialized = workbook.lookup("serializedData")
    assert serialized == Ref("replace(...)")  # the JSON with the component's id filled in
    data = json.loads((INFRA / "app" / "tagging-workbook.json").read_text(encoding="utf-8"))
    assert data["version"] == "Notebook/1.0" and data["fallbackResourceIds"] == ["__APPLICATION_INSIGHTS_ID__"]
    assert "__APPLICATION_INSIGHTS_ID__" in (INFRA / "app" / "workbook.bicep").read_text(encoding="utf-8")


def test_workbook_queries_use_only_events_and_fields_the_app_logs():
    events = logged_events()
    assert {"upload", "tag", "http"} <= set(events), f"events found: {sorted(events)}"
    titles = " ".join(workbook_queries())
    for must in ('outcome == "tagged"', '"failed"', "latency_ms", "latency_s"):
        assert must in titles
    for query in workbook_queries():
        used = set(re.findall(r'message startswith "(\w+) "', query))
        assert used, f"query reads no event: {query[:80]}"
        assert used <= set(events), f"not logged by the app: {used - set(events)}"
        fields = set(re.findall(r"\\b(\w+)=", query))
        known = set().union(*(events[e] for e in used))
        assert fields <= known, f"fields {fields - known} are not logged with {used}"


def _kql_extract(query: str, field: str) -> re.Pattern[str]:
    """The regex of ``extract(@"\\bfield=(...)", 1, message)`` in ``query``, for Python's re
    (these patterns use only \\b, \\S, \\d and groups, which mean the same in RE2)."""
    match = re.search(r'extract\(@"(\\b' + field + r'=[^"]*)", 1, message\)', query)
    assert match, f"the query does not extract {field}"
    return re.compile(match.group(1))


def _tag_line(**fields: Any) -> str:
    """The message the app writes for a ``tag`` event with ``fields``."""
    from tagging.logs import event

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("tests.infra.workbook")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        event(logger, "tag", **fields)
    finally:
        logger.removeHandler(handler)
    (line,) = lines
    return line


def test_latency_query_reads_the_logged_latency_and_leaves_out_forced_rechecks():
    (query,) = [q for q in workbook_queries() if "latency_s" in q]
    assert {"latency_ms", "forced", "outcome"} <= logged_events()["tag"]
    # The upload time comes from the app's field, not from decoding the batch id format.
    assert "latency_ms / 1000.0" in query
    assert "unixtime_milliseconds_todatetime" not in query and "9999999999999" not in query
    assert 'extract(@"\\boutcome=(\\S+)", 1, message) == "tagged"' in query
    assert 'where isempty(extract(@"\\bforced=' in query
    latency, forced = _kql_extract(query, "latency_ms"), _kql_extract(query, "forced")
    plain = _tag_line(image_id="i", batch_id="b", outcome="tagged", duration_ms=12.5, latency_ms=1834, forced=None)
    assert latency.search(plain).group(1) == "1834" and forced.search(plain) is None
    recheck = _tag_line(image_id="i", outcome="tagged", latency_ms=86_400_000, forced="true")
    assert forced.search(recheck).group(1) == "true"
