"""The read API's contract, with no Flask: query parameters, response shapes, the OpenAPI document.

One table per endpoint parses a request and documents it, and one table per shape builds
the JSON and describes it, so behaviour and document cannot drift apart.
Front door: :func:`parse_query`, :func:`openapi_document`.
"""

from mapping.api.openapi import openapi_document
from mapping.api.parameters import parse_query

__all__ = ["openapi_document", "parse_query"]
