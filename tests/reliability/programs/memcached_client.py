"""Drives a memcached on 127.0.0.1 with several connections (text protocol): sets values of many
sizes, reads them back and verifies them, deletes, increments, multi-gets. Prints a summary that
depends only on the data, and exits non-zero on any wrong answer. Bounded: a fixed number of
requests and a socket timeout."""
import hashlib
import socket
import sys
import threading

PORT = int(sys.argv[1])
CLIENTS = 4
KEYS_PER_CLIENT = 1500


def value_for(client, i):
    size = (i * 7919) % 4000 if i % 50 else 100000 + (i * 31) % 400000
    return (b"%d-%d:" % (client, i) + bytes([97 + i % 26]) * size)[:max(size, 1)]


class Connection:
    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=30)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def get_many(self, keys):
        self.send(b"get " + b" ".join(keys) + b"\r\n")
        found = {}
        while True:
            line = self.line()
            if line == b"END":
                return found
            _, key, _, size = line.split()
            found[key] = self.exactly(int(size))


def run(client, results, errors):
    try:
        conn = Connection()
        digest = hashlib.sha1()
        for i in range(KEYS_PER_CLIENT):
            key, value = b"k:%d:%d" % (client, i), value_for(client, i)
            conn.send(b"set %s %d 0 %d\r\n%s\r\n" % (key, i, len(value), value))
            if conn.line() != b"STORED":
                raise RuntimeError("set %s not stored" % key)
        for start in range(0, KEYS_PER_CLIENT, 100):
            keys = [b"k:%d:%d" % (client, i) for i in range(start, start + 100)]
            found = conn.get_many(keys)
            for i in range(start, start + 100):
                key = b"k:%d:%d" % (client, i)
                if found.get(key) != value_for(client, i):
                    raise RuntimeError("wrong value for %s" % key)
                digest.update(found[key])
        for i in range(0, KEYS_PER_CLIENT, 3):
            conn.send(b"delete k:%d:%d\r\n" % (client, i))
            if conn.line() != b"DELETED":
                raise RuntimeError("delete failed")
        conn.send(b"set counter:%d 0 0 1\r\n0\r\n" % client)
        conn.line()
        for i in range(2000):
            conn.send(b"incr counter:%d %d\r\n" % (client, i))
            conn.line()
        counter_key = b"counter:%d" % client
        counter = conn.get_many([counter_key]).get(counter_key, b"missing")
        remaining = conn.get_many([b"k:%d:%d" % (client, i) for i in range(KEYS_PER_CLIENT)])
        results[client] = (len(remaining), counter.decode(), digest.hexdigest())
    except Exception as error:  # reported by the main thread
        errors.append("client %d: %r" % (client, error))


def main():
    results, errors = {}, []
    threads = [threading.Thread(target=run, args=(c, results, errors)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("\n".join(errors))
        return 1
    for client in sorted(results):
        print("client %d: %d keys left, counter %s, digest %s" % ((client,) + results[client]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
