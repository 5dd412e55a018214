# BentoML's documented client usage, run with the real BentoML installed: python client.py URL FILE
import asyncio
import json
import sys

import bentoml

url, document = sys.argv[1], sys.argv[2]
out = {}
with bentoml.SyncHTTPClient(url) as client:
    out["ready"] = client.is_ready()
    out["summarize"] = client.summarize(text="the quick brown fox jumps", max_words=2)
    out["summarize_positional"] = client.summarize("one two three four")
    out["shout"] = client.shout("hello")
    out["total"] = client.total([1.5, 2.5, 3])
    out["describe"] = client.describe(values=[1, 5, 2], label="v")
    out["double"] = client.double(x=[[1, 2], [3, 4]])
    out["size"] = client.size(document=document)
    out["raw"] = client.raw(text="abc").decode()
    out["count"] = "".join(client.count(n=4))


async def main() -> None:
    async with bentoml.AsyncHTTPClient(url) as client:
        out["async_summarize"] = await client.summarize(text="a b c d")
        out["async_stream"] = "".join([chunk async for chunk in client.acount(n=3)])


asyncio.run(main())
print(json.dumps(out))
