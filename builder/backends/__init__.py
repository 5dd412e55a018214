"""Container backends: one module per way of building images, a base class, and the selector.

``base.py`` states the contract, ``registry.py`` picks a backend by name, ``docker_engine.py`` is the
Docker engine. Modelled on uvicorn's ``protocols/http/`` (one module per implementation + ``auto.py``).
"""
