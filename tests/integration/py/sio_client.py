"""sio_client.py - a Debian python-socketio (5.7, python-engineio 4.3) device for 28-python.

Driven by the node test through stdin/stdout, one JSON object per line. Argument: a JSON object
{url, token, deviceId, transports, room}. Prints {"event": ...} lines; every wait is bounded.

  connect, then print {"event":"established", ...} and, once sync:complete came,
  {"event":"synced", "seqs":[seq of every message:new replayed, in order], "transport": ...}
  then read commands from stdin:
    {"cmd":"join"}            -> {"event":"joined", "ack": ...}
    {"cmd":"expect", "n":N}   -> waits for N live message:new, confirming each through its ack
                                 callback -> {"event":"received", "messages":[...]}
    {"cmd":"send", "body":B}  -> {"event":"sent", "ack": ...}
    {"cmd":"quit"}            -> disconnects and exits 0
"""
import json
import os
import sys
import threading

import socketio

WAIT_S = 10


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    args = json.loads(sys.argv[1])
    sio = socketio.Client(reconnection=False)
    news, lock = [], threading.Condition()
    synced = threading.Event()

    @sio.on("connection:established")
    def established(data):
        out({"event": "established", "userId": data.get("userId"), "deviceId": data.get("deviceId")})

    @sio.on("message:new")
    def message_new(data):
        with lock:
            news.append({"seq": data["seq"], "room": data["room"], "body": data["body"], "synced": synced.is_set()})
            lock.notify_all()
        return None  # the return value is the ack: an empty ack confirms delivery

    @sio.on("sync:complete")
    def sync_complete(data):
        synced.set()

    @sio.on("disconnect")
    def disconnected():
        out({"event": "disconnected"})

    try:
        sio.connect(args["url"], auth={"token": args["token"], "deviceId": args["deviceId"]},
                    transports=args["transports"], wait_timeout=WAIT_S)
    except Exception as e:  # noqa: BLE001 - reported to the test as it is
        out({"event": "connect_failed", "error": repr(e)})
        return 1
    if not synced.wait(WAIT_S):
        out({"event": "timeout", "waiting_for": "sync:complete", "got": len(news)})
        sio.disconnect()
        return 1
    with lock:
        out({"event": "synced", "seqs": [m["seq"] for m in news], "transport": sio.transport()})
        live_from = len(news)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "join":
            out({"event": "joined", "ack": sio.call("room:join", {"room": args["room"]}, timeout=WAIT_S)})
        elif cmd["cmd"] == "expect":
            with lock:
                lock.wait_for(lambda: len(news) - live_from >= cmd["n"], timeout=WAIT_S)
                got, live_from = news[live_from:], len(news)
            out({"event": "received", "messages": got})
        elif cmd["cmd"] == "send":
            ack = sio.call("message:send", {"room": args["room"], "body": cmd["body"], "clientId": cmd["clientId"]},
                           timeout=WAIT_S)
            out({"event": "sent", "ack": ack})
        elif cmd["cmd"] == "quit":
            break
    sio.disconnect()
    return 0


if __name__ == "__main__":
    code = main()
    # python-engineio 4.3's write loop stops as soon as disconnect() turns its state to
    # "disconnecting": a POST in flight at that moment means the "41" and CLOSE queued behind it
    # are never sent (or only the "41" is). Its polling GET thread then waits for the server's next
    # ping (25 s), and the interpreter waits for that thread. The process leaves at once instead;
    # the server ends that session by its heartbeat, as for a device that lost power.
    sys.stdout.flush()
    os._exit(code)
