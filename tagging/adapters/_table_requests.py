"""Two hot-path Table calls with a hand-built request, sent through the SDK's pipeline.

Every image runs two entity group transactions (its fingerprint rows, its tag-index
rows) and four range queries (near-duplicate look-up). Through ``TableClient`` a
transaction cost ~10 ms of CPU here: azure-core serialises each part through the
email package, starts a thread pool per transaction (twice) and parses the response
with the email parser; a query ~2.2 ms, mostly building and deserialising typed
entities. These functions build the same OData requests as the SDK (``$batch`` with
a multipart/mixed changeset of PATCH = insert-or-merge; ``GET table()`` with
``$filter``/``$select`` and continuation) and send them with the client's own
``PipelineClient``: authentication (shared key or token), retries, timeouts and
transport stay the SDK's. Errors are raised as the SDK's exception types, so
``storage_call`` translates them as before.

Used only when the client has no SAS token in its URL and is not a Cosmos endpoint;
otherwise the SDK's methods run (same behaviour, its cost).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from azure.core.rest import HttpRequest
from azure.data.tables import TableClient
from azure.data.tables._serialize import _add_entity_properties  # the SDK's own typing (Edm.*)

from ._pipeline import sdk_error, send

_PART_STATUS = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)
# The \$batch boundary is random per process, not per request: the service echoes it in
# the reply's Content-Type, and http.client's header parser (the email package)
# compiles a regex for every new multipart boundary (~0.35 ms; a repeated one is
# cached). Unguessable all the same, so no stored value can close the part early.
_BATCH_BOUNDARY = f"batch_{uuid4()}"
PAGE_SIZE = 1000


def lean(table: TableClient) -> bool:
    """Whether these requests apply to ``table`` (see the module docstring)."""
    return not getattr(table, "_query_str", "") and not getattr(table, "_cosmos_endpoint", False)


def _base(table: TableClient) -> str:
    return f"{table.scheme}://{table._primary_hostname}"


def _version(table: TableClient) -> str:
    return table._client._config.version


def _key(value: str) -> str:
    """A key inside an entity URL: OData quotes doubled, then percent-encoded."""
    return quote(value.replace("'", "''"), safe="")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def upsert_transaction(table: TableClient, entities: Sequence[dict[str, Any]]) -> None:
    """Insert-or-merge ``entities`` (one PartitionKey, at most 100) atomically."""
    if not entities:
        return
    if len({entity["PartitionKey"] for entity in entities}) != 1:
        raise ValueError("Partition Keys must all be the same")  # as TableClient.submit_transaction
    base, version = _base(table), _version(table)
    batch, changeset = _BATCH_BOUNDARY, f"changeset_{uuid4()}"
    parts: list[str | bytes] = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"]
    for index, entity in enumerate(entities):
        body = json.dumps(_add_entity_properties(entity)).encode("utf-8")
        url = (
            f"{base}/{table.table_name}"
            f"(PartitionKey='{_key(entity['PartitionKey'])}',RowKey='{_key(entity['RowKey'])}')"
        )
        parts.append(
            f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: {index}\r\n\r\nPATCH {url} HTTP/1.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nx-ms-version: {version}\r\nDataServiceVersion: 3.0\r\n"
            f"Accept: application/json\r\n\r\n"
        )
        parts.append(body)
        parts.append("\r\n")
    parts.append(f"--{changeset}--\r\n\r\n--{batch}--\r\n")
    content = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in parts)
    request = HttpRequest(
        "POST",
        f"{base}/$batch",
        headers={
            "x-ms-version": version,
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "Content-Type": f"multipart/mixed; boundary={batch}",
            "Accept": "application/json",
        },
        content=content,
    )
    response = send(table, request)
    if response.status_code != 202:
        raise sdk_error(response.status_code, f"transaction refused: {response.status_code}", response)
    statuses = [int(s) for s in _PART_STATUS.findall(response.content)]
    failed = [s for s in statuses if not 200 <= s < 300]
    if failed or not statuses:
        status = failed[0] if failed else 500
        raise sdk_error(status, f"transaction failed: an operation answered {status}", response)


def range_query(table: TableClient, pk: str, start: str, end: str, select: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Entities of partition ``pk`` with start <= RowKey < end (``select``ed
    properties, untyped JSON values), in key order, following continuations."""
    base, version = _base(table), _version(table)
    params = {
        "$filter": f"PartitionKey eq {_literal(pk)} and RowKey ge {_literal(start)} and RowKey lt {_literal(end)}",
        "$select": ",".join(select),
        "$top": str(PAGE_SIZE),
    }
    headers = {"x-ms-version": version, "DataServiceVersion": "3.0", "Accept": "application/json;odata=nometadata"}
    while True:
        request = HttpRequest("GET", f"{base}/{table.table_name}()", params=params, headers=headers)
        response = send(table, request)
        if response.status_code != 200:
            raise sdk_error(response.status_code, f"query refused: {response.status_code}", response)
        yield from json.loads(response.content).get("value", [])
        next_pk = response.headers.get("x-ms-continuation-NextPartitionKey")
        if not next_pk:
            return
        params = {**params, "NextPartitionKey": next_pk}
        next_rk = response.headers.get("x-ms-continuation-NextRowKey")
        if next_rk:
            params["NextRowKey"] = next_rk
        else:
            params.pop("NextRowKey", None)


def write_entity(table: TableClient, entity: dict[str, Any], mode: str) -> None:
    """One entity write, as the SDK sends it: ``insert`` (POST, 409 when it exists),
    ``replace`` (PUT with If-Match: *, 404 when it does not exist) or ``upsert``
    (PUT without If-Match: insert-or-replace)."""
    base, version = _base(table), _version(table)
    headers = {"x-ms-version": version, "DataServiceVersion": "3.0", "Content-Type": "application/json",
               "Accept": "application/json;odata=minimalmetadata"}  # fmt: skip
    if mode == "insert":
        method, url, ok = "POST", f"{base}/{table.table_name}", 204
        headers["Prefer"] = "return-no-content"
    else:
        url = (
            f"{base}/{table.table_name}"
            f"(PartitionKey='{_key(entity['PartitionKey'])}',RowKey='{_key(entity['RowKey'])}')"
        )
        method, ok = "PUT", 204
        if mode == "replace":
            headers["If-Match"] = "*"
    body = json.dumps(_add_entity_properties(entity)).encode("utf-8")
    response = send(table, HttpRequest(method, url, headers=headers, content=body))
    if response.status_code != ok:
        raise sdk_error(response.status_code, f"{mode} refused: {response.status_code}", response)
