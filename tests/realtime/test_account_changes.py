"""A user disabled or given another role loses their live connections at once (they were let in as who they
were), on Socket.IO and SSE alike, through the real API's PATCH /users/{id}."""

from __future__ import annotations

import pytest
import socketio
from tests.realtime.support import add_employee, api_client, events, register


pytestmark = pytest.mark.slow


async def test_disabling_a_user_or_changing_their_role_ends_their_live_connections(stack, listen):
    admin = await register(stack, "boss")
    employee = await add_employee(stack, admin, "erin")
    colleague = await add_employee(stack, admin, "carl")
    bystander = await listen(admin["access_token"])
    employee_socket = await listen(employee["access_token"])
    colleague_socket = await listen(colleague["access_token"])
    async with events(stack, employee["access_token"]) as employee_stream, \
            api_client(stack, admin["access_token"]) as http:
        assert (await http.patch(f"/users/{employee['id']}", json={"disabled": True})).status_code == 200
        frame = await employee_stream.next()
        assert frame["event"] == "session.ended" and "reconnect" in frame["data"]["message"]
        with pytest.raises(EOFError):
            await employee_stream.next()
        await employee_socket.wait_for(lambda _: not employee_socket.client.connected)
        assert employee_socket.named("session.ended")

        assert (await http.patch(f"/users/{colleague['id']}", json={"role": "admin"})).status_code == 200
        await colleague_socket.wait_for(lambda _: not colleague_socket.client.connected)
    assert bystander.client.connected and not bystander.named("session.ended")

    # Back in as who they are now: the disabled one is refused, the new admin is let in.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await listen(employee["access_token"])
    promoted = await listen(colleague["access_token"])
    assert promoted.client.connected
