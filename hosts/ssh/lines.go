package ssh

import (
	"bytes"
	"io"
	"sync"
)

// maxLine is the longest line delivered whole; longer ones are split.
const maxLine = 64 * 1024

// LineFunc receives one line of a streamed command's output, without its
// line ending; stderr tells which stream it came from. Calls are never
// concurrent and keep each stream's order.
type LineFunc func(line string, stderr bool)

// lineWriter splits what is written into lines for a LineFunc.
type lineWriter struct {
	mu     *sync.Mutex // shared by the stdout and stderr writers
	fn     LineFunc
	stderr bool
	tail   tailBuffer
	part   []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.tail.Write(p)
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.part = append(w.part, p...)
			for len(w.part) >= maxLine {
				w.emit(w.part[:maxLine])
				w.part = append(w.part[:0], w.part[maxLine:]...)
			}
			break
		}
		w.part = append(w.part, p[:i]...)
		w.emit(w.part)
		w.part = w.part[:0]
		p = p[i+1:]
	}
	return n, nil
}

// flush delivers a last line that had no line ending.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.part) > 0 {
		w.emit(w.part)
		w.part = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	w.fn(string(bytes.TrimSuffix(line, []byte("\r"))), w.stderr)
}

// sealWriter guards a writer so that nothing reaches it after seal: a
// cancelled command's output copiers may still be running when Run
// returns.
type sealWriter struct {
	mu     sync.Mutex
	w      io.Writer
	sealed bool
}

func (s *sealWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *sealWriter) seal() {
	s.mu.Lock()
	s.sealed = true
	s.mu.Unlock()
}
