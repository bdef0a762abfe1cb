"""A TCP proxy that can drop its connections or blackhole them (nothing passes, nothing
closes), standing between the listener and pbxsim's AMI port."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Proxy:
    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port, self.target_port = listen_port, target_port
        self.blackholed = False
        self.accepted = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="proxy")
        self._thread.start()
        assert self._ready.wait(10), "proxy did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(cw)
        if self.blackholed:  # a route to nowhere: the peer hears nothing, ever
            await self._swallow(cr)
            return
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cw.close()
            return
        self._writers.add(uw)
        await asyncio.gather(self._pipe(cr, uw), self._pipe(ur, cw), return_exceptions=True)
        for w in (cw, uw):
            w.close()
            self._writers.discard(w)

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while await reader.read(65536):
                pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                if self.blackholed:
                    continue  # swallowed: no reset, no data
                writer.write(data)
                await writer.drain()
        writer.close()

    def _close_all(self) -> None:
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    def drop(self) -> None:
        """Every connection closed at once (a restarted Asterisk, a reset)."""
        self._loop.call_soon_threadsafe(self._close_all)

    def blackhole(self) -> None:
        self.blackholed = True

    def restore(self) -> None:
        """The route is back: blackholed connections are gone, new ones pass."""
        self.blackholed = False
        self._loop.call_soon_threadsafe(self._close_all)

    def close(self) -> None:
        def stop() -> None:
            self._server.close()
            self._close_all()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(5)
