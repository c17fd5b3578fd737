"""The HTTP service: a Litestar application built by ``service.http.app.create_app``.

A thin edge over the application service and the read models: pydantic models are the
API contract, errors are RFC 9457 problem documents, bearer tokens carry roles.
"""
