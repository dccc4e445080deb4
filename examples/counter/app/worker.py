# A worker that reaches the API by its service name on the project network.
import time, urllib.request
while True:
    try:
        print("worker saw", urllib.request.urlopen("http://api:8000/health", timeout=2).read().decode(), flush=True)
    except Exception as e:
        print("worker failed", e, flush=True)
    time.sleep(1)
