// broadcast: the Go peer for ssed's /events fan-out, a measuring stick,
// not part of ssed. A goroutine per subscriber with a buffered channel
// each; POST /publish (Bearer token) hands the event to every channel;
// a keep-alive comment after an interval without an event, as ssed does.
//
//	go build -ldflags="-s -w" -o /tmp/broadcast broadcast.go
//	taskset -c 0 /tmp/broadcast 127.0.0.1:18400 bench
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

type hub struct {
	mu          sync.RWMutex
	subscribers map[chan []byte]struct{}
	nextID      uint64
}

func (h *hub) events(w http.ResponseWriter, r *http.Request) {
	flusher := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	frames := make(chan []byte, 64)
	h.mu.Lock()
	h.subscribers[frames] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subscribers, frames)
		h.mu.Unlock()
	}()
	io.WriteString(w, "retry: 3000\n\n")
	flusher.Flush()
	keepAlive := time.NewTimer(500 * time.Millisecond)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case frame := <-frames:
			w.Write(frame)
			flusher.Flush()
			keepAlive.Reset(500 * time.Millisecond)
		case <-keepAlive.C:
			io.WriteString(w, ": keep-alive\n\n")
			flusher.Flush()
			keepAlive.Reset(500 * time.Millisecond)
		}
	}
}

func (h *hub) publish(token string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, 64*1024))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.nextID++
		id := h.nextID
		frame := []byte(fmt.Sprintf("id: %d\ndata: %s\n\n", id, data))
		for subscriber := range h.subscribers {
			select {
			case subscriber <- frame:
			default: // full: this subscriber misses it, the others do not wait
			}
		}
		h.mu.Unlock()
		fmt.Fprintf(w, "%d\n", id)
	}
}

func main() {
	h := &hub{subscribers: map[chan []byte]struct{}{}}
	http.HandleFunc("/events", h.events)
	http.HandleFunc("/publish", h.publish(os.Args[2]))
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
