package grading

import (
	"sync"
)

// gradeQueue holds the submissions (by index) still to grade. take blocks
// until one is there or every submission is finished; a submission given
// back is taken again by another slot. Its buffer holds every submission,
// so giving back never blocks.
type gradeQueue struct {
	ch        chan int
	mu        sync.Mutex
	remaining int
}

// newGradeQueue holds the indexes in order, taken first to last.
func newGradeQueue(order []int) *gradeQueue {
	n := len(order)
	q := &gradeQueue{ch: make(chan int, n), remaining: n}
	for _, i := range order {
		q.ch <- i
	}
	if n == 0 {
		close(q.ch)
	}
	return q
}

func (q *gradeQueue) take() (int, bool) { i, ok := <-q.ch; return i, ok }

func (q *gradeQueue) giveBack(i int) { q.ch <- i }

// finish marks one submission graded; the last one ends every take.
func (q *gradeQueue) finish() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.remaining--; q.remaining == 0 {
		close(q.ch)
	}
}

// left is what no slot graded, once every slot has returned.
func (q *gradeQueue) left() []int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.remaining == 0 {
		return nil
	}
	var out []int
	for len(q.ch) > 0 {
		out = append(out, <-q.ch)
	}
	return out
}
