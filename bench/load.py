"""The request loop shared by the API load drivers (bench/api.py,
bench/dci_query.py): N threads, each sending requests to a local server
for a fixed time, one connection per request, timing every answer.

A driver gives `make_request(rng) -> (method, path, body)` and
`check(status, data) -> (ok, value)`; `value` (e.g. a match count) is
collected for the successful answers.

Without `rate` the loop is closed: each client sends its next request as
soon as the last one is answered, which measures the most the server can
answer (and a latency that is only clients / throughput). With `rate`
(requests/s offered by all clients together) each client sends on a fixed
schedule, and a latency counts from the scheduled time, so a request
delayed by a slow earlier one is counted as late (no coordinated
omission): the latency a user sees at that load."""
import http.client
import os
import random
import statistics
import threading
import time


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def status_ok(status, data):
    "The default check: HTTP 200."
    return status == 200, None


def drive(port, headers, make_request, clients, duration, check=status_ok,
        seed=0, timeout=60, rate=None):
    """Run `clients` threads for `duration` seconds, closed loop or at
    `rate` requests/s in all; return (latencies in seconds, error count,
    values returned by check for good answers)."""
    latencies, errors, values = [], [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    interval = clients / rate if rate else None

    def client(index):
        rng = random.Random(seed * 1000 + index)
        mine, bad, found = [], 0, []
        # Clients start spread over one interval, not all at once.
        scheduled = time.perf_counter() + (
            interval * index / clients if interval else 0)
        while time.monotonic() < stop_at:
            method, path, body = make_request(rng)
            if interval:
                time.sleep(max(0, scheduled - time.perf_counter()))
                started = scheduled
                scheduled += interval
            else:
                started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection('127.0.0.1', port,
                    timeout=timeout)
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                connection.close()
                ok, value = check(response.status, data)
            except (OSError, ValueError, KeyError, IndexError):
                ok, value = False, None
            mine.append(time.perf_counter() - started)
            bad += not ok
            if ok and value is not None:
                found.append(value)
        with lock:
            latencies.extend(mine)
            errors.append(bad)
            values.extend(found)

    threads = [threading.Thread(target=client, args=(i,))
        for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, sum(errors), values


def summary(latencies, errors, duration):
    "The figures every driver prints for a run."
    return {
        'requests': len(latencies),
        'errors': errors,
        'requests_per_s': round(len(latencies) / duration, 1),
        'p50_ms': round(statistics.median(latencies) * 1000, 1),
        'p95_ms': round(percentile(latencies, 0.95) * 1000, 1),
        'p99_ms': round(percentile(latencies, 0.99) * 1000, 1),
        'load_average_1min': round(os.getloadavg()[0], 1),
        }
