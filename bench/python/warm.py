# CPython's atexit in warm loops, for bench/warm.mjs: each operation timed
# in ROUNDS + 1 rounds (the first a warm-up), medians, with list.append and
# a reversed loop as its own floors. Prints one JSON line of ns per operation.
#   python3 bench/python/warm.py <N> <ROUNDS> <QUADRATIC_LIMIT>
import atexit, json, random, sys, time

n, rounds, quadratic_limit = (int(arg) for arg in sys.argv[1:4])


def timed(setup, body):
    out = []
    for _ in range(rounds + 1):
        s = setup()
        t = time.perf_counter_ns()
        body(s)
        out.append(time.perf_counter_ns() - t)
        atexit._clear()
    return sorted(out[1:])[len(out[1:]) // 2]


def noop():
    pass


fns = [(lambda: None) for _ in range(n)]
order = list(range(n))
random.shuffle(order)


def push(_):
    a = []
    for _ in range(n):
        a.append(noop)


def register(_):
    for _ in range(n):
        atexit.register(noop)


def loop(a):
    for f in reversed(a):
        f()


def fill_same():
    for _ in range(n):
        atexit.register(noop)


def fill_distinct():
    for f in fns:
        atexit.register(f)


def unregister_all(_):
    for i in order:
        atexit.unregister(fns[i])


res = {
    "array": timed(lambda: None, push) / n,
    "register": timed(lambda: None, register) / n,
    "loop": timed(lambda: [noop] * n, loop) / n,
    "drain": timed(fill_same, lambda _: atexit._run_exitfuncs()) / n,
    "unregisterOne": timed(fill_distinct, lambda _: [atexit.unregister(fns[(2 * i + 1) * n // 20]) for i in range(10)]) / 10,
}
# Removing in random order from CPython's list is quadratic.
if n <= quadratic_limit:
    res["unregisterAll"] = timed(fill_distinct, unregister_all) / n
print(json.dumps(res))
