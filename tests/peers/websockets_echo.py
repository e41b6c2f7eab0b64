"""An echo server on Python's `websockets` (permessage-deflate on, no size
limit), for the tests that put nghttpx in front of it. Prints the port it
listens on, then serves until killed."""

import asyncio

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    async with serve(echo, "127.0.0.1", 0, max_size=None, compression="deflate") as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().create_future()


asyncio.run(main())
