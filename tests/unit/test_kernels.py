"""The grading kernel client's wait_for_ready, on scripted channels (no kernel): ready on the kernel's
idle status for the kernel_info request it answered, asking again while IOPub is silent, as
jupyter_client's does; dead and slow kernels raise its errors. ``tests/test_kernels_real.py`` starts real ones."""

import asyncio
from queue import Empty

import pytest

from autograder.grader import kernels
from autograder.grader.kernels import GradingKernelClient, GradingKernelManager


class Channel:
    """A channel whose get_msg returns scripted messages, then raises Empty (after the timeout it was given)."""

    def __init__(self):
        self.messages, self.waited = [], 0.0

    async def get_msg(self, timeout=None):
        if self.messages:
            return self.messages.pop(0)
        self.waited += timeout or 0.0
        raise Empty


def msg(msg_type, parent, **content):
    return {"msg_type": msg_type, "parent_header": {"msg_id": parent}, "content": content}


class Client(GradingKernelClient):
    """The grading client with scripted channels: each kernel_info call runs ``on_request(n, msg_id)``."""

    def __init__(self, on_request, alive=True):
        super().__init__()
        self._shell, self._iopub, self._alive = Channel(), Channel(), alive
        self.on_request, self.requests, self.handled = on_request, [], None

    @property
    def shell_channel(self):
        return self._shell

    @property
    def iopub_channel(self):
        return self._iopub

    def kernel_info(self):
        msg_id = f"info-{len(self.requests)}"
        self.requests.append(msg_id)
        self.on_request(self, len(self.requests) - 1, msg_id)
        return msg_id

    def _handle_kernel_info_reply(self, reply):
        self.handled = reply

    async def _async_is_alive(self):
        return self._alive


def answered(client, n, msg_id):
    """A kernel that answers every request on shell and IOPub."""
    client._shell.messages.append(msg("kernel_info_reply", msg_id, status="ok"))
    client._iopub.messages += [msg("status", msg_id, execution_state="busy"),
                               msg("status", msg_id, execution_state="idle")]


def test_ready_once_the_kernel_is_idle_after_the_request_it_answered():
    client = Client(answered)
    asyncio.run(client.wait_for_ready(timeout=10))
    assert client.requests == ["info-0"] and client.handled["parent_header"]["msg_id"] == "info-0"
    assert client._iopub.messages == [] and client._iopub.waited == 0.0  # all consumed, no idle wait


def test_messages_of_other_requests_are_read_past():
    def noisy(client, n, msg_id):
        client._iopub.messages.append(msg("status", "someone-else", execution_state="idle"))
        answered(client, n, msg_id)

    client = Client(noisy)
    asyncio.run(client.wait_for_ready(timeout=10))
    assert client.requests == ["info-0"] and client._iopub.messages == []


def test_a_silent_iopub_means_asking_again():
    def late_iopub(client, n, msg_id):  # the first request's IOPub messages are lost (not subscribed yet)
        client._shell.messages.append(msg("kernel_info_reply", msg_id, status="ok"))
        if n > 0:
            client._iopub.messages.append(msg("status", msg_id, execution_state="idle"))

    client = Client(late_iopub)
    asyncio.run(client.wait_for_ready(timeout=10))
    assert client.requests == ["info-0", "info-1"] and client.handled["parent_header"]["msg_id"] == "info-1"
    assert client._iopub.waited == pytest.approx(kernels.IOPUB_WAIT)


def test_a_dead_kernel_and_a_silent_one_raise_as_jupyter_clients_do():
    with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
        asyncio.run(Client(lambda *args: None, alive=False).wait_for_ready(timeout=10))
    with pytest.raises(RuntimeError, match="Kernel didn't respond in 0 seconds"):
        asyncio.run(Client(lambda *args: None).wait_for_ready(timeout=0))


def test_the_manager_makes_grading_clients():
    assert GradingKernelManager().client_factory is GradingKernelClient
