# CPython's atexit as bench/index.mjs measures the libraries: a fresh
# interpreter registers N distinct lambdas, and the drain at exit is timed
# from the first handler called to the last (ns per handler).
#   python3 bench/python/cold.py <N>
import atexit, json, sys, time

n = int(sys.argv[1])
marks = []


def mark():
    marks.append(time.perf_counter_ns())


def report():
    print(json.dumps({"register": register, "drain": (marks[1] - marks[0]) / n}))


# Registered first, so it runs last, after the drain.
atexit.register(report)
fns = [(lambda: None) for _ in range(n)]
fns[0] = mark
fns[-1] = mark
t = time.perf_counter_ns()
for f in fns:
    atexit.register(f)
register = (time.perf_counter_ns() - t) / n
