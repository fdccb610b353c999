package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Series bodies are received before they take an ingest slot (see
// handleSeriesAppend): a batch sent slowly, byte by byte, used to hold the
// only slot of a 2-core server for the whole read timeout, and every other
// job's batch waited. Receiving costs memory instead, bounded here: a body
// is read into bodyBlock blocks, each taken from the server's buffer
// (server.series_body_buffer_bytes) before it is filled, so a slow sender
// holds only what it has sent (plus one block), and all bodies being
// received or waiting for a slot together hold at most the buffer.
const (
	bodyBlock = 64 << 10
	// SeriesBodyLimit is the largest series batch body (seriesBodyLimit),
	// the least server.series_body_buffer_bytes may be.
	SeriesBodyLimit = seriesBodyLimit
	// DefaultSeriesBodyBuffer is server.series_body_buffer_bytes when
	// unset: four of the largest batches.
	DefaultSeriesBodyBuffer = 4 * seriesBodyLimit
	// bodyStall is how long a body that holds blocks may wait for another
	// before it gives them all back and is answered 503 busy (to be sent
	// again). Bodies that each hold part of a full buffer would otherwise
	// wait for each other until ingestWait.
	bodyStall = 2 * time.Second
)

// bodyBuffer hands out the blocks of received series bodies.
type bodyBuffer struct {
	blocks chan struct{} // a token per block in use
	pool   sync.Pool
}

// newBodyBuffer makes a buffer of total bytes, never less than the largest
// body a request may have (maxBody) and one block more.
func newBodyBuffer(total, maxBody int64) *bodyBuffer {
	n := max(total, maxBody)/bodyBlock + 1
	return &bodyBuffer{blocks: make(chan struct{}, n), pool: sync.Pool{New: func() any { return new([bodyBlock]byte) }}}
}

// receivedBody is a request body held in blocks of a bodyBuffer.
type receivedBody struct {
	buf    *bodyBuffer
	blocks []*[bodyBlock]byte
	last   int // bytes used in the last block
}

// receive reads body into blocks of the buffer. It waits up to wait for
// the first block, and up to bodyStall for each further one (then it gives
// back what it holds): errIngestBusy. A body over the request's limit is
// *http.MaxBytesError (413); a body cut short is errBadJSON.
func (b *bodyBuffer) receive(ctx context.Context, body io.Reader, wait time.Duration) (*receivedBody, error) {
	r := &receivedBody{buf: b}
	for {
		limit := wait
		if len(r.blocks) > 0 {
			limit = bodyStall
		}
		t := time.NewTimer(limit)
		select {
		case b.blocks <- struct{}{}:
			t.Stop()
		case <-t.C:
			r.release()
			return nil, errIngestBusy
		case <-ctx.Done():
			t.Stop()
			r.release()
			return nil, ctx.Err()
		}
		blk := b.pool.Get().(*[bodyBlock]byte)
		r.blocks = append(r.blocks, blk)
		n, err := io.ReadFull(body, blk[:])
		r.last = n
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return r, nil
		}
		r.release()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, errBadJSON
	}
}

// reader reads the body back.
func (r *receivedBody) reader() io.Reader {
	parts := make([]io.Reader, len(r.blocks))
	for i, blk := range r.blocks {
		n := bodyBlock
		if i == len(r.blocks)-1 {
			n = r.last
		}
		parts[i] = bytes.NewReader(blk[:n])
	}
	return io.MultiReader(parts...)
}

// release gives the blocks back to the buffer.
func (r *receivedBody) release() {
	for _, blk := range r.blocks {
		r.buf.pool.Put(blk)
		<-r.buf.blocks
	}
	r.blocks = nil
}
