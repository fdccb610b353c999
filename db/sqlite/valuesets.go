package sqlite

import (
	mathbits "math/bits"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// valueSets are the query index's sets of slots by value, kept by every
// put: the runs of a project, a status, a verdict state or a tag, the
// deleted and the outdated runs, the runs with notes, and the runs whose
// name holds a trigram. A condition on one of these fields reads its sets, in time that
// grows with the runs it selects, instead of testing every run: at
// 100,000 runs a test of every run cost 1.5-4 ms a condition
// (BenchmarkIndexPage), which was most of what issue 18's queries spent.
// Roaring bitmaps keep a set of few runs (a rare tag) small and one of
// many (a status) as a plain bitmap.
type valueSets struct {
	project, status, review, tag map[string]*roaring.Bitmap
	deleted, outdated, noted     *roaring.Bitmap
	// grams lists, for each trigram of the ASCII-folded names, the runs
	// whose name held it when written. Slots only grow, so each list is
	// in slot order; a renamed run keeps its old entries until the index
	// is next loaded, which is why a candidate's name is always checked.
	grams map[uint32][]int32
}

func newValueSets() valueSets {
	return valueSets{project: map[string]*roaring.Bitmap{}, status: map[string]*roaring.Bitmap{}, review: map[string]*roaring.Bitmap{},
		tag: map[string]*roaring.Bitmap{}, deleted: roaring.New(), outdated: roaring.New(), noted: roaring.New(), grams: map[uint32][]int32{}}
}

// move takes slot out of from's set and into to's ("" is no value).
func move(sets map[string]*roaring.Bitmap, slot int32, from, to string) {
	if from == to {
		return
	}
	if b := sets[from]; b != nil {
		b.Remove(uint32(slot))
		if b.IsEmpty() {
			delete(sets, from)
		}
	}
	if to == "" {
		return
	}
	b := sets[to]
	if b == nil {
		b = roaring.New()
		sets[to] = b
	}
	b.Add(uint32(slot))
}

// moveTags replaces a run's tags in the tag sets.
func (s *valueSets) moveTags(slot int32, from, to []string) {
	for _, t := range from {
		move(s.tag, slot, t, "")
	}
	for _, t := range to {
		move(s.tag, slot, "", t)
	}
}

// flag puts slot in or out of a flag's set.
func flag(b *roaring.Bitmap, slot int32, on bool) {
	if on {
		b.Add(uint32(slot))
	} else {
		b.Remove(uint32(slot))
	}
}

// gram is the trigram of s at i.
func gram(s string, i int) uint32 { return uint32(s[i])<<16 | uint32(s[i+1])<<8 | uint32(s[i+2]) }

// addName lists slot under each trigram of a folded name.
func (s *valueSets) addName(slot int32, lower string) {
	for i := 0; i+3 <= len(lower); i++ {
		g := gram(lower, i)
		l := s.grams[g]
		if n := len(l); n > 0 && l[n-1] == slot {
			continue // a trigram the name holds twice
		}
		s.grams[g] = append(l, slot)
	}
}

// nameCandidates are the runs whose name may hold needle (folded, at
// least 3 bytes): the shortest list of its trigrams.
func (s *valueSets) nameCandidates(needle string) []int32 {
	var best []int32
	for i := 0; i+3 <= len(needle); i++ {
		l, ok := s.grams[gram(needle, i)]
		if !ok {
			return nil
		}
		if i == 0 || len(l) < len(best) {
			best = l
		}
	}
	return best
}

// containsName is the set of runs whose folded name holds one of
// needles (each at least 3 bytes), from the trigram lists.
func (e *evaluator) containsName(needles []string) bits {
	out := newBits(e.n)
	for _, n := range needles {
		for _, slot := range e.ix.sets.nameCandidates(n) {
			if strings.Contains(e.ix.nameLower[slot], n) {
				out.set(slot)
			}
		}
	}
	return out
}

// dense is the set of the slots in b, as bits of n slots.
func dense(n int, b *roaring.Bitmap) bits {
	out := newBits(n)
	if b != nil {
		b.WriteDenseTo(out)
	}
	return out
}

// anyOf is the set of the runs in any of the sets of values.
func anyOf(n int, sets map[string]*roaring.Bitmap, values []string) bits {
	var found []*roaring.Bitmap
	for _, v := range values {
		if b := sets[v]; b != nil {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		return newBits(n)
	case 1:
		return dense(n, found[0])
	}
	return dense(n, roaring.FastOr(found...))
}

// all is the set of every slot of n.
func all(n int) bits {
	out := newBits(n)
	for i := range out {
		out[i] = ^uint64(0)
	}
	if r := n % 64; r != 0 {
		out[len(out)-1] = 1<<uint(r) - 1
	}
	return out
}

// andNot takes o's slots out of b.
func (b bits) andNot(o bits) bits {
	for i := range b {
		b[i] &^= o[i]
	}
	return b
}

// keep takes out of b the slots for which test fails: a condition
// without a set of its own costs the runs still in, not all runs.
func (b bits) keep(test func(i int32) bool) bits {
	for w, word := range b {
		for word != 0 {
			t := mathbits.TrailingZeros64(word)
			word &= word - 1
			if i := int32(w<<6 | t); !test(i) {
				b[w] &^= 1 << uint(t)
			}
		}
	}
	return b
}

// each calls fn with every slot in b, in order.
func (b bits) each(fn func(i int32)) {
	for w, word := range b {
		for word != 0 {
			t := mathbits.TrailingZeros64(word)
			word &= word - 1
			fn(int32(w<<6 | t))
		}
	}
}
