"""JupyterLab server settings for this course (`make lab`; the browser tests use them too)."""
# jupyter_server leaves Nagle's algorithm on for the kernel websocket: a widget's small reply
# then waits up to 40 ms for the previous packet's acknowledgement (measured: the slider floor
# went from 16 ms median, half the presses near 48 ms, to 10 ms with none above 20 ms).
try:
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
except ImportError:  # a jupyter_server that moved it: run without the tweak
    KernelWebsocketHandler = None

if KernelWebsocketHandler is not None and not getattr(KernelWebsocketHandler, "_course_nodelay", False):
    _open = KernelWebsocketHandler.open

    async def _open_without_nagle(self, *args, **kwargs):
        self.set_nodelay(True)
        return await _open(self, *args, **kwargs)

    KernelWebsocketHandler.open = _open_without_nagle
    KernelWebsocketHandler._course_nodelay = True
