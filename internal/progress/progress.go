// Package progress is the one log/slog handler behind every progress line
// the lab's packages print (images.WithLogger, lab.WithLogger,
// grading.WithLogger, labcontainers.WithLogger): for people, each record
// is its message on a line of its own, exactly as the packages printed it
// before they logged; for machines, slog's JSON handler gives one object a
// line with the record's attributes (host, lab, submission, stage, …).
package progress

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// NewText returns a handler that writes each record's message and a
// newline to w, and nothing else: the attributes are for JSON (New) and
// other handlers, so that the text stays what a person reads. Records
// below slog.LevelInfo are dropped. Every write is one w.Write under a
// lock that the handlers derived with WithAttrs and WithGroup share, so
// lines from concurrent goroutines never interleave. Make one handler per
// stream and share it (or the logger made of it) among those that write
// there.
func NewText(w io.Writer) slog.Handler {
	if w == nil {
		return slog.DiscardHandler
	}
	return &textHandler{w: w, mu: &sync.Mutex{}}
}

// New returns a logger for progress on w: NewText's lines, or with json
// slog's JSON handler (one object a line: time, level, msg and the
// attributes). A nil w gives Discard().
func New(w io.Writer, json bool) *slog.Logger {
	switch {
	case w == nil:
		return Discard()
	case json:
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(NewText(w))
}

// discard is the one logger that drops everything; its records are never
// built, as its handler is enabled for no level.
var discard = slog.New(slog.DiscardHandler)

// Discard returns a logger that drops every record, cheaply: the packages'
// default when no logger is given.
func Discard() *slog.Logger { return discard }

type textHandler struct {
	w  io.Writer
	mu *sync.Mutex // shared by every handler derived from this one
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	line := make([]byte, 0, len(r.Message)+1)
	line = append(line, r.Message...)
	line = append(line, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(line)
	return err
}

// WithAttrs returns h itself: the text shows no attributes.
func (h *textHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h itself: the text shows no attributes.
func (h *textHandler) WithGroup(string) slog.Handler { return h }
