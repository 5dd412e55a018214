"""``bento deploy``: each service of a bento as its own replicated deployment on a cluster engine.

``plan`` (what runs: services, replicas, resources, dependency URLs), one module per target
(``swarm`` stack files, ``kubernetes`` manifests), ``stack`` (the Swarm engine side) and ``run`` (the
selector the CLI calls). See docs/deploy.md.
"""
