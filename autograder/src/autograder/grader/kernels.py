"""The kernel manager and client that autograding uses: jupyter_client's, without their idle waits.

Measured on the 2-core CI machine (December 2026), every graded notebook waited, doing nothing:

- 0.2 s at the kernel's start: jupyter_client's ``wait_for_ready`` ends by reading IOPub until
  0.2 s pass with no message. :class:`GradingKernelClient` reads IOPub until the kernel reports
  itself idle after the very ``kernel_info`` request it answered (the last message the kernel
  sends about it), so the same messages are consumed, and no more time;
- about 0.1 s when the kernel is stopped: the manager polls whether the process has ended every
  tenth of a second. :class:`GradingKernelManager` polls every hundredth.

Everything else is jupyter_client's (8.10, pinned). :class:`.preprocessors.BoundedExecute` uses
these classes.
"""

import time
from queue import Empty

from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import DottedObjectName, Type

IOPUB_WAIT = 0.2  # seconds with no IOPub message after a kernel_info reply: IOPub is not connected yet
PROCESS_POLL = 0.01  # seconds between two looks at whether a stopped kernel's process has ended


class GradingKernelClient(AsyncKernelClient):
    """An async kernel client whose ``wait_for_ready`` returns as soon as the kernel is ready."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answers ``kernel_info`` on shell and IOPub (as jupyter_client's); raise
        RuntimeError if it dies first or takes longer than ``timeout`` seconds."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" \
                    and await self._iopub_done(reply["parent_header"].get("msg_id")):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError("Kernel didn't respond in %d seconds" % timeout)

    async def _iopub_done(self, request: str | None) -> bool:
        """Read IOPub up to the kernel's idle status after ``request``; False where IOPub stays silent
        (its subscription has not joined yet: the caller asks again, as jupyter_client does)."""
        while True:
            try:
                msg = await self.iopub_channel.get_msg(timeout=IOPUB_WAIT)
            except Empty:
                return False
            if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                    and msg["parent_header"].get("msg_id") == request):
                return True


class GradingKernelManager(AsyncKernelManager):
    """An async kernel manager with :class:`GradingKernelClient` that notices a stopped kernel sooner."""

    client_class = DottedObjectName("autograder.grader.kernels.GradingKernelClient", config=True)
    client_factory = Type(GradingKernelClient, klass=AsyncKernelClient, config=True)

    async def _async_wait(self, pollinterval: float = PROCESS_POLL) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, PROCESS_POLL))
