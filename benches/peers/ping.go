// ping: the Go net/http peer for ssed's /sse, a measuring stick, not part
// of ssed: a named ping every 500 ms, on a ticker, per connection.
//
//	go build -ldflags="-s -w" -o /tmp/ping ping.go
//	taskset -c 0 /tmp/ping 127.0.0.1:18401
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func sse(w http.ResponseWriter, r *http.Request) {
	flusher := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for id := 1; ; id++ {
		fmt.Fprintf(w, "id: %d\nevent: ping\ndata: %d\n\n", id, time.Now().UnixMilli())
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-ticker.C:
		}
	}
}

func main() {
	http.HandleFunc("/sse", sse)
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
