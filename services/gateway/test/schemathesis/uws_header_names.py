"""Schemathesis hook for the server API run (schemathesis.test.ts).

uWebSockets.js 20.30 (the gateway's HTTP server) parses header field names made of letters,
digits and `-` only. A request with any other RFC 9110 token character in a header name
(`x_api_key`, `a.b`, `%`) is never answered: uWS waits for more bytes and closes the connection
after its 10-second idle timeout. JavaScript never sees such a request, so the gateway cannot
answer it; SECURITY.md and docs/SERVER-API.md say so. Those generated headers are dropped here,
and only those: every other generated header, body and method still reaches the gateway.
"""

import re

import schemathesis

UWS_FIELD_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@schemathesis.hook
def before_call(context, case, kwargs):
    if not case.headers:
        return
    for name in [name for name in case.headers if not UWS_FIELD_NAME.match(name)]:
        del case.headers[name]
