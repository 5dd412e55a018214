"""The smallest useful service: what `bench/serve_bench.py` cold-starts and measures idle memory of."""

from __future__ import annotations

import bento


@bento.service  # access log at its default (on)
class Echo:
    @bento.api
    def echo(self, text: str) -> str:
        return text
