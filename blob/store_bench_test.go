package blob

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// BenchmarkStore puts and reads back 1 MiB objects in each store: the
// directory is the floor the S3 store (a real gateway on 127.0.0.1) is
// read against, as a ratio.
func BenchmarkStore(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	want := Want{Size: int64(len(body)), SHA256: sum(body)}
	for _, name := range []string{"dir", "s3"} {
		b.Run(name, func(b *testing.B) {
			s := stores[name](b)
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				key := "bench/" + strconv.Itoa(i)
				if _, err := s.Put(b.Context(), key, bytes.NewReader(body), want); err != nil {
					b.Fatal(err)
				}
				r, err := s.Get(b.Context(), key, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(body)) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
				r.Close()
			}
		})
	}
}
