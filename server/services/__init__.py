"""The use cases, one module per family: a service takes a unit of work, the time and
typed inputs, calls the pure domain in ``encounters`` and returns plain data. The API, the
pages, the Socket.IO handlers and the background jobs all call the same service.
"""
