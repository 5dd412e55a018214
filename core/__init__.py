"""The bottom layer: what every other layer shares and nothing below it.

The error tree, the config types, the service/API model and its schemas, the request Context,
validators, OpenAPI generation, request deadlines and the package version. ``bento.core`` imports
no other layer of the package.
"""
