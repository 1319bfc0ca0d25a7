"""The do-nothing POST baseline: the exchange's server stack (Litestar on uvicorn with uvloop and httptools)
with one route that reads the body and answers a small JSON document, doing no exchange work.

Run as `python -m simulators.bench.nothing --port PORT`; `idx bench` starts and stops it.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from litestar import Litestar, Request, get, post


@post("/pqd/v1/bpqd", status_code=200)
async def accept(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.body()
    return {"data": {"messageContextId": request.headers.get("x-messageContextId"), "size": len(body)}}


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[accept, healthz], openapi_config=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
