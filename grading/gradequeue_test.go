package grading

import (
	"slices"
	"sync"
	"testing"
)

// TestGradeQueueGivesBackToOtherSlots: a slot whose engine died gives its
// submission back and stops; the live slots grade everything, each
// submission once.
func TestGradeQueueGivesBackToOtherSlots(t *testing.T) {
	const n = 50
	q := newGradeQueue(inOrder(n))
	var mu sync.Mutex
	graded := map[int]int{}
	var wg sync.WaitGroup
	for slot := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dead := slot%2 == 1 // three slots on an engine that dies at its first submission
			for {
				i, ok := q.take()
				if !ok {
					return
				}
				if dead {
					q.giveBack(i)
					return
				}
				mu.Lock()
				graded[i]++
				mu.Unlock()
				q.finish()
			}
		}()
	}
	wg.Wait()
	if left := q.left(); len(left) != 0 {
		t.Fatalf("left %v with live slots", left)
	}
	for i := range n {
		if graded[i] != 1 {
			t.Errorf("submission %d graded %d times, want once", i, graded[i])
		}
	}
}

// TestGradeQueueEveryEngineDead: when every slot's engine dies, the slots
// all return and what they gave back is left, none lost.
func TestGradeQueueEveryEngineDead(t *testing.T) {
	const n = 7
	q := newGradeQueue(inOrder(n))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var graded []int
	for slot := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			budget := slot // slot k grades k submissions, then its engine dies
			for {
				i, ok := q.take()
				if !ok {
					return
				}
				if budget == 0 {
					q.giveBack(i)
					return
				}
				budget--
				mu.Lock()
				graded = append(graded, i)
				mu.Unlock()
				q.finish()
			}
		}()
	}
	wg.Wait()
	left := q.left()
	if len(graded)+len(left) != n {
		t.Fatalf("graded %v and left %v: want %d in all", graded, left, n)
	}
	all := slices.Sorted(slices.Values(append(graded, left...)))
	for i := range n {
		if all[i] != i {
			t.Fatalf("graded %v and left %v: want each of 0..%d once", graded, left, n-1)
		}
	}
}

// TestGradeQueueEmpty: no submissions, no wait.
func TestGradeQueueEmpty(t *testing.T) {
	q := newGradeQueue(nil)
	if _, ok := q.take(); ok {
		t.Fatal("take on an empty queue returned a submission")
	}
	if left := q.left(); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}

func inOrder(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestGradeQueueTakesInOrder: the submissions are taken in the order
// given, each once.
func TestGradeQueueTakesInOrder(t *testing.T) {
	want := []int{2, 0, 3, 1}
	q := newGradeQueue(want)
	var got []int
	for {
		i, ok := q.take()
		if !ok {
			break
		}
		got = append(got, i)
		q.finish()
	}
	if !slices.Equal(got, want) {
		t.Fatalf("took %v, want %v", got, want)
	}
}
