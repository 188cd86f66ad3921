# The seed's examples, as Python's atexit documentation gives them (in
# Python 3), run in Pyodide: a counter read from a file at start and saved
# by an exit handler; and the goodbye, with positional and keyword
# arguments, and as a decorator.
try:
    _count = int(open("/data/counter-py").read())
except IOError:
    _count = 0

def incrcounter(n):
    global _count
    _count = _count + n

def savecounter():
    open("/data/counter-py", "w").write("%d" % _count)
    print("Python saved its counter, %d" % _count)

import atexit
atexit.register(savecounter)

def goodbye(name, adjective):
    print('Goodbye, %s, it was %s to meet you. (from Python)' % (name, adjective))

atexit.register(goodbye, 'Donny', 'nice')

# or:
atexit.register(goodbye, adjective='nice', name='Donny')

@atexit.register
def goodbye():
    print("You are now leaving the Python sector.")

incrcounter(1)
print("Python counter is %d" % _count)
